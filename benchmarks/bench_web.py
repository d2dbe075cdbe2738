#!/usr/bin/env python3
"""Speed of the web pages (issue 19, item 6).

Goals: the demo patient's page renders in <= 300 ms of server time; the interactive AGP of 90
days of 5-minute CGM data redraws within 100 ms of a hover.

1. ``precisionrx serve`` in its own process on a fresh home (SQLite). The demo patient is
   created, its three files uploaded and its plan made through the API; a clinician signs in
   through ``/login``.
2. Pages: ``--repeat`` sequential GETs of ``/patients/{id}``, ``/patients/{id}/sections/pgx``,
   ``/patients/{id}/monitoring`` and ``/patients``, each timed from request to the end of the
   body over loopback (an upper bound of the server's time: the loopback round trip is well
   under a millisecond).
3. The list at scale: the server stops, ``--patients`` more patients with the demo's plan and
   its attention flags are stored through the store, the server restarts and ``/patients``
   (every patient's flags, each decided against its consent) is timed again.
4. AGP hover, in Chromium (Debian's, through Playwright): a patient with 90 days of 5-minute
   readings; the page gets a listener (CSP bypassed for the measurement only) that stamps
   ``performance.now()`` when the pointer enters a time-of-day bin and again two animation
   frames later, when the frame showing the readout has been produced; the pointer visits all
   96 bins in turn. The in-page time excludes Playwright's own round trip.

python benchmarks/bench_web.py [--repeat 50] [--patients 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import (
    MASTER,
    add_patients,
    end_to_end,
    server,
    summary,
    token,
)

from testkit.cgm import cgm_csv

MEASURE = """() => {
  window.__lat = [];
  for (const g of document.querySelectorAll('svg.agp g.bin')) {
    g.addEventListener('pointerenter', () => {
      const t0 = performance.now();
      requestAnimationFrame(() => requestAnimationFrame(() => {
        const shown = getComputedStyle(g.querySelector('text')).visibility === 'visible';
        window.__lat.push([performance.now() - t0, shown]);
      }));
    });
  }
}"""


@contextmanager
def browser(url: str, tok: str) -> Iterator[httpx.Client]:
    """A cookie-keeping client signed in through /login, as a browser is."""
    with httpx.Client(base_url=url, timeout=60, headers={"Origin": url}) as b:
        if b.post("/login", data={"token": tok, "next": ""}).status_code != 303:
            raise SystemExit("sign-in failed")
        yield b


def time_pages(b: httpx.Client, paths: list[str], repeat: int) -> dict[str, dict[str, object]]:
    out = {}
    for path in paths:
        b.get(path).raise_for_status()  # warm
        lat = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = b.get(path)
            lat.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"{path}: HTTP {r.status_code}")
        name = path.replace(path.split("/")[2], "{id}") if path.count("/") > 1 else path
        out[name] = summary(name, lat)
    return out


def agp_hover(url: str, tok: str, pid: str) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        context = chromium.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{url}/login")
        page.get_by_label("Access token").fill(tok)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.goto(f"{url}/patients/{pid}/monitoring")
        page.evaluate(MEASURE)
        bins = page.locator("svg.agp g.bin rect.hit")
        for i in range(bins.count()):
            box = bins.nth(i).bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_function("n => window.__lat.length >= n", arg=i + 1)
        measured = page.evaluate("window.__lat")
        chromium.close()
    lat = [m for m, _ in measured]
    shown = sum(1 for _, s in measured if s)
    print(
        f"  AGP hover, 90 days: {len(lat)} bins, readout shown on {shown}; "
        f"median {statistics.median(lat):.1f} ms, max {max(lat):.1f} ms",
        flush=True,
    )
    return {"bins": len(lat), "shown": shown, "median_ms": statistics.median(lat),
            "max_ms": max(lat)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prx-bench-web-"))
    home = work / "home"
    env = {**os.environ, "PRECISIONRX_MASTER_KEY": MASTER, "PRECISIONRX_HOME": str(home)}
    results: dict[str, object] = {}
    try:
        with server(home, env, None) as url:
            clin = token(home, env, "clinician")
            api = httpx.Client(
                base_url=url, timeout=120, headers={"Authorization": f"Bearer {clin}"}
            )
            pid, _, _ = end_to_end(api)
            plan_json = api.get(f"/api/v1/patients/{pid}/plans/latest").text
            cgm_pid = (
                api.post("/api/v1/patients", json={"id": "cgm-90"}).raise_for_status().json()["id"]
            )
            api.post(f"/api/v1/patients/{cgm_pid}/files", data={"kind": "cgm", "timezone": "UTC"},
                     files={"file": ("cgm.csv", cgm_csv(90))}).raise_for_status()  # fmt: skip
            job = api.post(f"/api/v1/patients/{cgm_pid}/plans").raise_for_status().json()
            while api.get(job["status_url"]).json()["status"] not in ("done", "failed"):
                time.sleep(0.05)
            print("pages, demo patient (loopback, sequential):", flush=True)
            with browser(url, clin) as b:
                results["pages"] = time_pages(b, [f"/patients/{pid}", f"/patients/{pid}/sections/pgx",
                                                  f"/patients/{pid}/monitoring", "/patients"],
                                              args.repeat)  # fmt: skip
            results["agp_hover"] = agp_hover(url, clin, cgm_pid)
        from precisionrx.plan.attention import plan_attention, with_new
        from precisionrx.plan.model import TreatmentPlan

        attention = with_new(plan_attention(TreatmentPlan.model_validate_json(plan_json)), None)
        print(f"storing {args.patients} more patients with plans and flags:", flush=True)
        add_patients(home, None, args.patients, plan_json, attention.model_dump(mode="json"))
        with server(home, env, None) as url, browser(url, clin) as b:
            print(f"patient list with {args.patients + 2} patients:", flush=True)
            results["list_at_scale"] = time_pages(b, ["/patients"], max(5, args.repeat // 5))
            results["patients"] = args.patients + 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
