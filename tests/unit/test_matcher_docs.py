"""Golden cases from PharmCAT's Named Allele Matcher 101 documentation (worked examples)."""

from __future__ import annotations

import numpy as np
import pytest

from precisionrx.engines.pgx.matcher import compile_gene, match_sample
from precisionrx.engines.pgx.observe import GeneObservations
from precisionrx.kb.schema import DefinedPosition, GeneDefinition, NamedAllele

ROWS = {  # rs1..rs5 of the documentation's example table
    "*1": ["C", "C", "T", "G", "A"],
    "*2": ["T", None, None, "A", None],
    "*3": [None, None, None, "A", None],
    "*4": [None, "T", None, None, None],
    "*5": ["T", None, None, None, None],
}
ALTS = ["T", "T", "C", "A", "G"]


def definition() -> GeneDefinition:
    positions = tuple(
        DefinedPosition("chr1", 100 + i, f"rs{i + 1}", ROWS["*1"][i], (ALTS[i],)) for i in range(5)
    )
    alleles = []
    for name, row in ROWS.items():
        accepts = tuple(
            frozenset({x if x is not None else ROWS["*1"][i]}) for i, x in enumerate(row)
        )
        alleles.append(NamedAllele(name, tuple(row), accepts, name == "*1"))
    return GeneDefinition("TEST", "chr1", "doc", positions, tuple(alleles))


def observations(genotypes: list[tuple[str, str] | None]) -> GeneObservations:
    defn = definition()
    tables = [[p.ref, *p.alts] for p in defn.positions]
    codes = np.full((1, 5, 2), -1, dtype=np.int16)
    present = np.zeros((1, 5), dtype=bool)
    for j, gt in enumerate(genotypes):
        if gt is None:
            continue
        codes[0, j] = [tables[j].index(gt[0]), tables[j].index(gt[1])]
        present[0, j] = True
    return GeneObservations(
        gene="TEST",
        samples=["S"],
        positions=defn.positions,
        allele_table=tables,
        codes=codes,
        present=present,
        ref_filled=np.zeros((1, 5), dtype=bool),
        phased=np.zeros((1, 5), dtype=bool),
        phase_set=np.zeros((1, 5), dtype=np.int64),
    )


@pytest.mark.parametrize(
    ("genotypes", "expected", "score"),
    [
        # All positions present: *1/*2 (7) beats *3/*5 (2).
        ([("C", "T"), ("C", "C"), ("T", "T"), ("A", "G"), ("A", "A")], ["*1/*2"], 7),
        # rs5 missing: same call, lower score.
        ([("C", "T"), ("C", "C"), ("T", "T"), ("A", "G"), None], ["*1/*2"], 6),
        # rs1 missing: *1/*2 and *1/*3 tie at 5; *5 can never be called.
        ([None, ("C", "C"), ("T", "T"), ("A", "G"), ("A", "A")], ["*1/*2", "*1/*3"], 5),
    ],
)
def test_documented_examples(
    genotypes: list[tuple[str, str] | None], expected: list[str], score: int
) -> None:
    defn = definition()
    obs = observations(genotypes)
    result = match_sample(defn, compile_gene(defn, obs), obs, 0)
    assert sorted(result.diplotypes) == expected
    assert result.score == score


def test_impossible_homozygous_pair_rejected() -> None:
    # *2/*3 would need rs4 homozygous A; the sample is A/G.
    defn = definition()
    obs = observations([("C", "T"), ("C", "C"), ("T", "T"), ("A", "G"), ("A", "A")])
    result = match_sample(defn, compile_gene(defn, obs), obs, 0)
    assert "*2/*3" not in result.diplotypes


def test_phased_strands_fix_the_pair() -> None:
    # Phased C|T at rs1 and G|A at rs4 puts T and A on one strand: *1/*2 only.
    defn = definition()
    obs = observations([("C", "T"), ("C", "C"), ("T", "T"), ("G", "A"), ("A", "A")])
    obs.phased[:] = True
    result = match_sample(defn, compile_gene(defn, obs), obs, 0)
    assert result.diplotypes == ["*1/*2"]
    # Phased with T and A on different strands: *3/*5.
    obs2 = observations([("C", "T"), ("C", "C"), ("T", "T"), ("A", "G"), ("A", "A")])
    obs2.phased[:] = True
    result2 = match_sample(defn, compile_gene(defn, obs2), obs2, 0)
    assert result2.diplotypes == ["*3/*5"]
