#!/usr/bin/env python3
"""Speed of the CDS Hooks order-select service over loopback (issue 18).

Goal: p99 of an order-select call <= 50 ms at 100 requests/s.

1. A fresh home; ``precisionrx serve --cds-trusted ISSUERS.json --public-url URL`` in its own
   process (SQLite by default, or ``--database URL``), trusting one EHR key (EC P-384).
2. Requests: order-select for a patient with four genotype Observations in prefetch
   (CYP2C19 *2/*2, CYP2D6 *1/*1, SLCO1B1 *1/*5, HLA-B negative) of a new patient each call
   (nothing is reused between calls), two current medications
   (paroxetine every other request, so half the calls phenoconvert CYP2D6) and two draft orders
   (clopidogrel by RxNorm SCD code and codeine by name) of which the selected one alternates. Each
   request carries its own ES384 JWT (signed before the load starts, so the client's signing
   does not compete with the server for the two cores); the server verifies the signature,
   checks the replay cache, reads the prefetch, runs the prescribing check and writes an audit
   row.
3. An open-loop load of ``--rate`` requests/s for ``--seconds`` s (requests start on a fixed
   schedule whether or not earlier ones have returned; latency from each scheduled start to the
   end of the response body), after ``--warmup`` s of the same load that are not counted.

python benchmarks/bench_cds.py [--rate 100] [--seconds 30] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import MASTER, server_process

from tests.service.cds_fixtures import (
    Client,
    diplotype,
    genotype,
    order,
    request,
    searchset,
)

PUBLIC = "https://cds.example.org"  # the fixtures' audience base
SERVICE = "pgx-order-select"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bodies(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        p = f"bench-{i}"  # a new patient each call: nothing can be reused between calls
        geno = searchset(
            diplotype("g1", "CYP2C19", "*2", "*2", patient=p),
            diplotype("g2", "CYP2D6", "*1", "*1", patient=p),
            diplotype("g3", "SLCO1B1", "*1", "*5", patient=p),
            genotype("g4", "HLA-B", "HLA-B*07:02+HLA-B*08:01", patient=p),
        )
        drafts = [order("o1", "clopidogrel 75 MG Oral Tablet", "309362", patient=p),
                  order("o2", "codeine", patient=p)]  # fmt: skip
        current = [order("m2", "lisinopril 10 MG Oral Tablet", status="active", patient=p)]
        if i % 2:
            current.append(order("m1", "paroxetine 20 MG Oral Tablet", status="active", patient=p))
        body = request("order-select", drafts, genotypes=geno, medications=searchset(*current),
                       selections=[f"MedicationRequest/o{1 + i % 2}"], patient=p)  # fmt: skip
        body["hookInstance"] = str(uuid.uuid4())
        out.append(body)
    return out


async def load(
    url: str, ehr: Client, rate: float, seconds: float, warmup: float
) -> tuple[list[float], dict[str, int]]:
    skip = int(rate * warmup)
    n = int(rate * seconds) + skip
    payloads = [json.dumps(b).encode() for b in bodies(n)]
    tokens = [ehr.token(SERVICE) for _ in range(n)]
    lat: list[float] = []
    indicators: dict[str, int] = {}
    errors: list[int] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as c:
        warm = await c.post(f"/cds-services/{SERVICE}", content=payloads[0],
                            headers={"Authorization": f"Bearer {ehr.token(SERVICE)}",
                                     "Content-Type": "application/json"})  # fmt: skip
        warm.raise_for_status()
        start = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            r = await c.post(f"/cds-services/{SERVICE}", content=payloads[i],
                             headers={"Authorization": f"Bearer {tokens[i]}",
                                      "Content-Type": "application/json"})  # fmt: skip
            body = r.content
            if r.status_code != 200:
                errors.append(r.status_code)
            elif i >= skip:
                lat.append((time.perf_counter() - due) * 1000)
                for card in json.loads(body)["cards"]:
                    indicators[card["indicator"]] = indicators.get(card["indicator"], 0) + 1

        await asyncio.gather(*(one(i) for i in range(n)))
    if errors:
        raise SystemExit(f"{len(errors)} of {n} calls failed: {sorted(set(errors))}")
    return lat, indicators


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--database", default=None)
    args = ap.parse_args()
    ehr = Client()
    with tempfile.TemporaryDirectory(prefix="prx-bench-cds-") as tmp:
        home = Path(tmp) / "home"
        issuers = Path(tmp) / "issuers.json"
        issuers.write_text(json.dumps({ehr.issuer: ehr.jwks()}))
        env = {**os.environ, "PRECISIONRX_MASTER_KEY": MASTER}
        extra = ["--cds-trusted", str(issuers), "--public-url", PUBLIC]
        with server_process(home, env, args.database, extra) as (url, pid):
            cpu0, t0 = cpu_seconds(pid), time.perf_counter()
            lat, indicators = asyncio.run(load(url, ehr, args.rate, args.seconds, args.warmup))
            cpu = (cpu_seconds(pid) - cpu0) / (time.perf_counter() - t0)
    q = statistics.quantiles(lat, n=100, method="inclusive")
    print(f"order-select at {args.rate:g}/s for {args.seconds:g} s "
          f"({'PostgreSQL' if args.database else 'SQLite'}): n={len(lat)} "
          f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {max(lat):.1f} ms; "
          f"cards {indicators}; server CPU {cpu:.2f} cores")  # fmt: skip
    print(json.dumps({"rate": args.rate, "n": len(lat), "p50_ms": q[49], "p95_ms": q[94],
                      "p99_ms": q[98], "max_ms": max(lat), "cards": indicators,
                      "server_cpu_cores": cpu}))  # fmt: skip


if __name__ == "__main__":
    main()
