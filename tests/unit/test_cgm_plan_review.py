"""The plan's CGM review (issue 14, item 6): nocturnal hypoglycaemia counted as consensus
episodes (not readings), and older adults assessed against the older/high-risk targets."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from precisionrx.engines.monitoring.api import review_patient_cgm
from precisionrx.io.cgm import read_cgm
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.monitoring import MonitoringReview

START = datetime(2024, 6, 1)


def series(tmp_path: Path, dips: list[tuple[int, int, int, int]]) -> Path:
    """28 days of 5-minute readings at 120 mg/dL, with ``dips`` (day, hour, minutes, mg/dL)."""
    values = [120] * (28 * 288)
    for day, hour, minutes, low in dips:
        first = day * 288 + hour * 12
        for i in range(first, first + minutes // 5):
            values[i] = low
    rows = [f"{START + timedelta(minutes=5 * i):%Y-%m-%d %H:%M:%S},{v}"
            for i, v in enumerate(values)]  # fmt: skip
    path = tmp_path / "cgm.csv"
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    return path


def review(path: Path, age: float | None = None) -> MonitoringReview:
    return review_patient_cgm(read_cgm(path, "UTC"), KnowledgeBase(), subject="p",
                              source="cgm.csv", age_years=age)  # fmt: skip


def test_nocturnal_hypoglycaemia_is_counted_in_episodes(tmp_path: Path) -> None:
    # last 14 days: three nights with 30 min at 60 mg/dL from 02:00 (three episodes), one 10-min
    # dip at 03:00 (readings, not an episode) and one 30-min dip at 14:00 (not at night)
    dips = [(16, 2, 30, 60), (18, 2, 30, 60), (20, 2, 30, 60), (22, 3, 10, 60),
            (24, 14, 30, 60)]  # fmt: skip
    r = review(series(tmp_path, dips))
    current = r.section.current
    assert current.nocturnal_hypo_episodes == 3
    assert current.nocturnal_lows == 3 * 6 + 2  # readings < 70 between 00:00 and 06:00
    assert r.section.previous is not None and r.section.previous.nocturnal_hypo_episodes == 0
    (finding,) = [f for f in r.findings if f.title == "Nocturnal hypoglycaemia appeared"]
    assert finding.detail.startswith("3 episodes of >= 15 min < 70 mg/dL")


def test_short_dips_alone_are_not_a_finding(tmp_path: Path) -> None:
    r = review(series(tmp_path, [(16, 2, 10, 60), (20, 4, 10, 65)]))
    assert r.section.current.nocturnal_lows == 4
    assert r.section.current.nocturnal_hypo_episodes == 0
    assert not any("Nocturnal" in f.title for f in r.findings)


def test_older_adults_are_held_to_the_older_high_risk_targets(tmp_path: Path) -> None:
    # about 2 % of readings below 70: within the adult target (< 4 %), not the older one (< 1 %)
    dips = [(d, 13, 30, 65) for d in range(14, 28)]
    path = series(tmp_path, dips)
    adult, older = review(path, 50), review(path, 72)
    assert adult.section.provenance is not None and older.section.provenance is not None
    assert adult.section.provenance.parameters["population"] == "adult"
    assert older.section.provenance.parameters["population"] == "older_high_risk"

    def below_70(r: MonitoringReview) -> bool | None:
        return next(c.met for c in r.section.consensus.checks if c.metric == "below_70")

    assert below_70(adult) is True and below_70(older) is False


def test_units_follow_the_patients_country(tmp_path: Path) -> None:
    path = series(tmp_path, [(16, 2, 30, 60)])

    def detail(country: str | None) -> str:
        r = review_patient_cgm(read_cgm(path, "UTC"), KnowledgeBase(), subject="p",
                               source="cgm.csv", country=country)  # fmt: skip
        (f,) = [f for f in r.findings if f.title.startswith("Nocturnal")]
        return f.detail

    assert "< 3.9 mmol/L (< 70 mg/dL)" in detail("GB")
    assert "< 70 mg/dL (< 3.9 mmol/L)" in detail("US")
    assert "< 70 mg/dL (< 3.9 mmol/L)" in detail(None)
