"""The service's home directory and the owner-only secret files kept in it.

``$PRECISIONRX_HOME`` (default ``~/.precisionrx``) holds the master key (``master.key``), the token
signing key (``token_signing_key.pem``) and, later, the embedded database. Secret files are:

* created with ``os.open(O_CREAT | O_EXCL, 0o600)`` so they are never, even for an instant,
  readable by another user, and never overwrite an existing file (two processes starting at once
  both end up with the first one's key: the complete file is written under a temporary name and
  then hard-linked into place, which fails if the name exists);
* refused when group or others have any permission on them (a leaked key cannot be "fixed" by
  reading it anyway: the operator must rotate it or ``chmod 600`` it knowingly).

POSIX permissions only: on a system without them (Windows) the mode checks are skipped.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from precisionrx.errors import ConfigError

#: Environment variable naming the home directory.
HOME_VARIABLE = "PRECISIONRX_HOME"

#: Mode of secret files: read and write for the owner only.
SECRET_MODE = 0o600

#: Mode of a home directory this module creates.
HOME_MODE = 0o700

#: Largest secret file read (a PEM key or a base64 line is far smaller).
MAX_SECRET_BYTES = 64 * 1024

_POSIX = os.name == "posix"


def default_home(env: Mapping[str, str] | None = None) -> Path:
    """``$PRECISIONRX_HOME`` if set and not empty, else ``~/.precisionrx``.

    ``env`` defaults to ``os.environ`` (read when called, never at import).
    """
    environ = os.environ if env is None else env
    value = environ.get(HOME_VARIABLE, "")
    return Path(value).expanduser() if value else Path.home() / ".precisionrx"


def ensure_home(home: Path) -> Path:
    """Create ``home`` (mode 0700) if absent; a :class:`ConfigError` if it is not a directory."""
    try:
        home.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError("the home directory is not a directory", path=home) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot create the home directory: {exc.strerror or exc}", path=home
        ) from None
    if not home.is_dir():
        raise ConfigError("the home directory is not a directory", path=home)
    return home


def read_secret_file(path: Path) -> bytes:
    """The bytes of an owner-only regular file.

    :raises ConfigError: the file is not a regular file, is accessible to group or others, is too
        large, or cannot be read. :class:`FileNotFoundError` passes through (callers create it).
    """
    try:
        # O_NONBLOCK: a FIFO put in the key's place must not hang the start; it is refused below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read the key file: {exc.strerror or exc}", path=path) from None
    try:
        info = os.fstat(fd)  # the file actually opened, not whatever the name points to later
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("the key file is not a regular file", path=path)
        if _POSIX and info.st_mode & 0o077:
            raise ConfigError(
                f"the key file is accessible to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o})",
                path=path,
                hint="it must be readable by its owner only: check who may have copied it, "
                "then `chmod 600` it",
            )
        if info.st_size > MAX_SECRET_BYTES:
            raise ConfigError("the key file is too large to be a key", path=path)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the key file: {exc.strerror or exc}", path=path) from None
    finally:
        os.close(fd)
    return data


def create_secret_file(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new owner-only file at ``path``; False if ``path`` already exists.

    The content is written and flushed to disk under a temporary name created with
    ``O_CREAT | O_EXCL`` and mode 0600, then hard-linked to ``path`` (atomic, never replaces an
    existing file); a crash leaves either no key or the whole key, never a partial one. On a file
    system without hard links the file is created in place, still with ``O_EXCL`` and 0600.
    """
    ensure_home(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    _write_new(temporary, data)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some network or FAT file systems)
        try:
            _write_new(path, data)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    _sync_directory(path.parent)
    return True


def _write_new(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, SECRET_MODE)
    except FileExistsError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot create the key file: {exc.strerror or exc}", path=path) from None
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise ConfigError(f"cannot write the key file: {exc.strerror or exc}", path=path) from None
    os.close(fd)


def _sync_directory(directory: Path) -> None:
    """Make the new directory entry durable (POSIX; a no-op where directories cannot be opened)."""
    if not _POSIX:
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
