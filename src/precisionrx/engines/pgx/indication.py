"""The guideline population that fits the patient's recorded indication.

CPIC's clopidogrel guideline (Lee CR et al., Clin Pharmacol Ther 2022;112:959; PharmCAT
annotation PA166104948) gives separate advice for three populations, defined in its own
recommendation text:

* ``CVI ACS PCI`` — cardiovascular indications of acute coronary syndrome and/or percutaneous
  coronary intervention (PCI for an ACS or an elective indication);
* ``CVI non-ACS non-PCI`` — other cardiovascular indications (e.g. stable coronary or peripheral
  arterial disease without PCI);
* ``NVI`` — neurovascular indications: acute ischaemic stroke or TIA, secondary prevention of
  stroke, thromboembolism prevention after neurointerventional procedures.

With the indication recorded among the conditions, the medication review keeps the matching
population's advice (and the advice given for every population, such as DPWG's) and says
which population was used. Without it every population stays, with a caveat that asks for the
indication; the ACS/PCI advice names prasugrel, which the prasugrel label (Effient, boxed
warning) contraindicates after a stroke or TIA, and the caveat says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from precisionrx.records import Caveat, CaveatKind, DrugRecommendation
from precisionrx.records.patient import Condition

#: (population, words of a condition that indicate it), most specific first.
CLOPIDOGREL_POPULATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("NVI", ("stroke", "transient ischaemic", "transient ischemic", "tia", "carotid stent",
             "cerebrovascular", "intracranial aneurysm")),
    ("CVI ACS PCI", ("acute coronary", "myocardial infarction", "unstable angina", "stemi",
                     "nstemi", "percutaneous coronary", "pci", "coronary stent", "angioplasty")),
    ("CVI non-ACS non-PCI", ("coronary artery disease", "coronary heart disease",
                             "stable angina", "ischaemic heart disease",
                             "ischemic heart disease", "peripheral arter")),
)  # fmt: skip
#: Drugs whose guideline advice depends on the indication.
RULES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {"clopidogrel": CLOPIDOGREL_POPULATIONS}
PRASUGREL_NOTE = (
    "prasugrel, named as an alternative for ACS/PCI, is contraindicated after a stroke or TIA "
    "(Effient label, boxed warning)"
)


def _mentions(name: str, word: str) -> bool:
    """``word`` starts a word of ``name``; an abbreviation (4 letters or fewer: "pci", "tia")
    must be a whole word."""
    end = r"\b" if len(word) <= 4 else ""
    return re.search(rf"\b{re.escape(word)}{end}", name.lower()) is not None


def indicated(drug: str, conditions: Sequence[Condition]) -> list[tuple[str, str]]:
    """(population, condition name) for every active condition that indicates a population of
    ``drug``'s guideline."""
    found = []
    for population, words in RULES.get(drug, ()):
        for c in conditions:
            if c.active and any(_mentions(c.name, w) for w in words):
                found.append((population, c.name))
                break
    return found


def narrow(
    drug: str, recommendations: list[DrugRecommendation], conditions: Sequence[Condition] | None
) -> tuple[list[DrugRecommendation], list[Caveat]]:
    """``drug``'s recommendations narrowed to the population of the recorded indication, and
    the caveats that say which was used (or that the indication is not recorded).
    ``conditions`` None (no patient record, e.g. ``precisionrx pgx``): nothing changes."""
    rules = RULES.get(drug)
    populations = {r.population for r in recommendations}
    specific = {p for p, _ in rules or ()}
    if conditions is None or not rules or not populations & specific:
        return recommendations, []
    hits = indicated(drug, conditions)
    if not hits:
        note = Caveat(
            code="indication_not_recorded",
            kind=CaveatKind.WARNING,
            message=f"the indication for {drug} is not recorded: the guideline's advice differs "
            f"by indication ({', '.join(sorted(populations & specific))}), so every population "
            f"is shown; record the indication. Note: {PRASUGREL_NOTE}",
        )
        return recommendations, [note]
    chosen = {p for p, _ in hits}
    kept = [r for r in recommendations if r.population not in specific - chosen]
    why = "; ".join(f"{p} from the condition {name!r}" for p, name in hits)
    notes = [
        Caveat(
            code="indication_used",
            kind=CaveatKind.NOTE,
            message=f"guideline population chosen by the recorded indication: {why}",
        )
    ]
    if "NVI" in chosen:
        notes.append(
            Caveat(
                code="prasugrel_contraindicated",
                kind=CaveatKind.WARNING,
                message=f"stroke or TIA recorded: {PRASUGREL_NOTE}",
            )
        )
    return kept, notes
