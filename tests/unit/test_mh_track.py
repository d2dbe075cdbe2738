"""Score trajectories (``precisionrx mh track``): golden cases, properties, inputs, the CLI.

Expected values: response = a fall of at least 50 % from baseline (STAR*D, Trivedi 2006;
GUIDED, Greden 2019); PHQ-9 remission = total < 5 (the knowledge base's rule, marked unverified);
next steps from NICE NG222 (review at 4 weeks without response: optimise dose, switch, augment;
first review within 2 weeks), CANMAT 2023 (adjunct over serial switch) and the continuation row
(at least 6 months after remission, unverified in the data).
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.mental_health import track
from precisionrx.errors import KbIntegrityError
from precisionrx.kb.mbc import load_mbc
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.mental_health import QuestionnaireScore, Trajectory
from testkit.cli import run

KB = KnowledgeBase()
ROOT = Path(__file__).resolve().parents[2]
START = date(2026, 1, 5)
HEADER = "id,instrument,date," + ",".join(f"item_{n}" for n in range(1, 10)) + "\n"


def day(weeks: float) -> str:
    return (START + timedelta(days=round(weeks * 7))).isoformat()


def sc(total: int | None, weeks: float | None = 0, *, instrument: str = "PHQ-9",
       flags: list[str] | None = None, ident: str = "p1") -> QuestionnaireScore:  # fmt: skip
    return QuestionnaireScore(
        id=ident,
        instrument=instrument,
        date=None if weeks is None else day(weeks),
        total=total,
        severity=None,
        items_answered=9,
        flags=flags or [],
    )


def one(*scores: QuestionnaireScore) -> Trajectory:
    (t,) = track(list(scores), KB).trajectories
    return t


def codes(t: Trajectory) -> list[str]:
    return [c.code for c in t.caveats]


# --- golden cases ------------------------------------------------------------------------------


def test_response_without_remission_continue_and_reassess() -> None:
    t = one(sc(20, 0), sc(9, 6))
    assert (t.baseline, t.latest, t.weeks, t.change_percent) == (20, 9, 6.0, 55.0)
    assert (t.response, t.remission, t.flags) == (True, False, [])
    assert t.next_step is not None
    options = " ".join(t.next_step.options)
    assert "continu" in options and "reassess" in options
    assert "STAR*D" in t.next_step.source and t.next_step.verified
    assert list(t.model_dump()) == ["id", "instrument", "baseline", "latest", "weeks",
                                    "change_percent", "response", "remission", "next_step",
                                    "flags", "caveats"]  # fmt: skip


def test_remission_continuation_step_stays_unverified() -> None:
    t = one(sc(20, 0), sc(4, 8))
    assert (t.change_percent, t.response, t.remission) == (80.0, True, True)
    assert t.next_step is not None and not t.next_step.verified
    assert "continuation" in t.next_step.source and "6 months" in t.next_step.text
    assert any("at least 6 months after remission" in o for o in t.next_step.options)
    assert {"guideline_step_unverified", "remission_rule_unverified"} <= set(codes(t))
    assert one(sc(20, 0), sc(5, 8)).remission is False  # total < 5: 5 is not remission


def test_no_response_at_six_weeks_gives_the_nice_options() -> None:
    t = one(sc(18, 0), sc(15, 6))
    assert t.response is False and t.remission is False
    assert t.change_percent == pytest.approx(100 * 3 / 18)
    assert t.next_step is not None and t.next_step.verified
    options = " ".join(t.next_step.options).lower()
    for word in ("optimis", "switch", "augment", "adjunct"):
        assert word in options, word
    assert all(o.startswith("consider") for o in t.next_step.options)  # options, not orders
    assert "NICE NG222" in t.next_step.source and "CANMAT 2023" in t.next_step.source


def test_two_weeks_is_too_early() -> None:
    t = one(sc(18, 0), sc(16, 2))
    assert (t.weeks, t.response) == (2.0, False)
    assert t.next_step is not None
    assert t.next_step.text.startswith("too early to judge")
    assert "within 4 weeks" in t.next_step.text and "within 2 weeks" in t.next_step.text
    assert "first_review" in t.next_step.source


def test_baseline_zero_has_no_change() -> None:
    t = one(sc(0, 0), sc(8, 6))
    assert (t.change_percent, t.response, t.remission, t.next_step) == (None, None, False, None)
    assert "baseline_zero" in codes(t)


def test_one_score_is_no_trajectory() -> None:
    t = one(sc(12, 0))
    assert (t.baseline, t.latest, t.weeks, t.response, t.next_step) == (12, 12, 0.0, None, None)
    assert "one_score" in codes(t)
    assert one(sc(12, None)).weeks is None


def test_earlier_flag_is_carried_and_listed_first() -> None:
    t = one(sc(20, 0, flags=["other_flag", "suicidal_ideation"]), sc(None, 2), sc(4, 8))
    assert t.flags == ["suicidal_ideation", "other_flag"]
    assert "totals_skipped" in codes(t)
    untotalled = one(sc(10, 0), sc(None, 4, flags=["suicidal_ideation"]), sc(8, 6))
    assert untotalled.flags == ["suicidal_ideation"] and untotalled.latest == 8
    only = one(sc(None, 0, flags=["suicidal_ideation"]))
    assert (only.baseline, only.flags) == (None, ["suicidal_ideation"])
    assert "no_scored_total" in codes(only)


def test_gad7_has_no_remission_and_no_steps() -> None:
    t = one(sc(18, 0, instrument="GAD-7"), sc(4, 8, instrument="GAD-7"))
    assert (t.response, t.remission, t.next_step) == (True, None, None)
    assert {"no_remission_rule", "no_guideline_steps"} <= set(codes(t))


def test_sorted_by_date_grouped_in_order_of_first_appearance() -> None:
    scores = [sc(9, 6), sc(5, 0, ident="p2", instrument="GAD-7"), sc(20, 0), sc(12, 3)]
    result = track(scores, KB)
    assert [(t.id, t.instrument) for t in result.trajectories] == [("p1", "PHQ-9"),
                                                                   ("p2", "GAD-7")]  # fmt: skip
    assert (result.trajectories[0].baseline, result.trajectories[0].latest) == (20, 9)
    undated = one(sc(20, None), sc(9, 6))
    assert (undated.weeks, undated.baseline) == (None, 20) and "date_missing" in codes(undated)


def test_rules_come_from_the_knowledge_base() -> None:
    mbc = load_mbc(KB)
    assert mbc.response.fraction == Fraction(1, 2)
    phq9 = mbc.remission["PHQ-9"]
    assert (phq9.threshold, phq9.inclusive, phq9.verified) == (5, False, False)
    assert "GAD-7" not in mbc.remission and mbc.remission["QIDS-SR16"].inclusive
    assert mbc.step("no_response_review").weeks == 4 and mbc.step("first_review").weeks == 2
    assert mbc.step("continuation").verified is False
    with pytest.raises(KbIntegrityError):
        mbc.step("no_such_step")


def test_a_remission_rule_that_does_not_parse_is_refused() -> None:
    from precisionrx.kb import mbc

    with pytest.raises(KbIntegrityError, match="is not 'total < K'"):
        mbc._remission({"instrument": "X", "rule": "total below 5"})


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 27), st.integers(0, 27), st.integers(0, 30), st.booleans())
def test_response_iff_change_at_least_half(
    baseline: int, latest: int, weeks: int, dated: bool
) -> None:
    t = one(sc(baseline, 0 if dated else None), sc(latest, weeks if dated else None))
    if t.change_percent is not None:
        assert math.isfinite(t.change_percent)
    if t.response is not None and t.change_percent is not None:
        assert t.response is (t.change_percent >= 50)
    assert (t.change_percent is None) is (baseline == 0)
    assert t.remission is (latest < 5)
    json.loads(t.model_dump_json())  # strict JSON


# --- inputs and the command line ---------------------------------------------------------------


def row(ident: str, weeks: float, items: list[int]) -> str:
    return f"{ident},PHQ-9,{day(weeks)}," + ",".join(map(str, items)) + "\n"


CSV = (HEADER + row("p1", 0, [3, 3, 3, 3, 2, 2, 2, 1, 1]) + row("p1", 6, [1] * 8 + [0])
       + row("p2", 0, [2] * 9).replace("2\n", "0\n") + row("p2", 6, [2, 2, 2, 2, 2, 2, 2, 1, 0]))  # fmt: skip


def test_cli_score_then_track_is_track_of_the_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    code, direct, err = run(["mh", "track", str(src)], capsys)
    assert code == 0 and err.startswith("FLAG suicidal_ideation: p1 PHQ-9")
    scores = tmp_path / "scores.json"
    assert run(["mh", "score", str(src), "-o", str(scores)], capsys)[0] == 0
    out_file = tmp_path / "track.json"
    code, out, err = run(["mh", "track", str(scores), "-o", str(out_file)], capsys)
    assert code == 0 and out == "" and "FLAG suicidal_ideation: p1 PHQ-9" in err
    assert json.loads(out_file.read_text()) == json.loads(direct)
    doc = json.loads(direct)
    assert list(doc) == ["trajectories", "caveats", "provenance"]
    p1, p2 = doc["trajectories"]
    assert (p1["baseline"], p1["latest"], p1["response"], p1["flags"]) == (
        20, 8, True, ["suicidal_ideation"])  # fmt: skip
    assert (p2["baseline"], p2["latest"], p2["response"], p2["flags"]) == (16, 15, False, [])


def test_cli_csv_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    out_file = tmp_path / "t.csv"
    code, _, _ = run(["mh", "track", str(src), "--format", "csv", "-o", str(out_file)], capsys)
    assert code == 0
    lines = out_file.read_text().splitlines()
    assert lines[0] == ("id,instrument,baseline,latest,weeks,change_percent,response,remission,"
                        "next_step,flags")  # fmt: skip
    assert lines[1].startswith('p1,PHQ-9,20,8,6.0,60.0,true,false,"response')
    assert lines[1].endswith(",suicidal_ideation")
    assert lines[2].startswith('p2,PHQ-9,16,15,6.0,6.25,false,false,"no response')


SCORE = {"id": "p1", "instrument": "PHQ-9", "date": "2026-01-05", "total": 9}
BAD_DOCUMENTS: list[tuple[Any, str]] = [
    ({"trajectories": []}, "not the JSON 'mh score' writes nor FHIR ('trajectories')"),
    ({"scores": {"p1": 9}}, "no 'scores' list"),
    ({"scores": [[1, 2]]}, "scores[0]: a score must be a JSON object"),
    ({"scores": [{**SCORE, "total": 9.5}]}, "total must be a whole number or null"),
    ({"scores": [{**SCORE, "total": "9"}]}, "total must be a whole number or null"),
    ({"scores": [{**SCORE, "total": True}]}, "total must be a whole number or null"),
    ({"scores": [{**SCORE, "total": 28}]}, "total 28 is outside the PHQ-9 range (0..27)"),
    ({"scores": [{**SCORE, "date": "05/01/2026"}]}, "date '05/01/2026' is not an ISO date"),
    ({"scores": [{**SCORE, "date": "2026-02-30"}]}, "date '2026-02-30' is not an ISO date"),
    ({"scores": [{**SCORE, "score": 3}]}, "unknown field(s) 'score'"),
    ({"scores": [{"id": "p1", "instrument": "PHQ-9", "total": 9}]}, "missing field(s) date"),
    ({"scores": [{**SCORE, "instrument": "BDI-II"}]}, "unknown instrument 'BDI-II'"),
    ({"scores": [{**SCORE, "flags": "suicidal_ideation"}]}, "flags must be a list of strings"),
]


@pytest.mark.parametrize(("document", "message"), BAD_DOCUMENTS)
def test_cli_malformed_score_json(
    document: Any, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "scores.json"
    src.write_text(json.dumps(document))
    out_file = tmp_path / "out.json"
    code, out, err = run(["mh", "track", str(src), "-o", str(out_file)], capsys)
    assert code == 2
    assert f"error [PRX-IN-000]: {src}:" in err and message in err, err
    assert "Traceback" not in err and out == "" and not out_file.exists()


def test_result_conforms_like_every_engine() -> None:
    import jsonschema

    from precisionrx.api.schemas import PUBLIC_RESULTS
    from precisionrx.records.mental_health import TrackResult

    scores = [sc(20, 0, flags=["suicidal_ideation"]), sc(9, 6), sc(7, 0, instrument="GAD-7")]
    result = track(scores, KB)
    assert PUBLIC_RESULTS["mh_track_result"] is TrackResult
    schema = json.loads((ROOT / "docs" / "schema" / "mh_track_result.json").read_text())
    jsonschema.validate(json.loads(result.model_dump_json()), schema)
    assert TrackResult.model_validate_json(result.model_dump_json()) == result
    assert result.provenance is not None and result.provenance.input_sha256
    (source,) = result.provenance.knowledge_bases
    assert (source.name, source.sha256) == ("mental_health", KB.info("mental_health").sha256)
    assert track(scores, KB).model_dump_json() == result.model_dump_json()
    assert [c.code for c in result.caveats] == ["options_not_orders"]


def test_every_mental_health_caveat_code_is_documented() -> None:
    text = (ROOT / "docs" / "cli" / "mh.md").read_text()
    found = set()
    for path in (ROOT / "src" / "precisionrx" / "engines" / "mental_health").glob("*.py"):
        found |= set(re.findall(r'code="([a-z0-9_]+)"', path.read_text()))
    assert {"one_score", "baseline_zero", "no_guideline_steps"} <= found
    assert sorted(c for c in found if f"`{c}`" not in text) == []


def test_guideline_steps_are_shipped_unchanged() -> None:
    shipped = ROOT / "src" / "precisionrx" / "kb" / "data" / "mental_health" / "guideline_steps.csv"
    shared = ROOT.parent / "shared" / "data" / "mental_health" / "guideline_steps.csv"
    if shared.is_file():
        assert shipped.read_bytes() == shared.read_bytes()
    from precisionrx.kb.registry import verify_kbs

    assert [p for p in verify_kbs() if p.kb == "mental_health"] == []


@pytest.mark.parametrize(
    "name", ["precisionrx.kb.mbc", "precisionrx.engines.mental_health.trajectories"]
)
def test_docstring_examples_run(name: str) -> None:
    import doctest
    import importlib

    failures, attempted = doctest.testmod(importlib.import_module(name), report=True)
    assert attempted and failures == 0
