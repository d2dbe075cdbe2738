#!/usr/bin/env python3
"""Speed of ``precisionrx serve`` over loopback (issue 15, item 9).

Goals: ``GET /api/v1/patients/{id}/plans/latest`` p99 <= 50 ms at 100 requests/s; upload + plan
of the demo patient <= 5 s end to end; 1,000 patients stored without slowing reads.

1. A fresh home; ``precisionrx serve`` in its own process (SQLite by default, or
   ``--database URL``). Tokens from ``precisionrx token``.
2. End to end, ``--e2e`` times: create the demo patient, upload its germline VCF, tumour MAF
   and 28-day CGM, start a plan, poll the job every 20 ms until done, read the plan.
3. Reads: an open-loop load of ``--rate`` requests/s for ``--seconds`` s (requests start on a
   fixed schedule whether or not earlier ones have returned, so a slow server shows up as
   latency instead of as a lower rate); latency is measured from each request's scheduled
   start to the end of its response body. Every read goes through the full path: token check,
   consent decision, decryption, an audit row.
4. The server stops; ``--patients`` more patients, each with a stored plan (the demo's plan,
   encrypted under the patient's own key), are added through the store, followed by what an
   operator does after a bulk load (PostgreSQL: ``VACUUM ANALYZE`` and ``CHECKPOINT``; SQLite:
   a WAL checkpoint); the server restarts and the read load runs again, on the demo patient
   and on patients drawn at random.

python benchmarks/bench_service.py [--rate 100] [--seconds 30] [--patients 1000] [--e2e 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import httpx
import yaml
from sqlalchemy import Engine

MASTER = "q1Jv7m0x2gYxw0m8W3n7u0Kp1cJbq0a3Yd1w3m7Jk2M="  # base64 of 32 bytes, benchmark only
DEMO = Path(str(resources.files("precisionrx.demo")))
FILES = [
    ("germline_vcf", DEMO / "demo.vcf", {"genome_build": "GRCh38"}),
    ("tumor_maf", DEMO / "tumour.maf",
     {"genome_build": "GRCh38", "tumor_type": "COADREAD", "msi": "MSS"}),
    ("cgm", DEMO / "cgm.csv", {"timezone": "Europe/London"}),
]  # fmt: skip


def cli() -> list[str]:
    exe = Path(sys.executable).with_name("precisionrx")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "precisionrx"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server_process(
    home: Path, env: dict[str, str], database: str | None, extra: Sequence[str] = ()
) -> Iterator[tuple[str, int]]:
    """``precisionrx serve`` (with ``extra`` options) in its own process until ready: its URL
    and process id."""
    port = free_port()
    cmd = [*cli(), "serve", "--home", str(home), "--port", str(port), *extra]
    if database:
        cmd += ["--database", database]
    log = (home.parent / "serve.log").open("ab")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {home.parent / 'serve.log'}")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


@contextmanager
def server(home: Path, env: dict[str, str], database: str | None) -> Iterator[str]:
    with server_process(home, env, database) as (url, _pid):
        yield url


def token(home: Path, env: dict[str, str], role: str) -> str:
    out = subprocess.run([*cli(), "token", "--user", f"bench-{role}", "--role", role,
                          "--organisation", "org-a", "--expires", "12h", "--home", str(home)],
                         env=env, check=True, capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()


def demo_record() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((DEMO / "patient.yaml").read_text())
    data.pop("genomic_inputs", None)
    data.pop("monitoring", None)
    return data


def end_to_end(c: httpx.Client) -> tuple[str, float, float]:
    """(patient id, seconds from create to plan read, of which upload)."""
    t0 = time.perf_counter()
    pid = c.post("/api/v1/patients", json=demo_record()).raise_for_status().json()["id"]
    for kind, path, form in FILES:
        with path.open("rb") as fh:
            c.post(f"/api/v1/patients/{pid}/files", data={"kind": kind, **form},
                   files={"file": (path.name, fh)}).raise_for_status()  # fmt: skip
    uploaded = time.perf_counter() - t0
    job = c.post(f"/api/v1/patients/{pid}/plans").raise_for_status().json()
    while True:
        status = c.get(job["status_url"]).raise_for_status().json()
        if status["status"] == "done":
            break
        if status["status"] == "failed":
            raise SystemExit(f"plan job failed: {status['error']}")
        time.sleep(0.02)
    c.get(f"/api/v1/patients/{pid}/plans/latest").raise_for_status()
    return pid, time.perf_counter() - t0, uploaded


async def load(
    url: str, tok: str, ids: list[str], rate: float, seconds: float, warmup: float = 3.0
) -> list[float]:
    """Open-loop GET plans/latest at ``rate``/s; latencies in ms from each scheduled start.
    The first ``warmup`` seconds of the same load are not counted (a fresh process's first
    requests import modules and fill the connection pool)."""
    skip = int(rate * warmup)
    n = int(rate * seconds) + skip
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {tok}"},
                                 limits=limits, timeout=30) as c:  # fmt: skip
        for pid in set(ids):  # warm the connections and the server's caches
            (await c.get(f"/api/v1/patients/{pid}/plans/latest")).raise_for_status()
        start = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            nonlocal errors
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            r = await c.get(f"/api/v1/patients/{ids[i % len(ids)]}/plans/latest")
            _ = r.content
            if r.status_code != 200:
                errors += 1
            if i >= skip:
                lat.append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(i) for i in range(n)))
    if errors:
        raise SystemExit(f"{errors} of {n} reads failed")
    return lat


def summary(name: str, lat: list[float]) -> dict[str, float | str | int]:
    q = statistics.quantiles(lat, n=100, method="inclusive")
    row = {"load": name, "requests": len(lat), "p50_ms": q[49], "p95_ms": q[94],
           "p99_ms": q[98], "max_ms": max(lat)}  # fmt: skip
    print(f"  {name}: n={len(lat)} p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, "
          f"p99 {q[98]:.1f} ms, max {max(lat):.1f} ms", flush=True)  # fmt: skip
    return row


def add_patients(
    home: Path,
    database: str | None,
    n: int,
    plan_json: str,
    attention: dict[str, object] | None = None,
) -> tuple[list[str], float]:
    """Store ``n`` patients with a plan each (and what in it needs attention, when given),
    through the store: their ids, seconds taken."""
    from precisionrx.security.crypto import load_master_key
    from precisionrx.storage.store import Store

    store = Store.open(home, load_master_key(home, {"PRECISIONRX_MASTER_KEY": MASTER}), database)
    record = demo_record()
    ids: list[str] = []
    t0 = time.perf_counter()
    try:
        for i in range(n):
            row = store.create_patient(record, "org-a")
            job = store.create_job(row.id, "plan", "bench")
            plan_id = store.save_plan(row.id, job.id, plan_json, attention)
            store.set_job(job.id, status="done", progress=1.0, plan_id=plan_id)
            ids.append(row.id)
            if (i + 1) % 200 == 0:
                print(f"  stored {i + 1} patients", flush=True)
        took = time.perf_counter() - t0
        settle(store.engine)
    finally:
        store.close()
    return ids, took


def settle(engine: Engine) -> None:
    """What an operator does after a bulk load: refresh the planner's statistics and flush
    the write-ahead log, so the read measurement that follows is not of the load's
    after-effects (PostgreSQL's autovacuum and checkpoint of ~300 MB of new plans)."""
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("VACUUM ANALYZE"))
            c.execute(text("CHECKPOINT"))
        else:
            c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--e2e", type=int, default=3, help="end-to-end runs (median reported)")
    ap.add_argument("--database", help="SQLAlchemy URL of an empty database (default SQLite)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prx-bench-"))
    home = work / "home"
    env = {**os.environ, "PRECISIONRX_MASTER_KEY": MASTER, "PRECISIONRX_HOME": str(home)}
    results: dict[str, object] = {}
    try:
        with server(home, env, args.database) as url:
            clin = token(home, env, "clinician")
            print("end to end (create, 3 uploads, plan job, read):", flush=True)
            with httpx.Client(base_url=url, timeout=120,
                              headers={"Authorization": f"Bearer {clin}"}) as c:  # fmt: skip
                runs = [end_to_end(c) for _ in range(args.e2e)]
                for _, total, up in runs:
                    print(f"  {total:.2f} s (uploads {up:.2f} s)", flush=True)
                pid = runs[0][0]
                plan_json = c.get(f"/api/v1/patients/{pid}/plans/latest").text
            results["end_to_end_s"] = [t for _, t, _ in runs]
            results["end_to_end_median_s"] = statistics.median(t for _, t, _ in runs)
            results["plan_json_bytes"] = len(plan_json.encode())
            print(f"reads at {args.rate:g}/s for {args.seconds:g} s, {args.e2e} patients:")
            before = asyncio.run(load(url, clin, [pid], args.rate, args.seconds))
            results["reads_before"] = summary("demo patient", before)
        print(f"adding {args.patients} patients with a plan each:", flush=True)
        stored, took = add_patients(home, args.database, args.patients, plan_json)
        results["store_patients_s"] = took
        print(f"  {took:.1f} s ({args.patients / took:.0f} patients/s)")
        with server(home, env, args.database) as url:
            print(f"reads with {args.patients + args.e2e} patients stored:")
            after = asyncio.run(load(url, clin, [pid], args.rate, args.seconds))
            results["reads_after"] = summary("demo patient", after)
            random.seed(7)
            sample = random.sample(stored, min(200, len(stored))) if stored else [pid]
            spread = asyncio.run(load(url, clin, sample, args.rate, args.seconds))
            results["reads_after_random"] = summary("random patients", spread)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
