"""The plan's drug-first "act now" lines: one per current or planned medicine."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import Caveat

#: What to do with a medicine, strongest first (the line shows the strongest reason's action).
Action = Literal[
    "change drug", "change dose", "monitor", "keep", "no pharmacogenomic guidance"
]  # fmt: skip


class ActionReason(BaseModel):
    """One reason behind a medicine's action, with its source."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["pharmacogenomic", "interaction", "dose", "tumour"]
    action: Action
    text: str
    source: str


class MedicineAction(BaseModel):
    """One current or planned medicine: the action, why, and the recorded dose checked."""

    model_config = ConfigDict(frozen=True)

    medication: str
    #: The ingredient the medicine was read as (None when it was not recognised).
    drug: str | None
    dose: str | None
    action: Action
    reasons: list[ActionReason] = Field(default_factory=list)
    #: The recorded dose against the guidance, in words (None when no guidance concerns it).
    dose_check: str | None = None
    caveats: list[Caveat] = Field(default_factory=list)
