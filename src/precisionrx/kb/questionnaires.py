"""Mental-health questionnaires (``kb/data/mental_health/questionnaires.json``), typed.

Built by ``tools/build_kb.py --only mental_health`` (the file is copied unchanged; sources and
licences in its ``about.json`` and per instrument inside the file). Every number the scoring
uses is read here, never written in code:

- **Item range.** Items score 0..k with k = ``scoring.max / n_items`` (the sum-scored
  instruments); a ``response_scale`` list (PHQ-9) or text (``"0-3: ..."``, ``"each item 0-4"``,
  ``"same as PHQ-9"``) must agree with it, or the file is refused. LOINC answer codes
  (``LA6568-5`` ...) come from the list, from the text in order, or from the instrument whose
  items hold this one's (GAD-2 from GAD-7).
- **Bands.** ``severity_bands`` are closed integer ranges; they must tile ``[min, max]``.
- **Safety rules.** ``"item 9 >= 1"`` conditions, with their ``verified`` flag.
- **Sex.** PHQ-15's ``"item 4 only for women; male maximum 28"``; AUDIT-C's ``cutoffs`` per
  population (``men``/``women``, ``"total >= 4"``).
- **Not scorable.** An instrument without ``n_items`` and a numeric scale, or with
  ``per_item_shading`` null (ASRS v1.1 Part A), is listed with the reason.

>>> from precisionrx.kb.registry import KnowledgeBase
>>> q = load_questionnaires(KnowledgeBase())
>>> phq9 = q.find("phq9")
>>> phq9.id, phq9.item_max, phq9.total_loinc, phq9.band(10)
('PHQ-9', 3, '44261-6', 'moderate')
>>> q.find("GAD-2").answer_codes["LA6571-9"]
3
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from precisionrx.errors import KbIntegrityError

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

SOURCE = "mental_health"
FILE = "questionnaires.json"

_ITEM_RULE = re.compile(r"\bitem (\d+)\b[^>]*>=\s*(\d+)")
_RANGE = re.compile(r"\b(\d+)\s*-\s*(\d+)\b")
_LA = re.compile(r"\bLA\d+-\d\b")
_SAME_AS = re.compile(r"^same as ([A-Za-z0-9.-]+)")
_TOTAL_AT_LEAST = re.compile(r"^total\s*>=\s*(\d+)$")
_WOMEN_ONLY = re.compile(r"item (\d+) only for women; male maximum (\d+)")
_SEX_OF = {"men": "male", "women": "female"}


def alias(name: str) -> str:
    """Instrument names compared without case, spaces, hyphens, dots or underscores."""
    return re.sub(r"[\s._-]", "", name).casefold()


@dataclass(frozen=True, slots=True)
class Band:
    label: str
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class SafetyRule:
    flag: str
    item: int
    threshold: int
    verified: bool
    condition: str


@dataclass(frozen=True, slots=True)
class Instrument:
    """One instrument of the file, as the scoring needs it."""

    id: str
    name: str
    n_items: int | None
    #: Items score ``0..item_max``; None when the file gives no numeric scale.
    item_max: int | None
    score_min: int | None = None
    score_max: int | None = None
    bands: tuple[Band, ...] = ()
    safety_rules: tuple[SafetyRule, ...] = ()
    #: Item LOINC code -> item number.
    item_codes: dict[str, int] = field(default_factory=dict)
    #: LOINC answer code -> item score.
    answer_codes: dict[str, int] = field(default_factory=dict)
    panel_loinc: str | None = None
    total_loinc: str | None = None
    #: LOINC codes of the file that are not scored items (PHQ-9 item 10, the total).
    ignored_codes: frozenset[str] = frozenset()
    #: Whether the file records the instrument's own missing-item rule (none does: no total).
    missing_rule: str | None = None
    #: PHQ-15: the item answered by women only, and the men's maximum.
    women_only_item: int | None = None
    male_max: int | None = None
    #: AUDIT-C: positive screen threshold per sex (``female``/``male``).
    cutoffs: dict[str, int] = field(default_factory=dict)
    #: Why the instrument cannot be scored (None when it can).
    not_scorable: str | None = None
    #: The scale text when it says item scores are keyed on the form (EPDS): input is keyed.
    keyed_note: str | None = None
    #: Labels of the answer options when the file has no numeric scale (ASRS): coded 0..n-1.
    option_labels: tuple[str, ...] = ()

    def value_problem(self, value: int) -> str | None:
        """Why ``value`` is not a valid item score of this instrument (None if it is)."""
        top = self.item_max if self.item_max is not None else len(self.option_labels) - 1
        if top < 0:
            return "the knowledge base gives no response scale for this instrument"
        if not 0 <= value <= top:
            return f"{value} is outside the response scale 0..{top}"
        return None

    def band(self, total: int) -> str | None:
        """The severity band containing ``total`` (None outside every band)."""
        return next((b.label for b in self.bands if b.low <= total <= b.high), None)


@dataclass(frozen=True, slots=True)
class Questionnaires:
    instruments: tuple[Instrument, ...]

    def find(self, name: str) -> Instrument:
        """The instrument called ``name`` (case, hyphens and spaces ignored); KeyError if none."""
        key = alias(name)
        for inst in self.instruments:
            if alias(inst.id) == key:
                return inst
        raise KeyError(name)

    def known(self) -> list[str]:
        return [i.id for i in self.instruments]

    def by_panel(self, code: str) -> Instrument | None:
        return next((i for i in self.instruments if i.panel_loinc == code), None)


def load_questionnaires(kb: KnowledgeBase) -> Questionnaires:
    """The instruments, parsed and checked once per knowledge-base object."""
    return kb.memo((SOURCE, "instruments"), lambda: _build(kb.json(SOURCE, FILE)))


def _fail(inst: str, problem: str) -> KbIntegrityError:
    return KbIntegrityError(
        f"{SOURCE}/{FILE}: {inst}: {problem}",
        hint="rebuild: tools/build_kb.py --only mental_health",
    )


def _build(data: Any) -> Questionnaires:
    try:
        raw = list(data["instruments"])
        by_id = {str(r["id"]): r for r in raw}
        return Questionnaires(tuple(_instrument(r, by_id) for r in raw))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise KbIntegrityError(
            f"{SOURCE}/{FILE}: malformed instrument entry ({exc!r})",
            hint="rebuild: tools/build_kb.py --only mental_health",
        ) from exc


def _code(block: Any, key: str) -> str | None:
    if not isinstance(block, dict) or not isinstance(block.get(key), dict):
        return None
    code = block[key].get("code")
    return str(code) if code else None


def _instrument(r: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> Instrument:
    iid = str(r["id"])
    n_items = int(r["n_items"]) if r.get("n_items") is not None else None
    scoring = r.get("scoring") or {}
    loinc = r.get("loinc") or {}
    items = _item_codes(r)
    ignored = {c for c in (_code(loinc, "total"), _code(loinc, "panel")) if c}
    extra = r.get("extra_unscored_item")
    if isinstance(extra, dict) and extra.get("loinc"):
        ignored.add(str(extra["loinc"]))
    common: dict[str, Any] = {
        "id": iid, "name": str(r.get("name", iid)), "n_items": n_items, "item_codes": items,
        "panel_loinc": _code(loinc, "panel"), "total_loinc": _code(loinc, "total"),
        "ignored_codes": frozenset(ignored),
    }  # fmt: skip
    shading = r.get("per_item_shading")
    if isinstance(shading, dict) and shading.get("value") is None:
        labels = str(r.get("response_scale", ""))
        return Instrument(
            **common,
            item_max=None,
            not_scorable="the file does not say which answers count (per_item_shading is null: "
            + str(shading.get("note", "not confirmed from a source"))
            + ")",
            option_labels=tuple(x.strip() for x in labels.split("/") if x.strip()),
        )
    if n_items is None or "max" not in scoring or "min" not in scoring:
        return Instrument(**common, item_max=None, not_scorable="no item count or score range")
    low, high = int(scoring["min"]), int(scoring["max"])
    if low != 0 or high % n_items:
        raise _fail(iid, f"score range {low}..{high} is not n_items x a 0..k item scale")
    item_max = high // n_items
    answers = _answers(iid, r, by_id, item_max, items)
    bands = tuple(
        Band(str(b["label"]), int(b["min"]), int(b["max"])) for b in r.get("severity_bands", [])
    )
    if bands:
        edges = [bands[0].low] + [b.high + 1 for b in bands]
        starts = [b.low for b in bands] + [high + 1]
        if edges != starts or bands[0].low != low:
            raise _fail(iid, f"severity bands do not tile {low}..{high}")
    rules = tuple(_safety(iid, s) for s in r.get("safety_rules", []))
    women = _WOMEN_ONLY.search(str(scoring.get("rule", "")))
    women_item = male_max = None
    if women:
        women_item, male_max = int(women.group(1)), int(women.group(2))
        if male_max != high - item_max:
            raise _fail(iid, f"male maximum {male_max} != {high} - {item_max}")
    scale = r.get("response_scale")
    missing = r.get("missing_items")
    rule = missing.get("rule_defined_by_instrument") if isinstance(missing, dict) else None
    return Instrument(
        **common,
        item_max=item_max,
        score_min=low,
        score_max=high,
        bands=bands,
        safety_rules=rules,
        answer_codes=answers,
        missing_rule=str(rule) if rule else None,
        women_only_item=women_item,
        male_max=male_max,
        cutoffs=_cutoffs(iid, r.get("cutoffs", [])),
        keyed_note=scale if isinstance(scale, str) and "keyed" in scale else None,
    )


def _answers(
    iid: str,
    r: dict[str, Any],
    by_id: dict[str, dict[str, Any]],
    item_max: int,
    items: dict[str, int],
) -> dict[str, int]:
    """LOINC answer code -> score, with the scale checked against ``0..item_max``."""
    scale = r.get("response_scale")
    if isinstance(scale, list):
        values = sorted(int(s["value"]) for s in scale)
        if values != list(range(item_max + 1)):
            raise _fail(iid, f"response scale {values} is not 0..{item_max}")
        return {str(s["loinc_answer"]): int(s["value"]) for s in scale if s.get("loinc_answer")}
    if isinstance(scale, str):
        same = _SAME_AS.match(scale)
        if same:
            return _answers(iid, by_id[same.group(1)], by_id, item_max, items)
        span = _RANGE.search(scale)
        if span and (int(span.group(1)), int(span.group(2))) != (0, item_max):
            raise _fail(iid, f"response scale {scale!r} is not 0..{item_max}")
        codes = _LA.findall(scale)
        if codes and len(codes) != item_max + 1:
            raise _fail(iid, f"{len(codes)} answer codes for a 0..{item_max} scale")
        return {c: n for n, c in enumerate(codes)}
    # No scale of its own: the instrument whose items hold all of this one's (GAD-2 in GAD-7).
    for other in by_id.values():
        theirs = _item_codes(other)
        if other is not r and items and set(items) <= set(theirs) and other.get("response_scale"):
            return _answers(str(other["id"]), other, by_id, item_max, theirs)
    return {}


def _item_codes(r: dict[str, Any]) -> dict[str, int]:
    """Item LOINC code -> item number."""
    return {str(i["loinc"]): int(i["n"]) for i in r.get("items", []) if i.get("loinc")}


def _safety(iid: str, s: dict[str, Any]) -> SafetyRule:
    condition = str(s["condition"])
    m = _ITEM_RULE.search(condition)
    if m is None:
        raise _fail(iid, f"safety rule condition {condition!r} is not 'item N ... >= K'")
    return SafetyRule(
        flag=str(s["flag"]),
        item=int(m.group(1)),
        threshold=int(m.group(2)),
        verified=s.get("verified", True) is not False,
        condition=condition,
    )


def _cutoffs(iid: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        sex = _SEX_OF.get(str(row.get("population")))
        m = _TOTAL_AT_LEAST.match(str(row.get("positive_if", "")))
        if sex is None or m is None:
            raise _fail(iid, f"cut-off {row!r} is not 'men|women: total >= K'")
        out[sex] = int(m.group(1))
    return out


#: Psychiatric drug x gene pairs (CPIC levels, DPWG guideline ids): the psychiatric medicines.
PSYCH_DRUGS_FILE = "pgx_psychiatry_drugs.csv"


def psychiatric_drugs(kb: KnowledgeBase) -> dict[str, tuple[str, ...]]:
    """Each psychiatric drug of ``pgx_psychiatry_drugs.csv`` (lower case) with the genes it is
    paired with, in file order."""

    def build() -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for row in kb.rows(SOURCE, PSYCH_DRUGS_FILE, delimiter=","):
            drug, gene = row["drug"].strip().lower(), row["gene"].strip()
            if not drug or not gene:
                raise KbIntegrityError(
                    f"{SOURCE}/{PSYCH_DRUGS_FILE}: a row without drug or gene",
                    hint="rebuild: tools/build_kb.py --only mental_health",
                )
            out.setdefault(drug, []).append(gene)
        return {d: tuple(dict.fromkeys(g)) for d, g in out.items()}

    return kb.memo((SOURCE, "psychiatric_drugs"), build)
