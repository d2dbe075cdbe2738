"""The plan's oncology headline (issue 14, item 4): only FDA/guideline evidence in this tumour
type (or a tumour-agnostic label that does not exclude it) leads; the guideline biomarkers of
the tumour type are listed with what the input says about them."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from precisionrx.engines.oncology.headline import guideline_biomarkers, headline
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.oncology_section import oncology_findings
from precisionrx.records.oncology import TumourReport

DEMO = Path(str(resources.files("precisionrx.demo")))
KRAS_G12D = "KRAS\t12\t25245350\tC\tT\tMissense_Mutation\tp.G12D\tc.35G>A\t2/6\t180\t61\tdemo-001-T\tGRCh38\n"


def report(tmp_path: Path, extra: str = "", tumour: str = "COADREAD") -> TumourReport:
    maf = tmp_path / "t.maf"
    maf.write_text((DEMO / "tumour.maf").read_text() + extra)
    out = tmp_path / "t.json"
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "tumor", str(maf),
         "--tumor-type", tumour, "--msi", "MSS", "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return TumourReport.model_validate_json(out.read_text())


def names(drug: str | list[str]) -> str:
    return drug if isinstance(drug, str) else " + ".join(drug)


def test_colorectal_braf_v600e(kb: KnowledgeBase, tmp_path: Path) -> None:
    rep = report(tmp_path)
    lead = headline(rep, kb)
    options = {names(r.drug) for r, _ in lead.options}
    assert "Cetuximab + Encorafenib" in options
    # every headline option is FDA/guideline evidence in colorectal cancer
    assert all(r.best_evidence.tumor_type == "COADREAD" for r, _ in lead.options)
    # the tumour-agnostic BRAF V600E label excludes colorectal cancer
    assert [names(r.drug) for r, _ in lead.excluded] == ["Dabrafenib + Trametinib"]
    assert "colorectal" in lead.excluded[0][1].excluded
    # gene-level, preclinical and other-tumour evidence is not headlined
    assert not {"G007-LK", "Alemtuzumab", "Chemotherapy"} & options
    assert lead.held_back > 0
    resist = {names(r.drug) for r in lead.resistance}
    assert {"Cetuximab", "Panitumumab"} <= resist
    findings = oncology_findings(rep, kb)
    text = " ".join(f.title + " " + f.detail for f in findings)
    assert "G007-LK" not in text and "Alemtuzumab" not in text
    assert "APC R1450*" not in text and "TP53 R175H" not in text


def test_guideline_biomarkers_of_colorectal_cancer(kb: KnowledgeBase, tmp_path: Path) -> None:
    found = guideline_biomarkers(report(tmp_path), kb)
    status = {b.biomarker.split(" ")[0]: b for b in found if "G12C" not in b.biomarker}
    assert status["BRAF"].status == "found" and "V600E" in status["BRAF"].detail
    assert status["Mismatch"].status == "reported" and "MSS" in status["Mismatch"].detail
    assert status["KRAS"].status == "not reported"  # extended RAS: not in the input
    assert status["NTRK1/2/3"].status == "not reported"
    assert status["Germline"].status == "germline"
    findings = oncology_findings(report(tmp_path), kb)
    (confirm,) = [f for f in findings if f.title.startswith("Guideline biomarkers")]
    assert "extended RAS" in confirm.detail and confirm.severity == "info"


def test_kras_g12d_colorectal(kb: KnowledgeBase, tmp_path: Path) -> None:
    rep = report(tmp_path, KRAS_G12D)
    ras = next(b for b in guideline_biomarkers(rep, kb) if b.biomarker.startswith("KRAS and"))
    assert ras.status == "found" and "G12D" in ras.detail
    # KRAS p.G12C is a different change: still to confirm
    g12c = next(b for b in guideline_biomarkers(rep, kb) if "G12C" in b.biomarker)
    assert g12c.status == "not reported"
    resist = {(r.alteration, names(r.drug)) for r in headline(rep, kb).resistance}
    assert any(alt == "KRAS G12D" for alt, _ in resist), resist


@pytest.mark.parametrize("tumour", ["MEL", "NSCLC"])
def test_the_agnostic_label_leads_where_it_is_not_excluded(
    kb: KnowledgeBase, tmp_path: Path, tumour: str
) -> None:
    lead = headline(report(tmp_path, tumour=tumour), kb)
    assert not lead.excluded
