"""Cohort runs on a Dask cluster of two worker processes: the same answers as the
single-machine commands, field for field (PGx on a 1000 Genomes slice; PRS, risk and CGM on
generated data), resumable runs that never take a partial shard as done, the DuckDB view, clear
errors, and the equity analytics (Wilson intervals checked against published values)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("distributed")
import duckdb
import polars as pl
from distributed import LocalCluster

from precisionrx.cohort.equity import wilson
from testkit.cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "cohort"
SLICE = DATA / "1kgp_slice.vcf.gz"
PANEL = DATA / "1kgp_slice.panel"


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A LocalCluster of two single-threaded worker processes, shared by the module's runs
    (``--scheduler``); one test runs the default cluster instead."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        yield str(cluster.scheduler_address)


def _flat_pgx(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """``precisionrx pgx`` JSON flattened to sample x gene rows, independently of the cohort
    code, with the cohort's field names."""
    out = []
    for r in doc["results"]:
        for g in r["genes"]:
            out.append({
                "input": r["input"], "sample": r["sample"], "genome_build": r["genome_build"],
                "gene": g["gene"], "called": g["called"], "diplotypes": g["diplotypes"],
                "diplotype_probabilities": g.get("diplotype_probabilities"),
                "diplotype_phenotypes": [c["phenotype"] for c in g.get("diplotype_calls", [])],
                "diplotype_activity_scores": [c["activity_score"]
                                              for c in g.get("diplotype_calls", [])],
                "phenotype": g.get("phenotype"), "activity_score": g.get("activity_score"),
                "allele_functions": g.get("allele_functions", []),
                "lookup_key": g.get("lookup_key"), "source": g["source"], "phased": g["phased"],
                "positions_found": g["positions"]["found"],
                "positions_total": g["positions"]["total"],
                "positions_missing": g["positions"]["missing"],
                "reference_filled": g["positions"]["reference_filled"],
                "variants": g.get("variants", []),
                "caveats": [{"code": c["code"], "message": c["message"], "kind": c["kind"]}
                            for c in g.get("caveats", [])],
            })  # fmt: skip
    return sorted(out, key=lambda x: (x["sample"], x["gene"]))


def test_pgx_equals_the_single_run_field_for_field(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    single = tmp_path / "single.json"
    code, _, err = run(
        ["pgx", str(SLICE), "--genotypes-only", "--quiet", "-o", str(single)], capsys
    )
    assert code == 0, err
    expected = _flat_pgx(json.loads(single.read_text()))
    out = tmp_path / "cohort.parquet"
    code, _, err = run(["cohort", "pgx", str(SLICE), "-o", str(out), "--scheduler", scheduler,
                        "--samples-per-shard", "150", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    got = pl.read_parquet(sorted(out.glob("part-*.parquet"))).sort("sample", "gene").to_dicts()
    assert len(got) == len(expected) == 400 * 20  # every sample x every gene
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs
    # 20 genes x 3 sample blocks, the manifest, the end marker, the DuckDB view
    assert len(list(out.glob("part-*.parquet"))) == 60 and (out / "_SUCCESS").is_file()
    with duckdb.connect(str(tmp_path / "cohort.duckdb"), read_only=True) as con:
        n, pm = con.execute("SELECT count(*), count(*) FILTER (WHERE gene = 'CYP2C19' AND "
                            "phenotype = 'Poor Metabolizer') FROM results").fetchone()  # fmt: skip
    assert n == 8000
    assert pm == sum(1 for r in expected if r["gene"] == "CYP2C19"
                     and r["phenotype"] == "Poor Metabolizer") > 0  # fmt: skip


def test_resume_keeps_finished_shards_and_never_reads_a_partial_one(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.parquet"
    args = ["cohort", "pgx", str(SLICE), "-o", str(out), "--scheduler", scheduler, "--quiet",
            "--samples-per-shard", "200"]  # fmt: skip
    assert run(args, capsys)[0] == 0
    parts = sorted(out.glob("part-*.parquet"))
    full = pl.read_parquet(parts).sort("sample", "gene")
    # a crash: three parts lost, one half-written temporary left behind, no end marker
    kept = {p.name: p.stat().st_mtime_ns for p in parts[3:]}
    for p in parts[:3]:
        p.unlink()
    (out / ".part-00000.parquet.dead.tmp").write_bytes(b"PAR1 half")
    (out / "_SUCCESS").unlink()
    code, _, err = run(["cohort", "equity", str(out), "--group", "x"], capsys)
    assert code != 0 and "unfinished" in err  # an unfinished run is never analysed
    code, _, err = run(args, capsys)
    assert code != 0 and "already exists" in err and "--resume" in err  # no silent overwrite
    code, _, err = run([*args, "--resume"], capsys)
    assert code == 0, err
    assert "37 already done" in err
    again = sorted(out.glob("part-*.parquet"))
    assert {p.name: p.stat().st_mtime_ns for p in again[3:]} == kept  # not redone
    assert pl.read_parquet(again).sort("sample", "gene").equals(full)
    # another run's output is refused
    code, _, err = run([*args[:-2], "--samples-per-shard", "100", "--resume"], capsys)
    assert code != 0 and "another run" in err


def test_default_local_cluster_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.vcf"
    bad.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
                   "chr10\tnot-a-number\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n")  # fmt: skip
    out = tmp_path / "bad.parquet"
    code, _, err = run(["cohort", "pgx", str(bad), "-o", str(out), "--workers", "2", "--quiet"],
                       capsys)  # fmt: skip
    assert code not in (0, 1) and "bad.vcf" in err and "Traceback" not in err
    assert not (out / "_SUCCESS").exists()
    # the build is checked once per file before any shard runs (here from the records at the
    # build-marker positions: the slice's header has contigs without lengths)
    wrong = tmp_path / "wrong.parquet"
    code, _, err = run(["cohort", "pgx", str(SLICE), "-o", str(wrong), "--genome-build",
                        "GRCh37", "--quiet"], capsys)  # fmt: skip
    assert code == 4 and "GRCh38" in err and "Traceback" not in err and not wrong.exists()
    code, _, err = run(["cohort", "pgx", str(tmp_path / "none.vcf"), "-o", str(out)], capsys)
    assert code != 0 and "none.vcf" in err and "not found" in err
    code, _, err = run(["cohort", "pgx", str(SLICE), "-o", str(out), "--workers", "2",
                        "--scheduler", "tcp://127.0.0.1:9"], capsys)  # fmt: skip
    assert code == 2 and "--workers" in err


def _risk_table(path: Path, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    rows = ["id,age,sex,sbp,bp_treated,total_chol,hdl_chol,diabetes,smoker,egfr,bmi,group"]
    for i in range(n):
        rows.append(",".join(str(v) for v in (
            f"p{i}", int(rng.integers(40, 79)), rng.choice(["female", "male"]),
            int(rng.integers(100, 180)), int(rng.integers(0, 2)), int(rng.integers(150, 280)),
            int(rng.integers(35, 80)), int(rng.integers(0, 2)), int(rng.integers(0, 2)),
            int(rng.integers(50, 110)), round(float(rng.uniform(20, 38)), 1),
            rng.choice(["A", "B"]))))  # fmt: skip
    path.write_text("\n".join(rows) + "\n")


def test_risk_in_blocks_equals_the_single_run(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "people.csv"
    _risk_table(table, 30000)
    single = tmp_path / "single.csv"
    assert run(["risk", str(table), "--models", "prevent,pce", "-o", str(single)], capsys)[0] == 0
    out = tmp_path / "risk.parquet"
    code, _, err = run(["cohort", "risk", str(table), "--models", "prevent,pce", "-o", str(out),
                        "--block-mb", "1", "--scheduler", scheduler, "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    # blocks of 1 MB: the 2 MB table is cut
    assert table.stat().st_size > 1024 * 1024 and len(list(out.glob("part-*.parquet"))) >= 2
    expected = pl.read_csv(single, infer_schema=False)
    got = pl.read_parquet(sorted(out.glob("part-*.parquet")))
    keys = ["id", "model", "variant", "horizon_years", "outcome"]
    got_text = got.select(
        [pl.col(c).cast(pl.Utf8) if c != "risk" else pl.col(c) for c in expected.columns]
    ).sort(keys)  # fmt: skip
    exp = expected.with_columns(pl.col("risk").cast(pl.Float64)).sort(keys)
    assert got_text.height == exp.height > 30000
    for c in expected.columns:
        if c == "risk":
            assert got_text[c].to_list() == exp[c].to_list()  # bit for bit
        else:
            assert got_text[c].fill_null("").to_list() == exp[c].fill_null("").to_list(), c


def test_risk_blocks_cut_at_line_ends_with_file_line_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from precisionrx.cohort.risk import _blocks, risk_shard

    table = tmp_path / "t.csv"
    _risk_table(table, 500)
    header, blocks = _blocks(table, 2048)
    text = table.read_bytes()
    assert len(blocks) > 5
    assert blocks[0][0] == header and blocks[-1][1] == len(text)
    for (s, e, first), nxt in zip(blocks, [*blocks[1:], None], strict=True):
        assert text[e - 1 : e] == b"\n"  # every block ends at a line end
        assert first == text[header:s].count(b"\n")
        if nxt:
            assert nxt[0] == e
    # a bad value deep in the table is named by its line in the file, not in the block
    lines = text.decode().splitlines()
    lines[400] = lines[400].replace(lines[400].split(",")[1], "abc", 1)
    table.write_text("\n".join(lines) + "\n")
    header, blocks = _blocks(table, 2048)
    where = [b for b in blocks if b[2] <= 399][-1]  # the block holding data row 400
    assert where[2] > 0
    spec = {"table": str(table), "models": ["prevent"], "header": header, "start": where[0],
            "end": where[1], "first_row": where[2]}  # fmt: skip
    from precisionrx.errors import InputError

    with pytest.raises(InputError, match="row 401: column age"):  # line 401 of the file
        risk_shard(spec)


def test_prs_equals_the_single_run(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    score = tmp_path / "score.txt"
    # a scoring file over sites of the slice (their REF/ALT from the VCF), weights seeded
    import gzip

    rng = np.random.default_rng(3)
    sites = []
    with gzip.open(SLICE, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            chrom, pos, _, ref, alt = line.split("\t", 5)[:5]
            if len(ref) == len(alt) == 1 and "," not in alt and rng.random() < 0.05:
                sites.append((chrom.removeprefix("chr"), pos, alt, ref, rng.normal(0, 0.1)))
    score.write_text("###PGS CATALOG SCORING FILE\n#pgs_id=PGS_TEST\n#genome_build=GRCh38\n"
                     "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
                     + "".join(f"{c}\t{p}\t{e}\t{o}\t{w!r}\n" for c, p, e, o, w in sites))  # fmt: skip
    single = tmp_path / "single.json"
    code, _, err = run(["prs", str(score), "--vcf", str(SLICE), "-o", str(single)], capsys)
    assert code == 0, err
    expected = {r["sample"]: r for r in json.loads(single.read_text())["scores"]}
    out = tmp_path / "prs.parquet"
    code, _, err = run(["cohort", "prs", str(score), "--vcf", str(SLICE), "-o", str(out),
                        "--samples-per-shard", "150", "--scheduler", scheduler, "--quiet"],
                       capsys)  # fmt: skip
    assert code == 0, err
    got = pl.read_parquet(sorted(out.glob("part-*.parquet")))
    assert got.height == len(expected) == 400
    for row in got.to_dicts():
        theirs = expected[row["sample"]]
        for field in ("pgs_id", "sum", "variants_matched", "variants_in_score", "percentile", "z"):
            assert row[field] == theirs[field], field
        assert row["match_share"] == pytest.approx(
            theirs["variants_matched"] / theirs["variants_in_score"]
        )


def test_plink_genotypes_in_cohort_runs(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--genotypes`` with a PLINK 2 conversion of the slice: cohort pgx rows equal the VCF's
    single run, and cohort prs in sample blocks (no imputation) equals the single run; with mean
    imputation an input is one shard (frequencies over every sample, as plink2)."""
    code, _, err = run(["convert", str(SLICE), "-o", str(tmp_path / "kg"), "--quiet"], capsys)
    assert code == 0, err
    single = tmp_path / "single.json"
    code, _, err = run(["pgx", str(SLICE), "--genotypes-only", "--quiet", "-o", str(single)],
                       capsys)  # fmt: skip
    assert code == 0, err
    expected = _flat_pgx(json.loads(single.read_text()))
    out = tmp_path / "pgx.parquet"
    code, _, err = run(["cohort", "pgx", "--genotypes", str(tmp_path / "kg"), "-o", str(out),
                        "--scheduler", scheduler, "--samples-per-shard", "200", "--quiet"],
                       capsys)  # fmt: skip
    assert code == 0, err
    got = pl.read_parquet(sorted(out.glob("part-*.parquet"))).sort("sample", "gene").to_dicts()
    assert len(got) == len(expected) == 8000
    for mine, theirs in zip(got, expected, strict=True):
        assert {k: v for k, v in mine.items() if k != "input"} == {
            k: v for k, v in theirs.items() if k != "input"
        }
    score = tmp_path / "score.txt"
    rng = np.random.default_rng(5)
    pvar = [ln.split("\t") for ln in (tmp_path / "kg.pvar").read_text().splitlines()
            if not ln.startswith("#")]  # fmt: skip
    rows = [r for r in pvar if len(r[3]) == len(r[4]) == 1 and rng.random() < 0.05]
    score.write_text("#pgs_id=PGS_P\n#genome_build=GRCh38\nchr_name\tchr_position\t"
                     "effect_allele\tother_allele\teffect_weight\n"
                     + "".join(f"{r[0]}\t{r[1]}\t{r[4]}\t{r[3]}\t{rng.normal(0, 0.1)!r}\n"
                               for r in rows))  # fmt: skip
    for mode, parts in (("no-mean-imputation", 2), ("mean-impute", 1)):
        one = tmp_path / f"one-{mode}.json"
        code, _, err = run(["prs", str(score), "--genotypes", str(SLICE), "--missing", mode,
                            "-o", str(one)], capsys)  # fmt: skip
        assert code == 0, err
        want = {r["sample"]: r["sum"] for r in json.loads(one.read_text())["scores"]}
        out = tmp_path / f"prs-{mode}.parquet"
        code, _, err = run(["cohort", "prs", str(score), "--genotypes", str(tmp_path / "kg.pgen"),
                            "--missing", mode, "-o", str(out), "--samples-per-shard", "200",
                            "--scheduler", scheduler, "--quiet"], capsys)  # fmt: skip
        assert code == 0, err
        assert len(list(out.glob("part-*.parquet"))) == parts
        got_prs = pl.read_parquet(sorted(out.glob("part-*.parquet")))
        assert got_prs.height == 400
        for row in got_prs.to_dicts():
            assert row["sum"] == pytest.approx(want[row["sample"]], rel=1e-12, abs=1e-12)


def test_cgm_folder_equals_the_single_run(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from testkit.cgm import cgm_csv

    folder = tmp_path / "cgm"
    folder.mkdir()
    for i in range(5):
        text = cgm_csv(16, seed=i).decode().replace("time,gl", "id,time,gl")
        text = "\n".join([text.splitlines()[0]] + [f"s{i},{ln}" for ln in text.splitlines()[1:]])
        (folder / f"s{i}.csv").write_text(text + "\n")
    out = tmp_path / "cgm.parquet"
    code, _, err = run(["cohort", "cgm", str(folder), "-o", str(out), "--tz", "UTC",
                        "--scheduler", scheduler, "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    got = pl.read_parquet(sorted(out.glob("part-*.parquet"))).sort("id")
    single = tmp_path / "m.csv"
    files = sorted(str(p) for p in folder.iterdir())
    assert run(["monitor", "metrics", *files, "--tz", "UTC", "-o", str(single)], capsys)[0] == 0
    expected = pl.read_csv(single).sort("id")
    assert got.drop("file").columns == expected.columns
    for c in expected.columns:
        a, b = got[c].to_list(), expected[c].to_list()
        if expected[c].dtype == pl.Float64:
            assert all((x is None and y is None) or x == pytest.approx(y, rel=1e-12)
                       for x, y in zip(a, b, strict=True)), c  # fmt: skip
        else:
            assert [str(x) for x in a] == [str(y) for y in b], c


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (Stat Med 1998;17:857), Table I, method 3: 81/263 -> 0.2553 to 0.3662;
    # 15/148 -> 0.0624 to 0.1605; 0/20 -> 0 to 0.1611; 1/29 -> 0.0061 to 0.1718
    for (k, n), (lo, hi) in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                             (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}.items():  # fmt: skip
        got = wilson(k, n)
        assert got[0] == pytest.approx(lo, abs=5e-5) and got[1] == pytest.approx(hi, abs=5e-5)
    assert wilson(0, 0) == (None, None)


def test_equity_by_super_population(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pgx.parquet"
    assert run(["cohort", "pgx", str(SLICE), "-o", str(out), "--scheduler", scheduler,
                "--quiet"], capsys)[0] == 0  # fmt: skip
    report = tmp_path / "equity.json"
    code, _, err = run(["cohort", "equity", str(out), "--groups", str(PANEL), "--group",
                        "super_pop", "--group", "pop", "-o", str(report)], capsys)  # fmt: skip
    assert code == 0, err
    doc = json.loads(report.read_text(), parse_constant=lambda c: pytest.fail(c))
    rows = pl.read_parquet(sorted(out.glob("part-*.parquet")))
    groups = pl.read_csv(PANEL, separator="\t")
    joined = rows.join(groups, on="sample", how="left").with_columns(
        pl.col("super_pop").fill_null("unknown"))  # fmt: skip
    # every number recomputed here from the rows: CYP2C19 poor metabolisers among the called
    # samples of each super-population, with the not-called share and the Wilson interval
    for r in (r for r in doc["phenotypes"] if r["grouping"] == "super_pop"
              and r["gene"] == "CYP2C19" and r["phenotype"] == "Poor Metabolizer"):  # fmt: skip
        mine = joined.filter((pl.col("super_pop") == r["group"]) & (pl.col("gene") == "CYP2C19"))
        called = mine.filter("called")
        k = called.filter(pl.col("phenotype") == "Poor Metabolizer").height
        assert (r["count"], r["called"], r["samples"]) == (k, called.height, mine.height)
        assert r["frequency"] == k / called.height
        assert (r["ci_low"], r["ci_high"]) == wilson(k, called.height)
        assert r["not_called_share"] == (mine.height - called.height) / mine.height
        assert r["actionable"] is True
    assert doc["group_sizes"]["super_pop"]["unknown"] == 400 - 334  # samples not in the panel
    assert any("CYP2C19" in line or "CYP2D6" in line for line in doc["summary"])
    assert any(p["finding"] == "any pharmacogenomic finding" for p in doc["programme"])
    assert not any(r["actionable"] for r in doc["phenotypes"]
                   if r["phenotype"].startswith("Normal"))  # fmt: skip
    html = tmp_path / "equity.html"
    code, _, err = run(["cohort", "equity", str(out), "--groups", str(PANEL), "--group",
                        "super_pop", "--format", "html", "-o", str(html)], capsys)  # fmt: skip
    assert code == 0, err
    text = html.read_text()
    assert "<svg" in text and "95 %" in text and "where they were collected" in text
    code, _, err = run(["cohort", "equity", str(out), "--group", "nope"], capsys)
    assert code != 0 and "nope" in err


def test_equity_of_risk_with_outcomes_reuses_the_fairness_audit(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "people.csv"
    _risk_table(table, 1200, seed=5)
    out = tmp_path / "risk.parquet"
    assert run(["cohort", "risk", str(table), "-o", str(out), "--scheduler", scheduler,
                "--quiet"], capsys)[0] == 0  # fmt: skip
    frame = pl.read_parquet(sorted(out.glob("part-*.parquet")))
    rng = np.random.default_rng(9)
    first = frame.filter((pl.col("outcome") == "total_cvd") & (pl.col("horizon_years") == 10))
    events = {i: int(rng.random() < r) for i, r in zip(first["id"], first["risk"], strict=True)}
    people = pl.read_csv(table, infer_schema=False)
    groups = tmp_path / "groups.csv"
    people.select("id", "group").with_columns(
        pl.col("id").map_elements(lambda i: str(events.get(i, "")), return_dtype=pl.Utf8)
        .alias("event")).write_csv(groups)  # fmt: skip
    report = tmp_path / "eq.json"
    code, _, err = run(["cohort", "equity", str(out), "--groups", str(groups), "--group", "group",
                        "--outcome", "event", "-o", str(report)], capsys)  # fmt: skip
    assert code == 0, err
    doc = json.loads(report.read_text())
    audit = next(a for a in doc["fairness"] if a["outcome"] == "total_cvd"
                 and a["horizon_years"] == 10)["audit"]  # fmt: skip
    assert set(audit["groupings"]["group"]["per_group"]) == {"A", "B"}
    assert audit["n"] == len(events)
    a = audit["groupings"]["group"]["per_group"]["A"]
    mine = first.join(people.select("id", "group"), on="id").filter(pl.col("group") == "A")
    assert a["n"] == mine.height
    assert a["mean_predicted_risk"] == pytest.approx(mine["risk"].mean(), rel=1e-12)
    assert not math.isnan(a["prevalence"])
    # PREVENT has no validated categories: no high-risk share is invented
    assert all(r["high_risk_share"] is None for r in doc["risk"] if r["model"] == "prevent")


def test_kill_9_then_resume(tmp_path: Path) -> None:
    """A run killed with SIGKILL (the command and its workers) leaves only complete parts; the
    same command with --resume finishes it and gives the uninterrupted run's rows."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import pyarrow.parquet as pq

    out = tmp_path / "k.parquet"
    cmd = [sys.executable, "-c", "from precisionrx.cli import main; main()", "cohort", "pgx",
           str(SLICE), "-o", str(out), "--workers", "2", "--samples-per-shard", "25", "--quiet"]  # fmt: skip
    log = (tmp_path / "stderr.txt").open("wb")
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*.parquet"))) < 20:
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    time.sleep(0.5)  # let the killed workers' files settle
    done = sorted(out.glob("part-*.parquet"))
    assert 20 <= len(done) < 16 * 20 and not (out / "_SUCCESS").exists()
    for part in done:  # every part left is whole
        pq.read_table(part)
    again = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"{len(done)} already done" in again.stderr
    assert (out / "_SUCCESS").is_file()  # leftover temporaries are hidden and never read
    got = pl.read_parquet(sorted(out.glob("part-*.parquet"))).sort("sample", "gene")
    assert got.height == 400 * 20
    assert got["sample"].n_unique() == 400 and got.select("sample", "gene").is_unique().all()


def test_tables_and_selections_that_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from precisionrx.cohort.risk import risk_shard
    from precisionrx.errors import InputError

    out = tmp_path / "o.parquet"
    header_only = tmp_path / "h.csv"
    header_only.write_text("id,age,sex\n")
    code, _, err = run(["cohort", "risk", str(header_only), "-o", str(out)], capsys)
    assert code == 2 and "nothing to run" in err and not out.exists()  # InputError
    cr = tmp_path / "cr.csv"
    cr.write_bytes(b"id,age,sex\rp1,50,female\r")
    code, _, err = run(["cohort", "risk", str(cr), "-o", str(out)], capsys)
    assert code == 2 and "carriage returns" in err and "cr.csv" in err
    wide = tmp_path / "u16.csv"
    wide.write_bytes("id,age,sex\np1,50,female\n".encode("utf-16"))
    code, _, err = run(["cohort", "risk", str(wide), "-o", str(out)], capsys)
    assert code == 2 and "UTF-16" in err
    latin = tmp_path / "l1.csv"
    _risk_table(latin, 50)
    lines = latin.read_bytes().split(b"\n")
    lines[30] = lines[30].replace(b"female", b"f\xe9male")
    latin.write_bytes(b"\n".join(lines))
    header = len(lines[0]) + 1
    with pytest.raises(InputError, match="line 31: not UTF-8"):
        risk_shard({"table": str(latin), "models": ["prevent"], "header": header,
                    "start": header, "end": latin.stat().st_size, "first_row": 0})  # fmt: skip
    code, _, err = run(["cohort", "pgx", str(SLICE), "-o", str(out), "--sample", "NOPE1"], capsys)
    assert code == 5 and "NOPE1" in err and "not found" in err and not out.exists()
