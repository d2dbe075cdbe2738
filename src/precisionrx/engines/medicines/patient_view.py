"""The patient's view of the plan: what changes and why, in plain words, for every section.

Written for a reading age of about 12 (short sentences, everyday words; the test suite checks
the Flesch-Kincaid grade). Per medicine whose line in the act-now list is not "keep" or "no
pharmacogenomic guidance": what it means and which symptoms to report, from the curated table
kb/data/interactions/patient_advice.tsv (paraphrasing the warnings of the product labels it
names; a medicine without a row gets a general sentence). Then the heart, cancer, glucose and
questionnaire sections in a sentence or two each, and the advice to keep the result and show it
to every doctor and pharmacist. When a questionnaire raised suicidal ideation, the first line
says where to get help now (never suppressed). Nothing here adds a clinical fact the engines
did not produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from precisionrx.records.cardio import CardioSection
from precisionrx.records.interactions import InteractionResult
from precisionrx.records.medicines import MedicineAction
from precisionrx.records.mental_health import SUICIDAL_IDEATION, MentalHealthSection
from precisionrx.records.monitoring import MonitoringSection
from precisionrx.records.oncology import TumourReport

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

KEEP_RESULT = (
    "Keep this result. Show it to every doctor, nurse and pharmacist who treats you. Your genes do "
    "not change, so it will stay useful all your life."
)
DO_NOT_STOP = "Do not stop or change any medicine on your own. Talk to your care team first."
GENERAL = {
    "change drug": "Your doctor may switch you to a different medicine.",
    "change dose": "Your doctor may change the dose.",
    "monitor": "Your care team may check how it works for you more closely.",
}
STATIN_SUFFIX = "statin"
#: The first line of the patient view when a questionnaire raised suicidal ideation (neutral:
#: no country-specific number, since the plan has no locale data).
GET_HELP_NOW = (
    "Your answers show you have had thoughts of death or of harming yourself. You are not "
    "alone, and help is there. Please contact your care team today. If you are in danger now, "
    "call emergency services."
)


@dataclass(frozen=True)
class Advice:
    says: str
    report: str


def advice_table(kb: KnowledgeBase) -> dict[tuple[str, str], Advice]:
    """(drug or ``statin``, action or ``any``) -> the plain words and the symptoms to report."""

    def read() -> dict[tuple[str, str], Advice]:
        return {
            (r["drug"], r["action"]): Advice(r["says"], r["report"])
            for r in kb.rows("interactions", "patient_advice.tsv")
        }

    return kb.memo(("interactions", "patient_advice"), read)


def _advice(table: dict[tuple[str, str], Advice], line: MedicineAction) -> Advice | None:
    drug = line.drug or line.medication.lower()
    keys = [drug, STATIN_SUFFIX] if drug.endswith(STATIN_SUFFIX) else [drug]
    for key in keys:
        for action in (line.action, "any"):
            if (key, action) in table:
                return table[(key, action)]
    return None


def _medicine_lines(kb: KnowledgeBase, act_now: Sequence[MedicineAction]) -> list[str]:
    table = advice_table(kb)
    out = []
    for line in act_now:
        if line.action not in GENERAL:
            continue
        found = _advice(table, line)
        if found is None:
            out.append(f"{line.medication}: your test results or your other medicines affect "
                       f"this medicine. {GENERAL[line.action]}")  # fmt: skip
        else:
            out.append(f"{line.medication}: {found.says} {found.report}")
    return out


def _interaction_lines(result: InteractionResult | None) -> list[str]:
    """One plain-language line per contraindicated or major interaction (never a low-priority
    one)."""
    if result is None:
        return []
    lines = []
    for i in result.interactions:
        if not i.interruptive or i.severity not in ("contraindicated", "major"):
            continue
        line = f"{i.medication_a} and {i.medication_b}: these medicines can affect each other."
        if i.exceeds_dose_cap:
            line += (f" The {i.dose_cap_applies_to} dose recorded is above the limit advised when "
                     "the two are taken together.")  # fmt: skip
        lines.append(line + " Do not stop or change either yourself; talk to your care team.")
    return lines


def _heart_lines(cardio: CardioSection | None) -> list[str]:
    if cardio is None:
        return []
    if cardio.basis == "not applicable":
        if any(c.code == "established_cvd_inferred" for c in cardio.caveats):
            return ["Heart: you take a medicine that is used after a heart attack, a stent or a "
                    "stroke. So the usual heart risk score is not used for you. Your doctor "
                    "will ask why you take it."]  # fmt: skip
        return ["Heart: your doctors will treat you as someone who already has heart or blood "
                "vessel disease. Taking your medicines each day helps protect you."]  # fmt: skip
    base = cardio.baseline
    if base is None or base.risk is None:
        return []
    in_100 = round(base.risk * 100)
    years = base.horizon_years or 10
    return [f"Heart: your chance of a heart attack or stroke in the next {years} years is about "
            f"{in_100} in 100. Your plan lists what would lower it most."]  # fmt: skip


def _cancer_lines(report: TumourReport | None) -> list[str]:
    if report is None:
        return []
    lines = ["Cancer: tests on your tumour found changes that help your cancer team choose "
             "treatment. They will talk with you about what fits you best."]  # fmt: skip
    if any(c.status == "action" for c in report.germline_conflicts):
        lines.append("Some cancer medicines need a lower dose because of your genes. Your cancer "
                     "team has this result.")  # fmt: skip
    return lines


def _glucose_lines(monitoring: MonitoringSection | None) -> list[str]:
    if monitoring is None:
        return []
    current = monitoring.current
    lines = []
    tir = current.in_range_70_180
    goal = next((c.target for c in monitoring.consensus.checks
                 if c.metric == "in_range_70_180"), None)  # fmt: skip
    if tir is not None:
        text = (f"Glucose: in the last 2 weeks your sugar level was in the target range "
                f"{tir:.0f} % of the time.")  # fmt: skip
        if goal is not None:
            text += f" Your goal is {goal.replace('>', 'more than').replace('<', 'less than')} %."
        lines.append(text)
    night = current.nocturnal_hypo_episodes
    if night:
        lines.append(f"Your sugar level went too low at night {night} time"
                     f"{'s' if night > 1 else ''}. Tell your diabetes team.")  # fmt: skip
    return lines


def _safety_lines(section: MentalHealthSection | None) -> list[str]:
    """The get-help line when any questionnaire raised suicidal ideation: never suppressed."""
    if section is None or not any(f.flag == SUICIDAL_IDEATION for f in section.flags):
        return []
    return [GET_HELP_NOW]


def _mood_lines(section: MentalHealthSection | None) -> list[str]:
    if section is None:
        return []
    lines = []
    for s in section.latest:
        when = f" on {s.date}" if s.date else ""
        if s.total is None:
            lines.append(f"Questionnaire {s.instrument}{when}: it could not be scored. Your care "
                         "team will go through it with you.")  # fmt: skip
            continue
        band = f" This is in the {s.severity.replace('_', ' ')} range." if s.severity else ""
        lines.append(f"Questionnaire {s.instrument}{when}: your score was {s.total}.{band} "
                     "Your care team will talk with you about what it means.")  # fmt: skip
    if section.options is not None and section.options.candidates:
        lines.append(
            f"Your care team has a list of medicine options for {section.options.condition}, "
            "checked against your genes, your other medicines and your health. It is a list to "
            "talk through together, not a prescription."
        )
    return lines


def patient_view(
    kb: KnowledgeBase,
    act_now: Sequence[MedicineAction],
    *,
    genotyped: bool,
    interactions: InteractionResult | None = None,
    cardio: CardioSection | None = None,
    oncology: TumourReport | None = None,
    monitoring: MonitoringSection | None = None,
    mental_health: MentalHealthSection | None = None,
) -> list[str]:
    """The plan's ``patient_summary``: where to get help now when a questionnaire raised
    suicidal ideation (always first), medicines, then heart, cancer, glucose and mood."""
    lines = _medicine_lines(kb, act_now) + _interaction_lines(interactions)
    if lines:
        lines.append(DO_NOT_STOP)
    lines += _heart_lines(cardio) + _cancer_lines(oncology) + _glucose_lines(monitoring)
    lines += _mood_lines(mental_health)
    if genotyped:
        lines.append(KEEP_RESULT)
    elif not lines:
        lines.append("No test result in this plan changes your medicines.")
    return _safety_lines(mental_health) + lines
