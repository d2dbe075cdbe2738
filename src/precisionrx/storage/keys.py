"""Key management of the store: sub-keys of the master key, and the per-patient data keys.

The master key (``PRECISIONRX_MASTER_KEY`` or ``<home>/master.key``) never encrypts data itself:
HKDF-SHA256 (RFC 5869) derives a key-encryption key and a pseudonym key from it. Each patient has
a random 256-bit data key (DEK) that encrypts their records and files (AES-256-GCM); the DEK is
kept wrapped by the key-encryption key in a key store *outside the database*
(``<home>/keys/<pseudonym>.key``). Erasure destroys that file (crypto-shredding): a backup copy
of the database then holds only ciphertext that no key opens. Back up the key store separately,
and only if restoring erased patients is acceptable (docs/service.md, "Backup").
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from precisionrx.errors import ConfigError
from precisionrx.security.crypto import hkdf_sha256, pseudonym, random_key, unwrap_key, wrap_key

_KEK_INFO = b"precisionrx v1 key-encryption key"
_PSEUDONYM_INFO = b"precisionrx v1 patient pseudonyms"
_DEID_INFO = b"precisionrx v1 research export pseudonyms"


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

    def patient_pseudonym(self, patient_id: str) -> str:
        """The keyed pseudonym of a patient id (audit rows, key file names)."""
        return pseudonym(self.pseudonyms, "patient", patient_id)


class KeyStore:
    """Per-patient data keys, wrapped, one file each in ``directory`` (mode 0700)."""

    def __init__(self, directory: Path, keys: ServiceKeys) -> None:
        self.directory = directory
        self._keys = keys
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the key store ({exc.strerror})", path=directory
            ) from exc

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.key"

    def create(self, name: str) -> bytes:
        """A new data key for ``name`` (a patient pseudonym), stored wrapped; returned clear."""
        dek = random_key()
        blob = wrap_key(self._keys.kek, dek, aad=name.encode())
        path = self._path(name)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
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
        path = self._path(name)
        with contextlib.suppress(FileNotFoundError):
            size = path.stat().st_size
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, os.urandom(size))
                os.fsync(fd)
            finally:
                os.close(fd)
            path.unlink()
        self._sync_dir()

    def _sync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
