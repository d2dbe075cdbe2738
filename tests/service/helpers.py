"""The demo patient as the service receives it: the record as JSON, and its files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEMO = Path(str(resources.files("precisionrx.demo")))


def demo_record(**changes: Any) -> dict[str, Any]:
    """The demo patient file's fields without file paths (files are uploaded)."""
    data: dict[str, Any] = yaml.safe_load((DEMO / "patient.yaml").read_text())
    data.pop("genomic_inputs", None)
    data.pop("monitoring", None)
    data.update(changes)
    return data


#: (kind, file, form fields) of the demo's files.
DEMO_FILES: list[tuple[str, Path, dict[str, str]]] = [
    ("germline_vcf", DEMO / "demo.vcf", {"genome_build": "GRCh38"}),
    ("tumor_maf", DEMO / "tumour.maf",
     {"genome_build": "GRCh38", "tumor_type": "COADREAD", "msi": "MSS"}),
    ("cgm", DEMO / "cgm.csv", {"timezone": "Europe/London"}),
]  # fmt: skip


def withhold_genetic_data(client: Any, token: str, pid: str) -> None:
    """Store the patient's consent: permit, except data labelled GDIS (genetic information)."""
    consent = {"resourceType": "Consent", "id": "c-gdis", "status": "active",
               "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                     "code": "patient-privacy"}]},
               "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
               "patient": {"reference": f"Patient/{pid}"}, "dateTime": "2020-01-01T00:00:00Z",
               "provision": {"type": "permit", "provision": [{"type": "deny", "securityLabel": [
                   {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "GDIS"}]}]}}  # fmt: skip
    r = client.put(f"/api/v1/patients/{pid}/consents", json=consent,
                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 200, r.text
