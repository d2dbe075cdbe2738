"""Questionnaire scoring (``precisionrx mh score``): golden cases, properties, inputs, the CLI.

Expected bands are the instruments' published ones (the knowledge base must agree with them):
PHQ-9 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe (Kroenke K,
Spitzer RL, Williams JBW. J Gen Intern Med 2001;16:606-613); GAD-7 0-4 minimal, 5-9 mild,
10-14 moderate, 15-21 severe (Spitzer RL et al. Arch Intern Med 2006;166:1092-7; Kroenke K et
al. Ann Intern Med 2007;146:317-25); PHQ-2 and GAD-2 positive at >= 3 (Kroenke 2003 Med Care
41:1284; Kroenke 2007); AUDIT-C positive at >= 4 for men, >= 3 for women (Bradley 2003; Addict
Sci Clin Pract 2014;9:2); EPDS 10-12 possible, >= 13 likely depression (Cox 1987).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.mental_health import score_responses
from precisionrx.io.questionnaire_inputs import read_answers
from precisionrx.kb.questionnaires import load_questionnaires
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.mental_health import QuestionnaireAnswers, QuestionnaireScore, Sex
from testkit.cli import run

KB = KnowledgeBase()
CORE = {"PHQ-9": 9, "PHQ-2": 2, "GAD-7": 7, "GAD-2": 2}
PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
              "44253-3", "44260-8"]  # fmt: skip
LA = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


def score(instrument: str, values: list[int | None], sex: Sex | None = None) -> QuestionnaireScore:
    items = dict(enumerate(values, start=1))
    a = QuestionnaireAnswers(id="p", instrument=instrument, sex=sex, items=items)
    (s,) = score_responses([a], KB).scores
    return s


def spread(total: int, n: int, top: int) -> list[int | None]:
    """Items 0..top summing to ``total``."""
    out: list[int | None] = []
    for _ in range(n):
        v = min(top, total)
        out.append(v)
        total -= v
    assert total == 0
    return out


# --- golden cases ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
     (14, "moderate"), (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"),
     (27, "severe")],
)  # fmt: skip
def test_phq9_bands(total: int, band: str) -> None:
    s = score("PHQ-9", spread(total, 9, 3))
    assert (s.total, s.severity, s.items_answered) == (total, band, 9)
    assert s.loinc == "44261-6"


def test_phq9_all_ones_is_mild_and_flagged() -> None:
    s = score("PHQ-9", [1] * 9)
    assert (s.total, s.severity, s.flags) == (9, "mild", ["suicidal_ideation"])


def test_phq9_item9_with_minimal_total() -> None:
    s = score("PHQ-9", [1, 1, 0, 0, 0, 0, 0, 0, 1])
    assert (s.total, s.severity, s.flags) == (3, "minimal", ["suicidal_ideation"])


def test_phq9_item9_flag_survives_a_missing_item() -> None:
    s = score("PHQ-9", [0, 0, None, 0, 0, 0, 0, 0, 2])
    assert (s.total, s.severity, s.items_answered) == (None, None, 8)
    assert s.flags == ["suicidal_ideation"]
    assert [c.code for c in s.caveats] == ["items_missing"]


@pytest.mark.parametrize(
    ("total", "band"),
    [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "severe"), (21, "severe")],
)  # fmt: skip
def test_gad7_boundaries(total: int, band: str) -> None:
    s = score("GAD-7", spread(total, 7, 3))
    assert (s.total, s.severity, s.flags, s.loinc) == (total, band, [], "70274-6")


@pytest.mark.parametrize("instrument", ["PHQ-2", "GAD-2"])
def test_two_item_screens(instrument: str) -> None:
    assert score(instrument, [1, 1]).severity == "negative_screen"
    assert score(instrument, [2, 0]).severity == "negative_screen"
    assert score(instrument, [2, 1]).severity == "positive_screen"
    assert score(instrument, [3, 3]).total == 6
    assert score("PHQ-2", [1, 1]).loinc == "55758-7"
    assert score("GAD-2", [1, 1]).loinc is None


def test_phq15_sex_rules() -> None:
    ones = [1] * 15
    no_item4: list[int | None] = [*ones[:3], None, *ones[4:]]
    assert (score("PHQ-15", ones, "female").total, score("PHQ-15", ones).total) == (15, 15)
    male = score("PHQ-15", no_item4, "male")
    assert (male.total, male.severity, male.items_answered) == (14, "moderate", 14)
    female = score("PHQ-15", no_item4, "female")
    assert female.total is None and [c.code for c in female.caveats] == ["items_missing"]
    unknown = score("PHQ-15", no_item4)
    assert unknown.total is None and [c.code for c in unknown.caveats] == ["sex_unknown"]


def test_audit_c_cutoffs_by_sex() -> None:
    assert score("AUDIT-C", [1, 1, 1], "female").severity == "positive_screen"
    assert score("AUDIT-C", [1, 1, 1], "male").severity == "negative_screen"
    assert score("AUDIT-C", [2, 1, 1], "male").severity == "positive_screen"
    none = score("AUDIT-C", [1, 1, 1])
    assert (none.total, none.severity) == (3, None)
    assert [c.code for c in none.caveats] == ["sex_unknown"]


def test_epds_item10_flag_is_marked_unverified() -> None:
    s = score("EPDS", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    assert (s.total, s.severity, s.flags) == (10, "possible_depression", ["suicidal_ideation"])
    assert {c.code for c in s.caveats} == {"safety_rule_unverified", "keyed_item_scores"}
    assert score("EPDS", [3, 3, 3, 3, 1, 0, 0, 0, 0, 0]).severity == "likely_depression"


def test_asrs_is_not_scored() -> None:
    s = score("ASRS-v1.1-A", [4, 4, 4, 4, 4, 4])
    assert (s.total, s.severity, s.items_answered) == (None, None, 6)
    assert [c.code for c in s.caveats] == ["not_scorable"]


def test_bands_come_from_the_knowledge_base() -> None:
    phq9 = load_questionnaires(KB).find("phq9")
    assert [(b.low, b.high) for b in phq9.bands] == [(0, 4), (5, 9), (10, 14), (15, 19), (20, 27)]


# --- properties --------------------------------------------------------------------------------

_item = st.integers(0, 3)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(CORE)), st.data())
def test_severity_is_monotone_in_the_total(instrument: str, data: st.DataObject) -> None:
    n = CORE[instrument]
    a = score(instrument, data.draw(st.lists(_item, min_size=n, max_size=n)))
    b = score(instrument, data.draw(st.lists(_item, min_size=n, max_size=n)))
    labels = [x.label for x in load_questionnaires(KB).find(instrument).bands]
    assert a.total is not None and b.total is not None and a.severity and b.severity
    if a.total <= b.total:
        assert labels.index(a.severity) <= labels.index(b.severity)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | _item, min_size=8, max_size=8), st.integers(1, 3))
def test_item9_flag_is_never_lost(first: list[int | None], item9: int) -> None:
    assert "suicidal_ideation" in score("PHQ-9", [*first, item9]).flags


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(CORE)), st.data())
def test_a_missing_item_means_no_total(instrument: str, data: st.DataObject) -> None:
    n = CORE[instrument]
    values: list[int | None] = list(data.draw(st.lists(_item, min_size=n, max_size=n)))
    values[data.draw(st.integers(0, n - 1))] = None
    s = score(instrument, values)
    assert (s.total, s.severity, s.items_answered) == (None, None, n - 1)


# --- inputs and the command line ---------------------------------------------------------------

HEADER = "id,instrument,date," + ",".join(f"item_{n}" for n in range(1, 10)) + ",sex\n"


def _qr(values: list[int], ident: str = "qr1", *, by_coding: bool = True) -> dict[str, Any]:
    def answer(v: int) -> dict[str, Any]:
        if by_coding:
            return {"valueCoding": {"system": "http://loinc.org", "code": LA[v]}}
        return {"valueInteger": v}

    items = [
        {"linkId": f"/44249-1/{code}", "answer": [answer(v)]}
        for code, v in zip(PHQ9_ITEMS, values, strict=True)
    ]
    return {
        "resourceType": "QuestionnaireResponse",
        "id": ident,
        "questionnaire": "http://loinc.org/q/44249-1",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "authored": "2026-01-05T10:30:00Z",
        "item": [{"linkId": "/44249-1", "item": items}],
    }


def _public(path: Path) -> list[dict[str, Any]]:
    return [
        s.model_dump(mode="json")
        for s in score_responses(read_answers(path, load_questionnaires(KB)), KB).scores
    ]


def test_fhir_scores_like_the_csv_row(tmp_path: Path) -> None:
    values = [2, 1, 0, 3, 1, 0, 0, 1, 1]
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(HEADER + "p1,PHQ-9,2026-01-05," + ",".join(map(str, values)) + ",\n")
    fhir_file = tmp_path / "a.json"
    fhir_file.write_text(json.dumps(_qr(values)))
    (from_csv,) = _public(csv_file)
    assert _public(fhir_file) == [from_csv]
    assert from_csv["total"] == 9 and from_csv["flags"] == ["suicidal_ideation"]


def test_bundle_ndjson_and_item_codes_agree(tmp_path: Path) -> None:
    a, b = _qr([0] * 9, "a"), _qr([3] * 9, "b", by_coding=False)
    del b["questionnaire"]  # identified from its item codes
    bundle = tmp_path / "b.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": a}, {"resource": b}]}))  # fmt: skip
    ndjson = tmp_path / "b.ndjson"
    ndjson.write_text(json.dumps(a) + "\n" + json.dumps(b) + "\n")
    scores = _public(bundle)
    assert scores == _public(ndjson)
    assert [(s["total"], s["severity"], s["date"]) for s in scores] == [
        (0, "minimal", "2026-01-05"),
        (27, "severe", "2026-01-05"),
    ]


def test_fhir_two_items_only_is_phq2(tmp_path: Path) -> None:
    qr = _qr([2] * 9)
    del qr["questionnaire"]
    qr["item"][0]["item"] = qr["item"][0]["item"][:2]
    del qr["item"][0]["linkId"]
    path = tmp_path / "q.json"
    path.write_text(json.dumps(qr))
    (s,) = _public(path)
    assert (s["instrument"], s["total"], s["severity"]) == ("PHQ-2", 4, "positive_screen")


def test_cli_json_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        HEADER + "p1,PHQ9,2026-01-05,1,1,1,1,1,1,1,1,1,\np2,gad-2,2026-01-06,2,1,,,,,,,,\n"
    )
    code, out, err = run(["mh", "score", str(src)], capsys)
    assert code == 0
    doc = json.loads(out)
    first = doc["scores"][0]
    assert list(first)[:8] == ["id", "instrument", "date", "total", "severity",
                               "items_answered", "flags", "loinc"]  # fmt: skip
    assert [s["instrument"] for s in doc["scores"]] == ["PHQ-9", "GAD-2"]
    assert doc["provenance"]["knowledge_bases"][0]["name"] == "mental_health"
    assert err.startswith("FLAG suicidal_ideation: p1 PHQ-9")
    out_file = tmp_path / "out.csv"
    code, _, _ = run(["mh", "score", str(src), "--format", "csv", "-o", str(out_file)], capsys)
    assert code == 0
    assert out_file.read_text().splitlines() == [
        "id,instrument,date,total,severity,items_answered,flags,loinc",
        "p1,PHQ-9,2026-01-05,9,mild,9,suicidal_ideation,44261-6",
        "p2,GAD-2,2026-01-06,3,positive_screen,2,,",
    ]


BAD_ROWS = [
    ("p1,PHQ-9,2026-01-05,0,0,0,0,0,0,0,0,4,", "item_9: 4 is outside the response scale 0..3"),
    ("p1,PHQ-9,2026-01-05,-1,0,0,0,0,0,0,0,0,", "item_1: -1 is outside"),
    ("p1,PHQ-9,2026-01-05,0,1.5,0,0,0,0,0,0,0,", "item_2 = '1.5' is not a whole number"),
    ("p1,PHQ-9,2026-01-05,0,0,often,0,0,0,0,0,0,", "item_3 = 'often'"),
    ("p1,BDI-II,2026-01-05,0,0,0,0,0,0,0,0,0,", "unknown instrument 'BDI-II' (known: PHQ-9"),
    ("p1,PHQ-9,2026-02-30,0,0,0,0,0,0,0,0,0,", "date '2026-02-30' is not a valid date"),
    ("p1,GAD-2,2026-01-05,0,0,1,,,,,,,", "item_3 is filled but GAD-2 has 2 items"),
    ("p1,PHQ-9,2026-01-05,0,0,0,0,0,0,0,0,0,other", "sex 'other' is not female or male"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_cli_input_errors(
    row: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "p0,PHQ-2,2026-01-05,0,0,,,,,,,,\n" + row + "\n")
    out_file = tmp_path / "out.json"
    code, out, err = run(["mh", "score", str(src), "-o", str(out_file)], capsys)
    assert code == 2
    assert f"error [PRX-IN-000]: {src}: row 3:" in err and message in err, err
    assert "Traceback" not in err and out == ""
    assert not out_file.exists()


BAD_FHIR = [
    ('{"resourceType": "QuestionnaireResponse", "item": [', "not valid JSON"),
    (json.dumps({"resourceType": "Patient", "id": "p1"}), "no QuestionnaireResponse found"),
    (
        json.dumps({**_qr([0] * 9), "authored": "2026-13-01"}),
        "resource QuestionnaireResponse/qr1: authored '2026-13-01' is not a FHIR dateTime",
    ),
    (
        json.dumps(_qr([0] * 9)).replace("LA6568-5", "LA9999-9", 1),
        "valueCoding 'LA9999-9' is not a LOINC answer code of PHQ-9",
    ),
    (
        json.dumps(
            {
                **_qr([0] * 9),
                "questionnaire": None,
                "item": [{"linkId": "x1", "answer": [{"valueInteger": 1}]}],
            }
        ),
        "the item codes do not identify one instrument",
    ),
    (json.dumps({**_qr([0] * 9), "item": {"linkId": "1"}}), "item must be a JSON list"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FHIR)
def test_cli_broken_fhir(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.json"
    src.write_text(text)
    out_file = tmp_path / "out.json"
    code, _out, err = run(["mh", "score", str(src), "-o", str(out_file)], capsys)
    assert code == 2
    assert f"error [PRX-IN-000]: {src}:" in err and message in err, err
    assert "Traceback" not in err and not out_file.exists()


def test_fhir_item_value_off_scale_names_the_item(tmp_path: Path) -> None:
    qr = _qr([0] * 9, by_coding=False)
    qr["item"][0]["item"][8]["answer"] = [{"valueDecimal": 2.5}]
    src = tmp_path / "in.json"
    src.write_text(json.dumps(qr))
    with pytest.raises(Exception, match=r"QuestionnaireResponse/qr1 item 44260-8: valueDecimal"):
        read_answers(src, load_questionnaires(KB))


def test_result_conforms_like_every_engine(tmp_path: Path) -> None:
    """The engine-conformance checks: public model valid against its committed schema, JSON
    round trip, provenance with the source's sha256 and the input fingerprint, determinism."""
    import jsonschema

    from precisionrx.api.schemas import PUBLIC_RESULTS
    from precisionrx.records.mental_health import ScoreResult

    answers = [
        QuestionnaireAnswers(id="p", instrument="PHQ-9", items=dict(enumerate([1] * 9, 1))),
        QuestionnaireAnswers(id="q", instrument="EPDS", items=dict(enumerate([0] * 10, 1))),
    ]
    result = score_responses(answers, KB)
    assert PUBLIC_RESULTS["mh_score_result"] is ScoreResult
    schema_file = Path(__file__).resolve().parents[2] / "docs" / "schema" / "mh_score_result.json"
    jsonschema.validate(json.loads(result.model_dump_json()), json.loads(schema_file.read_text()))
    assert ScoreResult.model_validate_json(result.model_dump_json()) == result
    assert result.provenance is not None and result.provenance.input_sha256
    (source,) = result.provenance.knowledge_bases
    assert (source.name, source.sha256) == ("mental_health", KB.info("mental_health").sha256)
    assert score_responses(answers, KB).model_dump_json() == result.model_dump_json()


def test_packaged_source_verifies() -> None:
    from precisionrx.kb.registry import verify_kbs

    assert [p for p in verify_kbs() if p.kb == "mental_health"] == []
    assert KB.info("mental_health").version == "2026-12-03"


def test_fhir_numbered_items_named_questionnaire_and_patient_sex(tmp_path: Path) -> None:
    items = [{"linkId": str(n), "answer": [{"valueCoding": {"code": "LA18335-2"}}]}
             for n in range(1, 16) if n != 4]  # fmt: skip
    qr = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "Questionnaire/phq15|1.0",
        "subject": {"reference": "Patient/m1"},
        "authored": "2026-03",
        "item": items,
    }
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Patient", "id": "m1", "gender": "male"}},
        {"resource": qr}]}  # fmt: skip
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    (s,) = _public(path)
    assert (s["id"], s["instrument"], s["date"], s["total"], s["severity"]) == (
        "m1", "PHQ-15", "2026-03", 14, "moderate")  # fmt: skip


@pytest.mark.parametrize(
    "name",
    ["precisionrx.kb.questionnaires", "precisionrx.engines.mental_health.scoring",
     "precisionrx.records.mental_health"],
)  # fmt: skip
def test_docstring_examples_run(name: str) -> None:
    import doctest
    import importlib

    failures, attempted = doctest.testmod(importlib.import_module(name), report=True)
    assert attempted and failures == 0
