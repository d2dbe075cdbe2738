"""Drug–drug interactions between the patient's medicines: the public shape of the
interactions engine's result (docs/methods/interactions.md).

Every value of an interaction comes from one row of the knowledge base's ``ddi`` tables, named
by ``rule_id`` with its ``source``; ``verified`` is False when the row (or a class membership it
was matched through) was not read in its source, and a caveat then says which.

>>> i = DrugInteraction(drug_a="simvastatin", drug_b="amlodipine", medication_a="simvastatin",
...     medication_b="amlodipine", rule_id="DDI025", severity="major", action="dose_cap",
...     mechanism="CYP3A4 inhibition", effect="myopathy", source="Zocor label",
...     verified=True, interruptive=True, specificity_rank=1)
>>> DrugInteraction.model_validate_json(i.model_dump_json()) == i
True
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import Caveat, EngineResult

#: contraindicated, major, moderate: ``ddi_major.csv``; low: the ONC 2013 non-interruptive pairs.
InteractionSeverity = Literal["contraindicated", "major", "moderate", "low"]
#: avoid, dose_cap, monitor: ``ddi_major.csv``; non_interruptive: shown passively, never in the
#: headline (ONC 2013 low-priority list).
InteractionAction = Literal["avoid", "dose_cap", "monitor", "non_interruptive"]


class DrugInteraction(BaseModel):
    """One interacting pair of the patient's medicines and the table row that says so."""

    model_config = ConfigDict(frozen=True)

    #: The two ingredients, in the orientation of the row (``drug_a`` matched its ``drug_a``);
    #: a combination product matched as a whole is named by its ingredients joined with " / ".
    drug_a: str
    drug_b: str
    #: The medicines as recorded (name, brand or RxNorm code) that hold ``drug_a`` / ``drug_b``.
    medication_a: str
    medication_b: str
    rule_id: str
    severity: InteractionSeverity
    action: InteractionAction
    mechanism: str = ""
    effect: str = ""
    #: The row's dose-cap text and its numeric maximum (mg/day), with the drug it applies to.
    dose_cap: str | None = None
    dose_cap_max_mg_day: float | None = None
    dose_cap_applies_to: str | None = None
    #: The recorded dose of ``dose_cap_applies_to`` in mg/day (``"40 mg nightly"`` -> 40), when
    #: the row has a dose cap and the record's dose text can be read; None otherwise.
    recorded_dose_mg_day: float | None = None
    #: recorded dose > numeric cap; None when either is unknown.
    exceeds_dose_cap: bool | None = None
    #: False for an ONC 2013 non-interruptive pair: shown as low priority, never a finding.
    interruptive: bool
    source: str
    verified: bool
    #: 1 ingredient pair, 2 label/guideline class row, 3 ONC-2012 class row; None for the
    #: ONC 2013 non-interruptive rows (used only when no ``ddi_major`` row matches).
    specificity_rank: int | None = None
    onc_2012_high_priority: bool = False
    #: The row's curator notes (regional differences, what to combine it with).
    notes: str = ""
    caveats: list[Caveat] = Field(default_factory=list)


class NotAssessed(BaseModel):
    """A check that could not be made, and why (never a silent gap)."""

    model_config = ConfigDict(frozen=True)

    code: Literal["class_not_shipped", "unresolved_medication", "medication_not_current"]
    #: The table row that could not be applied (``class_not_shipped``).
    rule_id: str | None = None
    #: The patient's medicines or ingredients concerned.
    drugs: list[str] = Field(default_factory=list)
    message: str


class CheckedMedication(BaseModel):
    """How a recorded medicine was read: its ingredients and its dose (the match log)."""

    model_config = ConfigDict(frozen=True)

    medication: str
    ingredients: list[str] = Field(default_factory=list)
    #: How the name was resolved: name, brand, rxnorm, or None when it was not.
    via: str | None = None
    dose: str | None = None
    dose_mg_day: float | None = None
    status: str = "active"


class InteractionResult(EngineResult):
    """Interactions sorted by severity (contraindicated, major, moderate, low), then names."""

    interactions: list[DrugInteraction] = Field(default_factory=list)
    not_assessed: list[NotAssessed] = Field(default_factory=list)
    medications: list[CheckedMedication] = Field(default_factory=list)
