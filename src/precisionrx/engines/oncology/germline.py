"""Germline cross-check: every suggested drug through the pharmacogenomic prescribing engine.

Each drug is reviewed as if added to the patient's current medications, so phenoconversion
counts too (tamoxifen with a CYP2D6 inhibitor the patient already takes). A review with status
``action`` or ``caution`` is a conflict shown next to the therapy; ``not_determined`` means a
guideline exists but the genotype of its gene could not be determined from the VCF.
"""

from __future__ import annotations

from typing import Literal

from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Medication, PatientRecord, SampleResult
from precisionrx.records.oncology import GermlineConflict, GermlineRecommendation


def germline_conflicts(
    kb: KnowledgeBase,
    results: list[SampleResult],
    drugs: list[str],
    patient: PatientRecord | None = None,
) -> list[GermlineConflict]:
    """The conflicts of ``drugs`` (lower case) with each germline result."""
    current = list(patient.medications) if patient else []
    out: list[GermlineConflict] = []
    for res in results:
        taken = {m.name.lower() for m in current}
        candidates = [Medication(name=d, status="proposed") for d in drugs if d not in taken]
        probe = prescribed(kb, res, [*current, *candidates], patient=patient)
        seen: set[str] = set()
        for review in probe.medication_review or []:
            name = review.medication.lower()
            if name not in drugs or name in seen or review.status not in ("action", "caution"):
                continue
            seen.add(name)
            matched = [r for r in review.recommendations if r.matched]
            # "not_determined": guidance exists but the genotype was not determined
            status: Literal["action", "caution", "not_determined"] = "not_determined"
            if matched:
                status = "action" if review.status == "action" else "caution"
            out.append(
                GermlineConflict(
                    drug=review.medication,
                    sample=res.sample,
                    status=status,
                    genes=sorted({g for r in review.recommendations for g in r.genes}),
                    recommendations=[
                        GermlineRecommendation(
                            source=r.source,
                            lookup_keys=r.lookup_keys,
                            classification=r.classification,
                            text=r.text,
                            phenotype_basis=r.phenotype_basis,
                            caused_by=r.caused_by,
                            guideline=r.guideline,
                        )
                        for r in matched
                    ],
                )
            )
    return out
