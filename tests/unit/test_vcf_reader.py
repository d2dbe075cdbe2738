"""Property tests for the VCF reader and allele normaliser."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.pgx.caller import CallOptions
from precisionrx.engines.pgx.normalizer import edit_of, match_allele
from precisionrx.kb.registry import KnowledgeBase
from testkit.synthetic import VcfBuilder

KB = KnowledgeBase()
CYP2C19 = KB.definition("CYP2C19")
SNVS = [p for p in CYP2C19.positions if len(p.ref) == 1 and all(len(a) == 1 for a in p.alts)]

bases = st.sampled_from("ACGT")


@given(prefix=st.text("ACGT", max_size=4), ins=st.text("ACGT", min_size=1, max_size=5))
def test_padding_does_not_change_the_edit(prefix: str, ins: str) -> None:
    anchor = 1000
    ref = "G" + prefix
    plain = edit_of(anchor, "G", "G" + ins, anchor)
    padded = edit_of(anchor, ref, "G" + ins + prefix, anchor)
    assert plain == padded


@given(seq=st.text("ACGT", min_size=1, max_size=6))
def test_identity_edit_maps_to_reference(seq: str) -> None:
    assert match_allele(10, seq, seq, 10, seq, [seq]) == seq


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gts=st.lists(
        st.tuples(st.sampled_from([0, 1]), st.sampled_from([0, 1]), st.booleans()),
        min_size=len(SNVS),
        max_size=len(SNVS),
    ),
    prefix=st.booleans(),
)
def test_reader_reports_exactly_the_genotypes_written(
    gts: list[tuple[int, int, bool]], prefix: bool
) -> None:
    b = VcfBuilder(KB, chr_prefix=prefix)
    expected = []
    for pos, (x, y, phased) in zip(SNVS, gts, strict=True):
        alleles = [pos.ref, pos.alts[0]]
        sep = "|" if phased else "/"
        b.genotype("CYP2C19", pos.position, f"{alleles[x]}{sep}{alleles[y]}")
        if x or y:
            expected.append(f"{pos.label} {alleles[x]}/{alleles[y]}")
    with tempfile.TemporaryDirectory() as tmp:
        path = b.write(Path(tmp) / "p.vcf")
        (res,) = call_vcf(path, KB, None, CallOptions(genes=["CYP2C19"]))
    gc = res.genes[0]
    assert gc.positions.found == len(SNVS)
    assert len(gc.positions.missing) == gc.positions.total - len(SNVS)
    assert sorted(gc.variants) == sorted(expected)
