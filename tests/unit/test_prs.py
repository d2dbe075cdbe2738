"""Polygenic scores: matching rules (pgscatalog-match), effect types, overlap, CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.prs.scorer import ambiguous, match_type, result_rows, score
from precisionrx.io.pgs_scorefile import ScoreFile, read_scorefile
from precisionrx.io.vcf import VcfFile
from precisionrx.io.vcf_fastgt import GenotypeSites

VCF = """##fileformat=VCFv4.2
##contig=<ID=1,length=248956422>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##INFO=<ID=END,Number=1,Type=Integer,Description="End">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3
1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0
1\t200\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1
1\t300\t.\tG\tA\t.\tPASS\t.\tGT\t1/1\t0/1\t0/0
1\t400\t.\tA\tT\t.\tPASS\t.\tGT\t0/1\t0/1\t0/1
1\t500\t.\tG\tC,T\t.\tPASS\t.\tGT\t0/1\t0/2\t0/0
1\t600\t.\tT\tC\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0
1\t700\t.\tC\tA\t.\tPASS\t.\tGT\t./.\t0/1\t1/1
"""
SCORE = """###PGS CATALOG SCORING FILE
#format_version=2.0
#pgs_id=PGS_TEST
#genome_build=GRCh38
chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\tis_dominant\tis_recessive\tallelefrequency_effect
1\t100\tG\tA\t0.5\tFALSE\tFALSE\t0.3
1\t200\tC\tT\t0.2\tFALSE\tFALSE\t0.6
1\t300\tT\tC\t-0.4\tFALSE\tFALSE\t0.2
1\t400\tA\tT\t1.0\tFALSE\tFALSE\t0.5
1\t500\tT\tG\t0.7\tFALSE\tFALSE\t0.1
1\t600\tC\tT\t0.3\tTRUE\tFALSE\t0.4
1\t700\tA\tC\t0.9\tFALSE\tTRUE\t0.5
1\t800\tA\tG\t0.1\tFALSE\tFALSE\t0.5
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "g.vcf").write_text(VCF)
    (tmp_path / "s.txt").write_text(SCORE)
    return tmp_path / "g.vcf", tmp_path / "s.txt"


def test_match_priority_and_flags() -> None:
    from precisionrx.io.pgs_scorefile import ScoreVariant

    def v(ea: str, oa: str | None) -> ScoreVariant:
        return ScoreVariant("1", 1, None, ea, oa, 1.0, "additive", None, None, None, 1)

    assert match_type(v("A", "G"), "A", "G") == "refalt"
    assert match_type(v("G", "A"), "A", "G") == "altref"
    assert match_type(v("T", "C"), "A", "G") == "refalt_flip"
    assert match_type(v("C", "T"), "A", "G") == "altref_flip"
    assert match_type(v("G", None), "A", "G") == "no_oa_alt"
    assert ambiguous("A", "T") and ambiguous("C", "G") and not ambiguous("A", "G")


def test_scores_by_hand(files: tuple[Path, Path]) -> None:
    vcf, sf = files
    with VcfFile(vcf) as f:
        res = score(read_scorefile(sf), f)
    status = {(r.pos, r.match_status) for r in res.log}
    assert (400, "excluded") in status  # A/T ambiguous
    assert (500, "excluded") in status  # multi-allelic
    assert (800, "unmatched") in status
    assert res.variants_matched == 5 and res.variants_in_score == 8
    # 5/8 = 62.5 % < 75 %: the score fails.
    assert res.sums is None
    with VcfFile(vcf) as f:
        res = score(read_scorefile(sf), f, min_overlap=0.5)
    # By hand. 100 G/A altref: dosage = ALT count. 200 C/T refalt: 2 - ALT count.
    # 300 T/C vs REF G ALT A: flip(T)=A=ALT, flip(C)=G=REF -> altref_flip: ALT count.
    # 600 C/T dominant: C = ALT -> (count >= 1). 700 A/C recessive: A = ALT -> (count == 2); ./. -> 0.
    s1 = 0.5 * 1 + 0.2 * (2 - 1) + -0.4 * 2 + 0.3 * 1 + 0.9 * 0
    s2 = 0.5 * 2 + 0.2 * 2 + -0.4 * 1 + 0.3 * 1 + 0.9 * 0
    s3 = 0.5 * 0 + 0.2 * 0 + -0.4 * 0 + 0.3 * 0 + 0.9 * 1
    assert res.sums is not None
    assert list(res.sums) == pytest.approx([s1, s2, s3])
    rows = [r.model_dump(mode="json") for r in result_rows(res)]
    assert {
        "pgs_id",
        "sample",
        "sum",
        "variants_matched",
        "variants_in_score",
        "percentile",
        "z",
        "caveats",
    } <= set(rows[0])
    assert any(c["code"] == "ancestry_transfer" and "ancestr" in c["message"]
               for c in rows[0]["caveats"])  # fmt: skip


def test_prs_cli_json_and_tsv(files: tuple[Path, Path]) -> None:
    vcf, sf = files
    run = [
        sys.executable,
        "-c",
        "from precisionrx.cli import main; main()",
        "prs",
        "--vcf",
        str(vcf),
        str(sf),
        "--min-overlap",
        "0.5",
    ]
    proc = subprocess.run(run, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["scores"]) == 3
    assert {
        "pgs_id",
        "chr",
        "pos",
        "effect_allele",
        "other_allele",
        "match_status",
        "reason",
    } <= set(doc["match_log"][0])
    tsv = subprocess.run([*run, "--format", "tsv"], capture_output=True, text=True, check=False)
    assert tsv.stdout.splitlines()[0].startswith("pgs_id\tsample\tsum")


def test_real_harmonised_scorefile_parses() -> None:
    path = Path(__file__).resolve().parents[2] / "tests" / "data" / "PGS000001_hmPOS_GRCh38.txt"
    sf = read_scorefile(path)
    assert sf.pgs_id == "PGS000001" and sf.genome_build == "GRCh38"
    assert len(sf.variants) == 77
    assert sf.variants[0].chrom == "11" and sf.variants[0].pos == 69516650


def test_fast_gt_reader_matches_htslib(tmp_path: Path) -> None:
    import numpy as np

    from precisionrx.io.vcf_fastgt import read_gt_sites

    rng = np.random.default_rng(0)
    gt = np.array(["0/0", "0/1", "1|0", "1/1", "./."])
    lines = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(f"S{i}" for i in range(7)),
    ]
    for j in range(50):
        lines.append(
            f"1\t{100 + j}\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(gt[rng.integers(0, 5, 7)])
        )
    path = tmp_path / "f.vcf"
    path.write_text("\n".join(lines) + "\n")
    points = {("1", 100 + j) for j in range(0, 50, 3)}
    fast = read_gt_sites(path, 7, points)
    assert fast is not None
    import gzip

    gz = tmp_path / "f.vcf.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    small_blocks = read_gt_sites(gz, 7, points, chunk_size=100)  # lines split across reads
    assert small_blocks is not None and np.array_equal(small_blocks.gt, fast.gt)
    # A plain file is memory-mapped: small pieces, and no newline at the end of the file.
    bare = tmp_path / "bare.vcf"
    bare.write_text("\n".join(lines))
    for chunk in (100, 1 << 20):
        mapped = read_gt_sites(bare, 7, points, chunk_size=chunk)
        assert mapped is not None and np.array_equal(mapped.gt, fast.gt)
    at = {(r["chrom"], r["at_pos"]): r for r in fast.table.iter_rows(named=True)}
    assert set(at) == points
    with VcfFile(path) as f:
        slow = f.fetch([(c, p, p) for c, p in sorted(points)])
        assert f.genotype_sites(points).gt.shape == (len(points), 2, 7)  # htslib path
    for (c, p), recs in zip(sorted(points), slow, strict=True):
        site = at[(c, p)]
        assert np.array_equal(fast.gt[site["row"]].T, recs[0].genotypes[:, :2])
        assert site["ref"] == "A" and site["alt"] == "G" and site["pos"] == p
    # Split multi-allelic records: two lines at one position give two rows (more rows than
    # wanted positions: the preallocated matrix grows, also with lines split across reads).
    split = [*lines, "1\t100\t.\tA\tT\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 7)]
    path.write_text("\n".join(split) + "\n")
    for chunk in (100, 32 << 20):
        twice = read_gt_sites(path, 7, {("1", 100)}, chunk_size=chunk)
        assert twice is not None and twice.table["alt"].to_list() == ["G", "T"]
        assert np.array_equal(twice.gt[0], fast.gt[at[("1", 100)]["row"]])
        assert (twice.gt[1] == np.array([[0] * 7, [1] * 7])).all()
    # Anything but GT-only, 3-character calls falls back (None).
    path.write_text(
        "\n".join([*lines[:3], "1\t100\t.\tA\tG\t.\tPASS\t.\tGT:DP\t" + "\t".join(["0/1:3"] * 7)])
        + "\n"
    )
    assert read_gt_sites(path, 7, {("1", 100)}) is None


def _one_variant(ea: str, oa: str | None) -> ScoreFile:
    import polars as pl

    table = pl.DataFrame(
        {
            "idx": [0], "line": [2], "chrom": ["1"], "pos": [100], "rsid": [None],
            "effect_allele": [ea], "other_allele": [oa], "weight": [1.0],
            "effect_type": ["additive"], "d0": [0.0], "d1": [0.0], "d2": [0.0],
            "freq": [None], "unsupported": [None],
        },
        schema_overrides={"rsid": pl.Utf8, "other_allele": pl.Utf8, "freq": pl.Float64,
                          "unsupported": pl.Utf8},
    )  # fmt: skip
    return ScoreFile(Path("x.txt"), "PGS_X", "GRCh38", {}, table)


def _one_site(ref: str, alt: str) -> GenotypeSites:
    import numpy as np
    import polars as pl

    table = pl.DataFrame(
        [(0, "1", 100, 100, ref, alt, False)],
        schema=GenotypeSites.empty(0).table.schema, orient="row",
    )  # fmt: skip
    return GenotypeSites(table, np.zeros((1, 2, 1), dtype=np.int8))


ALLELE = st.text(alphabet="ACGT", min_size=1, max_size=2)


@settings(max_examples=150, deadline=None)
@given(ALLELE, st.none() | ALLELE, ALLELE, ALLELE)
def test_vectorised_matching_equals_the_rule_by_rule_definition(
    ea: str, oa: str | None, ref: str, alt: str
) -> None:
    from precisionrx.engines.prs.scorer import match_table
    from precisionrx.io.pgs_scorefile import ScoreVariant

    expected = match_type(
        ScoreVariant("1", 100, None, ea, oa, 1.0, "additive", None, None, None, 2), ref, alt
    )
    _, log = match_table(_one_variant(ea, oa), _one_site(ref, alt), True, False)
    (row,) = log.to_dicts()
    if expected is None:
        assert row["match_status"] == "unmatched"
    else:
        assert (row["match_status"], row["reason"]) == ("matched", expected)


def test_genotypic_weights_gvcf_blocks_and_haploid_calls(tmp_path: Path) -> None:
    vcf = tmp_path / "g.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n##contig=<ID=X,length=156040895>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        "1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n"
        "1\t150\t.\tC\t<NON_REF>\t.\tPASS\tEND=250\tGT\t0/0\n"
        "X\t500\t.\tT\tC\t.\tPASS\t.\tGT\t1\n"
    )
    sf = tmp_path / "s.txt"
    sf.write_text(
        "#pgs_id=PGS_G\n#genome_build=GRCh38\n"
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\t"
        "dosage_0_weight\tdosage_1_weight\tdosage_2_weight\n"
        "1\t100\tG\tA\t\t0.1\t0.5\t0.9\n"  # genotypic: one copy -> 0.5
        "1\t200\tT\tC\t0.3\t\t\t\n"  # inside the hom-ref block: dosage 0 -> 0
        "X\t500\tC\tT\t0.2\t\t\t\n"  # haploid ALT counts as 2 copies -> 0.4
    )
    with VcfFile(vcf) as f:
        res = score(read_scorefile(sf), f)
    assert res.variants_matched == 3 and res.sums is not None
    assert res.sums[0] == pytest.approx(0.5 + 0.0 + 0.4)
    reasons = {r.pos: r.reason for r in res.log}
    assert reasons[200].startswith("gvcf_reference_block")


def test_reference_vcf_gives_empirical_percentile_and_other_build_is_converted(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    vcf, sf = files
    run = [sys.executable, "-c", "from precisionrx.cli import main; main()", "prs", "--vcf",
           str(vcf), str(sf), str(sf), "--min-overlap", "0.5", "--reference", str(vcf)]  # fmt: skip
    proc = subprocess.run(run, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)["scores"]
    # The same scoring file twice over one (non-indexed) VCF: the second pass re-reads the file.
    assert [s["sum"] for s in scores[:3]] == [s["sum"] for s in scores[3:]]
    # Against itself as the reference: percentiles are the ranks 1/3, 2/3, 3/3.
    by_sum = sorted(scores[:3], key=lambda s: s["sum"])
    assert [s["percentile"] for s in by_sum] == [100.0 * k / 3 for k in (1, 2, 3)]  # unrounded
    assert any("3 reference samples" in c["message"] for c in scores[0]["caveats"])
    grch37 = tmp_path / "s37.txt"
    grch37.write_text(sf.read_text().replace("GRCh38", "GRCh37"))
    # A scoring file on the other build is converted with the chain file (issue 21, item 4):
    # these made-up GRCh38 positions, read as GRCh37, move, so they no longer match.
    other = subprocess.run([*run[:6], str(grch37)], capture_output=True, text=True, check=False)
    assert other.returncode == 0, other.stderr
    doc = json.loads(other.stdout)
    conversion = doc["match_summary"][0]["build_conversion"]
    caveats = [c for c in doc["scores"][0]["caveats"] if c["code"] == "build_converted"]
    assert caveats and "from GRCh37 to GRCh38" in caveats[0]["message"]
    assert (conversion["from"], conversion["to"]) == ("GRCh37", "GRCh38")
    assert conversion["converted"] + conversion["failed"] == doc["scores"][0]["variants_in_score"]


def test_prs_output_keeps_full_precision(tmp_path: Path) -> None:
    """A sum of 0.00014650532 was printed 0.00014651 (8 decimals); Z and percentile were rounded."""
    weight = 0.00014650532
    (tmp_path / "g.vcf").write_text(
        VCF.split("1\t100")[0] + "1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0\n"
    )
    (tmp_path / "s.txt").write_text(
        SCORE.split("1\t100")[0] + f"1\t100\tG\tA\t{weight}\tFALSE\tFALSE\t0.3\n"
    )
    with VcfFile(tmp_path / "g.vcf") as f:
        res = score(read_scorefile(tmp_path / "s.txt"), f)
    rows = [r.model_dump(mode="json") for r in result_rows(res)]
    # One additive variant: the sum is the weight times the dosage, exactly.
    assert [r["sum"] for r in rows] == [weight, 2 * weight, 0.0]
    assert all(r["z"] is not None and r["z"] != round(r["z"], 4) for r in rows)
    cmd = [sys.executable, "-c", "from precisionrx.cli import main; main()", "prs", "--vcf",
           str(tmp_path / "g.vcf"), str(tmp_path / "s.txt")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)["scores"]
    for field in ("sum", "z", "percentile"):
        assert [s[field] for s in scores] == [r[field] for r in rows], field  # bit for bit
    assert scores[0]["sum"] == 0.00014650532
    tsv = subprocess.run([*cmd, "--format", "tsv"], capture_output=True, text=True, check=False)
    lines = [ln.split("\t") for ln in tsv.stdout.splitlines()]
    col = {c: lines[0].index(c) for c in ("sum", "z", "percentile")}
    for line, r in zip(lines[1:], rows, strict=True):
        for c, i in col.items():
            assert float(line[i]) == r[c], c


# --- the typed entry point (issue 13) ------------------------------------------------------------


def test_score_genotypes_is_typed_with_match_counts_and_provenance(
    files: tuple[Path, Path],
) -> None:
    import polars as pl

    from precisionrx.engines.prs.api import score_genotypes
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.prs import PrsResult, PrsSettings

    vcf, sf = files
    logs: list[pl.DataFrame] = []
    with VcfFile(vcf) as f:
        raw = score(read_scorefile(sf), f, min_overlap=0.5)
        result = score_genotypes(
            [read_scorefile(sf)], f, KnowledgeBase(), PrsSettings(min_overlap=0.5),
            input_sha256="abc", match_logs=logs,
        )  # fmt: skip
    assert PrsResult.model_validate_json(result.model_dump_json()) == result
    (s,) = result.scores
    assert [r.sum for r in s.rows] == [r.sum for r in result_rows(raw)]
    assert s.variants_matched == 5 and s.variants_in_score == 8
    assert s.match_log.by_status == {"excluded": 2, "matched": 5, "unmatched": 1}
    assert s.match_log.by_reason["strand-ambiguous (A/T or C/G)"] == 1
    assert logs[0].equals(raw.log_table)
    assert [c.code for c in s.caveats] == [c.code for c in s.rows[0].caveats]
    assert s.caveats[0].code == "ancestry_transfer"
    assert result.provenance is not None and result.provenance.input_sha256 == "abc"
    assert result.provenance.parameters["min_overlap"] == "0.5"


def test_build_check_read_is_handed_to_the_scoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A VCF without a declared build: the build markers and the scoring positions are read in
    one pass, and the scoring uses that read (no module-level cache)."""
    from precisionrx.engines.prs.api import score_genotypes
    from precisionrx.kb.registry import KnowledgeBase

    kb = KnowledgeBase()
    (c, p), _ = next(iter(kb.dual_build.to38.items()))
    (tmp_path / "g.vcf").write_text(
        "##fileformat=VCFv4.2\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        f"{c.removeprefix('chr')}\t{p}\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n"
    )
    (tmp_path / "s.txt").write_text(
        "#pgs_id=P37\n#genome_build=GRCh37\nchr_name\tchr_position\teffect_allele\t"
        f"other_allele\teffect_weight\n{c.removeprefix('chr')}\t{p}\tG\tA\t0.5\n"
    )
    reads = []
    real = VcfFile.genotype_sites

    def counted(self: VcfFile, points: object) -> object:
        reads.append(1)
        return real(self, points)  # type: ignore[arg-type]

    monkeypatch.setattr(VcfFile, "genotype_sites", counted)
    with VcfFile(tmp_path / "g.vcf") as f:
        sf = read_scorefile(tmp_path / "s.txt")
        result = score_genotypes([sf, sf], f, kb)
    # One read per scoring file; the markers were read with the first.
    assert len(reads) == 2
    assert [r.sum for r in result.rows()] == [0.5, 0.5]
