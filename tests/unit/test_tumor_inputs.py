"""Fusion and CNA readers: the tools' own outputs, generic tables, and errors naming file and line.

Fixtures in tests/data/tumor are hand-written to the documented layouts of STAR-Fusion
(star-fusion.fusion_predictions.abridged.tsv), Arriba (fusions.tsv) and FusionCatcher
(final-list_candidate-fusion-genes.txt); see tests/data/tumor/README.md.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precisionrx.errors import InputError
from precisionrx.io.tumor_inputs import read_cna, read_fusions
from precisionrx.records.notation import gene_symbol
from precisionrx.records.tumor import Alteration

DATA = Path(__file__).resolve().parents[1] / "data" / "tumor"
STAR = DATA / "star-fusion.fusion_predictions.abridged.tsv"
ARRIBA = DATA / "arriba.fusions.tsv"
FUSIONCATCHER = DATA / "final-list_candidate-fusion-genes.txt"
CNA = DATA / "cna.tsv"
STAR_HEADER = (
    "#FusionName\tJunctionReadCount\tSpanningFragCount\test_J\test_S\tSpliceType\tLeftGene\t"
    "LeftBreakpoint\tRightGene\tRightBreakpoint\tLargeAnchorSupport\tFFPM\tLeftBreakDinuc\t"
    "LeftBreakEntropy\tRightBreakDinuc\tRightBreakEntropy\tannots"
)


def pairs(alts: list[Alteration]) -> list[tuple[str, str]]:
    return [(a.gene, a.gene2) for a in alts]


def by_pair(alts: list[Alteration]) -> dict[tuple[str, str], Alteration]:
    return {(a.gene, a.gene2): a for a in alts}


def write(tmp_path: Path, text: str, name: str = "f.tsv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


# --- the tools' outputs ---------------------------------------------------------------------------


def test_star_fusion_output() -> None:
    alts = read_fusions(STAR)
    # 5' -> 3' orientation kept; GENE^ENSG suffixes stripped; the hyphenated clone name survives
    assert pairs(alts) == [
        ("EML4", "ALK"), ("KIF5B", "RET"), ("RP11-444D3.1", "ALK"), ("GOLGA6L2", "GOLGA6L1")
    ]  # fmt: skip
    found = by_pair(alts)
    eml4 = found[("EML4", "ALK")]
    assert all(a.kind == "fusion" for a in alts)
    # breakpoints and read support are carried into the source; the duplicate (line 6) merged
    assert eml4.source.startswith(f"{STAR.name} line 2 (chr2:42295516:+ > chr2:29223528:-")
    assert "junction reads 38, spanning fragments 21, FFPM 1.2541" in eml4.source
    assert "; line 6 (chr2:42299912:+" in eml4.source
    # a ragged line (no annots) and a line with one field too many are read
    assert found[("KIF5B", "RET")].source.startswith(f"{STAR.name} line 3 (")
    assert found[("RP11-444D3.1", "ALK")].source.startswith(f"{STAR.name} line 5 (")
    # a red-herring annotation is kept, with a note
    (note,) = found[("GOLGA6L2", "GOLGA6L1")].notes
    assert "DGD_PARALOGS" in note and "kept" in note and note.startswith("line 8:")


def test_star_fusion_ragged_lines_are_read(tmp_path: Path) -> None:
    """Regression: today's main fails with polars' hint about truncate_ragged_lines."""
    path = write(
        tmp_path,
        f"{STAR_HEADER}\n"
        "EML4--ALK\t12\t3\t12.00\t3.00\tONLY_REF_SPLICE\tEML4^ENSG00000143924.19\t"
        "chr2:42295516:+\tALK^ENSG00000171094.18\tchr2:29223528:-\tYES_LDAS\t0.5\n"
        "BCR--ABL1\t5\t2\t5.00\t2.00\tONLY_REF_SPLICE\tBCR^ENSG00000186716.21\tchr22:23290413:+\t"
        "ABL1^ENSG00000097007.19\tchr9:130714455:+\tYES_LDAS\t0.2\tGT\t1.9\tAG\t1.9\t[]\tEXTRA\n",
    )
    assert pairs(read_fusions(path)) == [("EML4", "ALK"), ("BCR", "ABL1")]


def test_star_fusion_line_cut_before_its_genes_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"{STAR_HEADER}\nEML4--ALK\t12\t3\t12.00\t3.00\tONLY_REF_SPLICE\tEML4\n")
    with pytest.raises(InputError) as info:
        read_fusions(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line 2: too few fields: 7, the header has 17")
    assert "RightGene" in message and "ragged" not in message


def test_arriba_output() -> None:
    alts = read_fusions(ARRIBA)
    # the all-intergenic line (5) has no gene: nothing to match, skipped
    assert pairs(alts) == [("EML4", "ALK"), ("IGH", ""), ("BCR", "ABL1")]
    found = by_pair(alts)
    eml4 = found[("EML4", "ALK")]
    assert eml4.source == (
        f"{ARRIBA.name} line 2 (2:42295516 > 2:29223528, split reads 24+17, discordant mates 31, "
        "confidence high, in-frame); line 7 (2:42299912 > 2:29223528, split reads 4+2, "
        "discordant mates 3, confidence medium, in-frame)"
    )
    assert eml4.notes == []
    # an intergenic 3' breakpoint names its neighbours but no partner is invented
    igh = found[("IGH", "")]
    assert igh.label == "IGH fusion"
    assert igh.notes == [
        "line 3: 3' breakpoint is intergenic (near PVT1 (4,215 bp), MYC (61,022 bp)); "
        "no 3' partner assigned"
    ]
    # low confidence: kept, with a note; the line stops after the confidence column
    bcr = found[("BCR", "ABL1")]
    assert "confidence low" in bcr.source
    assert bcr.notes == [
        "line 6: Arriba confidence low (more likely an artefact); kept, confirm before acting on it"
    ]


@pytest.mark.parametrize(
    ("gene1", "gene2", "expected", "note"),
    [
        ("TMPRSS2", "ERG", ("TMPRSS2", "ERG"), None),
        # an intergenic side is no partner: the fusion is named after its one gene
        ("AC012(120),ALK(250)", "EML4", ("EML4", ""), "5' breakpoint is intergenic (near AC012 (120 bp), ALK (250 bp)); no 5' partner assigned"),
        ("EML4", "LINC01(900),ALK(30)", ("EML4", ""), "3' breakpoint is intergenic (near ALK (30 bp), LINC01 (900 bp)); no 3' partner assigned"),
        ("EML4", "MYC(7)", ("EML4", ""), "3' breakpoint is intergenic (near MYC (7 bp)); no 3' partner assigned"),
        (".", "RET", ("RET", ""), "no gene at the 5' breakpoint"),
        ("NCOA4,AC0123.1", "RET", ("NCOA4", "RET"), "5' breakpoint lies in several genes (NCOA4, AC0123.1); NCOA4 used"),
        ("EGFR", "EGFR", ("EGFR", "EGFR"), "both breakpoints in EGFR (intragenic rearrangement)"),
    ],
)  # fmt: skip
def test_arriba_gene_cells(
    tmp_path: Path, gene1: str, gene2: str, expected: tuple[str, str], note: str | None
) -> None:
    path = write(
        tmp_path,
        f"#gene1\tgene2\tbreakpoint1\tbreakpoint2\tconfidence\n{gene1}\t{gene2}\t1:1\t2:2\thigh\n",
    )
    (alt,) = read_fusions(path)
    assert (alt.gene, alt.gene2) == expected
    assert alt.notes == ([f"line 2: {note}"] if note else [])


def test_fusioncatcher_output() -> None:
    alts = read_fusions(FUSIONCATCHER)
    assert pairs(alts) == [("TMPRSS2", "ERG"), ("KIF5B", "RET"), ("RPS6", "RPS6P1")]
    found = by_pair(alts)
    assert found[("TMPRSS2", "ERG")].source == (
        f"{FUSIONCATCHER.name} line 2 (21:41508081:- > 21:38445621:-, spanning pairs 17, "
        "spanning unique reads 9, in-frame)"
    )
    assert found[("KIF5B", "RET")].notes == []  # ragged line: stops after the fusion points
    (note,) = found[("RPS6", "RPS6P1")].notes
    assert note == (
        "line 4: FusionCatcher labels it a likely false positive (banned, paralogs, healthy); "
        "kept, confirm before acting on it"
    )


# --- generic tables and fusion names ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "EML4\tALK\nKIF5B\tRET\n",  # no header
        "five_prime\tthree_prime\nEML4\tALK\nKIF5B\tRET\n",  # a header
        "5' gene\t3' gene\nEML4\tALK\t7\nKIF5B\tRET\n",  # extra field after a 2-column header
        "gene_a,gene_b\nEML4,ALK\nKIF5B,RET,12\n",  # comma-separated, extra field
        "EML4   ALK\n  KIF5B RET  \n",  # white space
        "# from the lab's pipeline\n\nEML4\tALK\n# reviewed\nKIF5B\tRET\n",
        "EML4::ALK\nKIF5B--RET\n",  # a column of fusion names
        "EML4-ALK\t12\nKIF5B-RET\t4\n",  # fusion name and a count, no header
    ],
)
def test_generic_tables(tmp_path: Path, text: str) -> None:
    assert pairs(read_fusions(write(tmp_path, text))) == [("EML4", "ALK"), ("KIF5B", "RET")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("EML4--ALK", ("EML4", "ALK")),
        ("EML4::ALK", ("EML4", "ALK")),
        ("EML4-ALK", ("EML4", "ALK")),
        ("EML4/ALK", ("EML4", "ALK")),
        (" EML4 :: ALK ", ("EML4", "ALK")),
        ("EML4^ENSG00000143924.19--ALK^ENSG00000171094.18", ("EML4", "ALK")),
        ("ALK--EML4", ("ALK", "EML4")),  # orientation is kept, not sorted
        ("RP11-444D3.1--ALK", ("RP11-444D3.1", "ALK")),
        ("NKX2-1::ALK", ("NKX2-1", "ALK")),
        ("HER2::GRB7", ("ERBB2", "GRB7")),  # HGNC alias
        ("ALK fusion", ("ALK", "")),
        ("NKX2-1 fusion", ("NKX2-1", "")),
        ("EML4-ALK fusion", ("EML4", "ALK")),
        ("ROS1 rearrangement", ("ROS1", "")),
    ],
)
def test_fusion_names(tmp_path: Path, name: str, expected: tuple[str, str]) -> None:
    path = write(tmp_path, f"sample\tfusion\treads\nS1\t{name}\t12\n")
    assert pairs(read_fusions(path)) == [expected]


def test_gene_columns_and_duplicates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Gene1\tGene2\tsample\nEML4\tALK\tS1\nEML4^ENSG00000143924\tALK\tS2\nALK\tEML4\tS1\n"
        "EML4\tALK\n",
    )
    alts = read_fusions(path)
    # the same ordered pair is one alteration listing every line; the reciprocal product is not
    assert pairs(alts) == [("EML4", "ALK"), ("ALK", "EML4")]
    assert alts[0].source == "f.tsv line 2; line 3; line 5"


def test_header_only_file_has_no_fusions(tmp_path: Path) -> None:
    assert read_fusions(write(tmp_path, STAR_HEADER + "\n")) == []


@pytest.mark.parametrize(
    "encode",
    [
        lambda b: b.replace(b"\n", b"\r\n"),
        lambda b: b.replace(b"\n", b"\r"),
        lambda b: b"\xef\xbb\xbf" + b,
        lambda b: b"# produced by STAR-Fusion\n\n" + b.replace(b"\n", b"\n\n"),
        gzip.compress,
    ],
    ids=["crlf", "cr", "bom", "comments-blank-lines", "gzip"],
)
def test_real_world_encodings(tmp_path: Path, encode: Callable[[bytes], bytes]) -> None:
    for source, n in ((STAR, 4), (ARRIBA, 3), (FUSIONCATCHER, 3)):
        path = tmp_path / source.name
        path.write_bytes(encode(source.read_bytes()))
        assert len(read_fusions(path)) == n, source.name
    path = tmp_path / "cna.tsv"
    path.write_bytes(encode(CNA.read_bytes()))
    assert [(a.gene, a.kind) for a in read_cna(path)] == [
        ("ERBB2", "amplification"), ("CDKN2A", "deletion"), ("PTEN", "deletion"),
        ("KRAS", "amplification"),
    ]  # fmt: skip


# --- errors: InputError naming file and line, never a library message ------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the fusion table is empty"),
        (b"\n\n  \n", "the fusion table is empty"),
        (b"# STAR-Fusion\n# no header\n", "no fusion header or data, only comment lines"),
        (b"Hugo_Symbol\tChromosome\tStart_Position\nBRAF\t7\t140753336\n",
         "line 1: no recognisable fusion header"),
        (b"#FusionName\tJunctionReadCount\nEML4 ALK\t3\n", "line 2: cannot read fusion 'EML4 ALK'"),
        (b"#FusionName\tJunctionReadCount\nHLA-A-ALK\t3\n", "line 2: cannot read fusion 'HLA-A-ALK': the hyphen is ambiguous"),
        (b"#FusionName\tJunctionReadCount\nEML4::ALK\t3\nEML4::A LK\t3\n", "line 3: cannot read fusion"),
        (b"#gene1\tgene2\tconfidence\nEML4\n", "line 2: too few fields: 1, the header has 3; missing gene2"),
        (b"#gene1\tgene2\nEML4\t\n", "line 2: no gene in gene2"),
        (b"#gene1\tgene2\nEML4\tALK(12)x\n", "line 2: gene2 'ALK(12)x' is not a gene symbol"),
        (b"EML4\tALK\nKIF5B\n", "line 2: only one gene ('KIF5B')"),
        (b"EML4\tALK\n\x00\x01\x02\xff\xfe binary", "line 2: binary data (NUL bytes)"),
        (bytes(range(256)) * 8, "line 1: binary data (NUL bytes)"),
        (b"\x89PNG\r\n\x1a\n\xff\xd8\xff", "line 1: not UTF-8 text (byte 0x89)"),
        (gzip.compress(b"#gene1\tgene2\n" + b"EML4\tALK\n" * 5000)[:-40], "truncated or corrupt gzip data after line"),
    ],
)  # fmt: skip
def test_unreadable_fusion_tables(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_fusions(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    for library in ("polars", "truncate_ragged_lines", "Schema", "codec", "Traceback"):
        assert library not in text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="fusion table file not found"):
        read_fusions(tmp_path / "none.tsv")
    with pytest.raises(InputError, match="CNA table file not found"):
        read_cna(tmp_path / "none.tsv")


# --- CNA -----------------------------------------------------------------------------------------


def test_cna_table() -> None:
    alts = read_cna(CNA)
    assert [(a.gene, a.kind, a.copy_number) for a in alts] == [
        ("ERBB2", "amplification", 14.0),  # "Amplification" in an upper-case CALL column
        ("CDKN2A", "deletion", 0.0),  # GISTIC -2
        ("PTEN", "deletion", None),  # HOMDEL, line stops before Copy_Number
        ("KRAS", "amplification", 7.0),  # no call: copy number 7 >= 6
    ]  # gains, losses and neutral (GISTIC 0) are read but not returned
    assert alts[0].source == "cna.tsv line 4; line 12"
    assert alts[2].source == "cna.tsv line 7"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the CNA table is empty"),
        ("# only a comment\n", "no CNA header, only comment lines"),
        ("sample\tvalue\nS1\t2\n", "line 1: no CNA header"),
        ("gene\tcall\nERBB2\tamplification\nMYC\tbig\n", "line 3: unknown CNA call 'big'"),
        ("gene\tcall\nMYC\t3\n", "line 2: unknown CNA call '3'"),
        ("gene\tcall\tcopy_number\nMYC\n", "line 2: 1 field(s)"),
        ("gene\tcopy_number\nMYC\tnan\n", "line 2: copy_number 'nan' is not a number"),
        ("gene\tcopy_number\nMYC\tmany\n", "line 2: copy_number 'many' is not a number"),
        ("gene\tcopy_number\nMYC\t-1\n", "line 2: copy_number cannot be negative"),
        ("gene\tcall\n\tamplification\n", "line 2: gene '' is not a gene symbol"),
    ],
)
def test_unreadable_cna_tables(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text, "cna.tsv")
    with pytest.raises(InputError) as info:
        read_cna(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_cna_comma_separated_and_header_case(tmp_path: Path) -> None:
    path = write(tmp_path, "Gene_Symbol,Copy Number,Call\nERBB2,,amp\nCDKN2A,0,\nMYC,8,gain\n")
    assert [(a.gene, a.kind) for a in read_cna(path)] == [
        ("ERBB2", "amplification"), ("CDKN2A", "deletion")
    ]  # fmt: skip


# --- property: any layout, separator, padding and extra columns gives back the same pair ----------

_GENE = st.from_regex(r"[A-Z][A-Z0-9]{1,5}(-[A-Z0-9]{1,3})?(\.[0-9])?", fullmatch=True).filter(
    lambda g: g.lower() not in {"fusion", "fusions", "rearrangement", "translocation", "na"}
)
_EXTRA = st.lists(st.text("ABCxyz019 ._;:|()[]\"'+-", max_size=8), max_size=4)
_PAD = st.sampled_from(["", " ", "  "])
_LAYOUTS = (
    "star", "star_name", "arriba", "fusioncatcher", "fusion_column", "gene_columns",
    "generic_tab", "generic_header", "generic_space", "generic_comma",
)  # fmt: skip


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    a=_GENE, b=_GENE, layout=st.sampled_from(_LAYOUTS), sep=st.sampled_from(["--", "::", "/", "-"]),
    extra=_EXTRA, pad=_PAD, eol=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans(),
    comment=st.booleans(), gz=st.booleans(),
)  # fmt: skip
def test_any_layout_reads_back_the_same_pair(
    tmp_path: Path, a: str, b: str, layout: str, sep: str, extra: list[str], pad: str, eol: str,
    bom: bool, comment: bool, gz: bool,
) -> None:  # fmt: skip
    if sep == "-" and ("-" in a or "-" in b):
        sep = "::"  # a single hyphen is ambiguous with hyphenated symbols (an error, tested above)
    name = f"{pad}{a}{pad}{sep}{pad}{b}{pad}"
    tabs = "\t".join(f"{pad}{x}{pad}" for x in extra)
    more = "\t" + tabs if extra else ""
    words = " ".join(x.replace(" ", "_") for x in extra if x.strip())
    lines = {
        "star": [
            STAR_HEADER,
            f"{a}--{b}\t12\t3\t12.0\t3.0\tONLY_REF_SPLICE\t{pad}{a}^ENSG00000000001.1\t"
            f"chr1:1:+\t{b}^ENSG00000000002.7{pad}\tchr2:2:-{more}",
        ],
        "star_name": ["#FusionName\tJunctionReadCount", f"{name}\t4{more}"],
        "arriba": [
            "#gene1\tgene2\tstrand1(gene/fusion)\tstrand2(gene/fusion)\tbreakpoint1\tbreakpoint2\t"
            "split_reads1\tsplit_reads2\tdiscordant_mates\tconfidence",
            f"{pad}{a}{pad}\t{pad}{b}\t+/+\t-/-\t1:1\t2:2\t3\t4\t5\thigh{more}",
        ],
        "fusioncatcher": [
            "Gene_1_symbol(5end_fusion_partner)\tGene_2_symbol(3end_fusion_partner)\t"
            "Fusion_description\tSpanning_pairs",
            f"{a}\t{b}{pad}\tknown,oncogene\t7{more}",
        ],
        "fusion_column": ["Sample\tFusion\tReads", f"S1\t{name}\t9{more}"],
        "gene_columns": ["gene1\tgene2", f"{pad}{a}\t{b}{pad}{more}"],
        "generic_tab": [f"{pad}{a}{pad}\t{pad}{b}{pad}{more}"],
        "generic_header": ["five_prime\tthree_prime", f"{a}\t{b}{more}"],
        "generic_space": [f"{pad}{a}  {b}{pad} {words}"],
        "generic_comma": [f"{pad}{a}{pad},{b}" + "".join(f",{x}" for x in extra)],
    }[layout]
    if comment:
        lines = ["# written by a pipeline", "", *lines, "# end"]
    data = ("\ufeff" if bom else "").encode() + (eol.join(lines) + eol).encode()
    path = tmp_path / "prop.tsv"
    path.write_bytes(gzip.compress(data) if gz else data)
    assert pairs(read_fusions(path)) == [(gene_symbol(a), gene_symbol(b))]


# --- end to end: precisionrx tumor with a fusion caller's output ------------------------------------


@pytest.mark.parametrize("fusions", [ARRIBA, STAR], ids=["arriba", "star-fusion"])
def test_tumor_command_matches_the_fusion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fusions: Path
) -> None:
    from precisionrx.cli import main

    maf = Path(str(resources.files("precisionrx.demo"))) / "tumour.maf"
    out = tmp_path / "report.json"
    main(["tumor", str(maf), "--tumor-type", "LUAD", "--fusions", str(fusions), "-o", str(out)])
    doc = json.loads(out.read_text())
    alterations = {a["alteration"]: a for a in doc["alterations"]}
    assert alterations["EML4::ALK"]["type"] == "fusion"
    assert alterations["EML4::ALK"]["source"].startswith(f"{fusions.name} line 2 (")
    eml4 = [m for m in doc["matches"] if m["alteration"] == "EML4::ALK"]
    assert "fusion_pair" in {m["match_resolution"] for m in eml4}
    sensitive = {
        t["drug"]
        for m in eml4
        for t in m["therapies"]
        if t["response"] == "sensitive" and isinstance(t["drug"], str)  # not combinations
    }
    assert {"Alectinib", "Crizotinib", "Lorlatinib"} <= sensitive


def test_tumor_command_reports_an_unreadable_fusion_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from precisionrx.cli import main

    maf = Path(str(resources.files("precisionrx.demo"))) / "tumour.maf"
    bad = write(tmp_path, f"{STAR_HEADER}\nEML4--ALK\t12\n", "star.tsv")
    with pytest.raises(SystemExit) as info:
        main(["tumor", str(maf), "--fusions", str(bad)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error [PRX-IN-000]: {bad}: line 2: too few fields")
