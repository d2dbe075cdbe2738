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
