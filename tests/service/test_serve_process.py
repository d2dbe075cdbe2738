"""``precisionrx serve`` as its own process: first start with nothing set up, ``kill -9``
during uploads and plan jobs loses nothing acknowledged, and no PHI reaches the logs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from precisionrx.security.tokens import LocalIssuer, Role
from tests.service.conftest import MASTER, auth, free_port, wait_job
from tests.service.helpers import DEMO, demo_record

NAME = "Philippa Quernshaw"


class ServerProcess:
    def __init__(self, home: Path, database: str | None, log: Path) -> None:
        self.home, self.database, self.log = home, database, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        args = [sys.executable, "-c", "from precisionrx.cli import main; main()", "serve",
                "--home", str(self.home), "--port", str(self.port)]  # fmt: skip
        if self.database:
            args += ["--database", self.database]
        env = {**os.environ, "PRECISIONRX_MASTER_KEY": MASTER}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def server(tmp_path: Path, database: str | None) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path / "fresh-home", database, tmp_path / "server.log")
    try:
        yield s.start()
    finally:
        s.stop()


def test_kill_9_loses_no_acknowledged_upload_or_job(server: ServerProcess) -> None:
    assert (server.home / "master.key").exists() is False  # the key came from the environment
    token = LocalIssuer.load_or_create(server.home).mint("dr", Role.clinician, organisation="o")
    with httpx.Client(base_url=server.url, timeout=30) as c:
        pid = c.post("/api/v1/patients", json=demo_record(name=NAME),
                     headers=auth(token)).json()["id"]  # fmt: skip
    acknowledged: list[str] = []
    cgm = (DEMO / "cgm.csv").read_bytes()

    def upload_forever() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while True:
                try:
                    r = c.post(f"/api/v1/patients/{pid}/files", headers=auth(token),
                               files={"file": ("cgm.csv", cgm)},
                               data={"kind": "cgm", "timezone": "Europe/London"})  # fmt: skip
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    acknowledged.append(r.json()["file_id"])

    worker = threading.Thread(target=upload_forever)
    worker.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    worker.join(30)
    assert len(acknowledged) >= 3
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        files = {f["file_id"] for f in c.get(f"/api/v1/patients/{pid}/files",
                                             headers=auth(token)).json()}  # fmt: skip
        assert set(acknowledged) <= files
        # a plan job killed while it runs is run again on the next start
        started = c.post(f"/api/v1/patients/{pid}/plans", headers=auth(token)).json()
        time.sleep(0.3)
        server.kill()
        server.start()
        job = wait_job(c, token, started["status_url"])
        assert job["status"] == "done", job
        assert c.get(f"/api/v1/patients/{pid}/plans/latest", headers=auth(token)).status_code == 200
    # nothing identifying reached the log
    log = server.log.read_text(errors="replace")
    assert "Uvicorn running" in log or "Application startup complete" in log
    for secret in (NAME, "demo-001", "clopidogrel", "rs114096998", token):
        assert secret not in log, secret
