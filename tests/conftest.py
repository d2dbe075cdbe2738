from __future__ import annotations

from pathlib import Path

import pytest

from precisionrx.engines.pgx.caller import CallOptions, call_vcf
from precisionrx.io.synthetic import VcfBuilder
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import GeneCall


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
