"""Germline cross-check: every suggested drug through the pharmacogenomic prescribing engine.

Each drug is reviewed as if added to the patient's current medications, so phenoconversion
counts too (tamoxifen with a CYP2D6 inhibitor the patient already takes). A review with status
``action`` or ``caution`` is a conflict shown next to the therapy; ``not_determined`` means a
guideline exists but the genotype of its gene could not be determined from the VCF.
"""

from __future__ import annotations

from typing import Any

from precisionrx.engines.pgx.recommender import prescribe
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Medication, PatientRecord, SampleResult


def germline_conflicts(
    kb: KnowledgeBase,
    results: list[SampleResult],
    drugs: list[str],
    patient: PatientRecord | None = None,
) -> list[dict[str, Any]]:
    current = list(patient.medications) if patient else []
    out: list[dict[str, Any]] = []
    for res in results:
        probe = res.model_copy(deep=True)
        taken = {m.name.lower() for m in current}
        candidates = [Medication(name=d, status="proposed") for d in drugs if d not in taken]
        prescribe(kb, probe, [*current, *candidates], patient=patient)
        seen: set[str] = set()
        for review in probe.medication_review or []:
            name = review.medication.lower()
            if name not in drugs or name in seen or review.status not in ("action", "caution"):
                continue
            seen.add(name)
            matched = [r for r in review.recommendations if r.matched]
            out.append(
                {
                    "drug": review.medication,
                    "sample": res.sample,
                    # "not_determined": guidance exists but the genotype was not determined
                    "status": review.status if matched else "not_determined",
                    "genes": sorted({g for r in review.recommendations for g in r.genes}),
                    "recommendations": [
                        {
                            "source": r.source,
                            "lookup_keys": r.lookup_keys,
                            "classification": r.classification,
                            "text": r.text,
                            "phenotype_basis": r.phenotype_basis,
                            "caused_by": r.caused_by,
                            "guideline": r.guideline,
                        }
                        for r in matched
                    ],
                }
            )
    return out
