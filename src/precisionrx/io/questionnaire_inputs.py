"""Completed questionnaires from a CSV file or FHIR R4 QuestionnaireResponses (docs/cli/mh.md).

:func:`read_answers` looks at the first character: ``{`` or ``[`` is FHIR JSON (a single
QuestionnaireResponse, a Bundle of them, a JSON list, or NDJSON, one resource a line), anything
else CSV. Every problem is an :class:`~precisionrx.errors.InputError` (exit 2) naming the file,
the row or resource, and the item:

- **CSV.** Header ``id, instrument, date, item_1 … item_N`` (case-insensitive, trimmed), an
  optional ``sex`` column (``female``/``male``). A blank cell is a missing item. The instrument
  is matched without case, spaces or hyphens (``phq9`` = ``PHQ-9``); ``date`` is ``YYYY-MM-DD``
  or blank. An item cell must be a whole number on the instrument's scale (``2`` or ``2.0``,
  not ``1.5``, ``-1`` or text); an ``item_N`` filled beyond the instrument's items is an error.
- **FHIR.** The instrument from ``questionnaire`` (a LOINC panel code in the URL such as
  ``44249-1``, or ``Questionnaire/<name>``), else from the items' LOINC codes (the one
  instrument holding them all; if several do, the one whose items are exactly these). Items by
  LOINC code in ``linkId`` (``/44249-1/44250-9`` too) or ``code``, or by number (``3``,
  ``item_3``); nested groups are followed. Answers ``valueInteger``, an integral
  ``valueDecimal``, or ``valueCoding`` with a LOINC answer code of the instrument's scale.
  Patient id from ``subject.reference`` (``Patient/`` stripped), date from ``authored`` (date
  part); sex from a Patient resource of the same Bundle/file (``gender``), if any. Resources of
  other types are skipped.

:func:`read_answers_or_scores` (``precisionrx mh track``) also takes the JSON ``mh score``
writes, ``{"scores": [...]}`` (``caveats`` and ``provenance`` allowed beside it), checked
strictly: each score an object with ``id`` (text or null), ``instrument`` (a known one),
``date`` (ISO ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``, or null) and ``total`` (a whole number on
the instrument's range, or null), optionally the other fields of a score; any other key or type
is an error naming the file and ``scores[i]``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

from precisionrx.errors import InputError
from precisionrx.io.textio import load_json, read_text
from precisionrx.kb.questionnaires import Instrument, Questionnaires
from precisionrx.records.evidence import Caveat
from precisionrx.records.mental_health import QuestionnaireAnswers, QuestionnaireScore, Sex

#: Largest questionnaire file read (bytes).
MAX_BYTES = 256 * 1024**2
REQUIRED = ("id", "instrument", "date")
SEXES: dict[str, Sex] = {"female": "female", "male": "male"}
_ITEM_COLUMN = re.compile(r"item_(\d+)")
_WHOLE = re.compile(r"[+-]?\d+(?:\.0*)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FHIR_DATE = re.compile(r"(\d{4}(?:-\d{2}(?:-\d{2})?)?)(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}))?")
_LOINC = re.compile(r"\b\d{3,7}-\d\b")
_NUMBERED = re.compile(r"(?:item[_-]?)?(\d+)", re.IGNORECASE)


def read_answers(path: str | Path, catalogue: Questionnaires) -> list[QuestionnaireAnswers]:
    """The questionnaires of a CSV or FHIR file, in file order."""
    p = Path(path)
    text = read_text(p, "questionnaire", InputError, max_bytes=MAX_BYTES)
    if text.lstrip()[:1] in ("{", "["):
        return read_fhir_text(text, p, catalogue)
    return read_csv_text(text, p, catalogue)


def read_answers_or_scores(
    path: str | Path, catalogue: Questionnaires
) -> tuple[list[QuestionnaireAnswers], list[QuestionnaireScore] | None]:
    """The questionnaires of a CSV or FHIR file (scores None: still to be scored), or the
    scores of the JSON ``mh score`` writes (answers empty)."""
    p = Path(path)
    text = read_text(p, "questionnaire", InputError, max_bytes=MAX_BYTES)
    if text.lstrip()[:1] not in ("{", "["):
        return read_csv_text(text, p, catalogue), None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        data = None  # NDJSON or broken JSON: the FHIR reader says which
    if isinstance(data, dict) and "resourceType" not in data:
        return [], read_score_document(data, p, catalogue)
    return read_fhir_text(text, p, catalogue), None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


#: Fields of a score in the JSON ``mh score`` writes; the first four are required.
SCORE_FIELDS = ("id", "instrument", "date", "total", "severity", "items_answered", "flags",
                "loinc", "caveats")  # fmt: skip
_DOCUMENT_KEYS = ("scores", "caveats", "provenance")
_PARTIAL_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")


def read_score_document(
    data: dict[str, Any], path: Path, catalogue: Questionnaires
) -> list[QuestionnaireScore]:
    """The scores of a parsed ``mh score`` JSON document, checked strictly."""
    unknown = sorted(k for k in data if k not in _DOCUMENT_KEYS)
    scores = data.get("scores")
    if unknown or not isinstance(scores, list):
        found = ", ".join(repr(k) for k in unknown) or "no 'scores' list"
        raise InputError(
            f"not the JSON 'mh score' writes nor FHIR ({found})",
            path=path,
            hint='give {"scores": [...]} as written by precisionrx mh score, a CSV, or FHIR',
        )
    return [_score(s, catalogue, path, f"scores[{i}]") for i, s in enumerate(scores)]


def _score(raw: Any, catalogue: Questionnaires, path: Path, where: str) -> QuestionnaireScore:
    if not isinstance(raw, dict):
        raise InputError(f"a score must be a JSON object, not {type(raw).__name__}",
                         path=path, record=where)  # fmt: skip
    unknown = sorted(k for k in raw if k not in SCORE_FIELDS)
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(map(repr, unknown))}", path=path,
                         record=where, hint="fields: " + ", ".join(SCORE_FIELDS))  # fmt: skip
    lacking = [k for k in SCORE_FIELDS[:4] if k not in raw]
    if lacking:
        raise InputError(f"missing field(s) {', '.join(lacking)}", path=path, record=where)

    def typed(key: str, kinds: tuple[type, ...], what: str) -> Any:
        value = raw.get(key)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise InputError(f"{key} must be {what} or null, not {value!r}", path=path,
                             record=where)  # fmt: skip
        return value

    ident = typed("id", (str,), "text")
    name = raw["instrument"]
    if not isinstance(name, str):
        raise InputError(f"instrument must be text, not {name!r}", path=path, record=where)
    inst = _instrument(name, catalogue, path, where)
    day = typed("date", (str,), "an ISO date")
    if day is not None and not (_PARTIAL_DATE.fullmatch(day) and _valid_partial(day)):
        raise InputError(f"date {day!r} is not an ISO date (YYYY-MM-DD)", path=path, record=where)
    total = typed("total", (int,), "a whole number")
    if total is not None and not (
        inst.score_min is not None
        and inst.score_max is not None
        and inst.score_min <= total <= inst.score_max
    ):
        span = f"{inst.score_min}..{inst.score_max}" if inst.score_max is not None else "none"
        raise InputError(f"total {total} is outside the {inst.id} range ({span})", path=path,
                         record=where)  # fmt: skip
    answered = typed("items_answered", (int,), "a whole number")
    if answered is not None and answered < 0:
        raise InputError(f"items_answered {answered} is negative", path=path, record=where)
    flags = raw.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise InputError("flags must be a list of strings", path=path, record=where)
    caveats = raw.get("caveats") or []
    try:
        if not isinstance(caveats, list):
            raise ValueError("not a list")
        parsed = [Caveat.model_validate(c) for c in caveats]
    except ValueError as exc:
        raise InputError(f"caveats are not a list of caveats ({exc})".splitlines()[0],
                         path=path, record=where) from None  # fmt: skip
    return QuestionnaireScore(
        id=ident,
        instrument=inst.id,
        date=day,
        total=total,
        severity=typed("severity", (str,), "text"),
        items_answered=answered if answered is not None else 0,
        flags=flags,
        loinc=typed("loinc", (str,), "text"),
        caveats=parsed,
    )


def _instrument(name: str, catalogue: Questionnaires, path: Path, where: str) -> Instrument:
    try:
        return catalogue.find(name)
    except KeyError:
        raise InputError(
            f"unknown instrument {name!r}",
            path=path,
            record=where,
            hint="known: " + ", ".join(catalogue.known()),
        ) from None


def _item_value(text: str, inst: Instrument, n: int, path: Path, where: str) -> int:
    if not _WHOLE.fullmatch(text):
        raise InputError(
            f"item_{n} = {text!r} is not a whole number on the {inst.id} scale",
            path=path,
            record=where,
        )
    return _checked(int(float(text)), inst, n, path, where)


def _checked(value: int, inst: Instrument, n: int, path: Path, where: str) -> int:
    problem = inst.value_problem(value)
    if problem:
        raise InputError(f"item_{n}: {problem} of {inst.id}", path=path, record=where)
    return value


def _csv_date(text: str, path: Path, where: str) -> str | None:
    if not text:
        return None
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"date {text!r} is not a valid date in the form YYYY-MM-DD", path=path, record=where
        ) from None
    return text


def read_csv_text(text: str, path: Path, catalogue: Questionnaires) -> list[QuestionnaireAnswers]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise InputError("empty file: no CSV header", path=path, record="line 1")
    names = [h.strip().lower() for h in header]
    columns: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in columns:
            raise InputError(f"column {name!r} appears twice", path=path, record="header")
        if name not in (*REQUIRED, "sex") and not _ITEM_COLUMN.fullmatch(name):
            raise InputError(
                f"unknown column {header[i].strip()!r}",
                path=path,
                record="header",
                hint="columns: id, instrument, date, item_1 … item_N, optional sex",
            )
        columns[name] = i
    lacking = [c for c in REQUIRED if c not in columns]
    if lacking:
        raise InputError(f"missing column(s) {', '.join(lacking)}", path=path, record="header")
    items = {
        int(m.group(1)): i for name, i in columns.items() if (m := _ITEM_COLUMN.fullmatch(name))
    }
    out = []
    for row in reader:
        where = f"row {reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(
                f"{len(row)} fields, the header has {len(header)}", path=path, record=where
            )
        cells = [c.strip() for c in row]
        out.append(_csv_row(cells, columns, items, catalogue, path, where))
    return out


def _csv_row(
    cells: list[str],
    columns: dict[str, int],
    items: dict[int, int],
    catalogue: Questionnaires,
    path: Path,
    where: str,
) -> QuestionnaireAnswers:
    ident = cells[columns["id"]]
    if not ident:
        raise InputError("id is blank", path=path, record=where)
    inst = _instrument(cells[columns["instrument"]], catalogue, path, where)
    sex_text = cells[columns["sex"]].lower() if "sex" in columns else ""
    if sex_text and sex_text not in SEXES:
        raise InputError(f"sex {sex_text!r} is not female or male", path=path, record=where)
    n_items = inst.n_items or 0
    values: dict[int, int | None] = dict.fromkeys(range(1, n_items + 1))
    for n, col in sorted(items.items()):
        cell = cells[col]
        if not cell:
            continue
        if n > n_items or n < 1:
            raise InputError(
                f"item_{n} is filled but {inst.id} has {n_items} items", path=path, record=where
            )
        values[n] = _item_value(cell, inst, n, path, where)
    return QuestionnaireAnswers(
        id=ident,
        instrument=inst.id,
        date=_csv_date(cells[columns["date"]], path, where),
        sex=SEXES.get(sex_text),
        items=values,
        source=f"{path}: {where}",
    )


# --- FHIR -------------------------------------------------------------------------------------


def _resources(text: str, path: Path) -> list[tuple[str, Any]]:
    """(location, resource) of every resource of the file, in file order."""
    try:
        data = load_json(text, path, InputError)
    except InputError:
        # NDJSON: one resource a line (the first line must parse on its own).
        lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
        if len(lines) < 2 or not _parses(lines[0][1]):
            raise
        out = []
        for n, ln in lines:
            try:
                out.append((f"line {n}", load_json(ln, path, InputError)))
            except InputError as exc:
                raise InputError(exc.message, path=path, record=f"line {n}") from None
        return out
    if isinstance(data, list):
        return [(f"item {i}", r) for i, r in enumerate(data)]
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        entries = data.get("entry") or []
        if not isinstance(entries, list):
            raise InputError("Bundle.entry must be a list", path=path, record="entry")
        return [
            (f"entry[{i}]", e.get("resource") if isinstance(e, dict) else e)
            for i, e in enumerate(entries)
        ]
    return [("resource", data)]


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def read_fhir_text(text: str, path: Path, catalogue: Questionnaires) -> list[QuestionnaireAnswers]:
    resources = _resources(text, path)
    sexes: dict[str, Sex] = {}
    for _, res in resources:
        if isinstance(res, dict) and res.get("resourceType") == "Patient":
            gender = res.get("gender")
            if isinstance(res.get("id"), str) and gender in SEXES:
                sexes[res["id"]] = SEXES[gender]
    out = []
    for where, res in resources:
        if not isinstance(res, dict):
            raise InputError(
                f"not a FHIR resource (a JSON {type(res).__name__})", path=path, record=where
            )
        rtype = res.get("resourceType")
        if rtype == "QuestionnaireResponse":
            label = f"{where} QuestionnaireResponse/{res.get('id', '?')}"
            out.append(_response(res, catalogue, sexes, path, label))
        elif not isinstance(rtype, str):
            raise InputError("a JSON object without resourceType", path=path, record=where)
    if not out:
        raise InputError(
            "no QuestionnaireResponse found",
            path=path,
            hint="give a QuestionnaireResponse, a Bundle of them, or NDJSON (one per line)",
        )
    return out


def _field(res: dict[str, Any], key: str, kind: type, path: Path, where: str) -> Any:
    value = res.get(key)
    if value is not None and not isinstance(value, kind):
        raise InputError(f"{key} must be a JSON {kind.__name__}", path=path, record=where)
    return value


def _response(
    res: dict[str, Any],
    catalogue: Questionnaires,
    sexes: dict[str, Sex],
    path: Path,
    where: str,
) -> QuestionnaireAnswers:
    subject = _field(res, "subject", dict, path, where) or {}
    ref = subject.get("reference")
    ident = ref.removeprefix("Patient/") if isinstance(ref, str) and ref else None
    authored = _field(res, "authored", str, path, where)
    day = None
    if authored is not None:
        m = _FHIR_DATE.fullmatch(authored.strip())
        if m is None or not _valid_partial(m.group(1)):
            raise InputError(
                f"authored {authored!r} is not a FHIR dateTime", path=path, record=where
            )
        day = m.group(1)
    raw = _flatten(_field(res, "item", list, path, where) or [], path, where)
    inst = _which(res, raw, catalogue, path, where)
    values: dict[int, int | None] = dict.fromkeys(range(1, (inst.n_items or 0) + 1))
    for key, answer in raw:
        n = _item_number(key, inst)
        if n is None:
            if answer is None or (key is not None and key in inst.ignored_codes):
                continue
            raise InputError(f"item {key!r} is not an item of {inst.id}", path=path, record=where)
        if answer is None:
            continue
        if values.get(n) is not None:
            raise InputError(f"item_{n} ({key}) is answered twice", path=path, record=where)
        values[n] = _answer_value(answer, inst, n, path, f"{where} item {key}")
    return QuestionnaireAnswers(
        id=ident,
        instrument=inst.id,
        date=day,
        sex=sexes.get(ident) if ident else None,
        items=values,
        source=f"{path}: {where}",
    )


def _valid_partial(text: str) -> bool:
    parts = [int(p) for p in text.split("-")]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return False
    return True


def _flatten(items: list[Any], path: Path, where: str) -> list[tuple[str | None, Any]]:
    """(item key, its one answer or None) of every item, nested groups followed."""
    out: list[tuple[str | None, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            raise InputError("item must be a list of JSON objects", path=path, record=where)
        key = _key(item)
        answers = item.get("answer") or []
        if not isinstance(answers, list):
            raise InputError(f"item {key!r}: answer must be a list", path=path, record=where)
        if len(answers) > 1:
            raise InputError(f"item {key!r} has {len(answers)} answers", path=path, record=where)
        if not isinstance(item.get("item") or [], list):
            raise InputError(f"item {key!r}: item must be a list", path=path, record=where)
        children = list(item.get("item") or [])
        if answers:
            if not isinstance(answers[0], dict):
                raise InputError(f"item {key!r}: answer is not an object", path=path, record=where)
            children += list(answers[0].get("item") or [])
        out.append((key, answers[0] if answers else None))
        out += _flatten(children, path, where)
    return out


def _key(item: dict[str, Any]) -> str | None:
    """The item's LOINC code (from ``code`` or the last code in ``linkId``), else its linkId."""
    for coding in item.get("code") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    link = item.get("linkId")
    if not isinstance(link, str):
        return None
    codes = _LOINC.findall(link)
    return codes[-1] if codes else link.strip()


def _item_number(key: str | None, inst: Instrument) -> int | None:
    if key is None:
        return None
    if key in inst.item_codes:
        return inst.item_codes[key]
    m = _NUMBERED.fullmatch(key)
    if m and 1 <= int(m.group(1)) <= (inst.n_items or 0):
        return int(m.group(1))
    return None


def _which(
    res: dict[str, Any],
    raw: list[tuple[str | None, Any]],
    catalogue: Questionnaires,
    path: Path,
    where: str,
) -> Instrument:
    canonical = _field(res, "questionnaire", str, path, where)
    if canonical:
        for code in _LOINC.findall(canonical):
            found = catalogue.by_panel(code)
            if found is not None:
                return found
        name = canonical.split("|")[0].rstrip("/").rsplit("/", 1)[-1]
        try:
            return catalogue.find(name)
        except KeyError:
            pass
    codes = {k for k, a in raw if k is not None and _LOINC.fullmatch(k)}
    fits = [
        i
        for i in catalogue.instruments
        if codes & set(i.item_codes) and codes <= set(i.item_codes) | i.ignored_codes
    ]
    exact = [i for i in fits if codes - i.ignored_codes == set(i.item_codes)]
    if len(fits) == 1 or len(exact) == 1:
        return fits[0] if len(fits) == 1 else exact[0]
    said = f"questionnaire {canonical!r} names no known instrument and " if canonical else ""
    raise InputError(
        f"{said}the item codes do not identify one instrument"
        + (f" (could be {', '.join(i.id for i in fits)})" if fits else ""),
        path=path,
        record=where,
        hint="set questionnaire to a LOINC panel URL or Questionnaire/<name>; known: "
        + ", ".join(catalogue.known()),
    )


def _answer_value(answer: dict[str, Any], inst: Instrument, n: int, path: Path, where: str) -> int:
    if "valueInteger" in answer:
        value = answer["valueInteger"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"valueInteger {value!r} is not an integer", path=path, record=where)
        return _checked(value, inst, n, path, where)
    if "valueDecimal" in answer:
        value = answer["valueDecimal"]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or float(value) != int(value):
            raise InputError(
                f"valueDecimal {value!r} is not a whole number on the {inst.id} scale",
                path=path,
                record=where,
            )
        return _checked(int(value), inst, n, path, where)
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        code = coding.get("code")
        if isinstance(code, str) and code in inst.answer_codes:
            return inst.answer_codes[code]
        raise InputError(
            f"valueCoding {code!r} is not a LOINC answer code of {inst.id}"
            + (f" ({', '.join(inst.answer_codes)})" if inst.answer_codes else ""),
            path=path,
            record=where,
        )
    kinds = ", ".join(k for k in answer if k.startswith("value")) or "no value"
    raise InputError(
        f"answer has {kinds}: expected valueInteger, valueDecimal or valueCoding",
        path=path,
        record=where,
    )
