"""Prescribing engine: guideline lookups, no-calls, ambiguity, phenoconversion, medications."""

from __future__ import annotations

from pathlib import Path

import pytest

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.pgx.caller import CallOptions
from precisionrx.engines.pgx.recommender import (
    Context,
    GeneOption,
    _recommend_drug,
    prescribed,
    value_matches,
)
from precisionrx.io.outside_calls import read_outside_calls
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import ACTIVITY_SCORE_GENES
from precisionrx.records import Medication, SampleResult
from testkit.synthetic import VcfBuilder


def option_for(gene: str, key: str | dict[str, float]) -> GeneOption | None:
    """A gene result that a lookup key should match."""
    if key == "No Result":
        return None
    if isinstance(key, dict):
        counts = tuple(sorted((k, float(v)) for k, v in key.items()))
        return GeneOption(gene, None, None, None, (), counts)
    if gene.startswith("HLA-"):
        return GeneOption(gene, None, None, None, (f"{gene}{key}",))
    if gene in ACTIVITY_SCORE_GENES:
        score = key.split(" (", 1)[0].replace("≥", "")
        return GeneOption(gene, None, key, score)
    return GeneOption(gene, None, key, None)


def test_every_guideline_loads_and_every_lookup_key_is_reachable(kb: KnowledgeBase) -> None:
    pkb = kb.prescribing
    assert len(pkb.guidelines) == 118
    assert {g.source for g in pkb.guidelines} == {"CPIC", "DPWG"}
    unreachable = []
    for g in pkb.guidelines:
        for r in g.recommendations:
            ctx = Context()
            for gene, key in r.lookup.items():
                opt = option_for(gene, key)
                ctx.options[gene] = [opt] if opt is not None else []
            drug = r.drugs[0] if r.drugs else g.drugs[0]
            texts = {x.text for x in _recommend_drug(kb, drug, ctx) if x.matched}
            if r.text not in texts:
                unreachable.append((g.name, r.lookup))
    assert unreachable == []


def test_value_matching_rules() -> None:
    assert value_matches("CYP2D6", "≥3.75", GeneOption("CYP2D6", None, "x", "4.0"))
    assert not value_matches("CYP2D6", "≥3.75", GeneOption("CYP2D6", None, "x", "3.5"))
    assert value_matches(
        "DPYD", "1.5 (Intermediate Metabolizer)", GeneOption("DPYD", None, "x", "1.5")
    )
    assert value_matches(
        "HLA-B", "*57:01 positive", GeneOption("HLA-B", None, None, None, ("HLA-B*57:01 positive",))
    )
    assert value_matches("HLA-B", "No Result", None)
    assert not value_matches("CYP2C19", "Normal Metabolizer", None)


def _sample(
    kb: KnowledgeBase, tmp: Path, build: dict[str, tuple[str, str]], outside: str = ""
) -> SampleResult:
    b = VcfBuilder(kb)
    for gene, (x, y) in build.items():
        b.haplotypes(gene, x, y, phased=False)
    path = b.write(tmp / "s.vcf")
    oc = []
    if outside:
        (tmp / "oc.tsv").write_text(outside)
        oc = read_outside_calls(tmp / "oc.tsv")
    (res,) = call_vcf(path, kb, None, CallOptions(), oc)
    return res


def test_clopidogrel_poor_metabolizer_cpic(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _sample(kb, tmp_path, {"CYP2C19": ("*2", "*2")})
    res = prescribed(kb, res, [Medication(name="Plavix")])
    review = res.medication_review
    assert review is not None and review[0].matched_drug == "clopidogrel"
    assert review[0].status == "action"
    cpic = [
        r for r in review[0].recommendations if r.source == "CPIC" and r.population == "CVI ACS PCI"
    ]
    assert cpic and cpic[0].classification == "Strong"
    assert cpic[0].text.startswith("Avoid clopidogrel if possible")
    assert cpic[0].lookup_keys == {"CYP2C19": "Poor Metabolizer"}
    assert cpic[0].phenotype_basis == "genotype"
    dpwg = [r for r in review[0].recommendations if r.source == "DPWG"]
    assert len(dpwg) == 1 and dpwg[0].matched
    assert "avoid clopidogrel" in dpwg[0].text
    assert dpwg[0].guideline.startswith("Annotation of DPWG Guideline")


def test_phenoconversion_paroxetine_makes_codeine_poor_metabolizer(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    res = _sample(kb, tmp_path, {"CYP2D6": ("*1", "*1")})
    res = prescribed(kb, res, [Medication(name="codeine"), Medication(name="paroxetine 20 mg")])
    assert res.effective_phenotypes
    conv = res.effective_phenotypes[0]
    assert (conv.gene, conv.genotype_phenotype, conv.effective_phenotype) == (
        "CYP2D6",
        "Normal Metabolizer",
        "Poor Metabolizer",
    )
    assert conv.caused_by == ["paroxetine"]
    codeine = next(m for m in res.medication_review or [] if m.matched_drug == "codeine")
    cpic = next(r for r in codeine.recommendations if r.source == "CPIC")
    assert cpic.phenotype_basis == "phenoconverted" and cpic.caused_by == ["paroxetine"]
    assert cpic.lookup_keys == {"CYP2D6": "0.0"}
    assert "Avoid codeine" in cpic.text
    # Paroxetine's own CYP2D6 guidance is on the genotype phenotype, not on itself.
    parox = next(m for m in res.medication_review or [] if m.matched_drug == "paroxetine")
    assert all(r.phenotype_basis == "genotype" for r in parox.recommendations)


def test_no_call_gene_never_gets_normal_text(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _sample(kb, tmp_path, {"CYP2C9": ("*1", "*1")})  # CYP2C19 absent: not called
    res = prescribed(kb, res, None, ["clopidogrel"])
    recs = res.recommendations or []
    assert recs and all(not r.matched for r in recs)
    assert all("genotype not determined" in r.text for r in recs)


def test_hla_b_outside_call_abacavir(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _sample(kb, tmp_path, {"CYP2C9": ("*1", "*1")}, "HLA-B\t*57:01/*07:02\n")
    res = prescribed(kb, res, [Medication(name="abacavir")])
    review = (res.medication_review or [])[0]
    cpic = next(r for r in review.recommendations if r.source == "CPIC")
    assert cpic.lookup_keys == {"HLA-B": "*57:01 positive"}
    assert "not recommended" in cpic.text.lower()
    assert review.status == "action"


def test_unknown_drug_is_a_caveat(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _sample(kb, tmp_path, {"CYP2C9": ("*1", "*1")})
    res = prescribed(kb, res, [Medication(name="notarealdrug")])
    review = (res.medication_review or [])[0]
    assert review.status == "unknown"
    assert review.caveats[0].code == "unknown_drug"


def test_newer_cpic_guidance_is_flagged(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _sample(kb, tmp_path, {"TPMT": ("*1", "*1"), "NUDT15": ("*1", "*1")})
    res = prescribed(kb, res, None, ["azathioprine"])
    cpic = [r for r in res.recommendations or [] if r.source == "CPIC"]
    assert cpic and all(any(c.code == "newer_cpic_guidance" for c in r.caveats) for r in cpic)


def test_multi_gene_phenytoin(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _sample(kb, tmp_path, {"CYP2C9": ("*1", "*3")}, "HLA-B\t*07:02/*08:01\n")
    res = prescribed(kb, res, None, ["phenytoin"])
    cpic = [r for r in res.recommendations or [] if r.source == "CPIC" and r.matched]
    assert cpic
    assert all(r.lookup_keys == {"HLA-B": "*15:02 negative", "CYP2C9": "1.0"} for r in cpic)


@pytest.mark.parametrize(
    ("name", "drug"),
    [
        ("36567", "simvastatin"),
        ("Zocor 40 mg", "simvastatin"),
        ("metoprolol succinate", "metoprolol"),
    ],
)
def test_medication_names_resolve(kb: KnowledgeBase, name: str, drug: str) -> None:
    from precisionrx.engines.pgx.medications import resolve

    assert resolve(Medication(name=name), kb.prescribing).drug == drug


def test_warfarin_iwpc_hand_worked_example(kb: KnowledgeBase, tmp_path: Path) -> None:
    from precisionrx.records import Demographics, Measurement, PatientRecord

    # 65 y (6 decades), 170 cm, 70 kg, European, VKORC1 -1639 AG, CYP2C9 *1/*2, no co-medication:
    # sqrt(weekly) = 5.6044 - 0.2614*6 + 0.0087*170 + 0.0128*70 - 0.8677 - 0.5211 = 5.02220
    # weekly = 25.22 mg (IWPC 2009 pharmacogenetic algorithm).
    res = _sample(kb, tmp_path, {"CYP2C9": ("*1", "*2"), "CYP4F2": ("*1", "*1")})
    b = VcfBuilder(kb).genotype("VKORC1", "rs9923231", "C/T")
    (vk,) = call_vcf(b.write(tmp_path / "vk.vcf"), kb, None, CallOptions(genes=["VKORC1"]))
    res.genes = [g for g in res.genes if g.gene != "VKORC1"] + vk.genes
    patient = PatientRecord(
        id="w",
        demographics=Demographics(age_years=65, ancestry_self_reported="European"),
        measurements=(
            Measurement(name="height", value=170, unit="cm"),
            Measurement(name="weight", value=70, unit="kg"),
        ),
    )
    done = prescribed(kb, res, [Medication(name="warfarin")], patient=patient)
    assert res.warfarin is None  # the input is not changed
    w = done.warfarin
    assert w is not None
    assert w.inputs.VKORC1_rs9923231 == "AG" and w.inputs.CYP2C9 == "*1/*2"
    assert w.iwpc_pharmacogenetic.weekly_dose_mg == pytest.approx(25.2, abs=0.05)
    assert w.strength == "STRONG"
    # Clinical algorithm: sqrt = 4.0376 - 0.2546*6 + 0.0118*170 + 0.0134*70 = 5.4540 -> 29.75 mg
    assert w.iwpc_clinical.weekly_dose_mg == pytest.approx(29.7, abs=0.05)
    dumped = done.model_dump(mode="json")["warfarin"]["iwpc_pharmacogenetic"]
    assert set(dumped) == {"weekly_dose_mg", "daily_dose_mg"}


def test_warfarin_missing_inputs_give_a_range(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _sample(kb, tmp_path, {"CYP2C9": ("*1", "*3")})
    w = prescribed(kb, res, None, ["warfarin"]).warfarin
    assert w is not None
    assert w.iwpc_pharmacogenetic.weekly_dose_mg is None
    assert w.iwpc_pharmacogenetic.weekly_dose_range_mg is not None
    low, high = w.iwpc_pharmacogenetic.weekly_dose_range_mg
    assert 0 < low < high
    assert any(c.code == "warfarin_missing_input" for c in w.caveats)
    assert w.cpic_action.startswith("Dose clinically")  # no VKORC1 result
    dumped = w.model_dump(mode="json")["iwpc_pharmacogenetic"]
    assert set(dumped) == {"weekly_dose_mg", "weekly_dose_range_mg"}


@pytest.mark.parametrize(
    ("outside", "drug", "gene", "key"),
    [
        ("HLA-B\t*15:02/*08:01\n", "carbamazepine", "HLA-B", "*15:02 positive"),
        ("HLA-A\t*31:01/*02:01\n", "carbamazepine", "HLA-A", "*31:01 positive"),
        ("HLA-B\t*58:01/*08:01\n", "allopurinol", "HLA-B", "*58:01 positive"),
        ("HLA-B\t*15:02/*08:01\n", "oxcarbazepine", "HLA-B", "*15:02 positive"),
        (
            "MT-RNR1\t1555A>G\n",
            "gentamicin",
            "MT-RNR1",
            "increased risk of aminoglycoside-induced hearing loss",
        ),
    ],
)
def test_single_gene_risks_from_outside_calls(
    kb: KnowledgeBase, tmp_path: Path, outside: str, drug: str, gene: str, key: str
) -> None:
    res = _sample(kb, tmp_path, {"CYP2C9": ("*1", "*1")}, outside)
    res = prescribed(kb, res, [Medication(name=drug)])
    review = (res.medication_review or [])[0]
    cpic = [r for r in review.recommendations if r.source == "CPIC" and r.matched]
    assert cpic, [r.text for r in review.recommendations]
    assert any(r.lookup_keys.get(gene) == key for r in cpic)
    assert review.status == "action"


def test_g6pd_deficient_rasburicase_and_ryr1_anaesthetics(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    b = VcfBuilder(kb)
    b.haplotypes("G6PD", "A- 202A_376G", "A- 202A_376G", phased=False)
    b.haplotypes("RYR1", "Reference", "Reference", phased=False)
    b.haplotypes("CACNA1S", "Reference", "Reference", phased=False)
    b.genotype("RYR1", "rs118192172", "C/T")  # c.7300G>A-type MH variant in the CPIC list
    (res,) = call_vcf(b.write(tmp_path / "g.vcf"), kb, None, CallOptions(default_sex="female"))
    g6pd = next(g for g in res.genes if g.gene == "G6PD")
    assert g6pd.phenotype == "Deficient"
    res = prescribed(kb, res, [Medication(name="rasburicase"), Medication(name="sevoflurane")])
    by = {m.matched_drug: m for m in res.medication_review or []}
    ras = [r for r in by["rasburicase"].recommendations if r.matched and r.source == "CPIC"]
    assert ras and ras[0].lookup_keys == {"G6PD": "Deficient"}
    assert by["rasburicase"].status == "action"
    ryr1 = next(g for g in res.genes if g.gene == "RYR1")
    sevo = [r for r in by["sevoflurane"].recommendations if r.matched]
    if ryr1.phenotype == "Malignant Hyperthermia Susceptibility":
        assert by["sevoflurane"].status == "action"
    assert sevo
