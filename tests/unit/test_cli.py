"""Command-line contract: JSON fields, formats, exit codes, no tracebacks, no partial output."""

from __future__ import annotations

import gzip
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.errors import (
    GenomeBuildMismatch,
    MissingSampleError,
    OutsideCallError,
    PatientFileError,
    VcfFormatError,
)
from precisionrx.kb.registry import KnowledgeBase
from testkit.synthetic import VcfBuilder


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def sample_vcf(kb: KnowledgeBase, tmp_path: Path) -> Path:
    b = VcfBuilder(kb, samples=["NA1", "NA2"])
    b.haplotypes("CYP2C19", "*1", "*2", phased=False)
    b.haplotypes("CYP2C9", "*1", "*2", phased=False)
    return b.write(tmp_path / "two.vcf")


def test_pgx_json_contract(sample_vcf: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls.json"
    proc = run("pgx", str(sample_vcf), "--sample", "NA2", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["precisionrx_version"]
    assert {"name", "version", "sha256"} <= set(doc["knowledge_bases"][0])
    (result,) = doc["results"]
    assert result["input"] == str(sample_vcf) and result["sample"] == "NA2"
    gene = next(g for g in result["genes"] if g["gene"] == "CYP2C19")
    for field in (
        "gene", "called", "diplotypes", "diplotype_probabilities", "phenotype",
        "activity_score", "source", "positions", "caveats",
    ):  # fmt: skip
        assert field in gene
    assert set(gene["positions"]) >= {"found", "missing", "reference_filled"}
    assert gene["diplotypes"] == ["*1/*2"]
    assert gene["phenotype"] == "Intermediate Metabolizer"
    assert gene["source"] == "vcf"
    assert len(result["genes"]) == 20


def test_pgx_several_vcfs_and_tsv(sample_vcf: Path, kb: KnowledgeBase, tmp_path: Path) -> None:
    other = VcfBuilder(kb).haplotypes("CYP3A5", "*1", "*3", phased=False).write(tmp_path / "o.vcf")
    proc = run("pgx", str(sample_vcf), str(other), "--format", "tsv")
    assert proc.returncode == 0, proc.stderr
    rows = [ln.split("\t") for ln in proc.stdout.splitlines()]
    assert rows[0][:3] == ["input", "sample", "gene"]
    assert len(rows) == 1 + 3 * 20
    assert any(r[2] == "CYP3A5" and r[4] == "*1/*3" for r in rows)


def test_pgx_html(sample_vcf: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = run("pgx", str(sample_vcf), "--format", "html", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert "Decision support" in html and "*1/*2" in html and "pharmcat" in html


def test_outside_calls_override(sample_vcf: Path, tmp_path: Path) -> None:
    oc = tmp_path / "outside.tsv"
    oc.write_text(
        "# outside calls\nCYP2D6\tCYP2D6*1/CYP2D6*4.001\nHLA-B\t*57:01:01/*08:01\nCYP2C19\t*2/*2\n"
    )
    proc = run("pgx", str(sample_vcf), "--sample", "NA1", "--outside-calls", str(oc))
    assert proc.returncode == 0, proc.stderr
    genes = {g["gene"]: g for g in json.loads(proc.stdout)["results"][0]["genes"]}
    assert genes["CYP2D6"]["diplotypes"] == ["*1/*4"]
    assert genes["CYP2D6"]["activity_score"] == "1.0"
    assert genes["CYP2D6"]["source"] == "outside"
    assert genes["HLA-B"]["phenotype"] == "HLA-B*57:01 positive"
    assert genes["CYP2C19"]["diplotypes"] == ["*2/*2"]
    assert genes["CYP2C19"]["phenotype"] == "Poor Metabolizer"
    assert any(c["code"] == "outside_call" for c in genes["CYP2C19"]["caveats"])


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda p: p.write_text("hello\tworld\n"), VcfFormatError),
        (lambda p: p.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\n1\t2\n"), VcfFormatError),
    ],
)
def test_bad_vcf_exit_codes(make: object, error: type, tmp_path: Path) -> None:
    bad = tmp_path / "bad.vcf"
    make(bad)  # type: ignore[operator]
    out = tmp_path / "out.json"
    proc = run("pgx", str(bad), "-o", str(out))
    assert proc.returncode == error.exit_code
    assert "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr
    assert not out.exists()


def test_truncated_gzip(sample_vcf: Path, tmp_path: Path) -> None:
    gz = tmp_path / "t.vcf.gz"
    data = gzip.compress(sample_vcf.read_bytes())
    gz.write_bytes(data[: len(data) // 2])
    proc = run("pgx", str(gz))
    assert proc.returncode == VcfFormatError.exit_code
    assert "truncated" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_sample(sample_vcf: Path) -> None:
    proc = run("pgx", str(sample_vcf), "--sample", "NOPE")
    assert proc.returncode == MissingSampleError.exit_code
    assert "NOPE" in proc.stderr and "NA1" in proc.stderr


def test_declared_build_mismatch(kb: KnowledgeBase, tmp_path: Path) -> None:
    b = VcfBuilder(kb, declare_contigs=False).haplotypes("CYP2C19", "*1", "*1")
    text = b.text().replace("##FORMAT", "##contig=<ID=chr1,length=249250621>\n##FORMAT", 1)
    path = tmp_path / "b37.vcf"
    path.write_text(text)
    proc = run("pgx", str(path))
    assert proc.returncode == GenomeBuildMismatch.exit_code
    assert "GRCh37" in proc.stderr


def test_bad_outside_calls(sample_vcf: Path, tmp_path: Path) -> None:
    oc = tmp_path / "oc.tsv"
    oc.write_text("CYP2D6\n")
    proc = run("pgx", str(sample_vcf), "--outside-calls", str(oc))
    assert proc.returncode == OutsideCallError.exit_code
    assert "line 1" in proc.stderr


def test_demo_writes_plan(tmp_path: Path) -> None:
    proc = run("demo", "-o", str(tmp_path / "d"))
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((tmp_path / "d" / "plan.json").read_text())
    genes = {g["gene"]: g for g in plan["pgx"][0]["genes"]}
    assert genes["CYP2C19"]["diplotypes"] == ["*2/*2"]
    assert "rs12248560" in genes["CYP2C19"]["positions"]["missing"]
    assert genes["SLCO1B1"]["phenotype"] == "Decreased Function"
    assert genes["DPYD"]["activity_score"] == "1.5"
    titles = [f["title"] for f in plan["findings"]]
    assert "CYP2C19 Poor Metabolizer" in titles
    html = (tmp_path / "d" / "plan.html").read_text()
    assert "Decision support" in html and "pharmcat" in html and "rs12248560" in html
    assert "Treatment plan" in proc.stdout
    # Clopidogrel's indications are all established ASCVD: no primary-prevention equations
    # (issue 14, item 3); the precision of the risk numbers is checked on a variant without it
    # (tests/unit/test_report_outputs.py).
    assert plan["cardio"]["basis"] == "not applicable" and plan["cardio"]["risk"] == []
    assert plan["cardio"]["caveats"][0]["code"] == "established_cvd_inferred"


def test_plan_bad_patient_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("id: x\ndemographics: {age_years: 400}\n")
    proc = run("plan", str(bad), "-o", str(tmp_path / "out"))
    assert proc.returncode == PatientFileError.exit_code
    assert "age_years" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "plan.json").exists()


def test_plan_from_fhir_bundle(kb: KnowledgeBase, tmp_path: Path) -> None:
    VcfBuilder(kb, samples=["p1"]).haplotypes("CYP2C19", "*2", "*17", phased=False).write(
        tmp_path / "p1.vcf"
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "gender": "male",
                          "birthDate": "1960-05-01"}},
            {"resource": {"resourceType": "MedicationStatement", "status": "active",
                          "subject": {"reference": "Patient/p1"},
                          "medicationCodeableConcept": {"coding": [{
                              "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                              "code": "32968", "display": "clopidogrel"}]}}},
            {"resource": {"resourceType": "Observation", "status": "final",
                          "code": {"text": "LDL"}, "valueQuantity": "not-a-quantity"}},
            {"resource": {"resourceType": "DocumentReference", "status": "current",
                          "type": {"text": "germline VCF"},
                          "content": [{"attachment": {"contentType": "text/vcf",
                                                      "url": "p1.vcf"}}]}},
        ],
    }  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    proc = run("plan", str(path), "-o", str(tmp_path / "out"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["patient"]["sex_at_birth"] == "male"
    assert plan["medications"][0]["rxnorm"] == "32968"
    assert any("Observation" in c["message"] for c in plan["caveats"])
    genes = {g["gene"]: g for g in plan["pgx"][0]["genes"]}
    assert genes["CYP2C19"]["diplotypes"] == ["*2/*17"]


def test_broken_fhir_bundle(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(
        '{"resourceType": "Bundle", "entry": '
        '[{"resource": {"resourceType": "Patient", "gender": 5}}]}'
    )
    proc = run("plan", str(path))
    assert proc.returncode == 6
    assert "Patient" in proc.stderr and "Traceback" not in proc.stderr


def test_kb_list_and_verify() -> None:
    proc = run("kb", "list")
    assert proc.returncode == 0 and "pharmcat" in proc.stdout and "pypgx" in proc.stdout
    proc = run("kb", "verify")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok:")


def test_pgx_medications_contract(sample_vcf: Path, tmp_path: Path) -> None:
    meds = tmp_path / "meds.txt"
    meds.write_text("Plavix 75 mg\nparoxetine\nunknownium\n")
    proc = run("pgx", str(sample_vcf), "--sample", "NA1", "--medications", str(meds))
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)["results"][0]
    review = {m["medication"]: m for m in res["medication_review"]}
    assert review["Plavix 75 mg"]["matched_drug"] == "clopidogrel"
    assert review["Plavix 75 mg"]["status"] == "action"
    assert review["unknownium"]["status"] == "unknown"
    rec = next(r for r in res["recommendations"] if r["drug"] == "clopidogrel")
    for field in (
        "drug", "source", "genes", "lookup_keys", "population", "classification", "text",
        "implications", "guideline", "phenotype_basis", "caused_by",
    ):  # fmt: skip
        assert field in rec
    assert {r["drug"] for r in res["recommendations"]} <= {"clopidogrel", "paroxetine"}


def test_pgx_without_medications_lists_every_drug(sample_vcf: Path) -> None:
    proc = run("pgx", str(sample_vcf), "--sample", "NA1")
    res = json.loads(proc.stdout)["results"][0]
    assert len({r["drug"] for r in res["recommendations"]}) > 90
    assert res["medication_review"] is None


def test_pgx_genotypes_only(sample_vcf: Path) -> None:
    proc = run("pgx", str(sample_vcf), "--genotypes-only")
    res = json.loads(proc.stdout)["results"][0]
    assert res["recommendations"] is None


def test_pgx_fhir_bundle_validates(
    sample_vcf: Path,
    tmp_path: Path,
    fhir_resources: Callable[[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    meds = tmp_path / "m.txt"
    meds.write_text("clopidogrel\n")
    out = tmp_path / "b.json"
    proc = run("pgx", str(sample_vcf), "--sample", "NA1", "--medications", str(meds),
               "--format", "fhir", "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    resources = fhir_resources(json.loads(out.read_text()))
    report = next(r for r in resources if r["resourceType"] == "DiagnosticReport")
    assert report["code"]["coding"][0]["code"] == "51969-4"
    genotypes = [
        r for r in resources if r.get("code", {}).get("coding", [{}])[0].get("code") == "84413-4"
    ]
    assert any(r["valueCodeableConcept"]["text"] == "CYP2C19 *1/*2" for r in genotypes)
    implications = [
        r
        for r in resources
        if "therapeutic-implication" in r.get("meta", {}).get("profile", [""])[0]
    ]
    clop = next(
        r
        for r in implications
        if any(
            c.get("valueCodeableConcept", {}).get("coding", [{}])[0].get("code") == "32968"
            for c in r["component"]
        )
    )
    assert any(
        c["valueCodeableConcept"].get("coding", [{}])[0].get("code") == "LA10317-8"
        for c in clop["component"]
    )  # Intermediate metabolizer
    assert any(r["resourceType"] == "Task" for r in resources)


# --- usage errors (issue 11, item 8) ------------------------------------------------------------


def _command_paths() -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(every group, every leaf command, leaves with a required parameter), from the click tree of
    the registered app, so that a new command is covered without editing this file."""
    import typer.main

    from precisionrx.cli import _register, app

    _register()
    groups: list[tuple[str, ...]] = []
    leaves: list[tuple[str, ...]] = []
    required: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs is not None:
            groups.append(path)
            for name, sub in sorted(subs.items()):
                walk(sub, (*path, name))
            return
        leaves.append(path)
        if any(p.required for p in cmd.params):
            required.append(path)

    walk(typer.main.get_command(app), ())
    return groups, leaves, required


GROUPS, LEAVES, REQUIRED = _command_paths()


def invoke(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(args)`` in this process (one interpreter start for the whole table)."""
    from precisionrx.cli import main

    code = 0
    try:
        main(args)
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_is_found() -> None:
    assert {("pgx",), ("risk",), ("prs",), ("kb", "list"), ("monitor", "metrics")} <= set(LEAVES)
    assert {(), ("kb",), ("monitor",)} <= set(GROUPS)
    # pgx takes VCFs as arguments or --genotypes: neither is required on its own
    assert {("risk",), ("prs",), ("kb", "add"), ("convert",)} <= set(REQUIRED)


@pytest.mark.parametrize("path", GROUPS + LEAVES, ids=lambda p: " ".join(p) or "precisionrx")
def test_unknown_option_is_a_usage_error(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke([*path, "--no-such-option"], capsys)
    assert code == 2, err
    assert "Usage: precisionrx" in err and "No such option: --no-such-option" in err
    assert "internal error" not in err.lower() and "please report" not in err
    assert "PRX-INT" not in err and out == ""


@pytest.mark.parametrize("path", REQUIRED, ids=" ".join)
def test_missing_argument_is_a_usage_error(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(list(path), capsys)
    assert code == 2, err
    assert f"Usage: precisionrx {' '.join(path)}" in err and "Missing" in err
    assert "please report" not in err and out == ""


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "precisionrx")
def test_bare_group_prints_its_help_as_a_usage_error(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(list(path), capsys)
    assert code == 2  # click >= 8.2: NoArgsIsHelpError is a UsageError
    assert "Usage: precisionrx" in err and out == ""
    assert "please report" not in err


def test_bad_option_value_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["risk", "x.csv", "--format", "xml"], capsys)
    assert code == 2 and "Usage: precisionrx risk" in err and "--format" in err
    code, _, err = invoke(["no-such-command"], capsys)
    assert code == 2 and "No such command" in err and "please report" not in err


def test_bare_precisionrx_from_the_entry_point() -> None:
    proc = run()
    assert proc.returncode == 2
    assert proc.stdout == "" and "Usage: precisionrx" in proc.stderr
    assert "Traceback" not in proc.stderr and "please report" not in proc.stderr
    proc = run("pgx")
    assert proc.returncode == 2 and "Usage: precisionrx pgx" in proc.stderr
    assert "Missing argument" in proc.stderr
    proc = run("--help")
    assert proc.returncode == 0 and "Usage: precisionrx" in proc.stdout


def test_help_describes_every_engine(capsys: pytest.CaptureFixture[str]) -> None:
    from precisionrx.cli import app

    code, out, _ = invoke(["--help"], capsys)
    assert code == 0 and "Usage: precisionrx" in out
    text = " ".join((app.info.help or "").split())
    assert "pharmacogenomics with evidence" not in text  # the 0.1 description
    for top in {p[0] for p in GROUPS + LEAVES if p}:
        assert re.search(rf"\b{re.escape(top)}\b", text), top
    for engine in ("pharmacogenomic", "cardiovascular", "polygenic", "tumour", "CGM", "plan"):
        assert engine in text, engine


def test_readme_opening_paragraph_covers_every_engine() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    opening = readme.split("\n## ", 1)[0].split("\n\n", 1)[1].lower()
    for engine in ("pharmacogenomic", "cardiovascular", "polygenic", "tumour", "monitoring",
                   "plan"):  # fmt: skip
        assert engine in opening, engine


# --- strict, full-precision JSON (issue 11, item 6) ---------------------------------------------


def _no_constants(name: str) -> None:
    raise AssertionError(f"non-standard JSON constant {name}")


@settings(max_examples=300)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=5))
def test_dumps_writes_shortest_round_trip_floats_and_never_nan(values: list[float]) -> None:
    from precisionrx.report.output import dumps, json_lines

    doc = {"rows": [{"v": v} for v in values], "nested": {"x": values}}
    for text in (dumps(doc, indent=1), json_lines(doc)):
        back = json.loads(text, parse_constant=_no_constants)
        for got, v in zip(back["nested"]["x"], values, strict=True):
            if math.isfinite(v):
                assert got == v and math.copysign(1, got) == math.copysign(1, v)
                assert repr(v) in text  # Python's shortest round-trip repr, never rounded
            else:
                assert got is None


def test_command_modules_name_the_module_of_every_command() -> None:
    """A run imports only the module(s) listed for its command (start-up time): every top-level
    command and group must be listed, with the modules that define its commands."""
    import typer.main

    from precisionrx.cli import COMMAND_MODULES, _register, app

    _register()
    tree = typer.main.get_command(app)
    assert set(tree.commands) == set(COMMAND_MODULES)  # type: ignore[attr-defined]

    def modules(cmd: Any) -> set[str]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            return {cmd.callback.__module__.rsplit(".", 1)[-1]}
        return set().union(*(modules(sub) for sub in subs.values()))

    for name, cmd in tree.commands.items():  # type: ignore[attr-defined]
        assert modules(cmd) <= set(COMMAND_MODULES[name]), name


def test_a_command_run_imports_only_its_own_module() -> None:
    code = (
        "import sys; from precisionrx.cli import main\n"
        "try:\n    main(['prs', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('precisionrx.cli.')))"
    )
    out = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert "precisionrx.cli.prs" in out and "precisionrx.cli.tumor" not in out


def test_every_exported_record_loads_from_its_module() -> None:
    """The records package loads its modules on first use: each name it exports is mapped to
    the module that defines it."""
    import importlib

    import precisionrx.records as records

    assert set(records.__all__) == set(records._MODULE)
    for name in records.__all__:
        module = importlib.import_module(f"precisionrx.records.{records._MODULE[name]}")
        assert getattr(records, name) is getattr(module, name)
