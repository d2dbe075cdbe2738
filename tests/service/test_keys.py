"""Master-key rotation (``precisionrx keys rotate``) and the key ring that makes it possible."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from precisionrx.errors import IntegrityError
from precisionrx.security.crypto import MASTER_KEY_FILE, load_or_create_key_file
from precisionrx.storage.keys import KEYRING, ServiceKeys, rotate_master_key
from precisionrx.storage.store import Store
from tests.service.helpers import demo_record

NAME = "Ottoline Prendergast"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from precisionrx.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PRECISIONRX_MASTER_KEY"}
    return {**env, "PRECISIONRX_HOME": str(home), **extra}


def _populate(home: Path, master: bytes) -> tuple[str, str, str]:
    store = Store.open(home, master)
    try:
        row = store.create_patient(demo_record(name=NAME), "org-a")
        file_id = store.add_file(row.id, "medications", b"warfarin 5 mg\n", {}).id
        store.audit(actor="dr-a", role="clinician", patient_id=row.id, action="patient.read",
                    purpose="TREAT", outcome="success")  # fmt: skip
        return row.id, row.pseudonym, file_id
    finally:
        store.close()


def test_rotation_with_the_home_key_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = load_or_create_key_file(home / MASTER_KEY_FILE)
    pid, pseudonym, file_id = _populate(home, old)
    done = _cli("keys", "rotate", "--home", str(home), env=_env(home))
    assert done.returncode == 0, done.stderr
    assert "1 data key(s) re-wrapped" in done.stdout
    new = load_or_create_key_file(home / MASTER_KEY_FILE)
    assert new != old
    assert stat.S_IMODE((home / MASTER_KEY_FILE).stat().st_mode) == 0o600
    assert not (home / "keys.rotating").exists() and not (home / "keys.retired").exists()
    assert not (home / f"{MASTER_KEY_FILE}.new").exists()
    for key_file in (home / "keys").iterdir():
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # the old key no longer opens anything; the new one opens everything, same pseudonyms
    with pytest.raises(IntegrityError, match="does not open this deployment's key ring"):
        Store.open(home, old)
    store = Store.open(home, new)
    try:
        patient = store.get_patient(pid)
        assert patient is not None and patient.record["name"] == NAME
        assert patient.pseudonym == pseudonym == store.keys.patient_pseudonym(pid)
        assert store.file_content(pid, file_id) == b"warfarin 5 mg\n"
        check = store.verify_audit()
        assert check.intact
        rows = list(store.audit_rows())
        assert rows[-1].action == "keys.rotate" and rows[-2].patient == pseudonym
    finally:
        store.close()


def test_rotation_when_the_key_comes_from_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = os.urandom(32)
    pid, _, _ = _populate(home, old)
    env = _env(home, PRECISIONRX_MASTER_KEY=base64.b64encode(old).decode())
    refused = _cli("keys", "rotate", env=env)
    assert refused.returncode == 2 and "--new-key-file" in refused.stderr
    assert "Traceback" not in refused.stderr
    target = tmp_path / "new.key"
    done = _cli("keys", "rotate", "--new-key-file", str(target), env=env)
    assert done.returncode == 0, done.stderr
    assert "PRECISIONRX_MASTER_KEY" in done.stdout
    assert not (home / MASTER_KEY_FILE).exists()  # nothing written where it does not belong
    new = load_or_create_key_file(target)
    store = Store.open(home, new)
    try:
        assert store.get_patient(pid) is not None
    finally:
        store.close()
    same = _cli("keys", "rotate", "--new-key-file", str(target),
                env=_env(home, PRECISIONRX_MASTER_KEY=base64.b64encode(new).decode()))  # fmt: skip
    assert same.returncode == 2 and "current master key" in same.stderr


def test_a_wrong_master_key_is_refused_at_start(tmp_path: Path) -> None:
    """Before the key ring a wrong key silently produced other pseudonyms; now it stops."""
    home = tmp_path / "home"
    _populate(home, os.urandom(32))
    with pytest.raises(IntegrityError) as caught:
        Store.open(home, os.urandom(32))
    assert caught.value.path is not None and KEYRING in str(caught.value.path)


def test_an_interrupted_rotation_leaves_the_old_key_in_use(tmp_path: Path) -> None:
    """A crash before the swap leaves a staging folder: the old key still opens the store,
    and the next rotation discards the leftover."""
    home = tmp_path / "home"
    old, new = os.urandom(32), os.urandom(32)
    pid, _, _ = _populate(home, old)
    staging = home / "keys.rotating"
    staging.mkdir()
    (staging / "half-written.key").write_bytes(b"\x00" * 10)
    store = Store.open(home, old)
    store.close()
    assert rotate_master_key(home / "keys", old, new) == 1
    assert not staging.exists()
    assert ServiceKeys.open(home / "keys", new).patient_pseudonym(pid)
    with pytest.raises(IntegrityError):
        rotate_master_key(home / "keys", old, new)  # the old key is gone for good
