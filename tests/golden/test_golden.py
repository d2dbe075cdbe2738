"""Golden end-to-end cases: input bundle -> expected gene calls (timestamps dropped).

``demo_expected.json`` holds the bundled demo patient's expected calls; each value was checked
against the CPIC phenotype tables (CYP2C19 *2/*2 Poor Metabolizer; DPYD c.2846A>T heterozygous
activity 1.5 Intermediate Metabolizer; SLCO1B1 *1/*5 Decreased Function; CYP2D6 *1/*4 activity
1.0; UGT1A1 *1/*28 Intermediate Metabolizer). Regenerate only on a reviewed behaviour change.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.pgx.caller import CallOptions
from precisionrx.kb.registry import KnowledgeBase

HERE = Path(__file__).parent


def summarise(results: list) -> dict:  # type: ignore[type-arg]
    out = {}
    for g in results[0].genes:
        out[g.gene] = {
            "called": g.called,
            "diplotypes": g.diplotypes,
            "phenotype": g.phenotype,
            "activity_score": g.activity_score,
            "found": g.positions.found,
            "missing": g.positions.missing,
            "caveats": sorted(c.code for c in g.caveats),
        }
    return out


@pytest.mark.golden
def test_demo_patient_matches_golden(kb: KnowledgeBase) -> None:
    vcf = Path(str(resources.files("precisionrx.demo").joinpath("demo.vcf")))
    results = call_vcf(vcf, kb, None, CallOptions(default_sex="female"))
    expected = json.loads((HERE / "demo_expected.json").read_text())
    assert summarise(results) == expected
