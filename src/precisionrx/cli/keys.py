"""``precisionrx keys rotate``: change the service's master key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.serve import DatabaseOption, HomeOption

keys_app = typer.Typer(help="The service's encryption keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def rotate_command(
    home: HomeOption = None,
    database: DatabaseOption = None,
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="File holding the new master key (base64 of 32 bytes, one line); created at "
            "random (mode 0600) when absent. Required when the current key comes from "
            "PRECISIONRX_MASTER_KEY.",
        ),
    ] = None,
) -> None:
    """Re-wrap every patient data key under a new master key (stop the service first).

    The current key is read as `serve` reads it. With the key file `<home>/master.key`, the
    new key replaces it; with PRECISIONRX_MASTER_KEY, set the variable to the new key file's
    line before the next start. The database is not rewritten: the data keys do not change.
    The rotation is recorded in the audit trail.
    """
    from precisionrx.security.crypto import (
        MASTER_KEY_FILE,
        MASTER_KEY_VARIABLE,
        encode_key,
        load_master_key,
        load_or_create_key_file,
        random_key,
    )
    from precisionrx.security.home import create_secret_file, default_home
    from precisionrx.storage.keys import rotate_master_key
    from precisionrx.storage.store import Store

    folder = home or default_home()
    env = dict(os.environ)
    from_variable = MASTER_KEY_VARIABLE in env
    if from_variable and new_key_file is None:
        raise typer.BadParameter(
            f"the master key comes from {MASTER_KEY_VARIABLE}: give --new-key-file FILE to "
            "receive the new key",
            param_hint="--new-key-file",
        )
    old = load_master_key(folder, env)
    pending = folder / f"{MASTER_KEY_FILE}.new"
    if new_key_file is not None:
        new = load_or_create_key_file(new_key_file)
    else:  # kept beside the old key until the swap is done, so no crash can lose it
        pending.unlink(missing_ok=True)
        new = random_key()
        create_secret_file(pending, encode_key(new).encode("ascii"))
    if new == old:
        raise typer.BadParameter("holds the current master key", param_hint="--new-key-file")
    count = rotate_master_key(folder / "keys", old, new)
    if not from_variable:
        source = pending if new_key_file is None else _copy_secret(new_key_file, pending)
        source.replace(folder / MASTER_KEY_FILE)
    store = Store.open(folder, new, database)
    try:
        store.audit(actor="precisionrx keys rotate", role="admin", patient_id=None,
                    action="keys.rotate", purpose=None, outcome="success",
                    detail=f"{count} data key(s) re-wrapped")  # fmt: skip
    finally:
        store.close()
    where = (
        f"set {MASTER_KEY_VARIABLE} to the line in {new_key_file} before starting the service"
        if from_variable
        else f"the new key is in {folder / MASTER_KEY_FILE}"
    )
    emit(f"master key rotated: {count} data key(s) re-wrapped; {where}\n", None)


def _copy_secret(source: Path, target: Path) -> Path:
    """A private copy of the key file ``source`` at ``target`` (for an atomic replace)."""
    from precisionrx.security.home import create_secret_file

    target.unlink(missing_ok=True)
    create_secret_file(target, source.read_bytes())
    return target
