"""Security primitives of the precisionrx service (issue 15).

HMAC-SHA256 (RFC 2104), HKDF-SHA256 (RFC 5869) and AES-GCM (NIST SP 800-38D, RFC 5116);
:func:`aes_gcm_decrypt` raises :class:`~precisionrx.errors.IntegrityError` and releases no
plaintext when the tag does not verify. Key handling and envelope encryption live in
:mod:`precisionrx.security.crypto`, bearer tokens in :mod:`precisionrx.security.tokens` (not
imported here, so importing this package does not load the JWT library).
"""

from __future__ import annotations

from precisionrx.security.crypto import (
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    hkdf_sha256,
    hmac_sha256,
)

__all__ = ["aes_gcm_decrypt", "aes_gcm_encrypt", "hkdf_sha256", "hmac_sha256"]
