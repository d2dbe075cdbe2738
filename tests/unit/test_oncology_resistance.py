"""Resistance overrides sensitivity (issue 11 item 1) and the grouped report (item 4)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.oncology.knowledge import oncology_kb
from precisionrx.engines.oncology.report import matched_drugs
from precisionrx.engines.oncology.resolution import resolve
from precisionrx.engines.oncology.summary import therapy_options, therapy_summary
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.oncology_section import oncology_findings
from precisionrx.records.notation import protein_change
from precisionrx.records.oncology import TumourReport
from precisionrx.records.tumor import Alteration
from precisionrx.report.html import _load, render
from testkit.oncology import shared_kb
from testkit.oncology import tumour_document as analyse

KB = shared_kb()
OKB = oncology_kb(KB)


def typed(report: dict[str, Any]) -> TumourReport:
    return TumourReport.model_validate(report)


def variant(gene: str, protein: str, exon: str = "") -> Alteration:
    return Alteration(
        kind="variant", gene=gene, protein=protein_change(protein), exon=exon,
        consequence=frozenset({"missense_variant"}), consequence_text="missense_variant",
        ref="A", alt="T", source=f"test {gene} {protein}",
    )  # fmt: skip


def fusion(a: str, b: str) -> Alteration:
    return Alteration(kind="fusion", gene=a, gene2=b, source=f"test {a}::{b}")


def status(report: dict[str, Any], alteration: str, drug: str) -> str:
    """Status of the grouped row for this alteration and single drug (or + regimen)."""
    names = sorted(drug.lower().split(" + "))
    rows = [
        r
        for r in report["therapy_summary"]
        if r["alteration"] == alteration
        and sorted(d.lower() for d in (r["drug"] if isinstance(r["drug"], list) else [r["drug"]]))
        == names
    ]
    assert len(rows) == 1, (alteration, drug, rows)
    return str(rows[0]["status"])


def option_drugs(report: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for r in therapy_options(typed(report).therapy_summary):
        out |= {d.lower() for d in (r.drug if isinstance(r.drug, list) else [r.drug])}
    return out


def test_bcr_abl1_with_t315i_imatinib_and_dasatinib_expected_resistance() -> None:
    report = analyse([fusion("BCR", "ABL1"), variant("ABL1", "T315I", "5")], "CML", None)
    for drug in ("Imatinib", "Dasatinib"):
        # The fusion's FDA-approved sensitivity is overridden by the T315I resistance.
        assert status(report, "BCR::ABL1", drug) == "expected resistance"
        assert status(report, "ABL1 T315I", drug) == "expected resistance"
    assert status(report, "ABL1 T315I", "Ponatinib") == "sensitive"
    assert status(report, "ABL1 T315I", "Asciminib") == "sensitive"
    # Ponatinib's own T315I sensitivity (FDA) outranks the guideline row calling T315I
    # resistant to it, so that row cannot strip ponatinib from the fusion either.
    assert status(report, "BCR::ABL1", "Ponatinib") == "sensitive"
    opts = option_drugs(report)
    assert {"ponatinib", "asciminib"} <= opts
    assert not {"imatinib", "dasatinib"} & opts
    assert not {"imatinib", "dasatinib"} & set(matched_drugs(typed(report).matches))
    # The overridden items stay in the JSON with the reason and the overriding item.
    fus = [m for m in report["matches"] if m["alteration"] == "BCR::ABL1"]
    imatinib = [t for m in fus for t in m["therapies"] if t["drug"] == "Imatinib"]
    assert imatinib and all(t["overridden_by"] is not None for t in imatinib)
    assert all(t["tier"] is None and t["overridden_tier"] for t in imatinib)
    assert "I" in {t["overridden_tier"] for t in imatinib}
    assert all(t["overridden_by"]["alteration"] == "ABL1 T315I" for t in imatinib)
    assert all("another alteration" in t["overridden_by"]["reason"] for t in imatinib)


def test_pdgfra_d842v_gist_imatinib_resistant_avapritinib_sensitive() -> None:
    report = analyse([variant("PDGFRA", "D842V", "18")], "GIST", None)
    assert status(report, "PDGFRA D842V", "Imatinib") == "expected resistance"
    assert status(report, "PDGFRA D842V", "Avapritinib") == "sensitive"
    row = next(
        r
        for r in report["therapy_summary"]
        if r["alteration"] == "PDGFRA D842V" and r["drug"] == "Imatinib"
    )
    # The gene-level "PDGFRA mutation" guideline sensitivity is kept, overridden.
    assert row["overridden"] >= 1
    assert any("gene-level" in o["reason"] for o in row["overridden_by"])
    assert "imatinib" not in option_drugs(report)
    assert "avapritinib" in option_drugs(report)


def test_egfr_t790m_overrides_first_generation_inhibitors_across_alterations() -> None:
    report = analyse([variant("EGFR", "L858R", "21"), variant("EGFR", "T790M", "20")], "LUAD", None)
    for drug in ("Gefitinib", "Erlotinib"):
        assert status(report, "EGFR L858R", drug) == "expected resistance"
        assert status(report, "EGFR T790M", drug) == "expected resistance"
    assert status(report, "EGFR L858R", "Osimertinib") == "sensitive"
    assert "osimertinib" in option_drugs(report)
    assert not {"gefitinib", "erlotinib"} & option_drugs(report)
    # Without T790M the first-generation inhibitors are options.
    alone = analyse([variant("EGFR", "L858R", "21")], "LUAD", None)
    assert {"gefitinib", "erlotinib"} <= option_drugs(alone)


def test_ras_mutation_removes_anti_egfr_regimens_in_colorectal_cancer() -> None:
    braf = variant("BRAF", "V600E", "15")
    alone = analyse([braf], "COADREAD", None)
    # BRAF V600E colorectal cancer resists cetuximab alone (guideline); the FDA-approved
    # combination for that tumour outranks the resistance claim on its component.
    assert status(alone, "BRAF V600E", "Cetuximab") == "expected resistance"
    assert status(alone, "BRAF V600E", "Cetuximab + Encorafenib") == "sensitive"
    both = analyse([braf, variant("KRAS", "G12D", "2")], "COADREAD", None)
    # A KRAS mutation defeats the anti-EGFR part of any regimen.
    assert status(both, "BRAF V600E", "Cetuximab + Encorafenib") == "expected resistance"
    assert "cetuximab" not in option_drugs(both)
    assert "panitumumab" not in option_drugs(both)


def test_plan_findings_never_headline_an_overridden_drug() -> None:
    report = analyse([fusion("BCR", "ABL1"), variant("ABL1", "T315I", "5")], "CML", None)
    findings = oncology_findings(typed(report), KnowledgeBase())
    options = [f for f in findings if "therapy evidence" in f.title]
    resist = [f for f in findings if "expected resistance" in f.title]
    assert options
    assert not any(re.search(r"imatinib|dasatinib", f.detail, re.I) for f in options)
    assert any("Imatinib" in f.title and "Dasatinib" in f.title for f in resist)


# --- the rule on synthetic evidence ------------------------------------------------------


def match(alteration: str, resolution: str, *therapies: dict[str, Any]) -> dict[str, Any]:
    return {
        "gene": alteration.split()[0],
        "alteration": alteration,
        "match_resolution": resolution,
        "tier": None,
        "resistance": any(t["response"] == "resistant" for t in therapies),
        "therapies": list(therapies),
    }


def therapy(drug: str, response: str, level: str, tmatch: str = "same",
            source: str = "moalmanac") -> dict[str, Any]:  # fmt: skip
    names = drug.split(" + ")
    return {
        "drug": names[0] if len(names) == 1 else names,
        "response": response,
        "evidence_level": level,
        "tumor_type_match": tmatch,
        "tumor_type": "X",
        "tier": "I" if response == "sensitive" else None,
        "amp_level": "A" if response == "sensitive" else None,
        "recommendation": "consider" if response == "sensitive" else "avoid / expect resistance",
        "source": source,
        "source_id": f"{drug}-{response}-{level}",
        "url": None,
        "biomarker": "b",
    }


def resolved(*matches: dict[str, Any]) -> list[dict[str, Any]]:
    ms = list(matches)
    resolve(ms, [m["alteration"] for m in ms])
    return ms


def test_exact_resistance_outranks_gene_level_sensitivity() -> None:
    (_m1, m2) = resolved(
        match("G V1", "hgvsp", therapy("D", "resistant", "Preclinical")),
        match("G V1", "gene", therapy("D", "sensitive", "FDA-Approved")),
    )
    assert m2["therapies"][0]["overridden_by"] is not None
    assert "gene-level" in m2["therapies"][0]["overridden_by"]["reason"]


def test_exact_sensitivity_outranks_gene_level_resistance() -> None:
    (m1, _m2) = resolved(
        match("G V1", "hgvsp", therapy("D", "sensitive", "Preclinical")),
        match("G V1", "gene", therapy("D", "resistant", "FDA-Approved")),
    )
    assert m1["therapies"][0]["overridden_by"] is None


def test_equal_evidence_resolves_to_resistance_and_higher_level_wins() -> None:
    (m,) = resolved(
        match("G V1", "hgvsp", therapy("D", "sensitive", "Guideline"),
              therapy("D", "resistant", "Guideline")),
    )  # fmt: skip
    assert m["therapies"][0]["overridden_by"] is not None
    (m,) = resolved(
        match("G V1", "hgvsp", therapy("D", "sensitive", "FDA-Approved"),
              therapy("D", "resistant", "Guideline")),
    )  # fmt: skip
    assert m["therapies"][0]["overridden_by"] is None


def test_resistance_in_this_tumour_type_outranks_other_type_sensitivity() -> None:
    (m,) = resolved(
        match("G V1", "hgvsp", therapy("D", "sensitive", "FDA-Approved", "other"),
              therapy("D", "resistant", "D", "same", "civic")),
    )  # fmt: skip
    assert m["therapies"][0]["overridden_by"] is not None
    (m,) = resolved(
        match("G V1", "hgvsp", therapy("D", "sensitive", "C", "same", "civic"),
              therapy("D", "resistant", "FDA-Approved", "other")),
    )  # fmt: skip
    assert m["therapies"][0]["overridden_by"] is None


def test_weak_gene_level_claim_of_another_alteration_does_not_override() -> None:
    ms = resolved(
        match("G V1", "hgvsp", therapy("D", "sensitive", "FDA-Approved")),
        match("H V2", "gene", therapy("D", "resistant", "Preclinical")),
    )
    assert ms[0]["therapies"][0]["overridden_by"] is None
    ms = resolved(
        match("G V1", "hgvsp", therapy("D", "sensitive", "FDA-Approved")),
        match("H V2", "gene", therapy("D", "resistant", "Guideline")),
    )
    assert ms[0]["therapies"][0]["overridden_by"] is not None


LEVELS = ["FDA-Approved", "Guideline", "Clinical trial", "Clinical evidence", "Preclinical"]
RESOLUTIONS = ["hgvsp", "codon", "exon", "gene"]
item = st.tuples(
    st.sampled_from(["A V1", "B V2"]),
    st.sampled_from(RESOLUTIONS),
    st.sampled_from(["D", "E", "D + E"]),
    st.sampled_from(["sensitive", "resistant"]),
    st.sampled_from(LEVELS),
    st.sampled_from(["same", "other", "pan-cancer"]),
)


def build(items: list[tuple[str, str, str, str, str, str]]) -> list[dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for alt, res, drug, resp, level, tmatch in items:
        m = out.setdefault((alt, res), match(alt, res))
        m["therapies"].append(therapy(drug, resp, level, tmatch))
    return list(out.values())


def statuses(ms: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    items = resolve(ms, [m["alteration"] for m in ms])
    return {(r["alteration"], str(r["drug"])): r["status"] for r in therapy_summary(ms, items)}


@settings(max_examples=300, deadline=None)
@given(st.lists(item, min_size=1, max_size=10), item)
def test_adding_resistance_never_turns_resistance_into_sensitivity(
    items: list[tuple[str, str, str, str, str, str]], extra: tuple[str, str, str, str, str, str]
) -> None:
    before = statuses(build(items))
    extra = (*extra[:3], "resistant", *extra[4:])
    after = statuses(build([*items, extra]))
    for key, s in before.items():
        if s == "expected resistance":
            assert after[key] == "expected resistance", (key, items, extra)


@settings(max_examples=200, deadline=None)
@given(st.lists(item, min_size=1, max_size=10))
def test_grouped_view_references_every_item_once_per_row(
    items: list[tuple[str, str, str, str, str, str]],
) -> None:
    ms = build(items)
    rows = therapy_summary(ms, resolve(ms, [m["alteration"] for m in ms]))
    own = set()
    for r in rows:
        for ref in r["supporting_items"] + r["conflicting_items"]:
            m = ms[ref["match"]]
            if m["alteration"] == r["alteration"]:
                own.add((ref["match"], ref["therapy"]))
    every = {(i, j) for i, m in enumerate(ms) for j in range(len(m["therapies"]))}
    assert own == every
    keys = [(r["alteration"], str(sorted(r["drug"])) if isinstance(r["drug"], list)
             else r["drug"]) for r in rows]  # fmt: skip
    assert len(keys) == len(set(keys))


# --- the grouped report --------------------------------------------------------------------


def test_braf_v600e_melanoma_one_row_per_alteration_and_drug() -> None:
    report = analyse([variant("BRAF", "V600E", "15")], "MEL", None)
    vem = [r for r in report["therapy_summary"] if r["drug"] == "Vemurafenib"]
    assert len(vem) == 1
    row = vem[0]
    assert row["status"] == "sensitive" and row["tier"] == "I"
    assert row["best_evidence"]["evidence_level"] == "FDA-Approved"
    items = [t for m in report["matches"] for t in m["therapies"] if t["drug"] == "Vemurafenib"]
    assert len(items) >= 10  # the JSON keeps every item
    assert row["supporting"] + row["conflicting"] == len(items)
    assert row["links"]
    html = render("tumor.html.j2", {"doc": report | {"input": "x", "notice": "n"},
                                    "css": _load("base.css")})  # fmt: skip
    assert len(re.findall(r"<tr[^>]*><td>BRAF V600E</td><td>Vemurafenib(<| —)", html)) == 1
    assert "<details>" in html


# --- knowledge-base items behind the rule ----------------------------------------------------


def located(gene: str, protein: str, chrom: str, pos: int, ref: str, alt: str) -> Alteration:
    # Without a protein change the variant is as a raw VCF gives it: no gene either.
    a = variant(gene, protein) if protein else Alteration(kind="variant", gene="",
                                                          source=f"test {pos}")  # fmt: skip
    a.chrom, a.pos, a.ref, a.alt = chrom, pos, ref, alt
    return a


def test_civic_fusion_resistance_mutation_matches_by_coordinates_on_both_builds() -> None:
    # CIViC 2018 names ABL1 T315I "BCR-ABL T334I" (isoform 1b); its coordinates make it
    # matchable, which adds nilotinib to the T315I resistance (EID2670), from a raw VCF
    # (coordinates only) as from an annotated one (the protein MOAlmanac gives those
    # coordinates).
    for build, pos in (("GRCh37", 133748283), ("GRCh38", 130872896)):
        for protein in ("", "T315I"):
            t315i = located("ABL1", protein, "9", pos, "C", "T")
            report = analyse([fusion("BCR", "ABL1"), t315i], "CML", build)
            label = next(m["alteration"] for m in report["matches"]
                         if m["alteration"] != "BCR::ABL1")  # fmt: skip
            for drug in ("Imatinib", "Dasatinib", "Nilotinib", "Bosutinib"):
                assert status(report, "BCR::ABL1", drug) == "expected resistance", (build, drug)
                assert status(report, label, drug) == "expected resistance", (build, drug)
            assert {"ponatinib", "asciminib"} <= option_drugs(report)
            assert not {"imatinib", "dasatinib", "nilotinib", "bosutinib"} & option_drugs(report)
            ids = {t["source_id"] for m in report["matches"] for t in m["therapies"]}
            assert "EID2670" in ids


def test_flagged_guideline_rows_are_shown_but_not_used() -> None:
    report = analyse([variant("ABL1", "T315I", "5")], "CML", None)
    # MOAlmanac 104 (omacetaxine "resistant" for T315I) is a curated data conflict.
    assert status(report, "ABL1 T315I", "Omacetaxine") == "disputed"
    flagged = [t for m in report["matches"] for t in m["therapies"] if t["source_id"] == "104"]
    assert flagged and flagged[0]["flag"]["flag"] == "data_conflict"
    assert flagged[0]["recommendation"].startswith("disputed")
    findings = oncology_findings(typed(report), KnowledgeBase())
    assert not any("Omacetaxine" in f.title for f in findings)


def test_civic_alternatives_become_one_row_each() -> None:
    rows = [r for r in OKB.rows if r["source_id"] == "EID134"]
    assert sorted(r["codon"] for r in rows) == ["G12", "G13"]
    report = analyse([variant("KRAS", "G13D", "2")], "COADREAD", None)
    assert "EID134" in {t["source_id"] for m in report["matches"] for t in m["therapies"]}


# --- regressions found in review -----------------------------------------------------------


def cna(gene: str, kind: str) -> Alteration:
    return Alteration(kind=kind, gene=gene, source=f"test {gene} {kind}")


def test_combination_claim_does_not_shield_monotherapy_of_another_alteration() -> None:
    # KRAS G12C has FDA-approved adagrasib + cetuximab, which outranks its own resistance to
    # cetuximab for that combination only: cetuximab alone (EGFR amplification) is ruled out.
    report = analyse([variant("KRAS", "G12C", "2"), cna("EGFR", "amplification")],
                     "COADREAD", None)  # fmt: skip
    assert status(report, "EGFR amplification", "Cetuximab") == "expected resistance"
    assert status(report, "KRAS G12C", "Adagrasib + Cetuximab") == "sensitive"


def test_unknown_tumour_type_pan_cancer_weak_sensitivity_does_not_block_t790m() -> None:
    for tumour in (None, "BRCA"):
        report = analyse(
            [variant("EGFR", "L858R", "21"), variant("EGFR", "T790M", "20")], tumour, None
        )
        assert not {"gefitinib", "erlotinib"} & option_drugs(report), tumour
        assert not {"gefitinib", "erlotinib"} & set(matched_drugs(typed(report).matches)), tumour


def test_eml4_alk_alone_keeps_first_line_alk_inhibitors() -> None:
    report = analyse([fusion("EML4", "ALK")], "LUAD", None)
    assert {"lorlatinib", "alectinib", "crizotinib"} <= option_drugs(report)
    # Compound CIViC names ("EML4-ALK C1156Y–L1198F") are not the fusion alone.
    assert not [t for m in report["matches"] for t in m["therapies"]
                if "–" in t["biomarker"] or "INS" in t["biomarker"].upper()]  # fmt: skip


def test_one_name_per_drug() -> None:
    names = {d for r in OKB.rows for d in r["therapy"].split(" + ")}
    assert "Alectinib (CH5424802)" not in names and "Alectinib" in names
    assert "BYL719 (Alpelisib)" not in names and "Alpelisib" in names
    assert not [n for n in names if n.count("(") != n.count(")")]  # no split synonyms
    report = analyse([fusion("EML4", "ALK"), variant("ALK", "I1171N")], "LUAD", None)
    alectinib = [r for r in report["therapy_summary"] if r["alteration"] == "EML4::ALK"
                 and str(r["drug"]).lower().startswith("alectinib")]  # fmt: skip
    assert len({r["status"] for r in alectinib}) == 1


def test_raw_vcf_never_matches_germline_polymorphism_rows() -> None:
    # rs3910384 (CIViC "WEE1 RS3910384") is a germline polymorphism: unsupported, never matched.
    row = next(r for r in OKB.rows if r["alteration"].upper() == "WEE1 RS3910384")
    assert row["kind"] == "unsupported"
    raw = Alteration(kind="variant", gene="", chrom=row["chrom"], pos=int(row["pos"]),
                     ref=row["ref"], alt=row["alt"], source="test raw")  # fmt: skip
    assert analyse([raw], "NSCLC", "GRCh37")["matches"] == []


def test_no_drug_items_and_every_kb_item_kept() -> None:
    assert not [r for r in OKB.rows if not r["therapy"].strip()]
    report = analyse([variant("BRAF", "V600E", "15")], "MEL", None)
    ids = [(t["source"], t["source_id"]) for m in report["matches"] for t in m["therapies"]]
    assert "EID1699" in {i for _, i in ids}  # was merged away by the old de-duplication


@settings(max_examples=300, deadline=None)
@given(st.lists(item, min_size=1, max_size=10), item)
def test_adding_sensitivity_never_removes_an_option(
    items: list[tuple[str, str, str, str, str, str]], extra: tuple[str, str, str, str, str, str]
) -> None:
    before = statuses(build(items))
    extra = (*extra[:3], "sensitive", *extra[4:])
    after = statuses(build([*items, extra]))
    for key, s in before.items():
        if s == "sensitive":
            assert after[key] == "sensitive", (key, items, extra)
