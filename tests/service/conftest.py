"""Fixtures of the service tests: both databases, a live server, tokens.

Every storage and API test runs against SQLite and a real PostgreSQL server (the page tests,
PAGE_MODULES, against SQLite only unless ``PRECISIONRX_PAGES_ON_POSTGRES=1``). PostgreSQL comes
from ``PRECISIONRX_TEST_POSTGRES_URL`` when set (a server the caller runs), else a throwaway
cluster started by the ``pgserver`` wheel in a temporary folder for the session. The live
server is uvicorn on a free loopback port in a thread of the test process; requests go through
httpx over real sockets.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from precisionrx.security.tokens import LocalIssuer, Role
from precisionrx.service.app import create_app, open_state
from precisionrx.service.settings import ServiceSettings
from precisionrx.service.state import ServiceState

MASTER = "q1Jv7m0x2gYxw0m8W3n7u0Kp1cJbq0a3Yd1w3m7Jk2M="  # base64 of 32 bytes, tests only


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server for the session (external, or a pgserver cluster)."""
    url = os.environ.get("PRECISIONRX_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        folder = tmp_path_factory.mktemp("pg")
        server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


def _fresh_database(server_url: str) -> str:
    """A new empty database on the server; its SQLAlchemy URL (psycopg 3)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"prx_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


#: Page-rendering test modules: their storage calls are those of the API, which the other
#: modules run on both databases; here they run on SQLite only (the CI time budget), unless
#: PRECISIONRX_PAGES_ON_POSTGRES=1.
PAGE_MODULES = frozenset({"test_web", "test_web_oidc", "test_web_sections", "test_browser"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PRECISIONRX_PAGES_ON_POSTGRES") == "1":
        return
    dropped = [
        item for item in items
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in PAGE_MODULES
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database") == "postgresql"
    ]  # fmt: skip
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = {id(i) for i in dropped}
        items[:] = [i for i in items if id(i) not in gone]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    """None (embedded SQLite in the home folder) or a fresh PostgreSQL database URL."""
    if request.param == "sqlite":
        return None
    server: str = request.getfixturevalue("postgres_server")
    return _fresh_database(server)


@pytest.fixture
def settings(tmp_path: Path, database: str | None) -> ServiceSettings:
    return ServiceSettings(home=tmp_path / "home", database=database,
                           environ={"PRECISIONRX_MASTER_KEY": MASTER})  # fmt: skip


@pytest.fixture
def state(settings: ServiceSettings) -> Iterator[ServiceState]:
    s = open_state(settings)
    try:
        yield s
    finally:
        s.runner.shutdown()
        s.store.close()


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """uvicorn serving the app on a loopback port, in a thread."""

    def __init__(self, settings: ServiceSettings, state: ServiceState) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings, state), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on", server_header=False)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(settings: ServiceSettings, state: ServiceState) -> Iterator[LiveServer]:
    with LiveServer(settings, state) as server:
        yield server


Mint = Callable[..., str]


@pytest.fixture
def mint(settings: ServiceSettings) -> Mint:
    """Tokens signed by the service's own key: ``mint("alice", Role.clinician, org="A")``."""
    issuer = LocalIssuer.load_or_create(settings.home)

    def make(user: str, role: Role, *, patient: str | None = None, org: str | None = "org-a",
             expires: timedelta = timedelta(hours=1)) -> str:  # fmt: skip
        return issuer.mint(user, role, patient=patient, organisation=org, expires=expires)

    return make


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        yield c


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def wait_job(client: httpx.Client, token: str, status_url: str, timeout: float = 120) -> dict[str, object]:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, object] = client.get(status_url, headers=auth(token)).json()
        if body["status"] in ("done", "failed"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job still {body['status']} after {timeout} s")
        time.sleep(0.1)
