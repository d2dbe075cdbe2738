"""What the plan may headline from a tumour report, and the guideline biomarkers to confirm.

**Headline evidence** follows OncoKB levels 1-2 and AMP/ASCO/CAP level A (J Mol Diagn
2017;19:4, Table 3; research/plan.md §1): FDA-approved or guideline evidence *in this tumour
type* (MOAlmanac ``FDA-Approved`` / ``Guideline``, CIViC level ``A``), matched at least at codon
or exon level (not gene-level evidence), or an FDA tumour-agnostic approval whose label does not
exclude this tumour (kb/data/oncology_guidelines/tumor_agnostic_labels.csv: dabrafenib +
trametinib's BRAF V600E label excludes colorectal cancer). Everything else — other tumour types,
gene-level matches, clinical-trial, case or preclinical evidence — stays in the report's detail.
Resistance is headlined by the same rule, and also when, in this tumour type, it overrides
sensitivity evidence (the reason a standard option is withdrawn must lead); its level is shown.

**Guideline biomarkers** (kb/data/oncology_guidelines/tumor_biomarker_panels.csv, by OncoTree
code, the report's tumour type or its lineage): each is ``found`` (an alteration of its gene in
the input, of the named protein change when the row names one), ``reported`` (MSI status or TMB
given or computed), ``germline`` (a germline test, not judged from a tumour file) or ``not
reported`` — no alteration in the input, which is a negative result only if the assay covered
it, so the plan asks to confirm it was tested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from precisionrx.engines.oncology.resolution import SPECIFICITY
from precisionrx.engines.oncology.summary import expected_resistance, therapy_options
from precisionrx.records.oncology import Drug, TherapySummaryRow, TumourReport

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

SOURCE = "oncology_guidelines"
#: Evidence levels that may lead the plan (MOAlmanac predictive implications, CIViC level A).
HEADLINE_LEVELS = frozenset({"FDA-Approved", "Guideline", "A"})
#: Words of a tumour name too generic to match a label's exclusion.
_GENERIC = frozenset({"adenocarcinoma", "carcinoma", "cancer", "cancers", "tumor", "tumour",
                      "neoplasm", "malignant", "solid", "other"})  # fmt: skip
_GENE = re.compile(r"\b([A-Z][A-Z0-9]{1,6})\b")
_CHANGE = re.compile(r"p\.([A-Z]\d+[A-Z*])")
#: Gene names as panels write them -> HGNC symbol.
_ALIASES = {"HER2": "ERBB2"}
_NOT_GENES = frozenset({"IHC", "MSI", "TMB", "NGS", "RNA", "DNA", "PCR", "MMR", "FISH",
                        "CNS", "FDA", "NCCN", "ESMO", "ASCO", "CAP", "AMP", "ASCP", "IASLC",
                        "RAS"})  # fmt: skip


@dataclass(frozen=True)
class AgnosticLabel:
    drugs: frozenset[str]
    biomarker: str
    excluded: str
    setting: str
    verified: bool


@dataclass(frozen=True)
class Headline:
    """The rows the plan may headline, and the tumour-agnostic labels kept out of it."""

    options: list[tuple[TherapySummaryRow, str]]  # (row, setting or "")
    resistance: list[TherapySummaryRow]
    excluded: list[tuple[TherapySummaryRow, AgnosticLabel]]
    held_back: int  # sensitivity rows left to the detail


@dataclass(frozen=True)
class BiomarkerStatus:
    biomarker: str
    setting: str
    status: str  # found | reported | germline | not reported
    detail: str
    verified: bool


def drug_names(drug: Drug) -> frozenset[str]:
    return frozenset(d.lower() for d in ([drug] if isinstance(drug, str) else drug))


def agnostic_labels(kb: KnowledgeBase) -> list[AgnosticLabel]:
    def read() -> list[AgnosticLabel]:
        return [
            AgnosticLabel(
                frozenset(d.strip().lower() for d in r["drug"].split("+")),
                r["biomarker"], r["excluded_tumor_types"], r["setting"], r["verified"] == "true",
            )
            for r in kb.rows(SOURCE, "tumor_agnostic_labels.csv", delimiter=",")
        ]  # fmt: skip

    return kb.memo((SOURCE, "agnostic"), read)


def excludes(label: AgnosticLabel, report: TumourReport) -> bool:
    """The label's exclusion names this tumour (a specific word of its name)."""
    text = label.excluded.split("(")[0].lower()
    if not text or text.startswith("none"):
        return False
    words = {w for w in re.findall(r"[a-z]+", (report.tumor_type.name or "").lower())
             if len(w) >= 5 and w not in _GENERIC}  # fmt: skip
    return any(w in text for w in words)


def _specific(row: TherapySummaryRow) -> bool:
    return SPECIFICITY.get(row.best_evidence.match_resolution, 1) >= 2


def _leads(row: TherapySummaryRow) -> bool:
    best = row.best_evidence
    return (
        best.tumor_type_match == "same"
        and best.evidence_level in HEADLINE_LEVELS
        and (_specific(row))
    )


def headline(report: TumourReport, kb: KnowledgeBase) -> Headline:
    """The therapy options and resistance the plan may headline (module docstring)."""
    labels = agnostic_labels(kb)
    options: list[tuple[TherapySummaryRow, str]] = []
    excluded: list[tuple[TherapySummaryRow, AgnosticLabel]] = []
    candidates = therapy_options(report.therapy_summary)
    for row in candidates:
        if _leads(row):
            options.append((row, ""))
            continue
        best = row.best_evidence
        if best.tumor_type_match != "pan-cancer" or best.evidence_level != "FDA-Approved":
            continue
        label = next((lb for lb in labels if lb.drugs == drug_names(row.drug)), None)
        if label is None or not _specific(row):
            continue
        if excludes(label, report):
            excluded.append((row, label))
        else:
            options.append((row, label.setting))
    resistance = [
        r for r in expected_resistance(report.therapy_summary)
        if _leads(r) or (r.overridden and r.best_evidence.tumor_type_match == "same")
    ]  # fmt: skip
    return Headline(options, resistance, excluded, len(candidates) - len(options))


def panel_code(report: TumourReport, codes: set[str]) -> str | None:
    """The panel's OncoTree code for this tumour: its own code or the nearest lineage code."""
    for code in [report.tumor_type.code, *report.tumor_type.lineage]:
        if code and code in codes:
            return code
    return None


def guideline_biomarkers(report: TumourReport, kb: KnowledgeBase) -> list[BiomarkerStatus]:
    """Each guideline biomarker of this tumour type with what the input says about it."""
    rows = kb.rows(SOURCE, "tumor_biomarker_panels.csv", delimiter=",")
    code = panel_code(report, {r["oncotree_code"] for r in rows})
    if code is None:
        return []
    genes_altered = {a.gene: a for a in report.alterations if a.gene}
    out = []
    for r in rows:
        if r["oncotree_code"] != code:
            continue
        text = r["biomarker"]
        lower = text.lower()
        genes = [_ALIASES.get(g, g) for g in _GENE.findall(text) if g not in _NOT_GENES]
        genes = [g for g in genes if not g.isdigit()]
        change = _CHANGE.search(text)
        if "germline" in r["test_type"].lower():
            status, detail = "germline", "a germline test; not judged from the tumour input"
        elif "msi" in lower or "mismatch repair" in lower or "dmmr" in lower:
            status, detail = "reported", f"MSI {report.msi.status} ({report.msi.source})"
        elif "tmb" in lower and not genes:
            status, detail = "reported", f"TMB {report.tmb.value:g} mut/Mb"
        else:
            found = [
                a for g in genes if (a := genes_altered.get(g)) is not None
                and (change is None or a.protein_change == change.group(1))
            ]  # fmt: skip
            if found:
                status = "found"
                detail = ", ".join(a.alteration for a in found)
            else:
                status = "not reported"
                detail = "no such alteration in the input: confirm the assay covered it"
        out.append(BiomarkerStatus(text, r["setting"], status, detail, r["verified"] == "true"))
    return out
