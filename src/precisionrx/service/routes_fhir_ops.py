"""HL7 genomics-operations on stored patients (``/api/v1/fhir/$find-subject-...``).

``GET /fhir/$find-subject-haplotypes`` and ``GET /fhir/$find-subject-tx-implications`` of the
Genomics Reporting IG 3.0.0, answered as the HL7 reference server (FHIR/genomics-operations)
answers them: a FHIR ``Parameters`` resource (application/fhir+json). The shapes and the
parameters are in :mod:`precisionrx.report.fhir.operations` and docs/fhir.md ("Genomics
operations"). Access is that of the plan: a clinician of the patient's organisation or the
patient themself (else 404), the patient's consent to genetic data (label GDIS; else 403), and
an audit row. The stored genotypes are those of the latest stored plan. Errors are FHIR
``OperationOutcome`` resources.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from precisionrx.records import SampleResult
from precisionrx.report.fhir import operations as ops
from precisionrx.report.fhir.common import instant, now
from precisionrx.security.tokens import Identity, Role
from precisionrx.service.auth import identity, roles
from precisionrx.service.routes_patients import purpose_of, state_of
from precisionrx.service.state import GENOMIC, ServiceState

router = APIRouter(tags=["fhir"])
Who = Annotated[Identity, Depends(identity)]
FHIR_JSON = "application/fhir+json"

_OUTCOME = {FHIR_JSON: {"schema": {"type": "object"}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}},
          "description": "A FHIR Parameters resource."},
    400: {"content": _OUTCOME, "description": "a parameter cannot be used (OperationOutcome)"},
    403: {"content": _OUTCOME, "description": "the patient's consent does not permit this"},
    404: {"content": _OUTCOME, "description": "no such patient, or no plan yet"},
}  # fmt: skip

Subject = Annotated[
    str | None,
    Query(
        description="The patient: `ID` or `Patient/ID`. Required, except with a patient's own "
        "token (then it is that patient).",
    ),
]
SourceClass = Annotated[
    str | None,
    Query(alias="genomicSourceClass", description="`germline` (default) or `somatic`."),
]


def _outcome(status: int, message: str, issue: str) -> Response:
    return Response(
        ops.fhir_text(ops.operation_outcome(message, issue)),
        status_code=status,
        media_type=FHIR_JSON,
    )


def _from_http(exc: HTTPException) -> Response:
    issue = {400: "invalid", 403: "forbidden", 404: "not-found"}.get(exc.status_code, "processing")
    return _outcome(exc.status_code, str(exc.detail), issue)


def _subject(given: str | None, who: Identity) -> str:
    if (given is None or not given.strip()) and who.role is Role.patient and who.patient:
        return who.patient
    return ops.subject_id(given)


def _gate(state: ServiceState, request: Request, who: Identity, pid: str, action: str) -> str:
    """Reachability (404) and consent to genetic data (403); the purpose of use."""
    state.reachable(who, pid, action)
    purpose = purpose_of(request, who)
    state.consent_gate(who, pid, purpose=purpose, action=action, consent_action="access",
                       resource_type="Observation", labels=GENOMIC)  # fmt: skip
    return purpose


def _stored(state: ServiceState, pid: str, other: str = "") -> tuple[str, list[SampleResult], str]:
    """(plan id, the pgx results, the plan's time) of the latest stored plan (404 if none;
    ``other``: what else the caller could do)."""
    found = state.store.latest_plan(pid)
    if found is None:
        raise HTTPException(
            404,
            "no plan yet, so no stored genotypes: make one first (POST "
            f"/api/v1/patients/{pid}/plans){other}",
        )
    from precisionrx.plan.model import TreatmentPlan

    plan_id, text, created = found
    return plan_id, TreatmentPlan.model_validate_json(text).pgx, instant(created)


@router.get(
    "/fhir/$find-subject-haplotypes",
    response_class=Response,
    responses=RESPONSES,
    **roles(Role.clinician, Role.patient),
)
def find_subject_haplotypes(
    request: Request,
    who: Who,
    subject: Subject = None,
    genes: Annotated[
        list[str] | None,
        Query(
            description="Genes: symbols (`CYP2C19`) or HGNC codes "
            "(`http://www.genenames.org|HGNC:2621`), comma-separated or repeated; "
            "default every called gene."
        ),
    ] = None,
    genomic_source_class: SourceClass = None,
) -> Response:
    """The patient's genotypes (Genotype Observations, LOINC 84413-4) from the latest stored
    plan: one `haplotypes` parameter per gene with `geneItem` and `genotype` parts."""
    action = "fhir.find-subject-haplotypes"
    state = state_of(request)
    try:
        ops.refuse_unsupported("find-subject-haplotypes", request.query_params.keys())
        pid = _subject(subject, who)
        asked = ops.parse_genes(ops.values_of("genes", genes)) or None
        germline = ops.germline_wanted(genomic_source_class)
        with state.store.session():  # the reads below share one database connection
            purpose = _gate(state, request, who, pid, action)
            plan_id, results, issued = _stored(state, pid)
    except ops.OperationInputError as exc:
        return _outcome(400, exc.render(), exc.issue)
    except HTTPException as exc:
        return _from_http(exc)
    params = ops.find_subject_haplotypes(state.kb, results if germline else [], pid, issued, asked)
    count = sum(
        1 for p in params.get("parameter", []) for x in p["part"] if x["name"] == "genotype"
    )
    state.audit(who, action, patient_id=pid, purpose=purpose,
                detail=f"plan {plan_id}; {count} genotype(s)")  # fmt: skip
    return Response(ops.fhir_text(params), media_type=FHIR_JSON, headers={"X-Plan-Id": plan_id})


@router.get(
    "/fhir/$find-subject-tx-implications",
    response_class=Response,
    responses=RESPONSES,
    **roles(Role.clinician, Role.patient),
)
def find_subject_tx_implications(
    request: Request,
    who: Who,
    subject: Subject = None,
    haplotypes: Annotated[
        list[str] | None,
        Query(
            description="Diplotypes to interpret, `GENE *a/*b` (`CYP2C19 *2/*2`, "
            "`HLA-B*57:01`), one per gene, comma-separated or repeated; default the "
            "patient's stored genotypes."
        ),
    ] = None,
    treatments: Annotated[
        list[str] | None,
        Query(
            description="Drugs: RxNorm codes "
            "(`http://www.nlm.nih.gov/research/umls/rxnorm|32968`) or names; default "
            "every drug with pharmacogenomic guidance."
        ),
    ] = None,
    genomic_source_class: SourceClass = None,
) -> Response:
    """CPIC/DPWG therapeutic implications (TherapeuticImplication Observations) of the given
    diplotypes, or of the patient's stored genotypes: one `implications` parameter each, with
    the `implication` and the `genotype`(s) it derives from."""
    action = "fhir.find-subject-tx-implications"
    state = state_of(request)
    try:
        ops.refuse_unsupported("find-subject-tx-implications", request.query_params.keys())
        pid = _subject(subject, who)
        calls = ops.parse_haplotypes(state.kb, ops.values_of("haplotypes", haplotypes))
        given = ops.values_of("treatments", treatments)
        drugs = ops.parse_treatments(state.kb, given) if given else None
        germline = ops.germline_wanted(genomic_source_class)
        with state.store.session():  # the reads below share one database connection
            purpose = _gate(state, request, who, pid, action)
            plan_id, results = None, list[SampleResult]()
            if not calls:
                plan_id, results, _ = _stored(state, pid, ", or give haplotypes=GENE *a/*b")
    except ops.OperationInputError as exc:
        return _outcome(400, exc.render(), exc.issue)
    except HTTPException as exc:
        return _from_http(exc)
    if calls:
        results = [ops.given_genotypes(state.kb, calls, pid)]
    params = ops.find_subject_tx_implications(
        state.kb, results if germline else [], pid, now(), drugs
    )
    count = len(params.get("parameter", []))
    where = f"plan {plan_id}" if plan_id else f"{len(calls)} given diplotype(s)"
    state.audit(who, action, patient_id=pid, purpose=purpose,
                detail=f"{where}; {count} implication(s)")  # fmt: skip
    headers = {"X-Plan-Id": plan_id} if plan_id else {}
    return Response(ops.fhir_text(params), media_type=FHIR_JSON, headers=headers)
