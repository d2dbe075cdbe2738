"""International Consensus on Time in Range targets (Battelino 2019) with pass/fail per subject.

Targets per population from kb/data/monitoring/cgm_consensus_targets.csv:
- ``adult`` (T1D/T2D): in_range_70_180 > 70, below_70 < 4, below_54 < 1, above_180 < 25,
  above_250 < 5;
- ``older_high_risk``: in_range_70_180 > 50, below_70 < 1, above_250 < 10;
- ``pregnancy`` (T1D): in_range_63_140 > 70, below_63 < 4, below_54 < 1, above_140 < 25;
and for everyone CV <= 36 (stable glycaemia). Data sufficiency: >= 14 days of wear and >= 70 %
active; the wear period is first to last reading plus one reading interval (dt0), since each
reading stands for dt0 minutes: 14 whole days of 5-minute readings span 14 days - 5 minutes.
With less data the targets are still evaluated but flagged ``sufficient_data: false``, and
every check carries a ``caveat`` (code ``insufficient_data``) saying so on that metric.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from precisionrx.errors import InputError
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.evidence import Caveat, CaveatKind
from precisionrx.records.monitoring import ConsensusAssessment, ConsensusCheck

POPULATIONS = {"adult": "T1D_T2D_adult", "older_high_risk": "older_or_high_risk",
               "pregnancy": "pregnancy_T1D"}  # fmt: skip
#: consensus-table metric -> our metric column
METRIC_NAMES = {
    "TIR_70_180": "in_range_70_180", "TIR_63_140": "in_range_63_140", "TBR_below_70": "below_70",
    "TBR_below_54": "below_54", "TBR_below_63": "below_63", "TAR_above_180": "above_180",
    "TAR_above_250": "above_250", "TAR_above_140": "above_140", "CV": "cv",
}  # fmt: skip


SOURCE = "Battelino et al. Diabetes Care 2019;42:1593"


def check_population(population: str) -> str:
    """``population`` if it is one of :data:`POPULATIONS`, else an InputError."""
    if population not in POPULATIONS:
        raise InputError(f"--population must be one of {', '.join(POPULATIONS)}")
    return population


def consensus_targets(kb: KnowledgeBase, population: str) -> list[tuple[str, str, float]]:
    """(metric column, operator, threshold) of a population's targets and everyone's, from the
    knowledge base's ``monitoring/cgm_consensus_targets.csv`` (derived once per KB object)."""
    check_population(population)
    return kb.memo(
        ("monitoring", "consensus_targets", population),
        lambda: _targets_for(
            kb.rows("monitoring", "cgm_consensus_targets.csv", delimiter=","), population
        ),
    )


def _targets_for(rows: list[dict[str, str]], population: str) -> list[tuple[str, str, float]]:
    wanted = {POPULATIONS[population], "all"}
    out = []
    for r in rows:
        metric = r["metric"].split(" ")[0]
        if r["population"] not in wanted or metric not in METRIC_NAMES:
            continue
        if not re.fullmatch(r"[0-9.]+", r["threshold"] or ""):
            continue
        out.append((METRIC_NAMES[metric], r["operator"], float(r["threshold"])))
    return out


def alert_thresholds(kb: KnowledgeBase, population: str) -> tuple[float, float]:
    """Low and high alert thresholds from a population's consensus targets: the highest
    time-below-range level (adult 70, pregnancy 63 mg/dL) and the highest time-above-range
    level (adult and older / high-risk 250, pregnancy 140 mg/dL)."""
    levels: dict[str, list[float]] = {"below": [], "above": []}
    for metric, _, _ in consensus_targets(kb, population):
        side, _, level = metric.partition("_")
        if side in levels:
            levels[side].append(float(level))
    return max(levels["below"]), max(levels["above"])


#: Consensus data sufficiency (Battelino 2019): days of wear and % of possible readings.
MIN_DAYS, MIN_ACTIVE = 14.0, 70.0


def sufficiency(row: Mapping[str, Any]) -> tuple[bool, Caveat]:
    """Whether a subject's metrics meet the consensus wear threshold, and the caveat
    (``insufficient_data``) to attach to each metric when they do not."""
    days, active = row.get("days"), row.get("active_percent")
    worn = None if days is None else days + float(row.get("dt0") or 0.0) / 1440.0
    sufficient = bool(
        worn is not None and worn >= MIN_DAYS - 1e-9 and active is not None and active >= MIN_ACTIVE
    )
    shown_days = "unknown" if worn is None else f"{worn:.1f}"
    shown_active = "unknown" if active is None else f"{active:.0f} %"
    why = Caveat(
        code="insufficient_data",
        message=f"{shown_days} days at {shown_active} of possible readings, below the consensus "
        f"{MIN_DAYS:g} days and {MIN_ACTIVE:g} % (Battelino 2019); this value may not "
        "represent the usual glucose pattern",
        kind=CaveatKind.WARNING,
    )
    return sufficient, why


def assess(row: Mapping[str, Any], kb: KnowledgeBase, population: str) -> ConsensusAssessment:
    """The population's consensus targets checked against one subject's metrics (``row``:
    metric column -> value; ``days``, ``active_percent`` and ``dt0`` for the sufficiency)."""
    sufficient, why = sufficiency(row)
    checks = []
    for metric, op, threshold in consensus_targets(kb, population):
        value = row.get(metric)
        ok = None
        if value is not None:
            ok = {"<": value < threshold, ">": value > threshold, "<=": value <= threshold,
                  ">=": value >= threshold}[op]  # fmt: skip
        checks.append(ConsensusCheck(metric=metric, target=f"{op} {threshold:g}", value=value,
                                     met=ok, caveat=None if sufficient else why))  # fmt: skip
    return ConsensusAssessment(
        population=population,
        sufficient_data=sufficient,
        all_met=all(c.met for c in checks),
        checks=checks,
        source=SOURCE,
    )
