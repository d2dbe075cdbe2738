"""Key management of the store: sub-keys of the master key, and the per-patient data keys.

The master key (``PRECISIONRX_MASTER_KEY`` or ``<home>/master.key``) never encrypts data itself:
HKDF-SHA256 (RFC 5869) derives the key-encryption key (KEK) from it. The pseudonym keys (audit
rows and key file names; research export) are kept in the key ring ``<home>/keys/service.keyring``,
wrapped by the KEK, so they survive a change of master key; a wrong master key is refused at
start-up because it does not open the ring. Each patient has
a random 256-bit data key (DEK) that encrypts their records and files (AES-256-GCM); the DEK is
kept wrapped by the key-encryption key in a key store *outside the database*
(``<home>/keys/<pseudonym>.key``). Erasure destroys that file (crypto-shredding): a backup copy
of the database then holds only ciphertext that no key opens. Back up the key store separately,
and only if restoring erased patients is acceptable (docs/service.md, "Backup").

:func:`rotate_master_key` changes the master key: every wrapped key is re-wrapped under the new
KEK into a staging folder, which then replaces the key store in one rename; the data in the
database (encrypted under the unchanged data keys) is not touched.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from precisionrx.errors import ConfigError, IntegrityError
from precisionrx.security.crypto import hkdf_sha256, pseudonym, random_key, unwrap_key, wrap_key

_KEK_INFO = b"precisionrx v1 key-encryption key"
_PSEUDONYM_INFO = b"precisionrx v1 patient pseudonyms"
_DEID_INFO = b"precisionrx v1 research export pseudonyms"
#: The key ring's file in the key store, and the owners its two wrapped keys are bound to.
KEYRING = "service.keyring"
_RING_AAD = (b"service keyring: patient pseudonyms", b"service keyring: research pseudonyms")
#: Length of one wrapped key (nonce 12 + key 32 + tag 16).
_WRAPPED = 60


@dataclass(frozen=True)
class ServiceKeys:
    """The keys derived from the master key."""

    kek: bytes
    pseudonyms: bytes
    #: Key of the research export's pseudonyms (separate from the audit's: unlinkable).
    deid: bytes

    @classmethod
    def derive(cls, master: bytes) -> ServiceKeys:
        return cls(
            kek=hkdf_sha256(master, info=_KEK_INFO),
            pseudonyms=hkdf_sha256(master, info=_PSEUDONYM_INFO),
            deid=hkdf_sha256(master, info=_DEID_INFO),
        )

    @classmethod
    def open(cls, directory: Path, master: bytes) -> ServiceKeys:
        """The deployment's keys: the KEK from ``master``, the pseudonym keys from the key
        ring in ``directory`` (created on first use from keys derived from this master).

        :raises IntegrityError: the master key does not open the key ring (another
            deployment's key, or a rotation that was not finished).
        """
        kek = hkdf_sha256(master, info=_KEK_INFO)
        path = directory / KEYRING
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            keys = cls.derive(master)
            _ensure_dir(directory)
            _write_private(path, _ring_blob(kek, keys))
            return keys
        if len(blob) != 2 * _WRAPPED:
            raise IntegrityError("the key ring is damaged (wrong length)", path=path)
        try:
            pseudonyms = unwrap_key(kek, blob[:_WRAPPED], aad=_RING_AAD[0])
            deid = unwrap_key(kek, blob[_WRAPPED:], aad=_RING_AAD[1])
        except IntegrityError:
            pending = directory.parent / "master.key.new"
            raise IntegrityError(
                "the master key does not open this deployment's key ring",
                path=path,
                hint=(
                    f"a key rotation left the new master key in {pending}: use it"
                    if pending.exists()
                    else "set PRECISIONRX_MASTER_KEY (or <home>/master.key) to this "
                    "deployment's master key"
                ),
            ) from None
        return cls(kek=kek, pseudonyms=pseudonyms, deid=deid)

    def patient_pseudonym(self, patient_id: str) -> str:
        """The keyed pseudonym of a patient id (audit rows, key file names)."""
        return pseudonym(self.pseudonyms, "patient", patient_id)


class KeyStore:
    """Per-patient data keys, wrapped, one file each in ``directory`` (mode 0700)."""

    def __init__(self, directory: Path, keys: ServiceKeys) -> None:
        self.directory = directory
        self._keys = keys
        _ensure_dir(directory)

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.key"

    def create(self, name: str) -> bytes:
        """A new data key for ``name`` (a patient pseudonym), stored wrapped; returned clear."""
        dek = random_key()
        _write_private(self._path(name), wrap_key(self._keys.kek, dek, aad=name.encode()))
        self._sync_dir()
        return dek

    def get(self, name: str) -> bytes | None:
        """The data key of ``name``, or None when there is none (never created, or erased)."""
        try:
            blob = self._path(name).read_bytes()
        except FileNotFoundError:
            return None
        return unwrap_key(self._keys.kek, blob, aad=name.encode())

    def destroy(self, name: str) -> None:
        """Overwrite and delete the data key of ``name`` (crypto-shredding)."""
        _shred(self._path(name))
        self._sync_dir()

    def _sync_dir(self) -> None:
        _fsync_dir(self.directory)


def _ring_blob(kek: bytes, keys: ServiceKeys) -> bytes:
    return wrap_key(kek, keys.pseudonyms, aad=_RING_AAD[0]) + wrap_key(
        kek, keys.deid, aad=_RING_AAD[1]
    )


def _ensure_dir(directory: Path) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the key store ({exc.strerror})", path=directory) from exc


def _write_private(path: Path, data: bytes) -> None:
    """Write ``path`` (mode 0600) through a temporary file, durably."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rotate_master_key(directory: Path, old: bytes, new: bytes) -> int:
    """Re-wrap every key of the key store ``directory`` from ``old`` to ``new`` master key;
    the number of patient data keys re-wrapped.

    All keys are re-wrapped into ``<directory>.rotating`` and synced; that folder then
    replaces the key store by renames, and the old wrapped keys are overwritten and deleted.
    An interruption before the swap leaves the old store in use (the staging folder is
    discarded by the next rotation); after it, the new master key opens the store. The
    service must be stopped meanwhile (a key created during the rotation would be lost).

    :raises IntegrityError: ``old`` does not open the key ring, or a key file is damaged.
    """
    keys = ServiceKeys.open(directory, old)
    new_kek = hkdf_sha256(new, info=_KEK_INFO)
    staging = directory.with_name(directory.name + ".rotating")
    retired = directory.with_name(directory.name + ".retired")
    for leftover in (staging, retired):
        if leftover.exists():
            _shred_tree(leftover)
    staging.mkdir(mode=0o700)
    count = 0
    for path in sorted(directory.glob("*.key")):
        name = path.stem
        try:
            dek = unwrap_key(keys.kek, path.read_bytes(), aad=name.encode())
        except IntegrityError as exc:
            raise IntegrityError(f"data key {path.name} does not open", path=path) from exc
        _write_private(staging / path.name, wrap_key(new_kek, dek, aad=name.encode()))
        count += 1
    _write_private(staging / KEYRING, _ring_blob(new_kek, keys))
    _fsync_dir(staging)
    directory.rename(retired)
    staging.rename(directory)
    _fsync_dir(directory.parent)
    _shred_tree(retired)
    return count


def _shred_tree(folder: Path) -> None:
    """Overwrite and delete the files of ``folder`` (wrapped keys), then the folder."""
    for path in folder.iterdir():
        _shred(path)
    folder.rmdir()


def _shred(path: Path) -> None:
    """Overwrite ``path`` with random bytes, sync, and delete it (absent: nothing to do)."""
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, os.urandom(size))
            os.fsync(fd)
        finally:
            os.close(fd)
        path.unlink()
