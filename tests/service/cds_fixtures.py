"""Builders for CDS Hooks tests: client keys and JWTs, Genomics Reporting Observations,
medication orders and hook requests (shared by the service tests and the CDS benchmark)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ISSUER = "https://ehr.example.org"
PUBLIC_URL = "https://cds.example.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
#: HGNC ids of the genes used (genenames.org).
HGNC = {"CYP2C19": "HGNC:2621", "CYP2D6": "HGNC:2625", "SLCO1B1": "HGNC:10959",
        "HLA-B": "HGNC:4932", "CYP2C9": "HGNC:2623", "HLA-A": "HGNC:4931"}  # fmt: skip


class Client:
    """A CDS client: an EC P-384 key, its JWK Set, and JWTs signed with it."""

    def __init__(self, issuer: str = ISSUER, kid: str = "ehr-1") -> None:
        self.issuer = issuer
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP384R1())

    def jwks(self, organisation: str | None = None) -> dict[str, Any]:
        jwk = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "ES384"})
        out: dict[str, Any] = {"keys": [jwk]}
        if organisation:
            out["precisionrx_organisation"] = organisation
        return out

    def token(self, service: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": f"{PUBLIC_URL}/cds-services/{service}",
                "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}  # fmt: skip
        body.update(claims)
        return jwt.encode(body, self.key, algorithm="ES384", headers={"kid": self.kid})

    def headers(self, service: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(service, **claims)}"}


def genotype(oid: str, gene: str, value: str, patient: str = "p1") -> dict[str, Any]:
    """A Genomics Reporting 3.0 Genotype Observation (LOINC 84413-4) stating ``value``
    (``CYP2C19*2/CYP2C19*2`` style, or a GL string for HLA)."""
    return {
        "resourceType": "Observation", "id": oid, "status": "final",
        "meta": {"profile": [
            "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/genotype"]},
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "84413-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueCodeableConcept": {"text": value},
        "component": [{
            "code": {"coding": [{"system": "http://loinc.org", "code": "48018-6"}]},
            "valueCodeableConcept": {"coding": [{
                "system": "http://www.genenames.org", "code": HGNC[gene], "display": gene}]}}],
    }  # fmt: skip


def diplotype(oid: str, gene: str, a: str, b: str, patient: str = "p1") -> dict[str, Any]:
    return genotype(oid, gene, f"{gene}{a}/{gene}{b}", patient)


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": r} for r in resources]}  # fmt: skip


def order(oid: str, name: str, code: str | None = None, status: str = "draft",
          patient: str = "p1") -> dict[str, Any]:  # fmt: skip
    """A MedicationRequest naming the drug by RxNorm coding (with ``code``) or by text."""
    concept: dict[str, Any] = {"text": name}
    if code:
        concept = {"coding": [{"system": RXNORM, "code": code, "display": name}]}
    return {"resourceType": "MedicationRequest", "id": oid, "status": status,
            "intent": "order", "medicationCodeableConcept": concept,
            "subject": {"reference": f"Patient/{patient}"}}  # fmt: skip


def request(
    hook: str,
    drafts: list[dict[str, Any]] | None = None,
    *,
    genotypes: Any = None,
    medications: Any = None,
    selections: list[str] | None = None,
    patient: str = "p1",
    prefetch: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A hook request; ``genotypes`` / ``medications`` are prefetch values (None: key sent
    as null); ``prefetch=False`` sends no prefetch at all."""
    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": patient}
    if hook != "patient-view":
        context["draftOrders"] = {"resourceType": "Bundle", "entry": [
            {"resource": d} for d in drafts or []]}  # fmt: skip
    if selections is not None:
        context["selections"] = selections
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if prefetch:
        body["prefetch"] = {"patient": {"resourceType": "Patient", "id": patient},
                            "genotypes": genotypes, "implications": None,
                            "medications": medications}  # fmt: skip
    body.update(extra)
    return body
