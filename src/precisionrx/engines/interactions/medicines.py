"""The patient's medicines as ingredients, with their dose in mg per day.

Names, brands and RxNorm codes are resolved as the pharmacogenomic medication review does
(:func:`precisionrx.engines.pgx.medications.resolve`), knowing the interaction tables' drug
names too. A combination product maps to each of its ingredients: a name or RxNorm drug written
with ``/`` or ``+`` (``sulfamethoxazole / trimethoprim``) whose every part resolves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from precisionrx.engines.pgx.medications import SALTS, resolve
from precisionrx.kb.prescribing import PrescribingKb
from precisionrx.records import Medication
from precisionrx.records.interactions import NotAssessed

#: Record statuses of medicines no longer (or never) taken: not checked, and said so. Every
#: other status (active, intended, on-hold, draft, unknown, planned) is current or planned.
NOT_CURRENT = frozenset({"stopped", "completed", "entered-in-error", "cancelled", "not-taken"})

_SEPARATOR = re.compile(r"\s*(?:/|\+|\band\b|\bwith\b)\s*")
_UNIT_WORDS = frozenset({"day", "days", "week", "weeks", "night", "nightly", "dose", "kg", "m2"})
_AMOUNT = re.compile(
    r"(\d+(?:\.\d+)?)\s*(mg|milligrams?|g|grams?|mcg|micrograms?|µg|μg)(?![a-z])(\s*/\s*(?:kg|m))?",
    re.IGNORECASE,
)
_TO_MG = {"mg": 1.0, "milligram": 1.0, "g": 1000.0, "gram": 1000.0, "mcg": 0.001,
          "microgram": 0.001, "µg": 0.001, "μg": 0.001}  # fmt: skip
#: Times per day, tried in this order (``twice daily`` before ``daily``).
_TIMES = (
    (4, r"four times (?:a |per )?day|four times daily|4 times (?:a |per )?day|\bqid\b|\bqds\b"
        r"|every 6 hours|\bq6h\b"),
    (3, r"three times (?:a |per )?day|three times daily|3 times (?:a |per )?day|\btid\b|\btds\b"
        r"|every 8 hours|\bq8h\b"),
    (2, r"twice (?:a |per )?day|twice daily|two times (?:a |per )?day|2 times (?:a |per )?day"
        r"|\bbid\b|\bbd\b|every 12 hours|\bq12h\b"),
    (1, r"once (?:a |per )?day|once daily|\bdaily\b|\bnightly\b|at night|every night|at bedtime"
        r"|every morning|in the morning|each morning|every evening|in the evening|\bod\b|\bqd\b"
        r"|\bqam\b|\bqpm\b|\bqhs\b|\bmane\b|\bnocte\b|per day|a day\b|/\s*day\b|/\s*d\b"),
)  # fmt: skip
_NOT_DAILY = re.compile(
    r"week|\bwk\b|every other day|alternate day|as needed|as required|\bprn\b|month", re.I
)


def dose_mg_per_day(text: str | None, once_daily: bool = False) -> float | None:
    """The daily amount in mg of a recorded dose, or None when it cannot be read without a
    guess: no amount, several amounts, a weight- or area-based dose (mg/kg, mg/m2), no
    frequency, or a frequency that is not daily (weekly, as needed). ``once_daily``: the drug is
    taken once a day (statins), so an amount without a frequency is the daily dose.

    >>> dose_mg_per_day("40 mg nightly"), dose_mg_per_day("5 mg twice daily")
    (40.0, 10.0)
    >>> dose_mg_per_day("1 g twice daily"), dose_mg_per_day("20 mg/day")
    (2000.0, 20.0)
    >>> [dose_mg_per_day(t) for t in ("planned", "40 mg", "15 mg weekly", "1250 mg/m2 bid")]
    [None, None, None, None]
    >>> dose_mg_per_day("40 mg", once_daily=True)
    40.0
    """
    if not text:
        return None
    low = text.lower()
    amounts = _AMOUNT.findall(low)
    if len(amounts) != 1 or _NOT_DAILY.search(low):
        return None
    value, unit, per = amounts[0]
    if per:
        return None
    unit = unit.removesuffix("s")  # milligrams, grams, micrograms
    for times, pattern in _TIMES:
        if re.search(pattern, low):
            return float(value) * _TO_MG[unit] * times
    return float(value) * _TO_MG[unit] if once_daily else None


@dataclass(frozen=True, slots=True)
class Medicine:
    """One recorded medicine: how it was given, its ingredients and its daily dose."""

    given: str
    ingredients: tuple[str, ...]
    via: str | None
    dose: str | None
    dose_mg_day: float | None
    status: str


def _split(name: str) -> list[str]:
    """The parts of a combination written with a separator; parts made only of dose or form
    words (``mg/day``) are not parts."""
    parts = [p.strip() for p in _SEPARATOR.split(name.lower()) if p.strip()]
    return [
        p
        for p in parts
        if any(
            len(w) >= 3 and not w.isdigit() and w not in SALTS and w not in _UNIT_WORDS
            for w in re.split(r"[\s,()]+", p)
        )
    ]


def _ingredients(
    med: Medication, kb: PrescribingKb, known: set[str]
) -> tuple[tuple[str, ...], str | None, list[str]]:
    """(ingredients, via, parts that did not resolve)."""
    if med.rxnorm and med.rxnorm in kb.rxnorm_to_drug:
        return tuple(_split(kb.rxnorm_to_drug[med.rxnorm])), "rxnorm", []
    parts = _split(med.name)
    if len(parts) > 1:
        found = [resolve(Medication(name=p), kb, known) for p in parts]
        drugs = [d for r in found if r.drug for d in _split(r.drug)]
        missing = [r.given for r in found if r.drug is None]
        if drugs:
            vias = sorted({r.via for r in found if r.via})
            return tuple(dict.fromkeys(drugs)), "+".join(vias), missing
    whole = resolve(med, kb, known)
    if whole.drug is not None:
        return tuple(_split(whole.drug)) or (whole.drug,), whole.via, []
    return (), None, [med.name]


def read_medicines(
    medications: Sequence[Medication], kb: PrescribingKb, known: set[str]
) -> tuple[list[Medicine], list[NotAssessed]]:
    """The current and planned medicines as ingredients, and what could not be checked."""
    out: list[Medicine] = []
    gaps: list[NotAssessed] = []
    for med in medications:
        given = med.name or med.rxnorm or ""
        status = (med.status or "active").strip().lower()
        if status in NOT_CURRENT:
            gaps.append(NotAssessed(
                code="medication_not_current", drugs=[given],
                message=f"{given} is recorded as {status}: not checked for interactions "
                "(some interactions outlast the last dose; check if it was stopped recently)",
            ))  # fmt: skip
            continue
        ingredients, via, missing = _ingredients(med, kb, known)
        if missing:
            code = f" (RxNorm {med.rxnorm})" if med.rxnorm else ""
            gaps.append(NotAssessed(
                code="unresolved_medication", drugs=sorted(missing),
                message=f"{', '.join(sorted(missing))}{code} is not a drug name, brand or RxNorm "
                "code the knowledge base knows: its interactions could not be looked up (it may "
                "still interact)",
            ))  # fmt: skip
        single = len(ingredients) == 1
        out.append(Medicine(given, ingredients, via, med.dose,
                            dose_mg_per_day(med.dose) if single else None, status))  # fmt: skip
    return out, gaps
