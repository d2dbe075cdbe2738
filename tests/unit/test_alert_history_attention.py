"""The plan's CGM alert history (counts per period, newest alerts first, capped) and what in a
plan needs attention (critical findings, new ones against the previous plan, safety flags)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from precisionrx.engines.monitoring.alert_history import alert_history
from precisionrx.engines.monitoring.alerts import AlertConfig
from precisionrx.plan.attention import Attention, AttentionItem, with_new
from precisionrx.records.monitoring import ALERTS_SHOWN

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _frame(values: list[float], start: datetime = T0) -> pl.DataFrame:
    times = [start + timedelta(minutes=5 * i) for i in range(len(values))]
    return pl.DataFrame({"id": ["p"] * len(values), "time_utc": times, "gl": values})


def test_counts_per_period_and_the_thresholds_used() -> None:
    config = AlertConfig(low=70.0, high=250.0)
    recent = _frame([100, 100, 50, 100, 100], T0 + timedelta(days=14))
    before = _frame([100, 300, 100])
    h = alert_history(recent, before, config)
    assert h.current["urgent_low"] == 1 and h.current["high"] == 0
    assert h.previous is not None and h.previous["high"] == 1 and h.previous["urgent_low"] == 0
    assert set(h.current) == set(h.previous) >= {"urgent_low", "low", "high", "predicted_low"}
    assert h.thresholds == {"urgent_low": 55.0, "low": 70.0, "high": 250.0, "rate": 3.0}
    assert [a.type.value for a in h.recent if a.type.value == "urgent_low"] == ["urgent_low"]
    assert all(a.time >= T0 + timedelta(days=14) for a in h.recent)
    assert "not sent" in h.note


def test_newest_first_and_capped() -> None:
    # an urgent low is never snoozed: one alert per reading
    values = [50.0] * (ALERTS_SHOWN + 10)
    h = alert_history(_frame(values), _frame([]), AlertConfig())
    assert h.previous is None
    assert h.current["urgent_low"] == ALERTS_SHOWN + 10
    assert len(h.recent) == ALERTS_SHOWN
    times = [a.time for a in h.recent]
    assert times == sorted(times, reverse=True) and times[0] == T0 + timedelta(
        minutes=5 * (len(values) - 1)
    )


def test_new_critical_findings_against_the_previous_plan() -> None:
    a, b = (
        AttentionItem(key="act:x:change drug", text="x"),
        AttentionItem(key="finding:y", text="y"),
    )
    first = with_new(Attention(critical=[a, b]), None)
    assert first.new_critical == [a.key, b.key]
    again = with_new(Attention(critical=[a, b]), first)
    assert again.new_critical == []
    c = AttentionItem(key="onc:z:germline", text="z", labels=("GDIS",))
    later = with_new(Attention(critical=[a, c]), again)
    assert later.new_critical == [c.key]


def test_items_naming_a_psychiatric_drug_are_labelled_psy() -> None:
    from precisionrx.plan.attention import plan_attention
    from precisionrx.plan.model import PatientSummary, TreatmentPlan
    from precisionrx.records.evidence import Finding
    from precisionrx.records.medicines import MedicineAction

    plan = TreatmentPlan(
        precisionrx_version="t", generated="t", notice="n", patient=PatientSummary(id="p"),
        knowledge_bases=[],
        act_now=[MedicineAction(medication="Sertraline 50 mg", drug="sertraline", dose=None,
                                action="change dose"),
                 MedicineAction(medication="simvastatin", drug="simvastatin", dose=None,
                                action="change drug")],
        findings=[Finding(domain="interactions", title="sertraline + tramadol: major interaction",
                          detail="d", severity="high")],
    )  # fmt: skip
    got = {i.text: i.labels for i in plan_attention(plan, frozenset({"sertraline"})).critical}
    assert "PSY" in got["Sertraline 50 mg: change dose"]
    assert "PSY" in got["sertraline + tramadol: major interaction"]
    assert "PSY" not in got["simvastatin: change drug"]
