"""Output writers (report/): strict JSON and tables, the version line of every output, and the
plan as one FHIR Bundle that covers every section (issue 13, item 8)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from precisionrx import __version__
from precisionrx.records.cardio import CardioSection, FhGenetics, FhVariant, RiskEstimate
from precisionrx.records.monitoring import HomeBloodPressure, RestingHeartRateTrend, VitalsSection
from precisionrx.report.fhir.cardio import cardio_resources
from precisionrx.report.fhir.common import full_url, instant, resource_id
from precisionrx.report.fhir.plan import vitals_resources
from precisionrx.report.writers import csv_text, json_text, tsv_text, versions_text

DEMO = Path(str(resources.files("precisionrx.demo")))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


# --- writers ------------------------------------------------------------------------------------


def test_json_text_is_strict_and_keeps_full_precision() -> None:
    text = json_text({"a": math.nan, "b": [math.inf, -math.inf], "c": 0.1 + 0.2, "d": "é"})
    assert "NaN" not in text and "Infinity" not in text and text.endswith("}\n")
    doc = json.loads(text)
    assert doc == {"a": None, "b": [None, None], "c": 0.30000000000000004, "d": "é"}


def test_tables_write_cells_the_same_way() -> None:
    rows = [["x\ty", None, True, 0.1 + 0.2], ['q"uote', 3, False, 1e-300]]
    tsv = tsv_text(["a", "b", "c", "d"], rows).splitlines()
    assert tsv == ["a\tb\tc\td", "x y\t\ttrue\t0.30000000000000004", 'q"uote\t3\tfalse\t1e-300']
    csv = csv_text(["a", "b", "c", "d"], rows).splitlines()
    assert csv[1] == "x\ty,,true,0.30000000000000004" and csv[2] == '"q""uote",3,false,1e-300'


@given(st.lists(st.text(min_size=1, max_size=90), min_size=2, max_size=2, unique=True))
def test_resource_ids_are_valid_and_distinct(names: list[str]) -> None:
    ids = [resource_id("patient", n) for n in names]
    assert ids[0] != ids[1]
    for i in ids:
        assert 1 <= len(i) <= 64 and all(ch.isascii() and (ch.isalnum() or ch in "-.") for ch in i)


def test_instant_reads_iso_text_and_datetimes() -> None:
    assert instant("2026-10-19 00:00:00+00:00") == "2026-10-19T00:00:00Z"
    assert instant("2026-10-19T01:30:00+01:00") == "2026-10-19T00:30:00Z"
    assert instant("not a time") == "not a time"


# --- every output names the tool and knowledge-base versions ----------------------------------


@pytest.fixture(scope="module")
def plan_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo plan without clopidogrel (which implies established ASCVD: no risk equations),
    so that every section is filled."""
    out = tmp_path_factory.mktemp("plan")
    for name in ("demo.vcf", "tumour.maf", "cgm.csv"):
        (out / name).write_bytes((DEMO / name).read_bytes())
    text = (DEMO / "patient.yaml").read_text()
    lines = [ln for ln in text.splitlines() if "clopidogrel" not in ln]
    (out / "patient.yaml").write_text("\n".join(lines) + "\n")
    proc = run("plan", str(out / "patient.yaml"), "-o", str(out),
               "--format", "json", "--format", "html", "--format", "fhir")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


def test_html_and_fhir_outputs_name_the_versions(tmp_path: Path) -> None:
    agp, tumour, cgm = tmp_path / "agp.html", tmp_path / "t.html", tmp_path / "cgm.fhir.json"
    assert run("monitor", "agp", str(DEMO / "cgm.csv"), "-o", str(agp)).returncode == 0
    proc = run("tumor", str(DEMO / "tumour.maf"), "--tumor-type", "COADREAD",
               "--format", "html", "-o", str(tumour))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = run("monitor", "metrics", str(DEMO / "cgm.csv"), "--format", "fhir", "-o", str(cgm))
    assert proc.returncode == 0, proc.stderr
    assert f"precisionrx {__version__}; knowledge bases: " in agp.read_text()
    assert "monitoring " in agp.read_text()
    html = tumour.read_text()
    assert f"precisionrx {__version__}; knowledge bases: " in html and "oncology " in html
    panel = json.loads(cgm.read_text())["entry"][0]["resource"]
    assert panel["code"]["coding"][0]["code"] == "107931-8"
    assert f"precisionrx {__version__}; knowledge bases: " in panel["note"][0]["text"]


def test_versions_text_lists_every_knowledge_base() -> None:
    text = versions_text("9.9", [{"name": "cpic", "version": "v1", "sha256": "x"}])
    assert text == "precisionrx 9.9; knowledge bases: cpic v1"
    assert versions_text("9.9", []) == "precisionrx 9.9; knowledge bases: none"


# --- the plan as FHIR ---------------------------------------------------------------------------


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


def test_plan_numbers_are_full_precision_in_json_and_rounded_in_html(plan_outputs: Path) -> None:
    # issue 11, item 6: machine-readable output unrounded, rounding in the HTML view only
    plan = json.loads((plan_outputs / "plan.json").read_text())
    html = (plan_outputs / "plan.html").read_text()
    risk = plan["cardio"]["baseline"]["risk"]
    assert risk != round(risk, 4) and repr(risk) not in html
    assert f"{risk * 100:.1f} %" in html
    assert plan["cardio"]["prevention"]
    # every model row says who the model is for, and the HTML shows it (issue 14, item 5)
    assert all(r["population"] for r in plan["cardio"]["risk"])
    assert "UK adults 25-84 without CVD (QRISK3-2017)" in html
    assert "High-intensity statin doses within this genotype" in html
    for option in plan["cardio"]["prevention"]:
        nnt = option["nnt"]
        assert nnt != round(nnt, 1) and f"<td>{nnt:.1f}</td>" in html and repr(nnt) not in html


def test_plan_fhir_covers_every_section(
    plan_outputs: Path, fhir_resources: Callable[[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    plan = json.loads((plan_outputs / "plan.json").read_text())
    bundle = json.loads((plan_outputs / "plan.fhir.json").read_text())
    found = fhir_resources(bundle)  # valid FHIR R4 (R4B models), every resource
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert len(urls) == len(bundle["entry"])
    assert set(_references(bundle)) <= urls  # every reference resolves inside the Bundle

    def coded(code: str) -> list[dict[str, Any]]:
        return [r for r in found if any(c.get("code") == code
                                        for c in r.get("code", {}).get("coding", []))]  # fmt: skip

    (patient,) = [r for r in found if r["resourceType"] == "Patient"]
    assert patient["id"] == "patient-demo-001"
    assert all(r["subject"]["reference"] == full_url(patient) for r in found if "subject" in r)
    # PGx: one genotype per called gene, the genomic report
    called = [g for g in plan["pgx"][0]["genes"] if g["called"]]
    assert len(coded("84413-4")) == len(called) and len(coded("51969-4")) == 1
    # cardio: one RiskAssessment per estimate, probabilities unrounded
    risks = [r for r in found if r["resourceType"] == "RiskAssessment"]

    def order(x: float | None) -> tuple[bool, float]:
        return (x is None, x or 0.0)

    mine = [r["prediction"][0].get("probabilityDecimal") for r in risks]
    assert sorted(mine, key=order) == sorted((e["risk"] for e in plan["cardio"]["risk"]), key=order)
    assert any(x is not None for x in mine)
    with_options = [r for r in risks if len(r["prediction"]) > 1]
    assert len(with_options) == 1
    assert len(with_options[0]["prediction"]) == 1 + len(plan["cardio"]["prevention"])
    (dlcn,) = [r for r in found if r.get("code", {}).get("text", "").startswith("Dutch Lipid")]
    assert dlcn["valueInteger"] == plan["cardio"]["dlcn"]["points"]
    # oncology: TMB, MSI, one somatic variant per alteration, one implication per summary row
    onc = plan["oncology"]
    (tmb,) = coded("94076-7")
    assert tmb["valueQuantity"]["value"] == onc["tmb"]["value"]
    (msi,) = coded("81695-9")
    assert msi["valueCodeableConcept"]["coding"][0]["code"] == "LA14122-8"  # MSS: Stable
    assert len(coded("69548-6")) == len(onc["alterations"])
    implications = [r for r in found if r["id"].startswith("tumour-implication-")]
    assert len(implications) == len(onc["therapy_summary"])
    braf = next(r for r in implications if "BRAF V600E" in r["note"][0]["text"])
    assert braf["derivedFrom"] and braf["component"][0]["valueCodeableConcept"]["coding"][0][
        "code"] in {"LA6677-4", "LA6676-6"}  # fmt: skip
    # monitoring: the CGM summary panel of the last period
    (panel,) = coded("107931-8")
    tir = next(r for r in coded("97510-2"))
    assert tir["valueQuantity"]["value"] == plan["monitoring"]["current"]["in_range_70_180"]
    assert len(panel["hasMember"]) == 10
    # interactions: one DetectedIssue (v3-ActCode DRG) per interaction, severity mapped,
    # the recorded simvastatin dose above amlodipine's cap said in the detail
    issues = [r for r in found if r["resourceType"] == "DetectedIssue"]
    rows = plan["interactions"]["interactions"]
    assert rows and len(issues) == len(rows)
    assert all(i["code"]["coding"][0]["code"] == "DRG" for i in issues)
    severity = {"contraindicated": "high", "major": "high", "moderate": "moderate", "low": "low"}
    assert [i["severity"] for i in issues] == [severity[r["severity"]] for r in rows]
    simva = next(i for i in issues if "simvastatin + amlodipine" in i["detail"])
    assert "(40 mg/day) is above the limit" in simva["detail"]
    assert {x["display"] for x in simva["implicated"]} == {"simvastatin", "amlodipine"}
    assert all(i["patient"]["reference"] == full_url(patient) for i in issues)
    # the plan report: last, every Observation, the notice, findings and versions
    report = found[-1]
    assert report["resourceType"] == "DiagnosticReport" and report["id"] == "plan-demo-001"
    observations = {full_url(r) for r in found if r["resourceType"] == "Observation"}
    assert {x["reference"] for x in report["result"]} == observations
    assert "Decision support" in report["conclusion"]
    assert all(f["title"] in report["conclusion"] for f in plan["findings"])
    assert f"precisionrx {plan['precisionrx_version']}; knowledge bases: " in report["conclusion"]


def test_vitals_and_fh_variants_as_fhir(
    fhir_resources: Callable[[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    subject = {"reference": "urn:uuid:00000000-0000-5000-8000-000000000000"}
    vitals = VitalsSection(
        source="export.xml",
        resting_heart_rate=RestingHeartRateTrend(last_14_days=61.5, previous_14_days=58.0),
        hrv_sdnn_ms=42.25,
        home_blood_pressure=HomeBloodPressure(n=20, mean_sbp=141.5, mean_dbp=88.0,
                                              acc_aha_2017="stage 2"),
    )  # fmt: skip
    estimate = RiskEstimate(id="p", model="pce", variant="goff_2013", horizon_years=10,
                            outcome="hard_ascvd", risk=None, category="")  # fmt: skip
    cardio = CardioSection(
        risk=[estimate],
        fh_genetics=FhGenetics(variants=[FhVariant(
            gene="LDLR", chrom="19", pos=11113589, ref="G", alt="A", rsid=None,
            hgvsp="p.Gly20Arg", zygosity="heterozygous", classification="pathogenic",
            effect="LDL receptor defect", source="ClinVar")]),
    )  # fmt: skip
    issued = "2026-12-04T00:00:00Z"
    res = vitals_resources(vitals, subject, "p", issued) + cardio_resources(
        cardio, subject, "p", issued
    )
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": full_url(r), "resource": r} for r in res]}  # fmt: skip
    found = {r["id"]: r for r in fhir_resources(bundle)}
    assert found["resting-hr-p"]["valueQuantity"] == {
        "value": 61.5,
        "unit": "/min",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    assert found["hrv-sdnn-p"]["code"]["coding"][0]["code"] == "80404-7"
    bp = found["home-bp-p"]["component"]
    assert [c["valueQuantity"]["value"] for c in bp] == [141.5, 88.0]
    (risk,) = [r for r in found.values() if r["resourceType"] == "RiskAssessment"]
    assert "probabilityDecimal" not in risk["prediction"][0]  # not computed: no number
    assert risk["note"][0]["text"].startswith("risk not computed")
    (variant,) = [r for r in found.values() if r["id"].startswith("fh-variant-")]
    codes = {c["code"]["coding"][0]["code"]: c for c in variant["component"]}
    assert codes["48002-0"]["valueCodeableConcept"]["coding"][0]["code"] == "LA6683-2"  # germline
    assert codes["53034-5"]["valueCodeableConcept"]["coding"][0]["code"] == "LA6706-1"  # het
