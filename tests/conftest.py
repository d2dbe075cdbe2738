from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.pgx.caller import CallOptions
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import GeneCall
from testkit.synthetic import VcfBuilder


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return KnowledgeBase()


@pytest.fixture
def builder(kb: KnowledgeBase) -> VcfBuilder:
    return VcfBuilder(kb)


def _call_one(kb: KnowledgeBase, b: VcfBuilder, tmp: Path, gene: str, **opts: object) -> GeneCall:
    path = b.write(tmp / "in.vcf")
    options = CallOptions(genes=[gene], **opts)  # type: ignore[arg-type]
    (res,) = call_vcf(path, kb, None, options)
    (gc,) = res.genes
    return gc


@pytest.fixture
def call_one() -> object:
    return _call_one


def _validated_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate a FHIR R4 Bundle and each of its resources (fhir.resources R4B); return them."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    for r in resources:
        get_fhir_model_class(r["resourceType"]).model_validate(r)
    return resources


@pytest.fixture
def fhir_resources() -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return _validated_resources
