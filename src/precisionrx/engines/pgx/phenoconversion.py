"""Phenoconversion: concomitant drugs that change the effective metaboliser phenotype.

Rules (research/pgx.md §6; FDA clinical inhibitor/inducer classes):
- CYP2D6: a strong inhibitor sets the activity score to 0 (Poor Metabolizer); a moderate inhibitor
  multiplies it by 0.5 and the phenotype is re-binned with the 2019 consensus cut-offs.
- CYP2C19 and CYP2C9: a strong inhibitor steps the phenotype down one class; a strong CYP2C19
  inducer steps it up one class. For CYP2C9, whose guidance is keyed on activity score, the lower
  bound of the new class is used (IM 1.0, PM 0.0) and said so.
- Moderate CYP2C19/CYP2C9 modulators and CYP3A4 modulators do not change the phenotype; they are
  reported as interaction notes.
The drug being prescribed is excluded when computing its own effective phenotype.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from precisionrx.engines.pgx.phenotyper import cyp2d6_phenotype_from_score
from precisionrx.kb.prescribing import Modulator, PrescribingKb
from precisionrx.records import Caveat, CaveatKind, EffectivePhenotype, GeneCall

CLASSES = [
    "Poor Metabolizer",
    "Intermediate Metabolizer",
    "Normal Metabolizer",
    "Rapid Metabolizer",
    "Ultrarapid Metabolizer",
]
CYP2C9_CLASS_SCORE = {"Poor Metabolizer": "0.0", "Intermediate Metabolizer": "1.0"}


def _class_index(phenotype: str | None) -> int | None:
    if phenotype is None:
        return None
    term = phenotype.removeprefix("Likely ").strip()
    return CLASSES.index(term) if term in CLASSES else None


def modulators_for(drugs: Iterable[str], kb: PrescribingKb) -> list[Modulator]:
    names = set(drugs)
    return [m for m in kb.modulators if m.drug in names]


def effective_phenotype(
    call: GeneCall, mods: list[Modulator]
) -> tuple[EffectivePhenotype | None, list[Caveat]]:
    """The phenotype after the modulators that act on this gene (None when unchanged)."""
    gene = call.gene
    acting = [m for m in mods if m.gene == gene]
    notes: list[Caveat] = []
    if not acting or not call.called:
        return None, notes
    unverified = [m.drug for m in acting if not m.verified]
    if unverified:
        notes.append(
            Caveat(
                code="modulator_unverified",
                message=f"{gene} modulator class of {', '.join(unverified)} is unverified in the "
                "shipped table: check the FDA drug-interaction table",
            )
        )
    strong_inh = [m for m in acting if m.role == "inhibitor" and m.strength == "strong"]
    moderate_inh = [m for m in acting if m.role == "inhibitor" and m.strength == "moderate"]
    strong_ind = [m for m in acting if m.role == "inducer" and m.strength == "strong"]
    if gene == "CYP2D6":
        try:
            score = Decimal((call.activity_score or "").replace("≥", ""))
        except InvalidOperation:
            return None, [*notes, _note(gene, acting, "activity score unknown; not applied")]
        if strong_inh:
            new, rule, by = (
                Decimal(0),
                "strong CYP2D6 inhibitor: activity score set to 0",
                strong_inh,
            )
        elif moderate_inh:
            new, rule, by = (
                score * Decimal("0.5"),
                "moderate CYP2D6 inhibitor: activity score × 0.5",
                moderate_inh,
            )
        else:
            return None, [*notes, _note(gene, acting, "inducers do not change CYP2D6")]
        pheno = cyp2d6_phenotype_from_score(new)
        return _result(call, pheno, _fmt(new), by, rule), notes
    if gene in {"CYP2C19", "CYP2C9"}:
        idx = _class_index(call.phenotype)
        if idx is None:
            return None, [*notes, _note(gene, acting, "phenotype not a metaboliser class")]
        if strong_inh and not strong_ind:
            new_idx, by, rule = (
                max(idx - 1, 0),
                strong_inh,
                f"strong {gene} inhibitor: one class lower",
            )
        elif strong_ind and not strong_inh and gene == "CYP2C19":
            new_idx, by, rule = (
                min(idx + 1, len(CLASSES) - 1),
                strong_ind,
                "strong CYP2C19 inducer: one class higher",
            )
        else:
            return None, [
                *notes,
                _note(gene, acting, "moderate or opposing modulators: not applied"),
            ]
        if new_idx == idx:
            return None, notes
        pheno = CLASSES[new_idx]
        new_score: str | None = None
        if gene == "CYP2C9":
            new_score = CYP2C9_CLASS_SCORE.get(pheno)
            rule += f"; activity score set to the lower bound of the class ({new_score})"
        return _result(call, pheno, new_score, by, rule), notes
    return None, [*notes, _note(gene, acting, "interaction noted; phenotype not converted")]


def _fmt(value: Decimal) -> str:
    return f"{value:.1f}" if value == value.quantize(Decimal("0.1")) else str(value.normalize())


def _note(gene: str, acting: list[Modulator], why: str) -> Caveat:
    drugs = ", ".join(f"{m.drug} ({m.strength} {m.role})" for m in acting)
    return Caveat(
        code="drug_interaction",
        kind=CaveatKind.NOTE,
        message=f"{gene}: concomitant {drugs}; {why}",
    )


def _result(
    call: GeneCall, pheno: str, score: str | None, by: list[Modulator], rule: str
) -> EffectivePhenotype:
    return EffectivePhenotype(
        gene=call.gene,
        genotype_phenotype=call.phenotype,
        genotype_activity_score=call.activity_score,
        effective_phenotype=pheno,
        effective_activity_score=score,
        caused_by=sorted({m.drug for m in by}),
        rule=rule,
        verified=all(m.verified for m in by),
    )
