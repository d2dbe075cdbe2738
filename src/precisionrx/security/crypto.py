"""Cryptographic primitives of the patient store: MAC, key derivation, authenticated encryption.

* :func:`hmac_sha256` — HMAC (RFC 2104) with SHA-256 (FIPS 180-4), test vectors RFC 4231.
* :func:`hkdf_sha256` — HKDF extract-and-expand (RFC 5869), test vectors RFC 5869 appendix A.
* :func:`aes_gcm_encrypt` / :func:`aes_gcm_decrypt` — AES-GCM (NIST SP 800-38D; AEAD interface of
  RFC 5116, ``AEAD_AES_256_GCM``) with a random 96-bit nonce; the stored blob is
  ``nonce (12 bytes) || ciphertext || tag (16 bytes)``. A tag that does not verify raises
  :class:`~precisionrx.errors.IntegrityError` and no plaintext is ever released.
* :func:`wrap_key` / :func:`unwrap_key` — envelope encryption: a per-patient data key (DEK)
  encrypted by the master key (KEK) with AES-256-GCM, its associated data binding the wrapped key
  to its owner (e.g. the patient pseudonym), so a wrapped key copied to another patient's row does
  not unwrap. Destroying the wrapped DEK crypto-shreds the patient's data.
* :func:`pseudonym` — a keyed, deterministic pseudonym (HMAC-SHA256, never a plain hash, which
  anyone could recompute from a guessed identifier).
* :func:`load_master_key` / :func:`load_or_create_key_file` — the 32-byte master key from
  ``PRECISIONRX_MASTER_KEY`` or an owner-only key file (base64, RFC 4648 section 4, one line).

The ``cryptography`` library is loaded on first encryption, so importing this module (and the
command line that declares options from :mod:`precisionrx.security`) stays light.

Random nonces: with 96-bit random nonces the NIST SP 800-38D section 8.3 limit is 2**32
encryptions per key; per-patient keys keep every key far below it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from pathlib import Path

from precisionrx.errors import ConfigError, InputError, IntegrityError
from precisionrx.security.home import create_secret_file, ensure_home, read_secret_file

#: Length of a key used by the store (AES-256), of the master key and of a data key.
KEY_BYTES = 32
#: AES-GCM nonce length (96 bits, NIST SP 800-38D section 5.2.1.1 recommendation).
NONCE_BYTES = 12
#: AES-GCM tag length (128 bits, the full tag).
TAG_BYTES = 16
#: AES key lengths accepted (the NIST vectors use all three; the store uses 32).
AES_KEY_BYTES = (16, 24, 32)

#: SHA-256 output length, HashLen of RFC 5869.
_HASH_BYTES = 32
#: RFC 5869 section 2.3: L <= 255 * HashLen.
_HKDF_MAX = 255 * _HASH_BYTES

#: Pseudonym length before encoding: 160 bits, 32 base32 characters without padding.
PSEUDONYM_BYTES = 20
#: Separator of namespace and identifier in a pseudonym's MAC input (ASCII unit separator).
_UNIT_SEPARATOR = "\x1f"

#: Domain separation of wrapped keys from data blobs encrypted under the same master key.
_WRAP_LABEL = b"precisionrx/wrapped-key/v1\x1f"

#: Environment variable holding the master key (base64 of 32 bytes).
MASTER_KEY_VARIABLE = "PRECISIONRX_MASTER_KEY"
#: Name of the master key file in the home directory.
MASTER_KEY_FILE = "master.key"


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of ``message`` under ``key`` (RFC 2104; 32 bytes).

    Keys longer than the 64-byte block are hashed first, as RFC 2104 section 2 specifies
    (RFC 4231 test cases 6 and 7). Compare MACs with :func:`hmac.compare_digest`.
    """
    return hmac.new(key, message, hashlib.sha256).digest()


def hkdf_sha256(
    ikm: bytes, *, salt: bytes | None = None, info: bytes = b"", length: int = 32
) -> bytes:
    """HKDF-SHA256 (RFC 5869): ``length`` bytes of output keying material from ``ikm``.

    Extract (section 2.2): ``PRK = HMAC-SHA256(salt, IKM)``, a missing salt being HashLen zero
    bytes. Expand (section 2.3): ``T(i) = HMAC-SHA256(PRK, T(i-1) || info || i)``, truncated to
    ``length``, which must be in ``1 .. 255 * 32`` (8160).

    :raises InputError: ``length`` out of range.
    """
    if isinstance(length, bool) or not 1 <= length <= _HKDF_MAX:
        raise InputError(f"HKDF output length must be between 1 and {_HKDF_MAX} bytes")
    prk = hmac_sha256(bytes(_HASH_BYTES) if salt is None else salt, ikm)
    blocks: list[bytes] = []
    previous = b""
    for counter in range(1, -(-length // _HASH_BYTES) + 1):
        previous = hmac_sha256(prk, previous + info + bytes([counter]))
        blocks.append(previous)
    return b"".join(blocks)[:length]


def aes_gcm_encrypt(
    key: bytes, plaintext: bytes, *, aad: bytes = b"", nonce: bytes | None = None
) -> bytes:
    """AES-GCM encryption (NIST SP 800-38D): ``nonce || ciphertext || tag``.

    ``key`` is 32 bytes (AES-256, what the store uses); 16- and 24-byte keys are accepted for the
    published test vectors. ``aad`` is authenticated, not encrypted, and must be given again to
    decrypt. ``nonce`` is drawn at random (96 bits) unless given: give it only to reproduce test
    vectors, since reusing a nonce with the same key breaks both confidentiality and integrity.

    :raises InputError: a key or nonce of the wrong length.
    """
    if len(key) not in AES_KEY_BYTES:
        raise InputError(f"AES-GCM key must be 16, 24 or 32 bytes, not {len(key)}")
    if nonce is None:
        nonce = secrets.token_bytes(NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise InputError(f"AES-GCM nonce must be {NONCE_BYTES} bytes, not {len(nonce)}")
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # loaded on first use

    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aes_gcm_decrypt(key: bytes, blob: bytes, *, aad: bytes = b"") -> bytes:
    """Decrypt and verify a blob made by :func:`aes_gcm_encrypt` with the same key and ``aad``.

    The tag is checked before any plaintext is returned (RFC 5116 section 2.2: on failure the
    decryption returns only FAIL); nothing decrypted is kept or returned on failure.

    :raises IntegrityError: a tag that does not verify (wrong key, altered nonce, ciphertext, tag
        or associated data), a blob shorter than nonce + tag, or a key of the wrong length.
    """
    if len(key) not in AES_KEY_BYTES:
        raise IntegrityError(
            f"AES-GCM key must be 16, 24 or 32 bytes, not {len(key)}: data not decrypted"
        )
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise IntegrityError(
            f"encrypted blob is truncated ({len(blob)} bytes, at least "
            f"{NONCE_BYTES + TAG_BYTES} expected): data not decrypted"
        )
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise IntegrityError(
            "AES-GCM authentication failed: wrong key, or the data or its associated data "
            "were altered; no plaintext released"
        ) from None


def random_key() -> bytes:
    """A new random 256-bit key from the operating system's CSPRNG (:mod:`secrets`)."""
    return secrets.token_bytes(KEY_BYTES)


def wrap_key(kek: bytes, dek: bytes, *, aad: bytes) -> bytes:
    """Encrypt the data key ``dek`` under the key-encryption key ``kek`` (AES-256-GCM).

    ``aad`` binds the wrapped key to its owner (e.g. the patient pseudonym); the same ``aad`` is
    needed to unwrap. Both keys are 32 bytes. The result is a blob of 60 bytes.

    :raises InputError: a key that is not 32 bytes.
    """
    if len(kek) != KEY_BYTES or len(dek) != KEY_BYTES:
        raise InputError(f"key wrapping takes {KEY_BYTES}-byte keys")
    return aes_gcm_encrypt(kek, dek, aad=_WRAP_LABEL + aad)


def unwrap_key(kek: bytes, wrapped: bytes, *, aad: bytes) -> bytes:
    """The data key wrapped by :func:`wrap_key` with the same ``kek`` and ``aad``.

    :raises IntegrityError: wrong master key, wrong ``aad`` (another owner), altered or truncated
        blob, or a ``kek`` that is not 32 bytes.
    """
    if len(kek) != KEY_BYTES:
        raise IntegrityError(f"the key-encryption key must be {KEY_BYTES} bytes: key not unwrapped")
    dek = aes_gcm_decrypt(kek, wrapped, aad=_WRAP_LABEL + aad)
    if len(dek) != KEY_BYTES:  # authentic, so written by a faulty caller: still unusable
        raise IntegrityError("the unwrapped data key has the wrong length")
    return dek


def pseudonym(key: bytes, namespace: str, identifier: str) -> str:
    """A keyed pseudonym: base32 (RFC 4648 section 6, lower case, no padding) of the first 20
    bytes of ``HMAC-SHA256(key, namespace + "\\x1f" + identifier)`` (UTF-8).

    Deterministic for one key (the same patient always gets the same pseudonym, so audit rows can
    be joined), unlinkable without the key, and separated by ``namespace`` (``"patient"``,
    ``"user"``, ...). 32 characters, ``[a-z2-7]``.
    """
    message = (namespace + _UNIT_SEPARATOR + identifier).encode("utf-8")
    digest = hmac_sha256(key, message)[:PSEUDONYM_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def _decode_key(text: str) -> bytes | None:
    """The 32 bytes that ``text`` encodes in base64 (RFC 4648 section 4), or None."""
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if len(raw) == KEY_BYTES else None


def encode_key(key: bytes) -> str:
    """The key-file line for ``key``: standard base64 with padding, and a newline."""
    return base64.b64encode(key).decode("ascii") + "\n"


def load_or_create_key_file(path: Path) -> bytes:
    """The 32-byte key in ``path`` (base64 on one line), created at random if absent.

    A new file is created atomically with mode 0600 (``O_CREAT | O_EXCL``); an existing file must
    be a regular file accessible by its owner only. Two processes creating it at once both get
    the same key.

    :raises ConfigError: a file accessible to group or others, not a regular file, unreadable, or
        not holding the base64 of exactly 32 bytes.
    """
    for _ in range(2):
        try:
            data = read_secret_file(path)
        except FileNotFoundError:
            ensure_home(path.parent)
            create_secret_file(path, encode_key(random_key()).encode("ascii"))
            continue  # read back whichever key won a concurrent creation
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        key = _decode_key(text) if len(text.splitlines()) == 1 else None
        if key is None:
            raise ConfigError(
                "the key file does not hold a key: expected one line with the base64 of "
                f"{KEY_BYTES} bytes",
                path=path,
            )
        return key
    raise ConfigError("the key file vanished while it was being created", path=path)


def load_master_key(home: Path, env: Mapping[str, str]) -> bytes:
    """The 32-byte master key: ``PRECISIONRX_MASTER_KEY`` (base64) if set, else the key file
    ``home / "master.key"``, created on first use (see :func:`load_or_create_key_file`).

    The variable wins over the file. Its value is never echoed in an error message.

    :raises ConfigError: a variable that is set (even empty) but is not the base64 of 32 bytes,
        or an unusable key file.
    """
    if MASTER_KEY_VARIABLE in env:
        key = _decode_key(env[MASTER_KEY_VARIABLE])
        if key is None:
            raise ConfigError(
                f"{MASTER_KEY_VARIABLE} is not a master key: it must be the base64 of "
                f"{KEY_BYTES} bytes",
                hint="generate one with `openssl rand -base64 32`, or unset it to use "
                f"{home / MASTER_KEY_FILE}",
            )
        return key
    return load_or_create_key_file(home / MASTER_KEY_FILE)
