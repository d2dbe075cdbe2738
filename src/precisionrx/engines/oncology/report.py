"""Tumour report parts: alterations, matched therapies with tiers, the grouped view, caveats.

The entry point that assembles them is :func:`precisionrx.engines.oncology.api.analyse_tumour`.
The therapy entries are built as dicts, resolved in place (engines/oncology/resolution.py) and
validated into the records of :mod:`precisionrx.records.oncology` at the end.

JSON fields (docs/cli/tumor.md): ``tumor_type``, ``tmb``, ``msi``, ``alterations``, ``matches``
(per alteration and match resolution, ``therapies`` with ``drug`` (a name, or a list for a
combination), ``response`` sensitive|resistant, ``evidence_level``, ``tier``, ``source``,
``citation``, ``tumor_type_match`` same|other|pan-cancer, ``approval``, ``overridden_by``),
``therapy_summary`` (one row per alteration and therapy, engines/oncology/summary.py),
``germline_conflicts`` and ``caveats``. Sensitivity evidence that resistance evidence in the
same tumour outranks is marked overridden (engines/oncology/resolution.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import TypeAdapter

from precisionrx.engines.oncology import tiering
from precisionrx.engines.oncology.knowledge import OncologyKb
from precisionrx.engines.oncology.matcher import BiomarkerMatch, match_alterations
from precisionrx.engines.oncology.resolution import resolve
from precisionrx.engines.oncology.summary import therapy_summary
from precisionrx.records.evidence import Caveat, CaveatKind
from precisionrx.records.oncology import AlterationEntry, Match, TherapySummaryRow
from precisionrx.records.tumor import LOF_TERMS, Alteration

MOALMANAC_NOTICE = (
    "Molecular Oncology Almanac data (GPL-2.0): the Dana-Farber Cancer Institute and Broad "
    "Institute provide it for research use only, not for diagnostic or clinical use"
)
CIVIC_STALE = (
    "CIViC evidence is from the 2018-05-18 snapshot (CC0) and is out of date: add a current "
    "export with `precisionrx kb add civic FILE`"
)


#: The records are validated one list at a time (pydantic-core builds every record of the
#: list in one call; a model constructor per alteration costs twice as much).
_MATCHES = TypeAdapter(list[Match])
_SUMMARY = TypeAdapter(list[TherapySummaryRow])
_ALTERATIONS = TypeAdapter(list[AlterationEntry])


def drugs_of(therapy: str) -> list[str]:
    return [d.strip() for d in therapy.split(" + ") if d.strip()]


def _therapy(kb: OncologyKb, row: dict[str, str], tumor_type: str | None) -> dict[str, Any]:
    match = kb.tumor_match(tumor_type, row["tumor_code"])
    names = drugs_of(row["therapy"])
    entry: dict[str, Any] = {
        "drug": names[0] if len(names) == 1 else names,
        "therapy_type": row["therapy_type"] or None,
        "response": row["response"],
        "evidence_level": row["evidence_level"],
        "strength": row["strength"],
        "tier": None,
        "amp_level": None,
        "escat_approx": tiering.ESCAT_APPROX.get(row["evidence_level"]),
        "source": row["source"],
        "source_id": row["source_id"],
        "citation": row["citation"],
        "url": row["url"] or None,
        "tumor_type": row["tumor_code"] or None,
        "tumor_type_name": row["tumor_name"] or None,
        "tumor_type_match": match,
        "approval": row["approval"] or None,
        "biomarker": row["alteration"],
    }
    entry["flag"] = kb.flag(row)
    if entry["flag"] is not None:
        entry["recommendation"] = "disputed: knowledge-base item flagged, not used"
    elif row["response"] == "sensitive":
        t, _ = tiering.tier(row["strength"], match)
        entry["tier"] = t
        entry["amp_level"] = tiering.amp_level(row["strength"], row["evidence_level"], match)
        entry["recommendation"] = "consider"
    else:
        entry["recommendation"] = "avoid / expect resistance"
    return entry


def _dedupe(therapies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = set()
    out = []
    for t in therapies:
        key = (str(t["drug"]), t["response"], t["source"], t["source_id"], t["tumor_type"])
        if key not in seen:
            seen.add(key)
            out.append(t)
    rank = tiering.TIER_RANK
    out.sort(key=lambda t: (t["response"] != "sensitive", rank.get(t["tier"] or "", 9),
                            t["tumor_type_match"] == "other", str(t["drug"])))  # fmt: skip
    return out


def _match_entry(
    kb: OncologyKb,
    m: BiomarkerMatch,
    tumor_type: str | None,
    made: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The match's entry. ``made``: therapy entries already built in this report, by
    knowledge-base row (a gene-level row recurs for every variant of the gene); each match
    gets its own copy, since resolution changes the entries in place."""
    made = {} if made is None else made
    therapies = []
    for r in m.rows:
        t = made.get(id(r))
        if t is None:
            t = made[id(r)] = _therapy(kb, r, tumor_type)
        therapies.append(dict(t))
    therapies = _dedupe(therapies)
    return {
        "gene": m.gene or None,
        "alteration": m.label,
        "match_resolution": m.resolution,
        "tier": None,  # set once resistance has been resolved across the tumour
        "resistance": any(t["response"] == "resistant" and not t["flag"] for t in therapies),
        "therapies": therapies,
    }


def _alteration_id(m: BiomarkerMatch) -> str:
    """Identity of the alteration a match belongs to (its source record, or the biomarker)."""
    if m.alteration is None:
        return m.label
    return f"{m.alteration.source}|{m.alteration.label}"


def _alteration_entry(a: Alteration, best: str | None) -> dict[str, Any]:
    if best:
        evidence = f"knowledge-base biomarker (best tier {best})"
    elif a.kind == "variant" and a.consequence & LOF_TERMS:
        evidence = "loss-of-function consequence; no matched biomarker"
    else:
        evidence = "no knowledge-base evidence"
    return {
        "gene": a.gene or None,
        "alteration": a.label,
        "type": a.kind,
        "protein_change": a.protein or None,
        "hgvsc": a.hgvsc or None,
        "exon": a.exon or None,
        "consequence": a.consequence_text or None,
        "vaf": a.vaf,
        "copy_number": a.copy_number,
        "oncogenic_evidence": evidence,
        "source": a.source,
        "notes": a.notes,  # validation copies the list into the record
    }


def report_caveats(
    kb: OncologyKb, code: str | None, build: str | None, annotated: bool
) -> list[Caveat]:
    """The report's caveats about the knowledge base and the inputs, in the order shown."""
    caveats = [Caveat(code="moalmanac_research_use", kind=CaveatKind.NOTE,
                      message=MOALMANAC_NOTICE)]  # fmt: skip
    if any(r["source"].startswith("civic-2018") for r in kb.rows):
        caveats.append(Caveat(code="civic_out_of_date", message=CIVIC_STALE))
    if code is None:
        caveats.append(
            Caveat(
                code="tumour_type_not_given",
                message="no tumour type given (--tumor-type OncoTree code): only pan-cancer "
                "evidence can reach Tier I",
            )
        )
    elif not kb.known(code):
        caveats.append(
            Caveat(
                code="tumour_type_not_in_subset",
                message=f"tumour type {code!r} is not in the OncoTree subset shipped: only "
                "exact-code matches count as the same tumour type",
            )
        )
    if not annotated:
        caveats.append(
            Caveat(
                code="vcf_not_annotated",
                message="the VCF has no VEP (CSQ) or SnpEff (ANN) annotation: matched at "
                "genomic coordinates only; protein-, exon- and gene-level matching needs "
                "annotation",
            )
        )
    if not annotated and build == "GRCh38":
        failed = kb.liftover.get("variants_failed", 0)
        caveats.append(
            Caveat(
                code="grch38_converted_coordinates",
                kind=CaveatKind.NOTE,
                message="GRCh38 coordinates of knowledge-base variants were converted from "
                f"GRCh37 with Ensembl's chain file ({failed} variant(s) did not convert and are "
                "listed in kb/data/oncology/liftover_report.tsv); reference bases were not "
                "re-checked after conversion",
            )
        )
    if build is None:
        caveats.append(
            Caveat(
                code="genome_build_not_stated",
                message="genome build not stated: coordinate matches assume the biomarker's build",
            )
        )
    return caveats


def note_caveats(alterations: list[Alteration]) -> list[Caveat]:
    """The readers' notes of each alteration (fusion-caller flags, invalid genotypes)."""
    return [
        Caveat(code="alteration_note", kind=CaveatKind.NOTE, message=f"{a.label}: {note}")
        for a in alterations
        for note in a.notes
    ]


def evidence(
    kb: OncologyKb,
    alterations: list[Alteration],
    code: str | None,
    build: str | None,
    msi_high: bool,
    tmb_high: bool,
) -> tuple[list[Match], list[TherapySummaryRow], list[AlterationEntry]]:
    """Match, tier and resolve: the report's ``matches``, ``therapy_summary`` and
    ``alterations``."""
    found = match_alterations(kb, alterations, build, msi_high, tmb_high)
    made: dict[int, dict[str, Any]] = {}
    entries = [_match_entry(kb, m, code, made) for m in found]
    index = resolve(entries, [_alteration_id(m) for m in found])
    for e in entries:
        e["tier"] = tiering.best_tier([t["tier"] for t in e["therapies"] if t["tier"]])
    summary = therapy_summary(entries, index)
    best: dict[str, str] = {}
    for m, e in zip(found, entries, strict=True):
        if m.alteration is not None and e["tier"]:
            key = m.alteration.source
            best[key] = tiering.best_tier([best.get(key, ""), e["tier"]]) or e["tier"]
    return (
        _MATCHES.validate_python(entries),
        _SUMMARY.validate_python(summary),
        _ALTERATIONS.validate_python(
            [_alteration_entry(a, best.get(a.source)) for a in alterations]
        ),
    )


#: From this many alterations up a report is built with the garbage collector paused.
BULK_ALTERATIONS = 10_000


@contextmanager
def collector_paused(bulk: bool) -> Iterator[None]:
    """For a ``bulk`` report: Python's cyclic garbage collector paused while the report is
    built, then one full collection; otherwise nothing.

    A 50,000-variant tumour builds some 400,000 container objects (the therapy and row dicts,
    then the records) that form no reference cycles and live as long as the report. With the
    collector running, every pass over the oldest generation rescans the growing heap, and
    the objects built are scanned again in each generation afterwards (measured: about 1 s
    of the 6 s command). Paused, then collected once, each object is scanned once. A small
    report is built with the collector as it is: a full collection would cost more than it
    saves. The collector is left as it was found (paused by a caller: stays paused).
    """
    if not bulk or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def matched_drugs(matches: list[Match]) -> list[str]:
    """Every drug suggested (sensitivity not overridden by resistance), once, lower case."""
    out: list[str] = []
    for m in matches:
        for t in m.therapies:
            if t.response != "sensitive" or t.overridden_by or t.flag:
                continue
            names = t.drug if isinstance(t.drug, list) else [t.drug]
            out += [n.lower() for n in names if n.lower() not in out]
    return out
