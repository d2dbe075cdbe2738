"""PLINK 1/2 and BGEN readers, the scoring kernels, build conversion and ``convert`` (issue 21),
without plink2: a VCF written here is converted by ``precisionrx convert`` and every format must
give the VCF's scores and pharmacogene calls. The comparison with plink2 itself is in
tests/golden/test_plink2_formats.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.prs.kernel import accumulate, accumulate_numpy

DATA = Path(__file__).resolve().parents[1] / "data"
N = 60


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip


# --- the two scoring kernels --------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_var=st.integers(1, 40),
    n_samples=st.integers(1, 30),
    floats=st.booleans(),
    impute=st.booleans(),
    missing_rate=st.sampled_from([0.0, 0.1, 1.0]),
)
def test_compiled_and_array_kernels_agree(
    seed: int, n_var: int, n_samples: int, floats: bool, impute: bool, missing_rate: float
) -> None:
    rng = np.random.default_rng(seed)
    if floats:
        g = (rng.integers(0, 32769, (n_var, n_samples)) / 16384).astype(np.float32)
    else:
        g = rng.integers(0, 3, (n_var, n_samples)).astype(np.int8)
    g[rng.random(g.shape) < missing_rate] = -9
    w = rng.normal(0, 1, n_var)
    eff = rng.random(n_var) < 0.5
    kind = rng.integers(0, 4, n_var).astype(np.int8)
    geno = rng.normal(0, 1, (n_var, 3))
    totals = [np.zeros(n_samples), np.zeros(n_samples)]
    missing = [np.zeros(n_samples, dtype=np.int64), np.zeros(n_samples, dtype=np.int64)]
    accumulate(g, w, eff, kind, geno, impute, totals[0], missing[0])
    accumulate_numpy(g, w, eff, kind, geno, impute, totals[1], missing[1])
    np.testing.assert_allclose(totals[0], totals[1], rtol=1e-9, atol=1e-9)
    assert np.array_equal(missing[0], missing[1])


def test_kernel_rules_by_hand() -> None:
    """Two samples, one missing: additive, dominant, recessive with and without imputation."""
    g = np.array([[2, -9], [1, -9], [2, -9]], dtype=np.int8)
    w = np.array([1.0, 1.0, 1.0])
    eff = np.array([True, True, False])  # third: effect allele is REF (dosage 2 - ALT)
    kind = np.array([0, 1, 2], dtype=np.int8)  # additive, dominant, recessive
    for impute, second in ((False, 0.0), (True, 2.0 + 0.5 + 0.0)):
        total, miss = np.zeros(2), np.zeros(2, dtype=np.int64)
        for fn in (accumulate, accumulate_numpy):
            total[:], miss[:] = 0, 0
            fn(g, w, eff, kind, np.zeros((3, 3)), impute, total, miss)
            # sample 1: 2 + min(1, 1) + max(0 - 1, 0); sample 2 imputed: mean ALT dosage 2 for
            # the additive one, frequency 0.5 for the dominant, 0 (REF frequency) recessive
            assert total.tolist() == [3.0, second] and miss.tolist() == [0, 3]


# --- a VCF and its PLINK conversions ------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("formats")
    rng = np.random.default_rng(11)
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1,length=248956422>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(f"S{i}" for i in range(N)),
    ]
    bases = "ACGT"
    score = ["chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight"]
    for i in range(400):
        ref = bases[i % 4]
        alt = bases[(i + 1 + i // 4 % 2) % 4]
        calls = []
        for _ in range(N):
            a, b = rng.integers(0, 2, 2)
            sep = "|" if rng.random() < 0.5 else "/"
            calls.append("./." if rng.random() < 0.03 else f"{a}{sep}{b}")
        lines.append(f"1\t{1000 + 10 * i}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(calls))
        ea, oa = (alt, ref) if i % 3 else (ref, alt)
        score.append(f"1\t{1000 + 10 * i}\t{ea}\t{oa}\t{rng.normal(0, 0.3):.6f}")
    # a multi-allelic record: kept in .pgen, left out of .bed
    lines.append("1\t9000\t.\tA\tC,G\t.\tPASS\t.\tGT\t" + "\t".join(["1/2"] * N))
    (d / "g.vcf").write_text("\n".join(lines) + "\n")
    (d / "s.txt").write_text("#pgs_id=PGS_T\n#genome_build=GRCh38\n" + "\n".join(score) + "\n")
    for to in ("pgen", "bed"):
        proc = cli("convert", "g.vcf", "-o", f"g_{to}", "--to", to, "--quiet", cwd=d)
        assert proc.returncode == 0, proc.stderr
    return d


def scores(d: Path, genotypes: str, *extra: str) -> dict[str, float]:
    proc = cli("prs", "--genotypes", genotypes, "s.txt", *extra, cwd=d)
    assert proc.returncode == 0, proc.stderr
    return {r["sample"]: r["sum"] for r in json.loads(proc.stdout)["scores"]}


@pytest.mark.parametrize("mode", ["mean-impute", "no-mean-imputation"])
@pytest.mark.parametrize("genotypes", ["g_pgen.pgen", "g_pgen", "g_bed.bed", "g_bed"])
def test_plink_files_score_as_the_vcf(files: Path, genotypes: str, mode: str) -> None:
    want = scores(files, "g.vcf", "--missing", mode)
    got = scores(files, genotypes, "--missing", mode)
    assert got.keys() == want.keys() and len(got) == N
    for s in want:
        assert got[s] == pytest.approx(want[s], rel=1e-12, abs=1e-12)


def test_missing_modes_differ_and_auto_follows_sample_count(files: Path) -> None:
    imputed = scores(files, "g_pgen.pgen", "--missing", "mean-impute")
    plain = scores(files, "g_pgen.pgen", "--missing", "no-mean-imputation")
    auto = scores(files, "g_pgen.pgen")  # 60 samples: mean imputation
    assert auto == imputed and imputed != plain
    # --vcf stays an alias of --genotypes
    proc = cli("prs", "--vcf", "g_pgen.pgen", "s.txt", cwd=files)
    assert proc.returncode == 0 and json.loads(proc.stdout)["scores"][0]["sum"] == auto["S0"]


def test_convert_keeps_phase_and_multiallelic_records(files: Path) -> None:
    from precisionrx.io.plink import PlinkFile
    from precisionrx.io.vcf import VcfFile

    with VcfFile(files / "g.vcf") as v:
        recs = list(v._stream())
    with PlinkFile(files / "g_pgen") as p:
        alleles, phased = p.calls(np.arange(len(recs), dtype=np.uint32))
        assert p.variants().height == len(recs) == 401
        assert p.variants()["alt"][-1] == "C,G"
    for i, rec in enumerate(recs):
        het = rec.genotypes[:, 0] != rec.genotypes[:, 1]
        ph = het & rec.genotypes[:, 2].astype(bool)
        assert np.array_equal(phased[i][het], ph[het]), i
        # phased calls keep their order; unphased hets are stored in allele order (as plink2)
        assert np.array_equal(alleles[i][ph], rec.genotypes[ph, :2]), i
        assert np.array_equal(np.sort(alleles[i], axis=1), np.sort(rec.genotypes[:, :2], axis=1))
    assert (files / "g_bed.bim").read_text().count("\n") == 400  # the multi-allelic one left out
    proc = cli("convert", "g.vcf", "-o", "again", "--to", "bed", cwd=files)
    assert "1 multi-allelic record(s) left out" in proc.stderr


def test_sample_selection_and_errors_name_the_file(files: Path, tmp_path: Path) -> None:
    from precisionrx.io.genotypes import open_genotypes

    with open_genotypes(files / "g_pgen.pgen", ["S5", "S2"]) as g:
        assert g.samples == ["S2", "S5"]  # file order
    proc = cli("prs", "--genotypes", str(files / "g_pgen.pgen"), str(files / "s.txt"),
               "--reference", str(files / "g_bed"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in ("g_pgen.pgen", "g_pgen.pvar", "g_pgen.psam", "g_bed.bed", "g_bed.bim",
                 "g_bed.fam"):  # fmt: skip
        (tmp_path / name).write_bytes((files / name).read_bytes())
    # a .bed of another size than its .bim and .fam say
    (tmp_path / "g_bed.bed").write_bytes((files / "g_bed.bed").read_bytes()[:-7])
    bad = cli("prs", "--genotypes", str(tmp_path / "g_bed.bed"), str(files / "s.txt"))
    assert bad.returncode == 3 and "g_bed.bed" in bad.stderr and "truncated" in bad.stderr
    # a .psam listing fewer samples than the .pgen holds
    psam = (files / "g_pgen.psam").read_text().splitlines()
    (tmp_path / "g_pgen.psam").write_text("\n".join(psam[:-1]) + "\n")
    bad = cli("prs", "--genotypes", str(tmp_path / "g_pgen"), str(files / "s.txt"))
    assert bad.returncode == 3 and "samples" in bad.stderr and "Traceback" not in bad.stderr
    # not a PLINK file at all
    (tmp_path / "x.pgen").write_text("hello")
    (tmp_path / "x.pvar").write_text((files / "g_pgen.pvar").read_text())
    (tmp_path / "x.psam").write_text((files / "g_pgen.psam").read_text())
    bad = cli("prs", "--genotypes", str(tmp_path / "x.pgen"), str(files / "s.txt"))
    assert bad.returncode == 3 and "magic" in bad.stderr
    (tmp_path / "x.bgen").write_bytes(b"\x00" * 40)
    bad = cli("prs", "--genotypes", str(tmp_path / "x.bgen"), str(files / "s.txt"))
    assert bad.returncode == 3 and "x.bgen" in bad.stderr and "Traceback" not in bad.stderr
    # an unknown sample
    from precisionrx.errors import MissingSampleError

    with pytest.raises(MissingSampleError):
        open_genotypes(files / "g_bed", ["nobody"])
    # no genotypes: a usage error
    usage = cli("prs", str(files / "s.txt"))
    assert usage.returncode == 2 and "--genotypes" in usage.stderr


def test_declared_other_build_converts_the_scoring_file(files: Path, tmp_path: Path) -> None:
    """A .pvar declaring GRCh37 (##contig chr1 length) and a GRCh38 scoring file: the scoring
    positions are converted; the made-up positions fall elsewhere on GRCh37, which the match
    log and the caveat show."""
    for ext in ("pgen", "psam"):
        (tmp_path / f"g.{ext}").write_bytes((files / f"g_pgen.{ext}").read_bytes())
    pvar = (files / "g_pgen.pvar").read_text().replace("length=248956422", "length=249250621")
    (tmp_path / "g.pvar").write_text(pvar)
    proc = cli("prs", "--genotypes", str(tmp_path / "g.pgen"), str(files / "s.txt"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    conv = doc["match_summary"][0]["build_conversion"]
    assert (conv["from"], conv["to"]) == ("GRCh38", "GRCh37")
    assert conv["converted"] + conv["failed"] == 400
    assert any(c["code"] == "build_converted" for c in doc["scores"][0]["caveats"])


def test_liftover_of_a_scoring_file_equals_pgs_catalog_harmonisation() -> None:
    """PGS000001 (77 variants) harmonised by the PGS Catalog to GRCh37 and to GRCh38: the
    GRCh37 file converted by the chain file gives the catalogue's GRCh38 positions."""
    from precisionrx.engines.prs.build_convert import convert_scorefile
    from precisionrx.io.pgs_scorefile import read_scorefile

    g37 = read_scorefile(DATA / "PGS000001_hmPOS_GRCh37.txt")
    g38 = read_scorefile(DATA / "PGS000001_hmPOS_GRCh38.txt")
    lifted, summary = convert_scorefile(g37, "GRCh38")
    assert (summary.converted, summary.failed) == (77, 0)
    cols = ["idx", "chrom", "pos", "effect_allele", "other_allele"]
    assert lifted.table.select(cols).equals(g38.table.select(cols))
    assert lifted.genome_build == "GRCh38"


def test_pgx_from_plink_files_equals_the_vcf(tmp_path: Path) -> None:
    """The 400-sample 1000 Genomes slice: star alleles and phenotypes from its PLINK 2 and
    PLINK 1 conversions equal those from the VCF (the .bed holds no phase, so only genes whose
    calls do not need phase are compared for it)."""
    vcf = DATA / "cohort" / "1kgp_slice.vcf.gz"
    for to in ("pgen", "bed"):
        proc = cli("convert", str(vcf), "-o", str(tmp_path / f"kg_{to}"), "--to", to, "--quiet")
        assert proc.returncode == 0, proc.stderr
    out = {}
    for name, args in (("vcf", [str(vcf)]), ("pgen", ["--genotypes", str(tmp_path / "kg_pgen")])):
        proc = cli("pgx", *args, "--genotypes-only", "-o", str(tmp_path / f"{name}.json"))
        assert proc.returncode == 0, proc.stderr
        out[name] = json.loads((tmp_path / f"{name}.json").read_text())["results"]
    assert [r["genes"] for r in out["pgen"]] == [r["genes"] for r in out["vcf"]]
    assert [r["sample"] for r in out["pgen"]] == [r["sample"] for r in out["vcf"]]


def test_vcf_dosage_fields(tmp_path: Path) -> None:
    """FORMAT DS is used when declared (auto), GP likewise; --dosage-field GT keeps hard calls;
    a DS value read as text, in plink2's 1/16384 unit."""
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">\n'
        '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Probabilities">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"
    )
    (tmp_path / "d.vcf").write_text(
        header + "1\t100\t.\tA\tG\t.\tPASS\t.\tGT:DS:GP\t0/1:1.8013:0,0.2,0.8\t0/0:.:1,0,0\n"
    )
    (tmp_path / "s.txt").write_text(
        "#pgs_id=P\n#genome_build=GRCh38\nchr_name\tchr_position\teffect_allele\t"
        "other_allele\teffect_weight\n1\t100\tG\tA\t1\n"
    )
    ds = scores(tmp_path, "d.vcf")
    assert ds["A"] == round(1.8013 * 16384) / 16384 and ds["B"] == 0.0  # B: GT, no DS value
    assert scores(tmp_path, "d.vcf", "--dosage-field", "GP")["A"] == round(1.8 * 16384) / 16384
    assert scores(tmp_path, "d.vcf", "--dosage-field", "GT")["A"] == 1.0
    (tmp_path / "h.vcf").write_text(header.replace("##FORMAT=<ID=DS", "##INFO=<ID=XX") + "1\t100"
                                    "\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\n")  # fmt: skip
    bad = cli("prs", "--genotypes", "h.vcf", "s.txt", "--dosage-field", "DS", cwd=tmp_path)
    assert bad.returncode == 3 and "FORMAT DS" in bad.stderr


def test_genotype_kind_from_the_name(tmp_path: Path) -> None:
    from precisionrx.io.genotypes import genotype_kind, main_file

    (tmp_path / "p.pgen").write_bytes(b"")
    (tmp_path / "b.bed").write_bytes(b"")
    assert genotype_kind(tmp_path / "p") == "pgen" and main_file(tmp_path / "p").name == "p.pgen"
    assert genotype_kind(tmp_path / "b") == "bed"
    assert genotype_kind(tmp_path / "x.bgen") == "bgen"
    assert genotype_kind(tmp_path / "x.vcf.gz") == "vcf"
    assert genotype_kind(tmp_path / "unknown.txt") == "vcf"


def test_pgx_build_check_and_samples_on_plink_files(files: Path, tmp_path: Path) -> None:
    """pgx on a PLINK file: --sample selects as for a VCF, a missing sample exits 5, and a .pvar
    declaring another build than --genome-build exits 4."""
    ok = cli("pgx", "--genotypes", str(files / "g_pgen"), "--sample", "S3", "--genotypes-only")
    assert ok.returncode == 0, ok.stderr
    assert [r["sample"] for r in json.loads(ok.stdout)["results"]] == ["S3"]
    gone = cli("pgx", "--genotypes", str(files / "g_bed.bed"), "--sample", "nobody")
    assert gone.returncode == 5 and "nobody" in gone.stderr
    for ext in ("pgen", "psam"):
        (tmp_path / f"g.{ext}").write_bytes((files / f"g_pgen.{ext}").read_bytes())
    pvar = (files / "g_pgen.pvar").read_text().replace("length=248956422", "length=249250621")
    (tmp_path / "g.pvar").write_text(pvar)
    wrong = cli("pgx", "--genotypes", str(tmp_path / "g.pgen"), "--genotypes-only")
    assert wrong.returncode == 4 and "GRCh37" in wrong.stderr and "Traceback" not in wrong.stderr


def test_pgx_turns_round_a_minor_allele_first_bed(tmp_path: Path) -> None:
    """PLINK 1.9 writes the minor allele as A1 (so A2, read as REF, may be the ALT): the same
    genotypes with A1/A2 swapped in the .bim (and the .bed codes inverted) give the same calls,
    and the build check is not misled by the swapped REF bases."""
    vcf = DATA / "cohort" / "1kgp_slice.vcf.gz"
    proc = cli("convert", str(vcf), "-o", str(tmp_path / "kg"), "--to", "bed", "--quiet")
    assert proc.returncode == 0, proc.stderr
    bim = [ln.split("\t") for ln in (tmp_path / "kg.bim").read_text().splitlines()]
    (tmp_path / "sw.bim").write_text("".join("\t".join([*r[:4], r[5], r[4]]) + "\n" for r in bim))
    (tmp_path / "sw.fam").write_bytes((tmp_path / "kg.fam").read_bytes())
    codes = np.arange(256, dtype=np.uint8)
    table = np.zeros(256, dtype=np.uint8)
    for shift in (0, 2, 4, 6):
        c = (codes >> shift) & 3
        table |= np.where((c == 0) | (c == 3), 3 - c, c).astype(np.uint8) << shift
    raw = np.frombuffer((tmp_path / "kg.bed").read_bytes(), dtype=np.uint8)
    (tmp_path / "sw.bed").write_bytes(raw[:3].tobytes() + table[raw[3:]].tobytes())
    out = {}
    for name in ("kg", "sw"):
        proc = cli("pgx", "--genotypes", str(tmp_path / f"{name}.bed"), "--genotypes-only",
                   "-o", str(tmp_path / f"{name}.json"))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out[name] = json.loads((tmp_path / f"{name}.json").read_text())["results"]
    assert [r["genes"] for r in out["sw"]] == [r["genes"] for r in out["kg"]]


def _bgzf(data: bytes) -> bytes:
    """``data`` as BGZF (SAM/BAM specification 4.1): gzip members of at most 64 KB, each
    declaring its size in a ``BC`` extra field, then the empty end-of-file member."""
    import struct
    import zlib

    out = bytearray()
    for start in range(0, len(data) + 1, 60_000):
        piece = data[start : start + 60_000]
        if not piece and start:
            break
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = packer.compress(piece) + packer.flush()
        size = len(body) + 25
        out += struct.pack("<4BI2BH2BHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, 66, 67, 2, size)
        out += body + struct.pack("<II", zlib.crc32(piece), len(piece))
    out += bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    return bytes(out)


def test_bgzipped_vcf_is_read_and_a_corrupt_block_is_an_error(tmp_path: Path) -> None:
    """The BGZF fast path (over 2,000 scored positions; blocks inflated on two threads) gives
    the plain VCF's scores; a damaged block is a clear VCF format error (exit 3)."""
    rng = np.random.default_rng(2)
    rows, score = [], []
    for i in range(3000):
        calls = "\t".join(rng.choice(["0/0", "0/1", "1|1", "./."], 12))
        rows.append(f"1\t{100 + 7 * i}\t.\tA\tC\t.\tPASS\t.\tGT\t{calls}")
        score.append(f"1\t{100 + 7 * i}\tC\tA\t{rng.normal():.5f}")
    text = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(f"S{i}" for i in range(12))
        + "\n"
        + "\n".join(rows)
        + "\n"
    ).encode()
    (tmp_path / "g.vcf").write_bytes(text)
    (tmp_path / "g.vcf.gz").write_bytes(_bgzf(text))
    (tmp_path / "s.txt").write_text(
        "#pgs_id=PB\n#genome_build=GRCh38\nchr_name\tchr_position\teffect_allele\t"
        "other_allele\teffect_weight\n" + "\n".join(score) + "\n"
    )
    plain = scores(tmp_path, "g.vcf", "--missing", "no-mean-imputation")
    assert scores(tmp_path, "g.vcf.gz", "--missing", "no-mean-imputation") == plain
    broken = bytearray(_bgzf(text))
    broken[len(broken) // 2] ^= 0xFF
    (tmp_path / "b.vcf.gz").write_bytes(bytes(broken))
    bad = cli("prs", "--genotypes", "b.vcf.gz", "s.txt", cwd=tmp_path)
    assert bad.returncode == 3 and "b.vcf.gz" in bad.stderr and "Traceback" not in bad.stderr
