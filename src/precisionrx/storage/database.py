"""Database engines and migrations.

The embedded default is SQLite in write-ahead-log mode with ``synchronous=FULL`` (a commit is on
disk before the API acknowledges it, so ``kill -9`` loses nothing acknowledged) and foreign
keys on; a ``postgresql+psycopg://`` URL uses a PostgreSQL server. The schema is created and
upgraded by Alembic on start (:func:`migrate`), so a new deployment needs no set-up step.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from precisionrx.errors import ConfigError

#: The database of a deployment that names none: ``<home>/precisionrx.db``.
DEFAULT_DB_NAME = "precisionrx.db"


def default_url(home: Path) -> str:
    """The embedded SQLite database in ``home``."""
    return f"sqlite:///{home / DEFAULT_DB_NAME}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def open_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite file or PostgreSQL); a clear ConfigError for a URL that
    names no usable database driver or a server that does not answer."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"not a database URL: {url!r}",
            hint="e.g. postgresql+psycopg://user@host/db or sqlite:////path/precisionrx.db",
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ConfigError(f"unsupported database {backend!r}", hint="use sqlite or postgresql")
    try:
        if backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"no driver for {parsed.drivername!r}",
            hint='install it: pip install "precisionrx[postgres]" (psycopg 3)',
        ) from exc
    return engine


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    script_dir = resources.files("precisionrx.storage") / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_dir))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise ConfigError(
            f"cannot open the database ({exc.orig.__class__.__name__})",
            hint="check --database and that the server is running",
        ) from exc
