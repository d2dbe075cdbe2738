"""Knowledge-base data tests: versions, checksums, tamper detection, schema sanity."""

from __future__ import annotations

import shutil
from pathlib import Path

from precisionrx.kb.registry import KnowledgeBase, data_root, list_kbs, verify_kbs


def test_every_kb_has_about_and_verifies() -> None:
    infos = {i.name: i for i in list_kbs()}
    assert {"pharmcat", "pypgx", "frequencies_1kgp"} <= set(infos)
    for info in infos.values():
        assert info.version and info.license and len(info.sha256) == 64 and info.files
    assert verify_kbs() == []


def test_tampering_is_detected(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(data_root(), copy)
    target = copy / "pypgx" / "allele_functions.tsv"
    target.write_text(target.read_text() + "G6PD\tfake\tNormal\n")
    (copy / "pypgx" / "extra.txt").write_text("x")
    problems = {(p.kb, p.file) for p in verify_kbs(copy)}
    assert ("pypgx", "allele_functions.tsv") in problems
    assert ("pypgx", "extra.txt") in problems


def test_definitions_are_consistent(kb: KnowledgeBase) -> None:
    assert len(kb.genes) == 20
    for gene in kb.genes:
        d = kb.definition(gene)
        assert d.reference_allele.reference
        assert all(len(a.defined) == len(d.positions) for a in d.alleles)
        assert all(p.ref for p in d.positions)
    g6pd = kb.definition("G6PD")
    assert "Mediterranean Haplotype" not in [a.name for a in g6pd.alleles]
    assert 154532439 not in [p.position for p in g6pd.positions]
    assert kb.definition("NAT2").exemptions.required_positions
    assert kb.definition("CYP2C9").exemptions.extra_positions[0].rsid == "rs12777823"
