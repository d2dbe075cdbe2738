"""Mental-health questionnaires: the answers as read, the scores of ``precisionrx mh score`` and
the trajectories of ``precisionrx mh track`` (docs/cli/mh.md, docs/methods/mental_health.md).

Every number of a score (item range, bands, safety thresholds, LOINC code) comes from the
knowledge base's ``mental_health`` source; the records only carry the results.

>>> s = QuestionnaireScore(id="p1", instrument="PHQ-9", date="2026-01-05", total=3,
...     severity="minimal", items_answered=9, flags=["suicidal_ideation"], loinc="44261-6")
>>> list(s.model_dump())[:8]
['id', 'instrument', 'date', 'total', 'severity', 'items_answered', 'flags', 'loinc']
>>> QuestionnaireScore.model_validate_json(s.model_dump_json()) == s
True
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import Caveat, EngineResult
from precisionrx.records.medicines import MedicineAction

Sex = Literal["female", "male"]

#: The flag a safety rule raises on a positive self-harm item (PHQ-9 item 9, EPDS item 10).
SUICIDAL_IDEATION = "suicidal_ideation"


class QuestionnaireAnswers(BaseModel):
    """One completed questionnaire as read from a CSV row or a FHIR QuestionnaireResponse.

    ``items`` maps item number (1..n) to its score, None when the item was not answered; the
    values were checked against the instrument's response scale by the reader.
    """

    model_config = ConfigDict(frozen=True)

    id: str | None
    #: The instrument's id in the knowledge base (``PHQ-9``, ``GAD-7`` ...).
    instrument: str
    #: ISO date (``YYYY-MM-DD``), or the date part of a FHIR dateTime as given; None if absent.
    date: str | None = None
    sex: Sex | None = None
    items: dict[int, int | None] = Field(default_factory=dict)
    #: Where the answers came from (file and row or resource), for messages.
    source: str = ""


class QuestionnaireScore(BaseModel):
    """The score of one questionnaire. ``total`` and ``severity`` are None when the instrument
    cannot be totalled (a missing item, no rule for the data given); ``flags`` (safety flags such
    as ``suicidal_ideation``) are raised from the items themselves and are never suppressed."""

    model_config = ConfigDict(frozen=True)

    id: str | None
    instrument: str
    date: str | None
    total: int | None
    severity: str | None
    items_answered: int
    flags: list[str] = Field(default_factory=list)
    #: LOINC code of the instrument's total score, when the knowledge base has one.
    loinc: str | None = None
    caveats: list[Caveat] = Field(default_factory=list)


class ScoreResult(EngineResult):
    """Scores in input order (rows or resources as they appear in the file)."""

    scores: list[QuestionnaireScore] = Field(default_factory=list)


class NextStep(BaseModel):
    """Options from the cited guideline steps for a clinician to weigh (never an order, never a
    diagnosis): the options, the text they were taken from, its source and whether the knowledge
    base marks every step used as verified."""

    model_config = ConfigDict(frozen=True)

    options: list[str]
    text: str
    source: str
    verified: bool


class Trajectory(BaseModel):
    """The scores of one id and instrument over time (``precisionrx mh track``).

    ``baseline`` and ``latest`` are the first and last totals by date; ``weeks`` the days
    between their dates / 7; ``change_percent`` the fall from baseline in percent (negative when
    the score rose); ``response``, ``remission`` and ``next_step`` null when they cannot be
    judged (the caveats say why). ``flags`` holds every safety flag raised on any score of the
    trajectory, scored or not: never suppressed."""

    model_config = ConfigDict(frozen=True)

    id: str | None
    instrument: str
    baseline: int | None
    latest: int | None
    weeks: float | None
    change_percent: float | None
    response: bool | None
    remission: bool | None
    next_step: NextStep | None
    flags: list[str] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)


class TrackResult(EngineResult):
    """Trajectories per id and instrument, in order of first appearance in the input."""

    trajectories: list[Trajectory] = Field(default_factory=list)


class SafetyFlag(BaseModel):
    """A safety flag raised on one questionnaire (``suicidal_ideation`` ...): who, which
    instrument, when. Never dropped from the plan."""

    model_config = ConfigDict(frozen=True)

    flag: str
    id: str | None
    instrument: str
    date: str | None
    #: The item whose answer raised it (PHQ-9 item 9), from the knowledge base's rule.
    item: int | None = None


class ScorePoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    date: str | None
    total: int


class ScoreHistory(BaseModel):
    """The totals of one id and instrument in date order, for the plan's trend chart;
    ``score_max`` is the instrument's maximum total (the chart's scale), None if unknown."""

    model_config = ConfigDict(frozen=True)

    id: str | None
    instrument: str
    score_max: int | None
    points: list[ScorePoint] = Field(default_factory=list)


#: What a pharmacogenomic guideline row asks for, in one word (docs/methods/mental_health.md).
GuidanceAction = Literal[
    "avoid", "use_alternative", "reduce_dose", "increase_dose", "standard_dose", "monitor",
    "no_guidance",
]  # fmt: skip
#: A candidate's place in the ranking's first key, worst last.
OptionCategory = Literal["no_flag", "adjust", "prefer_alternative", "avoid"]
Confidence = Literal["high", "moderate", "low"]


class OptionPgx(BaseModel):
    """One gene of one CPIC or DPWG recommendation for a candidate medicine.

    ``phenotype`` is the genotype's; ``effective_phenotype`` the one the guideline was looked
    up with, after phenoconversion by the patient's other medicines (the candidate itself never
    counts); both None when the gene was not genotyped. ``classification`` is the guideline's
    strength as written (CPIC Strong/Moderate/Optional; DPWG rows carry none: ``N/A``)."""

    model_config = ConfigDict(frozen=True)

    gene: str
    phenotype: str | None
    effective_phenotype: str | None
    source: str
    classification: str | None
    action: GuidanceAction
    recommendation: str
    activity_score: str | None = None
    effective_activity_score: str | None = None
    #: The medicines that changed the phenotype (empty: the genotype's phenotype was used).
    caused_by: list[str] = Field(default_factory=list)
    guideline: str | None = None
    guideline_url: str | None = None
    population: str | None = None
    caveats: list[Caveat] = Field(default_factory=list)


class OptionInteraction(BaseModel):
    """Something another medicine (or tobacco smoke) does with the candidate.

    ``kind``: ``drug_interaction`` (a row of the interaction tables), ``phenoconversion`` (the
    candidate changes a current medicine's effective phenotype, or the reverse),
    ``cyp_modulation`` (a CYP inhibitor or inducer of the candidate's guideline gene that the
    phenoconversion rules do not convert, e.g. a strong CYP3A4 inducer with quetiapine) or
    ``smoking`` (tobacco smoke and CYP1A2). ``action``: the table's action, or ``adjust`` /
    ``note`` for the others."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["drug_interaction", "phenoconversion", "cyp_modulation", "smoking"]
    drug: str
    severity: str
    action: str
    effect: str
    source: str
    verified: bool
    rule_id: str | None = None


class SideEffectProfile(BaseModel):
    """The candidate's relative side-effect categories (Maudsley 13th ed., via transcription),
    anticholinergic burden (ACB) and regulatory QT note, and the ``concerns`` they raise for
    this patient (comorbidities, age, stated priorities)."""

    model_config = ConfigDict(frozen=True)

    categories: dict[str, str] = Field(default_factory=dict)
    anticholinergic_burden: int | None = None
    #: Which ACB scale the score is from (scales disagree; the score is shown with its scale).
    anticholinergic_scale: str | None = None
    qtc_note: str | None = None
    concerns: list[str] = Field(default_factory=list)
    #: The concerns' weight in the rank (high 2, moderate 1 each).
    concern_weight: int = 0
    source: str | None = None
    verified: bool = False


class EfficacyPrior(BaseModel):
    """The network meta-analysis prior for the candidate, when the knowledge base has one:
    Cipriani 2018 response OR vs placebo (depression) or Huhn 2019 overall-symptom SMD vs
    placebo (psychosis, negative favours the drug), with the credible interval."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    measure: str | None = None
    estimate: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    acceptability_or: float | None = None
    acceptability_ci_lower: float | None = None
    acceptability_ci_upper: float | None = None
    source: str | None = None
    #: The row's own flag as written (``true``, ``false``, ``partial``); None without a row.
    verified: str | None = None


class OptionCaution(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    text: str
    effect: Literal["avoid", "prefer_alternative", "adjust", "note"]
    source: str
    verified: bool


class MedicationOption(BaseModel):
    """One candidate medicine for the condition, with every input to its rank."""

    model_config = ConfigDict(frozen=True)

    drug: str
    rank: int
    drug_class: str | None = None
    category: OptionCategory
    #: The patient takes it now.
    current: bool = False
    confidence: Confidence
    #: The inputs the rank could not use (genotype of a guideline gene, medication list ...).
    missing_inputs: list[str] = Field(default_factory=list)
    pgx: list[OptionPgx] = Field(default_factory=list)
    interactions: list[OptionInteraction] = Field(default_factory=list)
    side_effects: SideEffectProfile = SideEffectProfile()
    efficacy: EfficacyPrior = EfficacyPrior()
    cautions: list[OptionCaution] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    #: Why the medicine is a candidate for the condition (guideline or NMA) and whether that
    #: list was read in its source.
    candidate_source: str | None = None
    candidate_verified: bool = False


class OptionsResult(EngineResult):
    """``precisionrx mh options``: the candidates for one condition, best first."""

    condition: str
    #: How the condition was chosen (``--condition``, a recorded condition, or the default).
    condition_basis: str = ""
    candidates: list[MedicationOption] = Field(default_factory=list)
    #: The ranking rule, in words (also in docs/methods/mental_health.md).
    ranking_rule: str = ""


class MentalHealthSection(EngineResult):
    """The plan's mental-health section (docs/methods/mental_health.md): the safety flags
    first (every one, from every questionnaire), the latest score per instrument, the
    trajectories of ``mh track``, the psychiatric medicines and the ranked medication options
    for the recorded condition; ``caveats`` say what is not assessed."""

    flags: list[SafetyFlag] = Field(default_factory=list)
    #: The latest score per (id, instrument), by date (input order when dates tie or lack).
    latest: list[QuestionnaireScore] = Field(default_factory=list)
    trajectories: list[Trajectory] = Field(default_factory=list)
    #: The totals over time per (id, instrument) with two or more totals (the trend charts).
    history: list[ScoreHistory] = Field(default_factory=list)
    #: The record's psychiatric medicines (drugs of the knowledge base's psychiatric PGx table)
    #: with their act-now line: action, reasons (PGx guidance with the effective phenotype,
    #: interactions), dose check.
    medications: list[MedicineAction] = Field(default_factory=list)
    #: ``mh options`` for the first recorded psychiatric condition (None when none is recorded).
    options: OptionsResult | None = None
