"""Chain-file liftover (kb/liftover.py): hand-computed chains, known variants, the PyPGx
dual-build golden set in both directions, round trips, speed and malformed chain files."""

from __future__ import annotations

import csv
import functools
import gzip
import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from precisionrx.errors import KbIntegrityError
from precisionrx.kb.liftover import (
    PRIMARY,
    Chain,
    LiftedInterval,
    LiftedPosition,
    LiftedVariant,
    Unlifted,
    Unmapped,
    ensembl_chrom,
    lift_interval,
    lift_position,
    lift_positions,
    lift_variant,
    packaged_chain,
    parse_chain,
    read_chain,
    reverse_complement,
)
from precisionrx.kb.registry import data_root

# Source "1" (1,000 bp) -> target "1" (1,200 bp). 0-based half-open, as in the chain format:
#   A: t[100,200) -> q[150,250) (+50); gap t[200,250); t[250,400) -> q[260,410) (+10)
#   B: t[500,600) -> reverse strand q[100,200), i.e. forward 1-based target = 1601 - source
#   C: source "2" -> target "5" (another chromosome)
#   D: source "3" 1..100 -> patch HG1_PATCH, and 51..150 -> "3" (+10): the primary one wins
#   E/F: source "3" 301..400 (+0) and 351..450 (+100): 351..400 maps twice
TOY = """\
chain 100 1 1000 + 100 400 1 1200 + 150 410 1
100 50 10
150

chain 100 1 1000 + 500 600 1 1200 - 100 200 2
100

chain 100 2 800 + 0 100 5 900 + 0 100 3
100

chain 100 3 500 + 0 100 HG1_PATCH 500 + 0 100 4
100

chain 100 3 500 + 50 150 3 600 + 60 160 5
100

chain 100 3 500 + 300 400 3 600 + 300 400 6
100

chain 100 3 500 + 350 450 3 600 + 450 550 7
100
"""


def toy() -> Chain:
    return parse_chain(TOY.splitlines(), name="toy", source_build="GRCh37", target_build="GRCh38")


@pytest.fixture(scope="module")
def forward() -> Chain:
    return packaged_chain("GRCh37", "GRCh38")


@pytest.fixture(scope="module")
def back() -> Chain:
    return packaged_chain("GRCh38", "GRCh37")


def reason(result: object) -> Unlifted:
    assert isinstance(result, Unmapped), result
    return result.reason


@pytest.mark.parametrize(
    ("chrom", "pos", "expected"),
    [
        ("1", 101, LiftedPosition("1", 151, "+")),  # first base of block 1
        ("chr1", 200, LiftedPosition("1", 250, "+")),  # last base of block 1, chr prefix
        ("1", 251, LiftedPosition("1", 261, "+")),
        ("1", 400, LiftedPosition("1", 410, "+")),
        ("1", 501, LiftedPosition("1", 1100, "-")),  # minus strand: 1601 - pos
        ("1", 600, LiftedPosition("1", 1001, "-")),
        ("3", 60, LiftedPosition("3", 70, "+")),  # also on the patch: primary chromosome wins
        ("3", 310, LiftedPosition("3", 310, "+")),
        ("3", 410, LiftedPosition("3", 510, "+")),
    ],
)
def test_toy_positions(chrom: str, pos: int, expected: LiftedPosition) -> None:
    assert lift_position(toy(), chrom, pos) == expected


@pytest.mark.parametrize(
    ("chrom", "pos", "why"),
    [
        ("1", 201, Unlifted.GAP),  # chain gap
        ("1", 250, Unlifted.GAP),
        ("1", 100, Unlifted.GAP),  # before the first chain
        ("1", 450, Unlifted.GAP),  # between chains
        ("1", 0, Unlifted.BAD_POSITION),
        ("2", 10, Unlifted.OTHER_CHROMOSOME),
        ("3", 10, Unlifted.OTHER_CHROMOSOME),  # only on a patch sequence
        ("3", 360, Unlifted.MULTIPLE),
        ("4", 10, Unlifted.UNKNOWN_CHROMOSOME),
    ],
)
def test_toy_failures_are_reported(chrom: str, pos: int, why: Unlifted) -> None:
    result = lift_position(toy(), chrom, pos)
    assert reason(result) is why
    assert str(result) == f"failed:{why.value}"


def test_toy_intervals() -> None:
    c = toy()
    assert lift_interval(c, "1", 120, 130) == LiftedInterval("1", 170, 180, "+")
    assert lift_interval(c, "1", 520, 530) == LiftedInterval("1", 1071, 1081, "-")
    assert reason(lift_interval(c, "1", 190, 260)) is Unlifted.BLOCK_BOUNDARY  # two blocks
    assert reason(lift_interval(c, "1", 195, 205)) is Unlifted.BLOCK_BOUNDARY  # ends in the gap
    assert reason(lift_interval(c, "1", 205, 260)) is Unlifted.GAP  # starts in the gap
    assert reason(lift_interval(c, "3", 340, 355)) is Unlifted.MULTIPLE
    assert reason(lift_interval(c, "1", 130, 120)) is Unlifted.BAD_POSITION


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        # plus strand: position shifts, alleles kept (upper-cased)
        (("1", 150, "c", "t"), LiftedVariant("1", 200, "C", "T", "+")),
        (("1", 199, "A", "AT"), LiftedVariant("1", 249, "A", "AT", "+")),
        # minus strand: REF/ALT reverse-complemented, position = lowest target base
        (("1", 510, "A", "G"), LiftedVariant("1", 1091, "T", "C", "-")),
        (("1", 510, "AC", "GT"), LiftedVariant("1", 1090, "GT", "AC", "-")),
        (("1", 510, "ACG", "-"), LiftedVariant("1", 1089, "CGT", "-", "-")),  # MAF deletion
        (("1", 510, "-", "TTG"), LiftedVariant("1", 1090, "-", "CAA", "-")),  # MAF insertion
    ],
)
def test_toy_variants(variant: tuple[str, int, str, str], expected: LiftedVariant) -> None:
    lifted = lift_variant(toy(), *variant)
    assert lifted == expected
    assert lifted.method == ("chain+" if expected.strand == "+" else "chain-revcomp")


@pytest.mark.parametrize(
    ("variant", "why"),
    [
        (("1", 510, "ACG", "A"), Unlifted.MINUS_STRAND_INDEL),  # padding base unknown
        (("1", 510, "A", "AGG"), Unlifted.MINUS_STRAND_INDEL),
        (("1", 200, "A", "AT"), Unlifted.BLOCK_BOUNDARY),  # insertion point at the block end
        (("1", 198, "ACGT", "A"), Unlifted.BLOCK_BOUNDARY),  # deletion into the gap
        (("1", 200, "-", "T"), Unlifted.BLOCK_BOUNDARY),  # MAF insertion at the block end
        (("1", 150, "C", "G/A"), Unlifted.BAD_ALLELE),
        (("1", 150, "<DEL>", "C"), Unlifted.BAD_ALLELE),
        (("2", 50, "A", "T"), Unlifted.OTHER_CHROMOSOME),
    ],
)
def test_toy_variant_failures(variant: tuple[str, int, str, str], why: Unlifted) -> None:
    assert reason(lift_variant(toy(), *variant)) is why


def test_vectorised_equals_scalar_on_every_toy_position() -> None:
    c = toy()
    chroms = [ch for ch in ("1", "2", "3", "4", "chr3") for _ in range(1002)]
    pos = [p for _ in range(5) for p in range(1002)]
    many = lift_positions(c, chroms, pos)
    for i, (ch, p) in enumerate(zip(chroms, pos, strict=True)):
        one = lift_position(c, ch, p)
        if isinstance(one, Unmapped):
            assert (many.reason[i], many.pos[i], many.chrom[i]) == (one.reason.value, 0, "")
        else:
            strand = 1 if one.strand == "+" else -1
            assert (many.chrom[i], int(many.pos[i]), int(many.strand[i])) == (
                one.chrom, one.pos, strand,
            )  # fmt: skip


@given(data=st.data(), size=st.integers(1, 4))
def test_minus_strand_block_inverts_the_strand(data: st.DataObject, size: int) -> None:
    pos = data.draw(st.integers(501, 601 - size))
    ref = data.draw(st.text("ACGT", min_size=size, max_size=size))
    alt = data.draw(st.text("ACGT", min_size=size, max_size=size))
    lifted = lift_variant(toy(), "1", pos, ref, alt)
    assert isinstance(lifted, LiftedVariant) and lifted.strand == "-"
    # the last source base of REF is the first target base; alleles read on the other strand
    assert lifted.pos == 1601 - (pos + len(ref) - 1)
    assert (reverse_complement(lifted.ref), reverse_complement(lifted.alt)) == (ref, alt)


# -- the packaged Ensembl chains --------------------------------------------------------------

KNOWN = [
    # (gene change, GRCh37 chrom, pos, REF, ALT, GRCh38 pos): positions as in ClinVar/COSMIC
    ("BRAF V600E c.1799T>A", "7", 140453136, "A", "T", 140753336),
    ("EGFR L858R c.2573T>G", "7", 55259515, "T", "G", 55191822),
    ("KRAS G12C c.34G>T", "12", 25398285, "C", "A", 25245351),
]


@pytest.mark.parametrize(("name", "chrom", "pos37", "ref", "alt", "pos38"), KNOWN)
def test_known_hotspots_both_directions(
    forward: Chain, back: Chain, name: str, chrom: str, pos37: int, ref: str, alt: str, pos38: int
) -> None:
    assert lift_variant(forward, chrom, pos37, ref, alt) == LiftedVariant(
        chrom, pos38, ref, alt, "+"
    )
    assert lift_variant(back, f"chr{chrom}", pos38, ref, alt) == LiftedVariant(
        chrom, pos37, ref, alt, "+"
    )


def _golden_rows() -> list[tuple[str, int, int, str, str, str]]:
    """PyPGx's variant table (both builds, checked against dbSNP by PyPGx): the packaged
    subset, plus the full 1,246-variant table when ../shared is present."""
    out = []
    with (data_root() / "pypgx" / "variants_dual_build.tsv").open() as fh:
        rows = csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t")
        for r in rows:
            out.append((r["chrom"], int(r["grch37_pos"]), int(r["grch38_pos"]), r["grch37_ref"],
                        r["grch38_ref"], r["alt"]))  # fmt: skip
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "pgx" / "pypgx"
    if (shared / "variant-table.csv").is_file():
        with (shared / "variant-table.csv").open() as fh:
            for r in csv.DictReader(fh):
                out.append((r["Chromosome"], int(r["GRCh37Position"]), int(r["GRCh38Position"]),
                            r["GRCh37Allele"], r["GRCh38Allele"], r["Variant"]))  # fmt: skip
    return out


def test_pypgx_dual_build_golden_set_both_directions(forward: Chain, back: Chain) -> None:
    golden = _golden_rows()
    assert len(golden) >= 800
    for chrom, p37, p38, ref37, ref38, alt in golden:
        there = lift_variant(forward, chrom, p37, ref37, alt)
        assert isinstance(there, LiftedVariant), (chrom, p37, there)
        assert (there.chrom, there.pos) == (ensembl_chrom(chrom), p38)
        home = lift_variant(back, chrom, p38, ref38, alt)
        assert isinstance(home, LiftedVariant), (chrom, p38, home)
        assert (home.chrom, home.pos) == (ensembl_chrom(chrom), p37)
    # the golden set's positions, vectorised, agree too
    many = lift_positions(forward, [g[0] for g in golden], [g[1] for g in golden])
    assert many.pos.tolist() == [g[2] for g in golden]


def test_real_minus_strand_block_round_trips(forward: Chain, back: Chain) -> None:
    # GRCh37 chr1:317,720-471,368 is aligned to the reverse strand of GRCh38 (chain 2 of the file)
    lifted = lift_variant(forward, "1", 400_000, "A", "G")
    assert isinstance(lifted, LiftedVariant) and lifted.strand == "-"
    assert (lifted.ref, lifted.alt, lifted.method) == ("T", "C", "chain-revcomp")
    assert lift_variant(back, lifted.chrom, lifted.pos, lifted.ref, lifted.alt) == LiftedVariant(
        "1", 400_000, "A", "G", "-"
    )


@functools.cache
def _chrom_ends(source_build: str, target_build: str) -> dict[str, int]:
    chain = packaged_chain(source_build, target_build)
    return {c: int(chain.aligned(c)[1].max()) for c in PRIMARY}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chrom=st.sampled_from(sorted(PRIMARY)), fraction=st.floats(0, 1))
def test_round_trip_37_38_37(chrom: str, fraction: float) -> None:
    fwd, rev = packaged_chain("GRCh37", "GRCh38"), packaged_chain("GRCh38", "GRCh37")
    pos = max(1, round(fraction * _chrom_ends("GRCh37", "GRCh38")[chrom]))
    there = lift_position(fwd, chrom, pos)
    assume(isinstance(there, LiftedPosition))
    home = lift_position(rev, there.chrom, there.pos)
    assume(isinstance(home, LiftedPosition))  # both chains cover it
    assert (home.chrom, home.pos, home.strand) == (chrom, pos, there.strand)


def test_round_trip_at_every_block_edge(forward: Chain, back: Chain) -> None:
    """Exhaustive version of the property: first, middle and last base of all 18,000 primary
    GRCh37 blocks come back to themselves whenever GRCh38 -> GRCh37 covers them uniquely."""
    checked = 0
    for chrom in sorted(PRIMARY):
        first, last = forward.aligned(chrom)
        pos = np.concatenate([first, (first + last) // 2, last])
        there = lift_positions(forward, chrom, pos)
        assert there.mapped.all()
        home = lift_positions(back, there.chrom, there.pos)
        ok = home.mapped
        assert (home.pos[ok] == pos[ok]).all() and set(np.array(home.chrom)[ok]) == {chrom}
        assert (home.strand[ok] == there.strand[ok]).all()
        checked += int(ok.sum())
    assert checked > 50_000


def test_fifty_thousand_positions_well_under_a_second(forward: Chain) -> None:
    rng = np.random.default_rng(11)
    chroms = [str(c) for c in rng.integers(1, 23, 50_000)]
    pos = rng.integers(1, 100_000_000, 50_000)
    t0 = time.perf_counter()
    out = lift_positions(forward, chroms, pos)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, elapsed  # under 0.1 s on a 2-core box
    assert out.mapped.sum() > 40_000


def test_packaged_chains_are_the_recorded_files(forward: Chain, back: Chain) -> None:
    about = json.loads((data_root() / "genome" / "about.json").read_text())
    assert about["files"]["GRCh37_to_GRCh38.chain.gz"] == forward.sha256
    assert about["files"]["GRCh38_to_GRCh37.chain.gz"] == back.sha256
    assert packaged_chain("GRCh37", "GRCh38") is forward  # read once per process
    assert (forward.n_chains, back.n_chains) == (3004, 22364)


# -- malformed chain files --------------------------------------------------------------------

MALFORMED = [
    ("chain 1 1 1000 + 0 10 1 1000 + 0 10 1\n10 0 0\n", "line 1", "no final block"),
    ("chain 1 1 1000 + 0 10 1 1000 + 0\n10\n", "line 1", "11 fields"),
    ("chain 1 1 1000 + 0 10 1 1000 + 0 x 1\n10\n", "line 1", "non-numeric"),
    ("chain 1 1 1000 + 0 10 1 1000 * 0 10 1\n10\n", "line 1", "strands"),
    ("chain 1 1 1000 + 0 2000 1 1000 + 0 10 1\n10\n", "line 1", "outside the sequence"),
    ("chain 1 1 1000 + 0 12 1 1000 + 0 12 1\n5 1 1\n5\n", "line 1", "do not add up"),
    ("chain 1 1 1000 + 0 10 1 1000 + 0 10 1\n5 0 0\nfive\n", "line 3", "data 'five'"),
    ("chain 1 1 1000 + 0 10 1 1000 + 0 10 1\n5 0\n5\n", "line 2", "got 2 fields"),
    ("chain 1 1 1000 + 0 10 1 1000 + 0 10 1\n5 x 0\n5\n", "line 2", "non-numeric"),
    ("chain 1 1 1000 + 0 10 1 1000 + 0 10 1\n0 0 0\n10\n", "line 2", "positive"),
    ("chain 1 1 1000 + 0 10 1 1000 + 0 10 1\n5 -1 1\n6\n", "line 2", "positive"),
    ("10 0 0\n", "line 1", "outside a chain"),
    (
        "chain 1 1 1000 + 0 10 1 1000 + 0 10 1\n10\nchain 1 1 999 + 0 10 1 1000 + 0 10 2\n10\n",
        "line 3",
        "two different sizes",
    ),
    ("# nothing here\n", None, "no 'chain' header"),
]


@pytest.mark.parametrize(("text", "where", "problem"), MALFORMED)
def test_malformed_chain_is_a_kb_integrity_error(
    tmp_path: Path, text: str, where: str | None, problem: str
) -> None:
    path = tmp_path / "bad.chain.gz"
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(KbIntegrityError) as err:
        read_chain(path, source_build="GRCh37", target_build="GRCh38")
    message = str(err.value)
    assert str(path) in message and problem in message
    assert where is None or where in message
    assert err.value.exit_code == KbIntegrityError.exit_code


def test_truncated_gzip_is_a_kb_integrity_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.chain.gz"
    path.write_bytes(gzip.compress(TOY.encode())[:40])
    with pytest.raises(KbIntegrityError, match="unreadable"):
        read_chain(path, source_build="GRCh37", target_build="GRCh38")


def test_plain_text_chain_is_read(tmp_path: Path) -> None:
    path = tmp_path / "toy.chain"
    path.write_text(TOY)
    chain = read_chain(path, source_build="GRCh37", target_build="GRCh38")
    assert chain.n_chains == 7 and chain.n_blocks == 8
    assert lift_position(chain, "1", 501) == LiftedPosition("1", 1100, "-")


def test_vectorised_equals_scalar_on_the_overlapping_grch38_chain(back: Chain) -> None:
    # GRCh38 -> GRCh37 has overlapping blocks (up to 32 layers on X): every path is exercised
    rng = np.random.default_rng(5)
    chroms = [str(c) for c in rng.choice(["1", "7", "9", "X", "Y", "MT", "17"], 3000)]
    pos = rng.integers(0, 160_000_000, 3000)
    for chrom in ("X", "1"):  # plus the first base of blocks that overlap another block
        blocks = back.blocks[chrom]
        stacked = np.concatenate(blocks.layers[1:])
        chroms += [chrom] * len(stacked)
        pos = np.concatenate([pos, blocks.start[stacked] + 1])
    many = lift_positions(back, chroms, pos)
    reasons = set()
    for i, (ch, p) in enumerate(zip(chroms, pos.tolist(), strict=True)):
        one = lift_position(back, ch, p)
        if isinstance(one, Unmapped):
            reasons.add(one.reason)
            assert (many.reason[i], int(many.pos[i])) == (one.reason.value, 0)
        else:
            assert (many.chrom[i], int(many.pos[i])) == (one.chrom, one.pos)
    assert {Unlifted.GAP, Unlifted.OTHER_CHROMOSOME} <= reasons  # MULTIPLE: toy chain only
