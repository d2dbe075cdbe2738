"""Issue 12 (input safety): invalid genotypes, build inference, non-finite numbers, readers that
name the row, FHIR shapes and special files. Each test failed before the fix."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.oncology import burden
from precisionrx.engines.pgx.caller import CallOptions, _gene_plan
from precisionrx.engines.pgx.observe import observe
from precisionrx.engines.prs.scorer import check_build, score
from precisionrx.errors import FhirValidationError, GenomeBuildMismatch, InputError, VcfFormatError
from precisionrx.io.fhir import read_bundle
from precisionrx.io.pgs_scorefile import read_scorefile
from precisionrx.io.tumor_inputs import read_fusions, read_maf
from precisionrx.io.vcf import VcfFile, sanitize_genotypes
from precisionrx.io.vcf_fastgt import read_gt_sites
from precisionrx.kb.registry import KnowledgeBase
from testkit.synthetic import VcfBuilder

HEAD = (
    "##fileformat=VCFv4.2\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
)
COLS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"
HOSTILE = ("polars", "truncate_ragged_lines", "Traceback", "codec", "Schema")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def vcf_text(samples: list[str], rows: list[str], contigs: str = "##contig=<ID=1>\n") -> str:
    return (
        HEAD + contigs + COLS + "\t" + "\t".join(samples) + "\n" + "".join(r + "\n" for r in rows)
    )


def records(path: Path) -> list[tuple[int, list[list[int]], list[str]]]:
    with VcfFile(path) as v:
        return [(r.pos, r.genotypes.tolist(), r.invalid_notes(v.samples)) for r in v._stream()]


# -- (a) genotype validity -----------------------------------------------------------------------


def test_out_of_range_polyploid_and_malformed_calls_are_missing_and_named(tmp_path: Path) -> None:
    path = tmp_path / "g.vcf"
    path.write_text(
        vcf_text(
            ["S1", "S2", "S3"],
            [
                "1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/5\t0/1\t1/1",
                "1\t200\t.\tA\tG\t.\t.\t.\tGT\t0/1/1\t0/1\t1",
                "1\t300\t.\tA\tG\t.\t.\t.\tGT\t0/x\tA/G\t0|1",
                "1\t400\t.\tA\tG\t.\t.\t.\tDP\t3\t4\t5",
                "1\t500\t.\tA\tG,T\t.\t.\t.\tGT\t0/2\t2/3\t1|0",
            ],
        )
    )
    got = {pos: (gts, notes) for pos, gts, notes in records(path)}
    assert got[100][0][0][:2] == [-1, -1] and got[100][0][1][:2] == [0, 1]
    assert got[100][1] == [
        "invalid genotype at 1:100 (sample S1): GT 0/5 has allele index 5 but the record has "
        "1 ALT allele; treated as missing"
    ]
    assert got[200][0][0][:2] == [-1, -1] and got[200][0][2][:2] == [1, -2]  # haploid kept
    assert "GT 0/1/1 has 3 alleles; a diploid call is expected" in got[200][1][0]
    assert got[300][0][0][:2] == [-1, -1] and got[300][0][1][:2] == [-1, -1]
    assert got[300][0][2] == [0, 1, 1]
    assert [n.split(":")[1] for n in got[300][1]] == ["300 (sample S1)", "300 (sample S2)"]
    assert "GT '0/x' is not a genotype" in got[300][1][0]
    assert all(g[:2] == [-1, -1] for g in got[400][0]) and len(got[400][1]) == 3
    assert got[500][0][0][:2] == [0, 2] and got[500][0][1][:2] == [-1, -1]
    assert (
        "(sample S2): GT 2/3 has allele index 3 but the record has 2 ALT alleles"
        in (got[500][1][0])
    )


allele = st.one_of(st.just("."), st.integers(0, 12).map(str))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    calls=st.lists(
        st.tuples(st.lists(allele, min_size=1, max_size=4), st.sampled_from("/|")),
        min_size=1,
        max_size=4,
    ),
    n_alts=st.integers(1, 3),
)
def test_property_invalid_calls_never_read_as_genotypes(
    tmp_path: Path, calls: list[tuple[list[str], str]], n_alts: int
) -> None:
    gts = [sep.join(alleles) for alleles, sep in calls]
    alts = ",".join("GTC"[:n_alts])
    samples = [f"S{i}" for i in range(len(gts))]
    path = tmp_path / "p.vcf"
    path.write_text(
        vcf_text(samples, ["1\t100\t.\tA\t" + alts + "\t.\t.\t.\tGT\t" + "\t".join(gts)])
    )
    ((_, arr, notes),) = records(path)
    for s, (alleles, _) in enumerate(calls):
        idx = [-1 if a == "." else int(a) for a in alleles]
        invalid = len(idx) > 2 or max(idx) > n_alts
        tagged = [n for n in notes if f"(sample S{s})" in n]
        if invalid:
            assert arr[s][: len(arr[s]) - 1] in ([-1, -1], [-1]), (gts[s], arr[s])
            assert len(tagged) == 1 and "treated as missing" in tagged[0]
        else:
            assert not tagged
            second = arr[s][1] if len(arr[s]) == 3 else -2  # (n, 2) when every call is haploid
            assert [arr[s][0], second] == [idx[0], idx[1] if len(idx) == 2 else -2]


def test_sanitize_keeps_valid_calls_untouched() -> None:
    gts = np.array([[0, 1, 0], [1, 1, 1], [-1, -1, 0]], dtype=np.int32)
    out, invalid = sanitize_genotypes(gts, 1)
    assert invalid == () and out.tolist() == gts.tolist()


def test_pgx_observations_treat_invalid_calls_as_missing(kb: KnowledgeBase, tmp_path: Path) -> None:
    defn = kb.definition("CYP2C19")
    pos = next(p for p in defn.positions if p.rsid == "rs4244285")
    b = VcfBuilder(kb, samples=["S1", "S2"])
    b.site("10", pos.position, pos.ref, list(pos.alts), ["0/5", "0/1"], "rs4244285")
    path = b.write(tmp_path / "in.vcf")
    plan = _gene_plan(kb, "CYP2C19", True)
    with VcfFile(path) as vcf:
        (recs,) = vcf.fetch([plan.region])
        obs = observe(defn, plan.positions, recs, vcf.samples, plan.input_positions)
    j = next(i for i, p in enumerate(plan.positions) if p.position == pos.position)
    assert not obs.present[0, j]  # never heterozygous
    assert obs.present[1, j]
    assert obs.notes == [
        f"invalid genotype at chr10:{pos.position} (sample S1): GT 0/5 has allele index 5 but "
        f"the record has {len(pos.alts)} ALT allele{'s' if len(pos.alts) > 1 else ''}; "
        "treated as missing"
    ]
    assert obs.notes_for("S1") == obs.notes and obs.notes_for("S2") == []


def test_fast_path_invalid_index_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "fast.vcf"
    path.write_text(
        vcf_text(
            ["A", "B"],
            ["1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/5\t0/1", "1\t200\t.\tC\tT,G\t.\t.\t.\tGT\t2/2\t3/0"],
        )
    )
    sites = read_gt_sites(path, 2, {("1", 100), ("1", 200)}, samples=["A", "B"])
    assert sites is not None
    assert sites.gt[0, :, 0].tolist() == [-1, -1] and sites.gt[0, :, 1].tolist() == [0, 1]
    assert sites.gt[1, :, 0].tolist() == [2, 2] and sites.gt[1, :, 1].tolist() == [-1, -1]
    assert sites.invalid == [
        "invalid genotype at 1:100 (sample A): GT 0/5 has allele index 5 but the record has 1 "
        "ALT allele; treated as missing",
        "invalid genotype at 1:200 (sample B): GT 3/0 has allele index 3 but the record has 2 "
        "ALT alleles; treated as missing",
    ]


SCORE = (
    "#pgs_id=PGS_T\n#genome_build=GRCh38\n"
    "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
    "1\t100\tG\tA\t0.5\n1\t200\tT\tC\t0.25\n"
)
DECLARED = "##contig=<ID=1,length=248956422>\n"


@pytest.mark.parametrize("bad", ["0/5", "0/1/1", "0/x"])
def test_prs_counts_invalid_calls_as_missing_and_names_them(tmp_path: Path, bad: str) -> None:
    (tmp_path / "s.txt").write_text(SCORE)
    sf = read_scorefile(tmp_path / "s.txt")
    sums = {}
    for name, gt in (("bad", bad), ("missing", "./.")):
        p = tmp_path / f"{name}.vcf"
        p.write_text(
            vcf_text(
                ["S1"],
                [f"1\t100\t.\tA\tG\t.\t.\t.\tGT\t{gt}", "1\t200\t.\tC\tT\t.\t.\t.\tGT\t0/1"],
                DECLARED,
            )
        )
        with VcfFile(p) as v:
            res = score(sf, v, min_overlap=0.0)
        assert res.sums is not None
        sums[name] = float(res.sums[0])
        if name == "bad":
            note = [c.message for c in res.caveats if "invalid genotype" in c.message]
            assert len(note) == 1 and "1:100 (sample S1)" in note[0]
            assert any("missing genotype calls" in c.message for c in res.caveats)
    assert sums["bad"] == sums["missing"] == 0.25


# -- (b) genome build inference ------------------------------------------------------------------


def _grch37_rows(kb: KnowledgeBase, n: int) -> list[str]:
    rows = []
    for gene in ("CYP2C19", "CYP2D6", "CYP2C9", "DPYD", "TPMT", "SLCO1B1"):
        defn = kb.definition(gene)
        chrom = defn.chromosome.removeprefix("chr")
        inverse = {p38: p37 for p37, p38 in kb.dual_build.offsets_for(chrom)}
        for pos in defn.positions:
            p37 = inverse.get(pos.position)
            if p37 and len(pos.ref) == 1 and pos.alts and len(pos.alts[0]) == 1:
                rows.append((chrom, p37, pos.ref, pos.alts[0]))
                break
    rows = sorted(rows, key=lambda r: (int(r[0]) if r[0].isdigit() else 99, r[1]))[:n]
    return [f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t.\tGT\t0/1" for c, p, r, a in rows]


def test_undeclared_grch37_vcf_called_as_grch38_is_a_build_mismatch(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = tmp_path / "b37.vcf"
    path.write_text(vcf_text(["S1"], _grch37_rows(kb, 4), contigs=""))
    with pytest.raises(GenomeBuildMismatch) as info:
        call_vcf(path, kb, None, CallOptions())
    text = str(info.value)
    assert "declares no build" in text and "GRCh37 positions" in text and "REF" in text
    assert "--genome-build GRCh37" in text
    (res,) = call_vcf(path, kb, None, CallOptions(genome_build="GRCh37"))
    assert res.genes


def test_undeclared_grch38_vcf_is_accepted(kb: KnowledgeBase, tmp_path: Path) -> None:
    b = VcfBuilder(kb, declare_contigs=False).haplotypes("CYP2C19", "*1", "*2", phased=False)
    path = b.write(tmp_path / "b38.vcf")
    (res,) = call_vcf(path, kb, None, CallOptions(genes=["CYP2C19"]))
    assert res.genes[0].diplotypes
    with pytest.raises(GenomeBuildMismatch):
        call_vcf(path, kb, None, CallOptions(genes=["CYP2C19"], genome_build="GRCh37"))


def test_reference_header_line_declares_the_build(tmp_path: Path) -> None:
    path = tmp_path / "r.vcf"
    text = vcf_text(["S1"], ["1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1"], contigs="")
    path.write_text(
        text.replace("##FORMAT", "##reference=file:///ref/human_g1k_v37.fasta\n##FORMAT", 1)
    )
    with VcfFile(path) as v:
        assert v.declared_build() == "GRCh37"
        with pytest.raises(GenomeBuildMismatch, match="##reference is GRCh37"):
            v.check_build("GRCh38")


def test_prs_undeclared_vcf_on_the_other_build_is_a_mismatch(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    (tmp_path / "s.txt").write_text(SCORE)
    sf = read_scorefile(tmp_path / "s.txt")
    path = tmp_path / "b37.vcf"
    path.write_text(vcf_text(["S1"], _grch37_rows(kb, 4), contigs=""))
    with VcfFile(path) as v, pytest.raises(GenomeBuildMismatch, match="GRCh37 positions"):
        check_build(sf, v, kb)


# -- (c) non-finite numbers ----------------------------------------------------------------------

non_finite = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "+inf"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    token=non_finite,
    row=st.integers(0, 1),
    column=st.sampled_from(["effect_weight", "chr_position"]),
)
def test_property_non_finite_scoring_values_name_the_line(
    tmp_path: Path, token: str, row: int, column: str
) -> None:
    lines = SCORE.splitlines()
    cells = lines[3 + row].split("\t")
    cells[4 if column == "effect_weight" else 1] = token
    lines[3 + row] = "\t".join(cells)
    path = tmp_path / "nf.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        read_scorefile(path)
    text = str(info.value)
    assert text.startswith(f"{path}: line {4 + row}:") and token in text


def test_non_finite_msi_and_tmb_are_input_errors() -> None:
    for value in (math.nan, math.inf):
        with pytest.raises(InputError, match="MSIsensor"):
            burden.msi(None, value)
        with pytest.raises(InputError, match="callable"):
            burden.tmb([], value)
    assert burden.msi(None, 1.0).status == "MSS"


def test_maf_nan_position_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.maf"
    path.write_text(
        "#version 2.4\nHugo_Symbol\tVariant_Classification\tStart_Position\n"
        "BRAF\tMissense_Mutation\t140753336\nKRAS\tMissense_Mutation\tnan\n"
    )
    with pytest.raises(InputError, match=r"line 4: Start_Position 'nan' is not a number"):
        read_maf(path)


# -- (d) readers name the row --------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=st.integers(0, 1), width=st.integers(1, 9).filter(lambda w: w != 5))
def test_property_ragged_scoring_rows_name_the_line(tmp_path: Path, row: int, width: int) -> None:
    lines = SCORE.splitlines()
    cells = (lines[3 + row].split("\t") + ["x"] * 9)[:width]
    cells[0] = "1"
    lines[3 + row] = "\t".join(cells)
    path = tmp_path / "rag.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        read_scorefile(path)
    text = str(info.value)
    assert text.startswith(f"{path}: line {4 + row}: {width} field(s), the header has 5")
    assert not any(h in text for h in HOSTILE)


#: Encodings the readers failed on before (plain UTF-8 is the control in the readers' own tests).
ENCODINGS = [
    lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
    lambda t: t.encode("utf-16"),
    lambda t: t.encode("utf-16-le"),
    lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode("utf-8"),
]


@pytest.mark.parametrize("encode", ENCODINGS)
def test_scoring_file_encodings_read_alike(tmp_path: Path, encode: object) -> None:
    path = tmp_path / "e.txt"
    path.write_bytes(encode(SCORE))  # type: ignore[operator]
    sf = read_scorefile(path)
    assert sf.pgs_id == "PGS_T" and sf.genome_build == "GRCh38"
    assert sf.table["weight"].to_list() == [0.5, 0.25]
    assert sf.table["line"].to_list() == [4, 5]


def test_latin1_scoring_file_names_line(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_bytes(
        SCORE.replace("#pgs_id=PGS_T", "#pgs_id=PGS_T\n#author=M\xfcller").encode("latin-1")
    )
    with pytest.raises(InputError, match=r"line 2, column 10: byte 0xfc is not valid UTF-8"):
        read_scorefile(path)


MAF = (
    "#version 2.4\n"
    "Hugo_Symbol\tChromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\t"
    "Variant_Classification\tHGVSp_Short\n"
    "BRAF\t7\t140753336\tA\tT\tMissense_Mutation\tp.V600E\n"
)


@pytest.mark.parametrize("encode", ENCODINGS)
def test_maf_encodings_read_alike(tmp_path: Path, encode: object) -> None:
    path = tmp_path / "t.maf"
    path.write_bytes(encode(MAF))  # type: ignore[operator]
    alts, _ = read_maf(path)
    assert [(a.gene, a.pos, a.protein) for a in alts] == [("BRAF", 140753336, "V600E")]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(width=st.integers(1, 10).filter(lambda w: w != 7))
def test_property_ragged_maf_rows_never_become_alterations(tmp_path: Path, width: int) -> None:
    cells = (["KRAS", "12", "25245350", "C", "A", "Missense_Mutation", "p.G12V"] + ["x"] * 9)[
        :width
    ]
    path = tmp_path / "r.maf"
    path.write_text(MAF + "\t".join(cells) + "\n")
    with pytest.raises(InputError) as info:
        read_maf(path)
    text = str(info.value)
    assert text.startswith(f"{path}: line 4: {width} field(s), the header (line 2) has 7")
    assert not any(h in text for h in (*HOSTILE, "missing required column"))


def test_utf16_fusion_table_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f.tsv"
    path.write_bytes("#gene1\tgene2\nEML4\tALK\n".encode("utf-16"))
    (alt,) = read_fusions(path)
    assert (alt.gene, alt.gene2) == ("EML4", "ALK")


def test_duplicate_sample_names_are_a_vcf_format_error(tmp_path: Path) -> None:
    path = tmp_path / "d.vcf"
    path.write_text(vcf_text(["S1", "S2", "S1"], ["1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\t1/1"]))
    with pytest.raises(VcfFormatError) as info:
        VcfFile(path)
    assert str(info.value).startswith(
        f"{path}: line 5: duplicate sample name 'S1' (columns 10 and 12)"
    )


# -- (e) FHIR shapes and (f) special files -------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([{"resourceType": "Patient"}], "a JSON list of 1 item(s), not a FHIR Bundle"),
        ({"resourceType": "Patient", "id": "p"}, "a bare FHIR Patient resource, not a FHIR Bundle"),
        ({"resourceType": "Bundle", "entry": 3}, "Bundle.entry must be a list"),
    ],
)
def test_fhir_shapes_are_validation_errors(tmp_path: Path, doc: object, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FhirValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_bundle(path)


def test_fhir_nan_token_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"resourceType": "Bundle",\n "entry": [{"resource": {"x": NaN}}]}')
    with pytest.raises(FhirValidationError, match=r"line 2: NaN is not a JSON number"):
        read_bundle(path)


@pytest.mark.parametrize("special", ["/dev/zero", "DIR"])
def test_special_files_are_refused_by_every_reader(tmp_path: Path, special: str) -> None:
    target = str(tmp_path) if special == "DIR" else special
    expected = "is a directory" if special == "DIR" else "not a regular file"
    for reader, error in (
        (VcfFile, VcfFormatError),
        (read_scorefile, InputError),
        (read_maf, InputError),
        (read_fusions, InputError),
        (read_bundle, FhirValidationError),
    ):
        with pytest.raises(error, match=expected):
            reader(target)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO"):
        read_scorefile(fifo)
    with pytest.raises(VcfFormatError, match="FIFO"):
        VcfFile(fifo)


# -- CLI contract --------------------------------------------------------------------------------


def test_cli_prs_bad_weight_exit_code_and_message(tmp_path: Path) -> None:
    vcf = tmp_path / "g.vcf"
    vcf.write_text(vcf_text(["S1"], ["1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1"], DECLARED))
    sf = tmp_path / "s.txt"
    sf.write_text(SCORE.replace("0.25", "inf"))
    out = tmp_path / "out.json"
    proc = run("prs", str(sf), "--vcf", str(vcf), "-o", str(out))
    assert proc.returncode == 2
    assert f"{sf}: line 5: effect_weight 'inf' is not a finite number" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_cli_prs_invalid_genotype_is_a_caveat_and_json_is_strict(tmp_path: Path) -> None:
    vcf = tmp_path / "g.vcf"
    vcf.write_text(
        vcf_text(
            ["S1"],
            ["1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/5", "1\t200\t.\tC\tT\t.\t.\t.\tGT\t0/1"],
            DECLARED,
        )
    )
    sf = tmp_path / "s.txt"
    sf.write_text(SCORE)
    out = tmp_path / "out.json"
    proc = run("prs", str(sf), "--vcf", str(vcf), "--min-overlap", "0.01", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    (row,) = doc["scores"]
    assert any("invalid genotype at 1:100 (sample S1)" in c["message"] for c in row["caveats"])


def test_cli_pgx_build_mismatch_from_data(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "b37.vcf"
    path.write_text(vcf_text(["S1"], _grch37_rows(kb, 4), contigs=""))
    out = tmp_path / "o.json"
    proc = run("pgx", str(path), "-o", str(out))
    assert proc.returncode == 4, proc.stderr
    assert str(path) in proc.stderr and "GRCh37 positions" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_cli_tumor_short_maf_row_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "t.maf"
    path.write_text(MAF + "KRAS\t12\n")
    out = tmp_path / "o.json"
    proc = run("tumor", str(path), "--tumor-type", "LUAD", "-o", str(out))
    assert proc.returncode == 2, proc.stderr
    assert f"{path}: line 4: 2 field(s)" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


# -- review of the VCF/PRS/tumour readers (each test failed before its fix) ----------------------


def test_cli_dosage_only_vcf_is_a_format_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "ds.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=249250621>\n"
        '##FORMAT=<ID=DS,Number=1,Type=Float,Description="dosage">\n'
        f"{COLS}\tS0\tS1\n"
        + "".join(f"1\t{1000 + k}\t.\tA\tG\t.\tPASS\t.\tDS\t0.5\t1\n" for k in range(3))
    )
    out = run("pgx", str(path), "--genome-build", "GRCh37", "-o", str(tmp_path / "o.json"))
    assert out.returncode == 3, (out.returncode, out.stderr)
    assert "ds.vcf" in out.stderr and "GT" in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(VcfFormatError, match="dosage-only"):
        VcfFile(path)


def test_record_without_gt_is_one_note_for_the_record(tmp_path: Path) -> None:
    path = tmp_path / "nogt.vcf"
    samples = [f"S{i}" for i in range(50)]
    path.write_text(
        vcf_text(
            samples,
            [
                "1\t100\t.\tA\tG\t.\t.\t.\tDP\t" + "\t".join(["3"] * 50),
                # PS undeclared in the header (read as text) with a "." value: no crash
                "1\t200\t.\tA\tG\t.\t.\t.\tGT:PS\t" + "\t".join(["0|1:."] * 50),
            ],
        )
    )
    with VcfFile(path) as v:
        first, second = list(v._stream())
        assert first.invalid == ((-1, "the record has no GT field"),)
        assert (first.genotypes[:, :2] == -1).all()
        assert first.invalid_notes(v.samples, per_sample=False) == [
            "no genotype at 1:100 (all 50 samples): the record has no GT field; treated as missing"
        ]
        assert len(first.invalid_notes(v.samples)) == 50  # per sample for the PGx caveats
        assert second.genotypes[:, :2].tolist() == [[0, 1]] * 50
        sites = v.genotype_sites({("1", 100)})
    assert len(sites.invalid) == 1


TUMOUR_CSQ = (
    "T|missense_variant|MODERATE|BRAF|ENSG00000157764|Transcript|ENST00000646891|protein_coding|"
    "15/18||ENST00000646891.2:c.1799T>A|ENSP00000493543.1:p.Val600Glu|YES"
)


def _tumour_vcf(path: Path, normal: str) -> Path:
    fmt = (
        "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|"
        "HGVSp|CANONICAL"
    )
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr7,length=159345973>\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl '
        f'VEP. Format: {fmt}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        f"{COLS}\tTUMOR\tNORMAL\n"
        f"chr7\t140753336\trs113488022\tA\tT\t.\tPASS\tCSQ={TUMOUR_CSQ}\tGT\t0/1\t{normal}\n"
    )
    return path


def test_malformed_normal_gt_keeps_the_braf_annotation_and_is_a_caveat(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    from precisionrx.io.tumor_inputs import read_tumor_vcf

    alts, annotated, build = read_tumor_vcf(_tumour_vcf(tmp_path / "t.vcf", "0/x"))
    (braf,) = alts
    assert annotated and build is None
    assert braf.gene == "BRAF" and braf.protein == "V600E"
    assert braf.notes == [
        "invalid genotype at chr7:140753336 (sample NORMAL): GT '0/x' is not a genotype; "
        "treated as missing"
    ]
    with VcfFile(tmp_path / "t.vcf") as v:
        (ar,) = v.annotated([("7", 1, 2**31 - 1)], ["CSQ"])
    assert ar.ids == ("rs113488022",) and ar.info["CSQ"] == TUMOUR_CSQ
    out = run(
        "tumor", str(tmp_path / "t.vcf"), "--tumor-type", "MEL", "--genome-build", "GRCh38",
        "-o", str(tmp_path / "o.json"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "o.json").read_text())
    text = json.dumps(doc)
    assert '"tier": "I"' in text and "BRAF V600E" in text
    assert "GT '0/x' is not a genotype" in text and "no VEP" not in text


def test_fh_reader_keeps_ids_and_names_invalid_calls(tmp_path: Path) -> None:
    from precisionrx.engines.cardio.fh_genetics import fh_genetics
    from precisionrx.kb.registry import KnowledgeBase as Kb

    knowledge = Kb().json("cardio", "fh_lpa_knowledge.json")
    lpa = knowledge["lpa"]["genetics"]["snps"][0]
    windows = Kb().json("cardio", "fh_gene_windows.json")
    chrom, start, _ = windows["GRCh38"]["LPA"]
    path = tmp_path / "g.vcf"
    alt = lpa["risk_allele"]
    ref = "A" if alt != "A" else "C"
    path.write_text(
        vcf_text(
            ["S1", "S2"],
            [f"{chrom}\t{start + 10}\t{lpa['rsid']}\t{ref}\t{alt}\t.\tPASS\t.\tGT\t0/1\t0/x"],
            contigs=f"##contig=<ID={chrom}>\n",
        )
    )
    # No sample selected: the first (S1) is interpreted; the record is recovered from its text
    # (htslib refuses S2's GT) with its rsID, and S2's call is named.
    with VcfFile(path) as v:
        res = fh_genetics(v, "GRCh38", Kb(), str(path)).model_dump(mode="json")
    assert [a["rsid"] for a in res["lpa_alleles"]] == [lpa["rsid"]]
    assert any("(sample S2): GT '0/x' is not a genotype" in c["message"] for c in res["caveats"])


def test_build_inference_never_decodes_genotypes(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from precisionrx.engines.prs.scorer import dual_build_markers

    path = tmp_path / "b37.vcf"
    path.write_text(vcf_text(["S1"], _grch37_rows(kb, 4), contigs=""))

    def no_decode(self: VcfFile, v: object, line: int) -> None:
        raise AssertionError("genotypes decoded for the build inference")

    with VcfFile(path) as v:
        monkeypatch.setattr(VcfFile, "_convert", no_decode)
        evidence = v.infer_build(dual_build_markers(kb))
    assert evidence.contradicts("GRCh38") == "GRCh37"


def test_pgx_build_inference_reads_the_file_once(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b37.vcf"
    path.write_text(vcf_text(["S1"], _grch37_rows(kb, 4), contigs=""))
    passes = []
    real = VcfFile._raw_stream

    def counted(self: VcfFile) -> object:
        passes.append(1)
        return real(self)

    monkeypatch.setattr(VcfFile, "_raw_stream", counted)
    with pytest.raises(GenomeBuildMismatch, match="GRCh37 positions"):
        call_vcf(path, kb, None, CallOptions())
    assert len(passes) == 1
    passes.clear()
    (res,) = call_vcf(path, kb, None, CallOptions(genome_build="GRCh37"))
    assert res.genes and len(passes) == 1


def test_prs_build_inference_shares_the_genotype_read(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "s.txt").write_text(SCORE.replace("GRCh38", "GRCh37"))
    sf = read_scorefile(tmp_path / "s.txt")
    path = tmp_path / "b37.vcf"
    rows = [*_grch37_rows(kb, 4), "1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1"]
    path.write_text(vcf_text(["S1"], sorted(rows, key=lambda r: (r.split("\t")[0] != "1", r))))
    reads = []
    real = VcfFile.genotype_sites

    def counted(self: VcfFile, points: object) -> object:
        reads.append(1)
        return real(self, points)  # type: ignore[arg-type]

    monkeypatch.setattr(VcfFile, "genotype_sites", counted)
    monkeypatch.setattr(VcfFile, "infer_build", lambda *a, **k: pytest.fail("second pass"))
    with VcfFile(path) as v:
        sites = check_build(sf, v, kb)
        res = score(sf, v, min_overlap=0.0, sites=sites)
    assert len(reads) == 1 and res.variants_matched == 1


def test_fast_path_invalidation_does_not_copy_the_matrix() -> None:
    import tracemalloc

    import polars as pl

    from precisionrx.io.vcf_fastgt import GenotypeSites, _invalidate

    n_sites, n = 400, 3000
    gt = np.zeros((n_sites, 2, n), dtype=np.int8)
    gt[7, 1, 11] = 4
    table = pl.DataFrame(
        {"chrom": ["1"] * n_sites, "pos": list(range(n_sites)), "alt": ["G"] * n_sites}
    )
    sites = GenotypeSites(table, gt)
    tracemalloc.start()
    _invalidate(sites, [f"S{i}" for i in range(n)])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert gt[7, :, 11].tolist() == [-1, -1] and len(sites.invalid) == 1
    assert peak < gt.nbytes // 4, peak  # the int16 copy was 2x the matrix


def test_sanitize_valid_calls_do_no_per_row_work(monkeypatch: pytest.MonkeyPatch) -> None:
    gts = np.zeros((3000, 3), dtype=np.int32)
    gts[::2, 1] = 1
    monkeypatch.setattr(np, "flatnonzero", lambda *a: pytest.fail("per-row work"))
    calls: list[int] = []
    real_zeros = np.zeros

    def zeros(*a: Any, **k: Any) -> Any:
        calls.append(1)
        return real_zeros(*a, **k)

    monkeypatch.setattr(np, "zeros", zeros)
    out, invalid = sanitize_genotypes(gts, 1)
    assert out is gts and invalid == () and not calls


def test_gzipped_maf_is_read(tmp_path: Path) -> None:
    import gzip

    text = (
        "#version 2.4\nHugo_Symbol\tChromosome\tStart_Position\tReference_Allele\t"
        "Tumor_Seq_Allele2\tVariant_Classification\tHGVSp_Short\n"
        "BRAF\t7\t140753336\tA\tT\tMissense_Mutation\tp.V600E\n"
    )
    (tmp_path / "t.maf").write_text(text)
    (tmp_path / "t.maf.gz").write_bytes(gzip.compress(text.encode()))
    plain = read_maf(tmp_path / "t.maf")
    packed = read_maf(tmp_path / "t.maf.gz")
    assert [a.protein for a in packed[0]] == ["V600E"]
    assert [a.protein for a in plain[0]] == [a.protein for a in packed[0]]
    (tmp_path / "bad.maf.gz").write_bytes(gzip.compress(text.encode())[:-12])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_maf(tmp_path / "bad.maf.gz")


def test_scoring_table_is_not_split_into_python_rows(tmp_path: Path) -> None:
    import tracemalloc

    from precisionrx.io.pgs_scorefile import _table

    rows = "".join(f"1\t{100 + i}\tG\tA\t0.5\n" for i in range(100_000))
    text = "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n" + rows
    tracemalloc.start()
    frame = _table(text, 3, tmp_path / "s.txt")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert frame.height == 100_000 and frame["other_allele"][5] == "A"
    assert peak < 3 * len(text), (peak, len(text))  # a list of 100k str was ~5x the text
    # a long row and a short row whose tab totals cancel out: the first is named
    bad = text.replace("\t105\tG\tA\t0.5\n", "\t105\tG\tA\t0.5\tx\n").replace(
        "\t107\tG\tA\t0.5\n", "\t107\tG\tA\n"
    )
    with pytest.raises(InputError) as info:
        _table(bad, 3, tmp_path / "s.txt")
    assert info.value.record == "line 9" and "6 field(s)" in str(info.value)


@pytest.mark.parametrize(
    ("value", "build"),
    [
        ("file:///cromwell/0b38e1/ref/Homo_sapiens_assembly19.fasta", "GRCh37"),
        ("gs://bucket/Homo_sapiens_assembly38.fasta", "GRCh38"),
        ("file:///ref/hs37d5.fa", "GRCh37"),
        ("/ref/hs38DH.fa", "GRCh38"),
        ("/data/1b37f0c2/genome.fa", None),
        ("GRCh38_full_analysis_set_plus_decoy_hla.fa", "GRCh38"),
        ("ucsc.hg19.fasta", "GRCh37"),
    ],
)
def test_reference_names_need_word_boundaries(value: str, build: str | None) -> None:
    from precisionrx.io.vcf import reference_build

    assert reference_build(value) == build


def test_record_line_is_the_record_ordinal_for_recovered_records_too(tmp_path: Path) -> None:
    path = tmp_path / "r.vcf"
    path.write_text(
        vcf_text(
            ["S1"],
            [
                "1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1",
                "1\t200\t.\tA\tG\t.\t.\t.\tGT\t0/x",
                "1\t300\t.\tA\tG\t.\t.\t.\tGT\t1/1",
            ],
        )
    )
    with VcfFile(path) as v:
        assert [r.line for r in v._stream()] == [1, 2, 3]


def test_malformed_gt_on_an_undeclared_contig_is_not_a_crash(tmp_path: Path) -> None:
    # htslib returns a broken record for a malformed GT on a contig the header does not
    # declare, and cyvcf2 0.35 then crashed the process (exit 139, before this change too).
    vcf = tmp_path / "nc.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
        "10\t94781859\trs4244285\tG\tA\t.\tPASS\t.\tGT\t0/1\t0/x\n"
    )
    for args in (["pgx", str(vcf), "--genotypes-only"], ["pgx", str(vcf), "--sample", "S2"]):
        proc = subprocess.run(
            [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, (proc.returncode, proc.stderr)
        assert "invalid genotype at 10:94781859 (sample S2)" in proc.stdout


@pytest.mark.parametrize("head", [b"\x1f\x8b", b"\x1f\x8b\x08"])
def test_gzip_magic_without_a_full_header_is_a_format_error(tmp_path: Path, head: bytes) -> None:
    # fewer than the four header bytes that say whether the file is BGZF
    path = tmp_path / "short.vcf.gz"
    path.write_bytes(head)
    with pytest.raises(VcfFormatError, match="truncated or corrupt"):
        VcfFile(path)
