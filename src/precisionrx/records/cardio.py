"""Cardiometabolic risk results: risk-equation estimates, prevention options, FH and Lp(a)
findings, and the treatment plan's cardiovascular section.

Field names and meanings are those of ``precisionrx risk`` (docs/cli/risk.md) and of the plan's
``cardio`` section. Risks are the equations' floats, never rounded; None where not computed.

>>> r = RiskEstimate(id="p", model="pce", variant="goff_2013", horizon_years=10,
...                  outcome="hard_ascvd", risk=0.05, category="borderline")
>>> RiskEstimate.model_validate_json(r.model_dump_json()) == r
True
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from precisionrx.records.evidence import Caveat, EngineResult
from precisionrx.records.prs import ScoreRow


class RiskEstimate(BaseModel):
    """One result of one risk model for one person, horizon and outcome."""

    model_config = ConfigDict(frozen=True)

    id: str
    model: str
    variant: str
    #: None for the ADA test (it screens for undiagnosed diabetes now).
    horizon_years: int | None
    outcome: str
    risk: float | None
    category: str
    #: Who the model is for: set in the plan's section; left out of ``precisionrx risk``'s
    #: output (its fields are a contract) when empty.
    population: str = Field(default="", exclude_if=lambda v: not v)
    caveats: list[Caveat] = Field(default_factory=list)


class RiskResult(EngineResult):
    """``precisionrx risk``: one estimate per id, model, horizon and outcome."""

    results: list[RiskEstimate] = Field(default_factory=list)


class PreventionOption(BaseModel):
    """One prevention option for one person: treated risk, absolute benefit, harms."""

    option: str
    relative_risk: float
    treated_risk: float
    arr: float
    #: Unrounded; None when the option brings no absolute reduction.
    nnt: float | None
    mechanism: str
    source: str
    harms: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class DlcnResult(BaseModel):
    """Dutch Lipid Clinic Network score for familial hypercholesterolaemia."""

    points: int
    category: str
    items: list[str] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)


class FhVariant(BaseModel):
    model_config = ConfigDict(frozen=True)

    gene: str
    chrom: str
    pos: int
    ref: str
    alt: str
    rsid: str | None
    hgvsp: str | None
    zygosity: str  # heterozygous | homozygous | hemizygous
    classification: str
    effect: str
    source: str
    verified: bool = True


class LpaAllele(BaseModel):
    model_config = ConfigDict(frozen=True)

    rsid: str
    risk_allele: str
    copies: int
    note: str


class FhGenetics(BaseModel):
    """FH genes (LDLR, APOB, PCSK9) and LPA risk alleles read from a germline VCF."""

    #: The germline VCF read (its path as given in the record).
    input: str | None = None
    genes_checked: list[str] = Field(default_factory=list)
    variants: list[FhVariant] = Field(default_factory=list)
    fh_variant_found: bool = False
    possible_homozygous_fh: bool = False
    lpa_alleles: list[LpaAllele] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)


def _drop_none(handler: SerializerFunctionWrapHandler, model: BaseModel, keep: set[str]) -> Any:
    data = handler(model)
    return {k: v for k, v in data.items() if v is not None or k in keep}


class LpaStatus(BaseModel):
    """Lp(a) in the unit measured (never converted), or an LPA risk allele without a measure.
    Keys that do not apply are left out of the JSON."""

    value: float | None = None
    status: str
    aha_acc_2018: str | None = None
    eas_2022: str | None = None
    unit: str | None = None
    note: str | None = None

    @model_serializer(mode="wrap")
    def _serialise(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _drop_none(handler, self, {"value"})


class CacStatus(BaseModel):
    """Coronary artery calcium band (2019 ACC/AHA); keys that do not apply are left out."""

    value: float
    unit: str
    band: str | None = None
    status: str | None = None
    guidance: str | None = None
    source: str | None = None
    note: str | None = None

    @model_serializer(mode="wrap")
    def _serialise(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _drop_none(handler, self, set())


class PolygenicScore(ScoreRow):
    """A polygenic score of the patient's germline VCF, with its trait and scoring file."""

    trait: str | None = None
    scorefile: str | None = None


class StatinUse(BaseModel):
    """A recorded statin: its intensity (2018 AHA/ACC Table 3) and its dose against the CPIC
    limit for the patient's genotype."""

    model_config = ConfigDict(frozen=True)

    drug: str
    #: The dose as recorded, and its amount in mg/day (None when the text has none).
    dose: str | None
    dose_mg: float | None
    #: high | moderate | low | not_recommended; None for a dose not in the table.
    intensity: str | None
    #: The CPIC limit (e.g. "<20 mg/day") and the CPIC row type that applies.
    cpic_limit: str | None
    cpic_action: str | None
    #: True/False when dose and limit are known, else None.
    exceeds_cpic_limit: bool | None
    action: str
    reason: str
    caveats: list[Caveat] = Field(default_factory=list)


class StatinOption(BaseModel):
    """A high-intensity statin dose this genotype's CPIC limits allow."""

    model_config = ConfigDict(frozen=True)

    drug: str
    dose_mg: float
    intensity: str
    cpic_limit: str | None


class LdlGoal(BaseModel):
    """The LDL-C goal of the patient's risk group and where the measured LDL-C stands."""

    risk_group: str
    #: Why the patient is in this group (e.g. "established ASCVD inferred from clopidogrel").
    basis: str
    goal_mmol_l: float
    goal_mg_dl: float
    #: The guideline's second condition: at least this reduction from the untreated baseline.
    reduction_percent: float | None = None
    ldl_mmol_l: float | None = None
    #: measured LDL-C >= goal; None when LDL-C is not recorded.
    above_goal: bool | None = None
    #: What to do first when above the goal (intensify the statin before add-on drugs).
    action: str = ""
    source: str
    #: False: the numbers were taken from the guideline publication but not checked against an
    #: accessible copy of its text here.
    verified: bool


class StatinReview(BaseModel):
    """The recorded statins and the high-intensity options within the CPIC limits."""

    current: list[StatinUse] = Field(default_factory=list)
    high_intensity_options: list[StatinOption] = Field(default_factory=list)
    #: The LDL-C goal, for the risk groups the record places unambiguously (established
    #: atherosclerotic disease); None otherwise (a caveat says why).
    ldl_goal: LdlGoal | None = None
    source: str
    caveats: list[Caveat] = Field(default_factory=list)


#: Keys of the section when the risk equations do not apply (established CVD).
NOT_APPLICABLE_KEYS = (
    "statins", "baseline", "risk", "prevention", "caveats", "basis", "provenance",
)  # fmt: skip


class CardioSection(EngineResult):
    """The treatment plan's cardiovascular section for one patient.

    ``lpa`` is always there (``not measured`` with the advice to measure it once); ``cac`` only
    when measured; with established cardiovascular disease only the risk keys appear (``basis``
    "not applicable").
    """

    dlcn: DlcnResult | None = None
    fh_genetics: FhGenetics | None = None
    lpa: LpaStatus | None = None
    cac: CacStatus | None = None
    polygenic_scores: list[PolygenicScore] = Field(default_factory=list)
    #: The statin review (recorded statins, intensity, CPIC limits, high-intensity options).
    statins: StatinReview | None = None
    baseline: RiskEstimate | None = None
    risk: list[RiskEstimate] = Field(default_factory=list)
    prevention: list[PreventionOption] = Field(default_factory=list)
    basis: str = ""

    @model_serializer(mode="wrap")
    def _serialise(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        order = [
            "dlcn", "fh_genetics", "lpa", "cac", "polygenic_scores", "statins", "baseline",
            "risk", "prevention", "caveats", "basis", "provenance",
        ]  # fmt: skip
        if self.basis == "not applicable":
            order = list(NOT_APPLICABLE_KEYS)
        out = {k: data[k] for k in order if k in data}
        for k in ("lpa", "cac", "statins"):
            if out.get(k, 0) is None:
                del out[k]
        return out
