"""Security primitives against the published vectors (RFC 4231, RFC 5869, the GCM specification's
AES-256 cases), tag failures that release nothing, envelope keys, pseudonyms and key files."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import precisionrx.security as security
from precisionrx.errors import ConfigError, InputError, IntegrityError
from precisionrx.security import aes_gcm_decrypt, aes_gcm_encrypt, hkdf_sha256, hmac_sha256
from precisionrx.security.crypto import (
    MASTER_KEY_VARIABLE,
    load_master_key,
    load_or_create_key_file,
    pseudonym,
    random_key,
    unwrap_key,
    wrap_key,
)
from precisionrx.security.home import default_home

h = bytes.fromhex


def test_package_exports_exactly_the_primitives() -> None:
    assert sorted(security.__all__) == [
        "aes_gcm_decrypt",
        "aes_gcm_encrypt",
        "hkdf_sha256",
        "hmac_sha256",
    ]


# --- RFC 4231 section 4: HMAC-SHA-256 ----------------------------------------------------------

RFC4231 = [
    # (case, key, data, HMAC-SHA-256)
    (
        1,
        b"\x0b" * 20,
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ),
    (
        2,
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        3,
        b"\xaa" * 20,
        b"\xdd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ),
    (
        4,
        h("0102030405060708090a0b0c0d0e0f10111213141516171819"),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (
        6,
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        7,
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


@pytest.mark.parametrize(("case", "key", "data", "expected"), RFC4231, ids=lambda v: str(v)[:6])
def test_hmac_sha256_rfc4231(case: int, key: bytes, data: bytes, expected: str) -> None:
    assert hmac_sha256(key, data).hex() == expected


def test_hmac_sha256_rfc4231_case5_truncated_to_128_bits() -> None:
    mac = hmac_sha256(b"\x0c" * 20, b"Test With Truncation")
    assert mac[:16].hex() == "a3b6167473100ee06e0c796c2955552b"


# --- RFC 5869 appendix A: HKDF with SHA-256 -----------------------------------------------------

RFC5869 = [
    # (case, IKM, salt, info, L, PRK, OKM)
    (
        1,
        b"\x0b" * 22,
        h("000102030405060708090a0b0c"),
        h("f0f1f2f3f4f5f6f7f8f9"),
        42,
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
    (
        2,
        bytes(range(0x50)),  # 0x00 .. 0x4f
        bytes(range(0x60, 0xB0)),
        bytes(range(0xB0, 0x100)),
        82,
        "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87",
    ),
    (
        3,
        b"\x0b" * 22,
        b"",
        b"",
        42,
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    ),
]


@pytest.mark.parametrize(
    ("case", "ikm", "salt", "info", "length", "prk", "okm"), RFC5869, ids=lambda v: str(v)[:6]
)
def test_hkdf_sha256_rfc5869(
    case: int, ikm: bytes, salt: bytes, info: bytes, length: int, prk: str, okm: str
) -> None:
    assert hmac_sha256(salt, ikm).hex() == prk  # HKDF-Extract is HMAC(salt, IKM)
    assert hkdf_sha256(ikm, salt=salt, info=info, length=length).hex() == okm


def test_hkdf_missing_salt_is_hashlen_zeros() -> None:
    # RFC 5869 section 2.2: "if not provided, it is set to a string of HashLen zeros"
    ikm = b"\x0b" * 22
    assert hkdf_sha256(ikm) == hkdf_sha256(ikm, salt=bytes(32)) == hkdf_sha256(ikm, salt=b"")
    assert hkdf_sha256(ikm, length=42).hex() == RFC5869[2][6]


@pytest.mark.parametrize("length", [0, -1, 255 * 32 + 1])
def test_hkdf_length_out_of_range(length: int) -> None:
    with pytest.raises(InputError):
        hkdf_sha256(b"k", length=length)


def test_hkdf_longest_output() -> None:
    assert len(hkdf_sha256(b"k", length=255 * 32)) == 8160


# --- The GCM specification (McGrew and Viega), test cases 13-16: AES-256 ------------------------

K0 = bytes(32)
K1 = h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
IV0 = bytes(12)
IV1 = h("cafebabefacedbaddecaf888")
P64 = h(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
C64 = h(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
)
AAD16 = h("feedfacedeadbeeffeedfacedeadbeefabaddad2")

GCM = [
    # (case, K, P, A, IV, C, T)
    (13, K0, b"", b"", IV0, b"", "530f8afbc74536b9a963b4f1c4cb738b"),
    (
        14,
        K0,
        bytes(16),
        b"",
        IV0,
        h("cea7403d4d606b6e074ec5d3baf39d18"),
        "d0d1c8a799996bf0265b98b5d48ab919",
    ),
    (15, K1, P64, b"", IV1, C64, "b094dac5d93471bdec1a502270e3cc6c"),
    (16, K1, P64[:60], AAD16, IV1, C64[:60], "76fc6ece0f4e1768cddf8853bb2d551b"),
]


@pytest.mark.parametrize(
    ("case", "key", "plaintext", "aad", "iv", "ciphertext", "tag"), GCM, ids=lambda v: str(v)[:6]
)
def test_aes_256_gcm_vectors(
    case: int, key: bytes, plaintext: bytes, aad: bytes, iv: bytes, ciphertext: bytes, tag: str
) -> None:
    blob = aes_gcm_encrypt(key, plaintext, aad=aad, nonce=iv)
    assert blob == iv + ciphertext + h(tag)
    assert aes_gcm_decrypt(key, blob, aad=aad) == plaintext


def test_aes_128_gcm_vector_case_4() -> None:
    """16-byte keys are accepted for the vectors: GCM specification test case 4 (AES-128)."""
    key = h("feffe9928665731c6d6a8f9467308308")
    blob = aes_gcm_encrypt(key, P64[:60], aad=AAD16, nonce=IV1)
    assert blob[12:-16].hex() == (
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
    )
    assert blob[-16:].hex() == "5bc94fbc3221a5db94fae95ae7121a47"


# --- Tag failures: IntegrityError, no plaintext ------------------------------------------------

KEY = bytes(range(32))
AAD = b"patient:abc"
SECRET = b"genotype CYP2C19 *2/*2; name Jane Doe"


def _flip(blob: bytes, index: int) -> bytes:
    changed = bytearray(blob)
    changed[index] ^= 0x01
    return bytes(changed)


def _sealed() -> bytes:
    return aes_gcm_encrypt(KEY, SECRET, aad=AAD)


@pytest.mark.parametrize(
    ("what", "attempt"),
    [
        ("ciphertext bit", lambda b: aes_gcm_decrypt(KEY, _flip(b, 12 + 3), aad=AAD)),
        ("tag bit", lambda b: aes_gcm_decrypt(KEY, _flip(b, len(b) - 1), aad=AAD)),
        ("nonce bit", lambda b: aes_gcm_decrypt(KEY, _flip(b, 0), aad=AAD)),
        ("wrong aad", lambda b: aes_gcm_decrypt(KEY, b, aad=b"patient:abd")),
        ("missing aad", lambda b: aes_gcm_decrypt(KEY, b)),
        ("wrong key", lambda b: aes_gcm_decrypt(bytes(32), b, aad=AAD)),
        ("truncated tag", lambda b: aes_gcm_decrypt(KEY, b[:-1], aad=AAD)),
        ("truncated to nonce+tag-1", lambda b: aes_gcm_decrypt(KEY, b[:27], aad=AAD)),
        ("empty blob", lambda b: aes_gcm_decrypt(KEY, b"", aad=AAD)),
        ("extra byte", lambda b: aes_gcm_decrypt(KEY, b + b"\x00", aad=AAD)),
        ("key of 31 bytes", lambda b: aes_gcm_decrypt(KEY[:31], b, aad=AAD)),
        ("key of 33 bytes", lambda b: aes_gcm_decrypt(KEY + b"\x00", b, aad=AAD)),
    ],
)
def test_tag_failure_raises_integrity_error_without_plaintext(
    what: str, attempt: Callable[[bytes], bytes]
) -> None:
    blob = _sealed()
    with pytest.raises(IntegrityError) as info:
        attempt(blob)
    assert b"Jane" not in str(info.value).encode() and "CYP2C19" not in str(info.value)
    assert info.value.__cause__ is None  # no chained exception carrying internals
    assert info.value.exit_code == 21


def test_encrypt_random_nonce_and_layout() -> None:
    a, b = aes_gcm_encrypt(KEY, SECRET), aes_gcm_encrypt(KEY, SECRET)
    assert a[:12] != b[:12] and a != b
    assert len(a) == 12 + len(SECRET) + 16
    assert SECRET not in a


@pytest.mark.parametrize(("key", "nonce"), [(bytes(31), None), (bytes(32), bytes(8))])
def test_encrypt_refuses_bad_key_or_nonce(key: bytes, nonce: bytes | None) -> None:
    with pytest.raises(InputError):
        aes_gcm_encrypt(key, b"x", nonce=nonce)


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    plaintext=st.binary(max_size=300),
    aad=st.binary(max_size=64),
)
def test_round_trip_property(key: bytes, plaintext: bytes, aad: bytes) -> None:
    blob = aes_gcm_encrypt(key, plaintext, aad=aad)
    assert aes_gcm_decrypt(key, blob, aad=aad) == plaintext
    with pytest.raises(IntegrityError):
        aes_gcm_decrypt(key, _flip(blob, len(blob) // 2), aad=aad)


# --- Envelope keys ------------------------------------------------------------------------------


def test_wrap_unwrap_round_trip_and_binding() -> None:
    kek, dek = random_key(), random_key()
    assert len(kek) == len(dek) == 32 and kek != dek
    wrapped = wrap_key(kek, dek, aad=b"p1")
    assert len(wrapped) == 60 and dek not in wrapped
    assert unwrap_key(kek, wrapped, aad=b"p1") == dek
    attempts: list[Callable[[], bytes]] = [
        lambda: unwrap_key(kek, wrapped, aad=b"p2"),  # another patient's row
        lambda: unwrap_key(random_key(), wrapped, aad=b"p1"),  # another master key
        lambda: unwrap_key(kek, _flip(wrapped, 20), aad=b"p1"),
        lambda: unwrap_key(kek, wrapped[:-3], aad=b"p1"),
        lambda: unwrap_key(kek[:16], wrapped, aad=b"p1"),
        # a data blob under the master key is not a wrapped key (domain separation)
        lambda: unwrap_key(kek, aes_gcm_encrypt(kek, dek, aad=b"p1"), aad=b"p1"),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError):
            attempt()


def test_wrap_refuses_short_keys() -> None:
    with pytest.raises(InputError):
        wrap_key(bytes(16), bytes(32), aad=b"")
    with pytest.raises(InputError):
        wrap_key(bytes(32), bytes(16), aad=b"")


# --- Pseudonyms ---------------------------------------------------------------------------------


def test_pseudonym_deterministic_keyed_and_formatted() -> None:
    key = bytes(range(32))
    p = pseudonym(key, "patient", "MRN-0001")
    assert p == pseudonym(key, "patient", "MRN-0001")
    assert len(p) == 32 and set(p) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert p != pseudonym(bytes(32), "patient", "MRN-0001")  # key-dependent
    assert p != pseudonym(key, "user", "MRN-0001")  # namespace-separated
    assert p != pseudonym(key, "patient", "MRN-0002")
    # the documented construction, not a plain hash of the identifier
    mac = hmac_sha256(key, b"patient\x1fMRN-0001")[:20]
    assert p == base64.b32encode(mac).decode().lower()
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert pseudonym(key, "ab", "c") != pseudonym(key, "a", "bc")


# --- Key files and the master key ---------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "deid.key"
    key = load_or_create_key_file(path)
    assert len(key) == 32
    assert _mode(path) == 0o600
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    assert base64.b64decode(text.strip(), validate=True) == key
    assert load_or_create_key_file(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["deid.key"]  # no temporary left


def test_key_file_created_0600_even_with_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_or_create_key_file(tmp_path / "k.key")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "k.key") == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_key_file_open_to_others_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    path.write_text(base64.b64encode(bytes(32)).decode() + "\n")
    path.chmod(mode)
    with pytest.raises(ConfigError, match="group or others"):
        load_or_create_key_file(path)
    with pytest.raises(ConfigError):
        load_master_key(tmp_path, {})


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not base64!\n",
        base64.b64encode(bytes(31)) + b"\n",
        base64.b64encode(bytes(33)) + b"\n",
        base64.b64encode(bytes(32)) + b"\n" + base64.b64encode(bytes(32)) + b"\n",
        b"\xff\xfe",
    ],
)
def test_key_file_malformed(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="does not hold a key"):
        load_or_create_key_file(path)


def test_key_file_directory_refused(tmp_path: Path) -> None:
    (tmp_path / "k.key").mkdir(mode=0o700)
    with pytest.raises(ConfigError):
        load_or_create_key_file(tmp_path / "k.key")


def test_key_file_fifo_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "k.key", 0o600)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_or_create_key_file(tmp_path / "k.key")


def test_master_key_file_in_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = load_master_key(home, {})
    assert _mode(home / "master.key") == 0o600
    assert _mode(home) == 0o700
    assert load_master_key(home, {}) == key


def test_master_key_env_wins_over_file(tmp_path: Path) -> None:
    file_key = load_master_key(tmp_path, {})
    env_key = bytes(range(32, 64))
    env = {MASTER_KEY_VARIABLE: base64.b64encode(env_key).decode()}
    assert load_master_key(tmp_path, env) == env_key != file_key


def test_master_key_env_does_not_create_a_file(tmp_path: Path) -> None:
    env = {MASTER_KEY_VARIABLE: " " + base64.b64encode(bytes(32)).decode() + "\n"}
    assert load_master_key(tmp_path / "h", env) == bytes(32)
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "short",
        base64.b64encode(bytes(16)).decode(),
        "ab$%",
        base64.b64encode(bytes(33)).decode(),
    ],
)
def test_master_key_env_malformed(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=MASTER_KEY_VARIABLE) as info:
        load_master_key(tmp_path, {MASTER_KEY_VARIABLE: value})
    assert info.value.exit_code == 40
    if value:
        assert value not in str(info.value)  # the secret is never echoed
    assert not (tmp_path / "master.key").exists()


def test_default_home(tmp_path: Path) -> None:
    assert default_home({"PRECISIONRX_HOME": str(tmp_path)}) == tmp_path
    assert default_home({}) == Path.home() / ".precisionrx"
    assert default_home({"PRECISIONRX_HOME": ""}) == Path.home() / ".precisionrx"
