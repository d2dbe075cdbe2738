"""The medication-options tables of the ``mental_health`` source, typed.

Built by ``tools/build_kb.py --only mental_health``:

- ``condition_candidates.csv`` (curated): the medicines a guideline or network meta-analysis
  names per condition (depression, anxiety, bipolar, psychosis, adhd), with the source and a
  verified flag;
- ``cautions.csv`` (curated): record-triggered cautions (pregnancy, childbearing potential, age,
  suicidal ideation, recorded bipolar disorder, hepatic impairment, smoking) per drug or class;
- ``psychotropic_side_effects.csv``: ACB scores (two scales) and Maudsley relative categories;
- ``antidepressant_nma.csv`` (Cipriani 2018) and ``antipsychotic_nma.csv`` (Huhn 2019) priors.

An empty cell means "no cited value", never zero or "none".

>>> from precisionrx.kb.registry import KnowledgeBase
>>> t = load_psychotropics(KnowledgeBase())
>>> [c.drug for c in t.candidates("anxiety")][:2]
['sertraline', 'escitalopram']
>>> t.side_effects["amitriptyline"].acb, t.efficacy["amitriptyline"].estimate
(3, 2.13)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from precisionrx.errors import KbIntegrityError

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

SOURCE = "mental_health"
CONDITIONS = ("depression", "anxiety", "bipolar", "psychosis", "adhd")
#: Side-effect table column -> the category name shown in results.
CATEGORY_COLUMNS = {
    "md_sedation": "sedation", "md_postural_hypotension": "postural_hypotension",
    "md_cardiac_conduction": "cardiac_conduction", "md_anticholinergic": "anticholinergic",
    "md_nausea": "nausea", "md_sexual_dysfunction": "sexual_dysfunction",
    "md_weight_gain": "weight_gain", "md_akathisia": "akathisia",
    "md_parkinsonism": "parkinsonism", "md_prolactin": "prolactin",
    "md_qtc_antipsychotic": "qtc",
}  # fmt: skip
LEVELS = ("none", "very_low", "low", "moderate", "high", "unknown")
TRIGGERS = frozenset({
    "pregnant", "pregnant_or_breastfeeding", "childbearing_potential", "age_under_25",
    "age_over_60", "hepatic_impairment", "suicidal_ideation", "bipolar_recorded", "smoking",
})  # fmt: skip
EFFECTS = ("note", "adjust", "prefer_alternative", "avoid")


@dataclass(frozen=True, slots=True)
class Candidate:
    condition: str
    drug: str
    drug_class: str
    source: str
    verified: bool


@dataclass(frozen=True, slots=True)
class SideEffects:
    drug: str
    drug_class: str
    #: ACBcalc 2023 score, else the Boustani column; None when neither lists the drug.
    acb: int | None
    acb_scale: str | None
    categories: dict[str, str]
    qtc_note: str | None
    source: str
    verified: bool


@dataclass(frozen=True, slots=True)
class Efficacy:
    drug: str
    measure: str
    estimate: float
    ci_lower: float | None
    ci_upper: float | None
    acceptability_or: float | None
    acceptability_ci_lower: float | None
    acceptability_ci_upper: float | None
    source: str
    verified: str


@dataclass(frozen=True, slots=True)
class CautionRule:
    id: str
    drugs: frozenset[str]
    classes: frozenset[str]
    trigger: str
    effect: str
    text: str
    source: str
    verified: bool

    def applies_to(self, drug: str, drug_class: str | None) -> bool:
        return drug in self.drugs or (drug_class is not None and drug_class in self.classes)


@dataclass(frozen=True)
class Psychotropics:
    rows: tuple[Candidate, ...]
    side_effects: dict[str, SideEffects] = field(default_factory=dict)
    efficacy: dict[str, Efficacy] = field(default_factory=dict)
    cautions: tuple[CautionRule, ...] = ()
    #: drug -> (gene, FDA label category) where the label requires or recommends testing
    #: (``pgx_psychiatry_drugs.csv``, column ``fda_label_pgx``).
    label_testing: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def candidates(self, condition: str) -> list[Candidate]:
        return [c for c in self.rows if c.condition == condition]


def load_psychotropics(kb: KnowledgeBase) -> Psychotropics:
    """The tables, parsed and checked once per knowledge-base object."""
    return kb.memo((SOURCE, "psychotropics"), lambda: _build(kb))


def _fail(file: str, problem: str) -> KbIntegrityError:
    return KbIntegrityError(
        f"{SOURCE}/{file}: {problem}", hint="rebuild: tools/build_kb.py --only mental_health"
    )


def _flag(text: str) -> bool:
    return text.strip().lower() == "true"


def _num(text: str, file: str, drug: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise _fail(file, f"{drug}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _fail(file, f"{drug}: {text!r} is not a finite number")
    return value


def _int(text: str, file: str, drug: str) -> int | None:
    value = _num(text, file, drug)
    return None if value is None else int(value)


def _build(kb: KnowledgeBase) -> Psychotropics:
    file = "condition_candidates.csv"
    rows = []
    for r in kb.rows(SOURCE, file, delimiter=","):
        if r["condition"] not in CONDITIONS:
            raise _fail(file, f"unknown condition {r['condition']!r}")
        rows.append(Candidate(r["condition"], r["drug"].strip().lower(), r["drug_class"],
                              r["source"], _flag(r["verified"])))  # fmt: skip
    file = "psychotropic_side_effects.csv"
    side: dict[str, SideEffects] = {}
    for r in kb.rows(SOURCE, file, delimiter=","):
        drug = r["drug"].strip().lower()
        cats = {}
        for col, name in CATEGORY_COLUMNS.items():
            level = r[col].strip()
            if level and level not in LEVELS:
                raise _fail(file, f"{drug}: {col} level {level!r} not one of {LEVELS}")
            if level:
                cats[name] = level
        acbcalc = _int(r["acb_score_acbcalc_2023"], file, drug)
        boustani = _int(r["acb_score_boustani"], file, drug)
        acb, scale = (
            (acbcalc, "ACBcalc 2023") if acbcalc is not None
            else (boustani, "ACB (Boustani 2008/2012)") if boustani is not None
            else (None, None)
        )  # fmt: skip
        side[drug] = SideEffects(drug, r["class"], acb, scale, cats,
                                 r["qtc_regulatory_note"].strip() or None, r["source"],
                                 _flag(r["verified"]))  # fmt: skip
    efficacy: dict[str, Efficacy] = {}
    for file, col, measure in (
        ("antidepressant_nma.csv", "efficacy_or_vs_placebo", "response_or_vs_placebo"),
        ("antipsychotic_nma.csv", "efficacy_smd_vs_placebo", "symptom_smd_vs_placebo"),
    ):
        for r in kb.rows(SOURCE, file, delimiter=","):
            drug = r["drug"].strip().lower()
            estimate = _num(r[col], file, drug)
            if estimate is None:
                continue
            efficacy[drug] = Efficacy(
                drug, measure, estimate, _num(r["efficacy_cri_low"], file, drug),
                _num(r["efficacy_cri_high"], file, drug),
                _num(r.get("acceptability_or_vs_placebo", ""), file, drug),
                _num(r.get("acceptability_cri_low", ""), file, drug),
                _num(r.get("acceptability_cri_high", ""), file, drug),
                r["source"], r["verified"].strip().lower(),
            )  # fmt: skip
    file = "cautions.csv"
    cautions = []
    for r in kb.rows(SOURCE, file, delimiter=","):
        if r["trigger"] not in TRIGGERS or r["effect"] not in EFFECTS:
            raise _fail(file, f"{r['id']}: trigger {r['trigger']!r} or effect {r['effect']!r}")
        tokens = [t.strip() for t in r["drugs"].split(";") if t.strip()]
        drugs = frozenset(t.lower() for t in tokens if not t.startswith("class:"))
        classes = frozenset(t.removeprefix("class:") for t in tokens if t.startswith("class:"))
        cautions.append(CautionRule(r["id"], drugs, classes, r["trigger"], r["effect"],
                                    r["text"], r["source"], _flag(r["verified"])))  # fmt: skip
    testing: dict[str, list[tuple[str, str]]] = {}
    for r in kb.rows(SOURCE, "pgx_psychiatry_drugs.csv", delimiter=","):
        category = r["fda_label_pgx"].strip()
        if category.lower() in ("testing required", "testing recommended"):
            drug = r["drug"].strip().lower()
            drug = "valproate" if drug == "valproic acid" else drug
            testing.setdefault(drug, []).append((r["gene"].strip(), category))
    label = {d: tuple(v) for d, v in testing.items()}
    return Psychotropics(tuple(rows), side, efficacy, tuple(cautions), label)
