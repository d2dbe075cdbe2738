"""FHIR out (issue 18, item 5): the plan's Bundle validates as FHIR R4 (fhir.resources R4B) and
round-trips through the Genomics Reporting importer: the genotypes the plan reports come back as
the same gene -> diplotype, and the implications name the same drug, gene and phenotype. The
genomics-operations Parameters (report/fhir/operations.py) read back the same way.

Expected values come from the plan itself (what it reports) and from the knowledge base's CPIC
tables, never from the Bundle under test.
"""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precisionrx.engines.pgx.outside import outside_gene_call
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.io.fhir_genomics import genomics_from_data, read_fhir_genomics
from precisionrx.io.outside_calls import OutsideCall
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.model import TreatmentPlan
from precisionrx.records import GeneCall, SampleResult
from precisionrx.records.fhir_genomics import IMPLICATION_LA
from precisionrx.report.fhir import operations as ops
from precisionrx.report.fhir import pgx as fhir_pgx
from precisionrx.report.fhir.common import RXNORM
from precisionrx.report.fhir.pgx import pgx_bundle
from tests.conftest import _validated_resources

DEMO = Path(str(resources.files("precisionrx.demo")))
#: An allele name the importer can read back as written: no spaces, no parentheses (PharmCAT
#: names single-variant alleles "rs9923231 reference (C)", which a diplotype text cannot carry
#: unambiguously; docs/fhir.md).
PLAIN_DIPLOTYPE = re.compile(r"[^\s()/]+/[^\s()/]+")
LA_PHENOTYPES = {v.casefold() for v in IMPLICATION_LA.values()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[TreatmentPlan, Path]:
    """``precisionrx plan demo/patient.yaml --format json --format fhir``: the plan and the
    path of its FHIR Bundle."""
    out = tmp_path_factory.mktemp("plan")
    for name in ("patient.yaml", "demo.vcf", "tumour.maf", "cgm.csv"):
        (out / name).write_bytes((DEMO / name).read_bytes())
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "plan",
         str(out / "patient.yaml"), "-o", str(out), "--format", "json", "--format", "fhir"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    plan = TreatmentPlan.model_validate_json((out / "plan.json").read_text())
    return plan, out / "plan.fhir.json"


def _called(plan_pgx: list[SampleResult]) -> dict[str, GeneCall]:
    return {g.gene: g for s in plan_pgx for g in s.genes if g.called}


def _names_phenotype(imported: str | None, gene: GeneCall, key: str) -> bool:
    """The imported phenotype names the gene's phenotype: equal to it (a coded answer of
    genetic-therapeutic-implications-vs), or, for a phenotype without a LOINC answer, the
    text stating the guideline's lookup key."""
    assert imported is not None and gene.phenotype is not None
    if gene.phenotype.casefold() in LA_PHENOTYPES:
        return imported.casefold() == gene.phenotype.casefold()
    return key.casefold() in imported.casefold()


# --------------------------------------------------------------------------- the demo plan


def test_plan_bundle_validates_as_fhir_r4(demo: tuple[TreatmentPlan, Path]) -> None:
    plan, path = demo
    bundle = json.loads(path.read_text())
    found = _validated_resources(bundle)  # the Bundle and every resource (R4B models)
    assert len(found) == len(bundle["entry"]) and "NaN" not in path.read_text()
    genotypes = [
        r for r in found if r.get("meta", {}).get("profile", [""])[0].endswith("/genotype")
    ]
    assert len(genotypes) == len(_called(plan.pgx))


def test_plan_bundle_genotypes_round_trip(demo: tuple[TreatmentPlan, Path]) -> None:
    plan, path = demo
    result = read_fhir_genomics([path], strict=True).result
    called = _called(plan.pgx)
    assert all(len(g.diplotypes) == 1 for g in called.values())
    plain = {
        n: g.diplotypes[0] for n, g in called.items() if PLAIN_DIPLOTYPE.fullmatch(g.diplotypes[0])
    }
    assert {g.gene: g.diplotype for g in result.genotypes} == plain
    assert len(result.genotypes) == len(plain)  # one each, nothing invented
    assert plain["CYP2C19"] == "*2/*2"  # the demo's CYP2C19 genotype (demo.vcf)
    sample = plan.pgx[0].sample
    for gene in set(called) - set(plain):  # named by variant: a warning, never a guess
        source = f"Observation/genotype-{sample}-{gene}"
        assert any(w.startswith(f"{source}: genotype value") for w in result.warnings), gene
    assert {g.source for g in result.genotypes} == {
        f"Observation/genotype-{sample}-{gene}" for gene in plain
    }


def test_plan_bundle_implications_round_trip(
    demo: tuple[TreatmentPlan, Path], kb: KnowledgeBase
) -> None:
    plan, path = demo
    result = genomics_from_data([(json.loads(path.read_text()), path.name)]).result
    called = _called(plan.pgx)
    pgx = [i for i in result.implications if i.source.startswith("Observation/implication-")]
    matched = [r for s in plan.pgx for r in s.recommendations or [] if r.matched]
    assert matched and len(pgx) == len(matched)
    assert Counter(i.drug for i in pgx) == Counter(r.drug for r in matched)
    by_source = {i.source: i for i in pgx}
    for n, r in enumerate(rec for s in plan.pgx for rec in s.recommendations or []):
        if not r.matched:
            continue
        imported = by_source[
            f"Observation/implication-{plan.pgx[0].sample}-{r.drug}-{r.source}-{n}"
        ]
        assert imported.drug == r.drug
        (gene,) = r.genes
        assert imported.gene == gene
        assert _names_phenotype(imported.phenotype, called[gene], r.lookup_keys[gene]), imported
    # the demo's clopidogrel: CYP2C19 *2/*2 is a Poor Metabolizer in CPIC's table
    table = kb.phenotypes("CYP2C19")
    assert table is not None
    expected = table.diplotypes[("*2", "*2")].phenotype
    clopidogrel = [i for i in pgx if i.drug == "clopidogrel"]
    assert clopidogrel and all(i.phenotype and i.phenotype.casefold() == expected.casefold()
                               for i in clopidogrel)  # fmt: skip
    # the MedicationRecommendation Tasks name the drugs of the medication review
    actions = {
        m.matched_drug for s in plan.pgx for m in s.medication_review or [] if m.status == "action"
    }
    assert {t.drug for t in result.recommendations} == actions


def test_activity_score_implications_carry_the_cpic_phenotype(
    demo: tuple[TreatmentPlan, Path], kb: KnowledgeBase
) -> None:
    """DPYD is looked up by activity score: the implication is coded with the phenotype CPIC's
    table gives that score, and its text keeps the score."""
    plan, path = demo
    bundle = json.loads(path.read_text())
    dpyd = next(g for g in plan.pgx[0].genes if g.gene == "DPYD")
    table = kb.phenotypes("DPYD")
    assert table is not None and dpyd.activity_score is not None
    scored = {row.activity_score: row.phenotype for row in table.diplotypes.values()}
    phenotype = scored[dpyd.activity_score]
    la = fhir_pgx.PHENOTYPE_LA[phenotype.lower()]
    found = [
        c["valueCodeableConcept"]
        for e in bundle["entry"]
        if e["resource"]["id"].startswith(f"implication-{plan.pgx[0].sample}-capecitabine-CPIC")
        for c in e["resource"]["component"]
        if c["code"]["coding"][0]["code"] == "therapeutic-implication"
    ]
    assert found and all(v["coding"][0]["code"] == la[0] for v in found)
    assert all(
        v["text"] == f"DPYD activity score {dpyd.activity_score} ({phenotype})" for v in found
    )


def test_operations_parameters_round_trip(
    demo: tuple[TreatmentPlan, Path], kb: KnowledgeBase
) -> None:
    """The Parameters of both operations validate (R4B) and read back through the importer
    (which opens Parameters): the same genotypes and implications as the plan's Bundle."""
    from fhir.resources.R4B.parameters import Parameters

    plan, path = demo
    haplotypes = ops.find_subject_haplotypes(kb, plan.pgx, "p1", "2026-01-01T00:00:00Z")
    implications = ops.find_subject_tx_implications(kb, plan.pgx, "p1", "2026-01-01T00:00:00Z")
    for params in (haplotypes, implications):
        Parameters.model_validate(params)
    from_bundle = read_fhir_genomics([path]).result
    read = genomics_from_data([(haplotypes, "haplotypes")]).result
    assert {(g.gene, g.diplotype) for g in read.genotypes} == {
        (g.gene, g.diplotype) for g in from_bundle.genotypes
    }
    assert [p["part"][0]["valueString"] for p in haplotypes["parameter"]] == list(_called(plan.pgx))
    read = genomics_from_data([(implications, "implications")]).result
    # every drug's implications, not only the patient's medicines: a superset of the plan's
    plan_rows = {(i.drug, i.gene, i.phenotype) for i in from_bundle.implications
                 if i.source.startswith("Observation/implication-")}  # fmt: skip
    assert plan_rows <= {(i.drug, i.gene, i.phenotype) for i in read.implications}
    assert not [w for w in read.warnings if "could not be read" in w]
    for p in implications["parameter"]:
        implication, *genotypes = (x["resource"] for x in p["part"])
        assert genotypes and {f"Observation/{g['id']}" for g in genotypes} == {
            d["reference"] for d in implication["derivedFrom"]
        }
        assert implication["subject"] == {"reference": "Patient/p1"}


# --------------------------------------------------------------------------- any diplotype

_GENES = ("CYP2C19", "CYP2D6", "CYP2C9", "TPMT", "NUDT15", "SLCO1B1", "UGT1A1", "CYP3A5",
          "CYP2B6", "DPYD")  # fmt: skip


@st.composite
def diplotypes(draw: st.DrawFn, kb: KnowledgeBase) -> tuple[str, str]:
    """A gene and a diplotype of two CPIC alleles of it (names the importer reads as written)."""
    gene = draw(st.sampled_from(_GENES))
    table = kb.phenotypes(gene)
    assert table is not None
    alleles = sorted(a for a in table.functions if re.fullmatch(r"[^\s()/,]+", a))
    return gene, f"{draw(st.sampled_from(alleles))}/{draw(st.sampled_from(alleles))}"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_diplotype_round_trips(kb: KnowledgeBase, data: st.DataObject) -> None:
    gene, diplotype = data.draw(diplotypes(kb), label="diplotype")
    call = outside_gene_call(kb, OutsideCall(gene, diplotype, None, None, 1, "test"))
    result = prescribed(kb, SampleResult(input="test", sample="S1", genes=[call]))
    bundle = json.loads(pgx_bundle(kb, [result]))
    _validated_resources(bundle)
    read = genomics_from_data([(bundle, "bundle")]).result
    expected = [(gene, d) for d in call.diplotypes] if len(call.diplotypes) == 1 else []
    assert [(g.gene, g.diplotype) for g in read.genotypes] == expected
    matched = [r for r in result.recommendations or [] if r.matched]
    assert Counter(i.drug for i in read.implications) == Counter(r.drug for r in matched)
    if call.phenotype is None or len(call.diplotypes) != 1:
        return
    for r in matched:
        rows = [i for i in read.implications if i.drug == r.drug]
        assert all(i.gene == gene for i in rows)
        if r.genes == [gene]:
            assert any(_names_phenotype(i.phenotype, call, r.lookup_keys[gene]) for i in rows), (
                r.drug,
                rows,
            )


# --------------------------------------------------------------------------- parameters


def test_parameters_are_parsed_or_refused(kb: KnowledgeBase) -> None:
    calls = ops.parse_haplotypes(
        kb, ["CYP2C19*1/CYP2C19*17", "http://www.pharmvar.org|CYP2D6_*1/*4", "HLA-B *57:01"]
    )
    assert [(c.gene, c.diplotype) for c in calls] == [
        ("CYP2C19", "*1/*17"), ("CYP2D6", "*1/*4"), ("HLA-B", "*57:01")
    ]  # fmt: skip
    clopidogrel = next(
        code for code, d in kb.prescribing.rxnorm_to_drug.items() if d == "clopidogrel"
    )
    assert ops.parse_treatments(kb, [f"{RXNORM}|{clopidogrel}", clopidogrel, "CLOPIDOGREL"]) == [
        "clopidogrel"
    ]
    assert ops.parse_treatments(kb, ["amlodipine"]) == []  # no pharmacogenomic guidance
    bad: list[tuple[Callable[[], object], str, str]] = [
        (lambda: ops.parse_haplotypes(kb, ["CYP2C19 *2/*99"]), "did you mean", "invalid"),
        (lambda: ops.parse_haplotypes(kb, ["CYP2C19 *1/*2", "CYP2C19 *2/*2"]), "more than once", "invalid"),
        (lambda: ops.parse_haplotypes(kb, ["poor metabolizer"]), "GENE *a/*b", "invalid"),
        (lambda: ops.parse_treatments(kb, ["http://snomed.info/sct|387458008"]), "RxNorm", "invalid"),
        (lambda: ops.parse_genes(["http://www.genenames.org|HGNC:1"]), "gene symbol", "invalid"),
        (lambda: ops.subject_id(None), "required", "required"),
        (lambda: ops.subject_id("a b"), "patient id", "invalid"),
        (lambda: ops.values_of("genes", ["x"] * (ops.MAX_VALUES + 1)), "at most", "invalid"),
        (lambda: ops.refuse_unsupported("find-subject-tx-implications", ["variants"]), "not supported", "not-supported"),
        (lambda: ops.germline_wanted("blood"), "germline", "invalid"),
    ]  # fmt: skip
    for call, words, issue in bad:
        with pytest.raises(ops.OperationInputError) as err:
            call()
        assert words in err.value.render() and err.value.issue == issue


def test_docstring_examples() -> None:
    for module in (ops, fhir_pgx):
        failed, tried = doctest.testmod(module)
        assert tried and not failed, module.__name__


def test_no_parameters_is_a_valid_empty_result(kb: KnowledgeBase) -> None:
    empty: dict[str, Any] = ops.find_subject_tx_implications(kb, [], "p1", "2026-01-01T00:00:00Z")
    assert empty == {"resourceType": "Parameters"}
    outcome = ops.operation_outcome("bad", "invalid")
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    OperationOutcome.model_validate(outcome)
