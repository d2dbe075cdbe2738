"""The grouped view of a tumour report: one row per alteration and drug (or regimen).

The report's ``matches`` keep every evidence item (a BRAF V600E melanoma has vemurafenib
evidence at protein, codon and gene level from two sources); a clinician reads one line per
alteration and therapy, with the best evidence, how many items support and contradict it, and
the items themselves behind a fold (OncoKB and PCGR report one line per alteration and drug
in the same way). Nothing is dropped: every row lists references to its items
(``{"match", "therapy"}`` indexes into ``matches``). The rows are built as dicts over the
report's therapy dicts and validated into :class:`TherapySummaryRow` by the caller.

Row status:
- ``sensitive``: at least one sensitivity item for this alteration and therapy survives the
  resistance check (engines/oncology/resolution.py);
- ``expected resistance``: resistance evidence for this alteration and therapy, or every
  sensitivity item was overridden by resistance evidence in this tumour;
- ``disputed``: the only items are ones the curated flags (kb/data/oncology/
  evidence_flags.tsv) mark as probable coding errors; neither an option nor resistance.
"""

from __future__ import annotations

from typing import Any

from precisionrx.engines.oncology import tiering
from precisionrx.engines.oncology.resolution import LEVEL_RANK, Index, Item, applies
from precisionrx.records.oncology import TherapySummaryRow

SENSITIVE = "sensitive"
RESISTANT = "expected resistance"
DISPUTED = "disputed"
RECOMMENDATION = {
    SENSITIVE: "consider",
    RESISTANT: "avoid / expect resistance",
    DISPUTED: "review: only flagged knowledge-base evidence",
}


def _brief(m: dict[str, Any], t: dict[str, Any], i: int, j: int) -> dict[str, Any]:
    return {
        "match": i,
        "therapy": j,
        "alteration": m["alteration"],
        "match_resolution": m["match_resolution"],
        "response": t["response"],
        "overridden": t.get("overridden_by") is not None,
        "flag": t.get("flag"),
        "evidence_level": t["evidence_level"],
        "tier": t["tier"],
        "tumor_type": t["tumor_type"],
        "tumor_type_match": t["tumor_type_match"],
        "source": t["source"],
        "source_id": t["source_id"],
        "url": t["url"],
    }


def _sensitive_rank(tier: str | None, it: Item) -> tuple[int, int, int, int]:
    return (-tiering.TIER_RANK.get(tier or "", 9), it.relevance, it.specificity, it.level)


def therapy_summary(matches: list[dict[str, Any]], index: Index) -> list[dict[str, Any]]:
    """One row per (alteration, therapy) with status, best evidence and item references."""
    therapies: list[list[dict[str, Any]]] = [m["therapies"] for m in matches]

    def entry(it: Item) -> dict[str, Any]:
        return therapies[it.match_index][it.therapy_index]

    def ref(it: Item) -> dict[str, int]:
        return {"match": it.match_index, "therapy": it.therapy_index}

    # Resistance items that concern a drug set, from any alteration (per drug set, not row).
    applying: dict[frozenset[str], list[Item]] = {}

    groups: dict[tuple[str, frozenset[str]], list[Item]] = {}
    for it in index.items:
        groups.setdefault((it.alteration, it.drugs), []).append(it)
    rows = []
    for (alteration, drugs), members in groups.items():
        surviving: list[Item] = []
        overridden: list[Item] = []
        against: list[Item] = []
        disputed: list[Item] = []
        for it in members:
            if it.response == "disputed":
                disputed.append(it)
            elif it.response == "resistant":
                against.append(it)
            elif entry(it)["overridden_by"] is None:
                surviving.append(it)
            else:
                overridden.append(it)
        overriding: list[dict[str, Any]] = []
        if surviving:
            status = SENSITIVE
            best = max(surviving, key=lambda it: _sensitive_rank(entry(it)["tier"], it))
            best_b = _brief(
                matches[best.match_index], entry(best), best.match_index, best.therapy_index
            )
            supporting = surviving
            # Resistance from other alterations that concerns the therapy but did not override.
            if drugs not in applying:
                s = surviving[0]  # its drugs are the group's
                applying[drugs] = [r for r in index.resistant_for(drugs) if applies(r, s)]
            elsewhere = [r for r in applying[drugs] if r.alteration != alteration]
            conflicting = against + overridden + elsewhere + disputed
        elif not (against or overridden):
            status = DISPUTED
            supporting, conflicting = disputed, []
            best = max(disputed, key=Item.key)
            best_b = _brief(
                matches[best.match_index], entry(best), best.match_index, best.therapy_index
            )
        else:
            status = RESISTANT
            supporting = against + overridden
            conflicting = disputed
            overriding = _unique(entry(it)["overridden_by"] for it in overridden)
            if against:
                best = max(against, key=Item.key)
                best_b = _brief(
                    matches[best.match_index], entry(best), best.match_index, best.therapy_index
                )
            else:  # resistance from another alteration overrode every sensitivity item
                o = overriding[0]
                best_b = _brief(
                    matches[o["match"]],
                    matches[o["match"]]["therapies"][o["therapy"]],
                    o["match"],
                    o["therapy"],
                )
        first = members[0]
        rows.append(
            {
                "gene": matches[first.match_index]["gene"],
                "alteration": matches[first.match_index]["alteration"],
                "drug": entry(first)["drug"],
                "status": status,
                "recommendation": RECOMMENDATION[status],
                "tier": best_b["tier"] if status == SENSITIVE else None,
                "best_evidence": best_b,
                "supporting": len(supporting),
                "conflicting": len(conflicting),
                "overridden": len(overridden),
                "overridden_by": overriding,
                "supporting_items": [ref(it) for it in supporting],
                "conflicting_items": [ref(it) for it in conflicting],
                "links": sorted(
                    {
                        u
                        for it in supporting + conflicting
                        if (u := therapies[it.match_index][it.therapy_index]["url"])
                    }
                ),
            }
        )
    rank = tiering.TIER_RANK
    rows.sort(
        key=lambda r: (
            {SENSITIVE: 0, RESISTANT: 1}.get(r["status"], 2),
            rank.get(r["tier"] or "", 9),
            r["best_evidence"]["tumor_type_match"] == "other",
            -LEVEL_RANK.get(r["best_evidence"]["evidence_level"], 0),
            r["alteration"],
            str(r["drug"]),
        )
    )
    return rows


def _unique(entries: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in entries:
        if e is not None and e not in out:
            out.append(e)
    return out


def therapy_options(rows: list[TherapySummaryRow]) -> list[TherapySummaryRow]:
    """Rows a plan may headline as therapy options: sensitive, Tier I or II."""
    return [r for r in rows if r.status == SENSITIVE and r.tier in ("I", "II")]


def expected_resistance(rows: list[TherapySummaryRow]) -> list[TherapySummaryRow]:
    """Resistance rows a plan headlines: sensitivity that this tumour's resistance evidence
    overrode, or resistance evidence for this tumour type (or pan-cancer) at clinical-trial
    level or above (MOAlmanac score >= 3, CIViC A/B)."""
    return [
        r
        for r in rows
        if r.status == RESISTANT
        and (
            r.overridden
            or (
                r.best_evidence.tumor_type_match != "other"
                and LEVEL_RANK.get(r.best_evidence.evidence_level, 0) >= 3
            )
        )
    ]
