"""Issue 11 item 2: raw GRCh38 tumour input matches knowledge-base variants at genomic
resolution through the GRCh37 -> GRCh38 conversion made at KB build time."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from precisionrx.engines.oncology.knowledge import oncology_kb
from precisionrx.kb.oncology_sources import BIOMARKER_COLUMNS
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.tumor import Alteration
from testkit.oncology import shared_kb
from testkit.oncology import tumour_document as analyse

KB = shared_kb()
ONCOLOGY = KB.source_dir("oncology")


GRCH38_HEAD = (
    "##fileformat=VCFv4.2\n##reference=GRCh38\n"
    "##contig=<ID={p}1,length=248956422,assembly=GRCh38>\n"
    "##contig=<ID={p}7,length=159345973,assembly=GRCh38>\n"
    "##contig=<ID={p}12,length=133275309,assembly=GRCh38>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
)
MAF_HEADER = (
    "Hugo_Symbol\tChromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\t"
    "Variant_Classification\tHGVSp_Short\tHGVSc\tExon_Number\tt_depth\tt_alt_count\t"
    "Tumor_Sample_Barcode\tNCBI_Build\n"
)
VEP_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp|CANONICAL"


def _run(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "tumor", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def _tumor(path: Path, tumor_type: str = "MEL") -> dict[str, Any]:
    from precisionrx.cli.tumor import tumor_report

    return tumor_report(
        input_path=path, tumor_type=tumor_type, cna=None, fusions=None, msi=None,
        msisensor_score=None, callable_mb=34.0, tmb_scheme="coding_and_silent",
        germline_vcf=None, germline_sample=None, genome_build=None,
    ).model_dump(mode="json")  # fmt: skip


def _sensitive(doc: dict[str, Any], resolution: str) -> set[str]:
    out: set[str] = set()
    for m in doc["matches"]:
        if m["match_resolution"] != resolution:
            continue
        for t in m["therapies"]:
            if t["response"] == "sensitive":
                out |= {t["drug"]} if isinstance(t["drug"], str) else set(t["drug"])
    return out


def _resolutions(doc: dict[str, Any]) -> set[str]:
    return {m["match_resolution"] for m in doc["matches"]}


@pytest.mark.parametrize("prefix", ["", "chr"])
def test_raw_grch38_vcf_matches_braf_v600e_at_genomic_resolution(
    tmp_path: Path, prefix: str
) -> None:
    raw = tmp_path / "raw38.vcf"
    raw.write_text(
        GRCH38_HEAD.format(p=prefix) + f"{prefix}7\t140753336\t.\tA\tT\t50\tPASS\t.\tGT\t0/1\n"
    )
    doc = _run(str(raw), "--tumor-type", "MEL")
    assert doc["genome_build"] == "GRCh38"
    assert doc["matches"] and _resolutions(doc) == {"genomic"}
    assert {"Vemurafenib", "Dabrafenib"} <= _sensitive(doc, "genomic")
    braf = [m for m in doc["matches"] if m["match_resolution"] == "genomic"]
    assert all(t["biomarker"].startswith("BRAF V600") for m in braf for t in m["therapies"])


def test_grch38_maf_row_without_hgvsp_matches_at_genomic_resolution(tmp_path: Path) -> None:
    maf = tmp_path / "t.maf"
    maf.write_text(
        "#version 2.4\n" + MAF_HEADER
        + "BRAF\t7\t140753336\tA\tT\tMissense_Mutation\t\t\t\t100\t40\tT1\tGRCh38\n"
    )  # fmt: skip
    doc = _tumor(maf)
    assert doc["genome_build"] == "GRCh38"
    assert "Vemurafenib" in _sensitive(doc, "genomic")


def test_grch37_coordinates_in_a_grch38_file_do_not_match(tmp_path: Path) -> None:
    raw = tmp_path / "raw38.vcf"
    raw.write_text(GRCH38_HEAD.format(p="") + "7\t140453136\t.\tA\tT\t50\tPASS\t.\tGT\t0/1\n")
    doc = _tumor(raw)
    assert doc["genome_build"] == "GRCh38" and doc["matches"] == []
    maf = tmp_path / "t.maf"
    maf.write_text(
        "#version 2.4\n" + MAF_HEADER
        + "BRAF\t7\t140453136\tA\tT\tMissense_Mutation\t\t\t\t100\t40\tT1\tGRCh38\n"
    )  # fmt: skip
    assert "genomic" not in _resolutions(_tumor(maf))


def test_grch38_coordinates_in_a_grch37_file_do_not_match(tmp_path: Path) -> None:
    raw = tmp_path / "raw37.vcf"
    raw.write_text(
        GRCH38_HEAD.format(p="").replace("248956422", "249250621").replace("GRCh38", "GRCh37")
        + "7\t140753336\t.\tA\tT\t50\tPASS\t.\tGT\t0/1\n"
    )
    doc = _tumor(raw)
    assert doc["genome_build"] == "GRCh37" and doc["matches"] == []


def test_annotated_grch38_vcf_and_maf_still_match_at_hgvsp(tmp_path: Path) -> None:
    vep = tmp_path / "vep.vcf"
    vep.write_text(
        GRCH38_HEAD.format(p="").replace(
            "##FORMAT", f'##INFO=<ID=CSQ,Number=.,Type=String,Description="VEP. Format: '
            f'{VEP_FORMAT}">\n##FORMAT',
        )
        + "7\t140753336\t.\tA\tT\t50\tPASS\tCSQ=T|missense_variant|MODERATE|BRAF|ENSG|Transcript|"
        "ENST1|protein_coding|15/18||ENST1:c.1799T>A|ENSP1:p.Val600Glu|YES\tGT\t0/1\n"
    )  # fmt: skip
    maf = tmp_path / "t.maf"
    maf.write_text(
        "#version 2.4\n" + MAF_HEADER
        + "BRAF\t7\t140753336\tA\tT\tMissense_Mutation\tp.V600E\tc.1799T>A\t15/18\t100\t40\t"
        "T1\tGRCh38\n"
    )  # fmt: skip
    for path in (vep, maf):
        doc = _tumor(path)
        assert doc["genome_build"] == "GRCh38"
        assert {"Vemurafenib", "Dabrafenib"} <= _sensitive(doc, "hgvsp")
        assert "genomic" not in _resolutions(doc)  # the annotation names the same change


def test_unknown_build_keeps_the_knowledge_base_build(tmp_path: Path) -> None:
    """No contig lengths, no NCBI_Build: coordinates are taken as the biomarker's own (GRCh37)."""
    alt37 = Alteration(kind="variant", gene="", chrom="7", pos=140453136, ref="A", alt="T")
    alt38 = Alteration(kind="variant", gene="", chrom="7", pos=140753336, ref="A", alt="T")
    doc = analyse([alt37, alt38], "MEL", None, annotated=False)
    assert {m["alteration"] for m in doc["matches"]} == {alt37.label}
    assert any(c["code"] == "genome_build_not_stated" for c in doc["caveats"])


def test_kb_rows_carry_both_builds() -> None:
    from precisionrx.engines.oncology.knowledge import LIFTOVER_COLUMNS

    with (ONCOLOGY / "biomarkers.tsv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        assert reader.fieldnames == BIOMARKER_COLUMNS + LIFTOVER_COLUMNS
        rows = list(reader)
    located = [r for r in rows if r["pos"]]
    assert located and all(r["build"] == "GRCh37" and r["liftover"] for r in located)
    assert all(not r["liftover"] for r in rows if not r["pos"])
    expected = {  # GRCh37 -> GRCh38 of well-known hotspots (ClinVar shows both builds)
        ("7", "140453136", "A", "T"): ("7", "140753336", "A", "T"),  # BRAF V600E
        ("7", "55259515", "T", "G"): ("7", "55191822", "T", "G"),  # EGFR L858R
        ("12", "25398285", "C", "A"): ("12", "25245351", "C", "A"),  # KRAS G12C
    }
    seen = set()
    for r in located:
        key = (r["chrom"], r["pos"], r["ref"], r["alt"])
        if key in expected:
            assert (r["chrom_grch38"], r["pos_grch38"], r["ref_grch38"], r["alt_grch38"]) == (
                expected[key]
            )
            assert (r["liftover"], r["liftover_method"]) == ("ok", "chain+")
            seen.add(key)
    assert seen == set(expected)
    # every failure is reported, with its reason, in liftover_report.tsv and about.json
    failed = {(r["chrom"], r["pos"], r["ref"], r["alt"]) for r in located if r["liftover"] != "ok"}
    with (ONCOLOGY / "liftover_report.tsv").open(encoding="utf-8") as fh:
        report = list(csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"))
    assert {(r["chrom"], r["pos"], r["ref"], r["alt"]) for r in report} == failed
    about = json.loads((ONCOLOGY / "about.json").read_text())
    summary = about["liftover"]
    assert summary["rows_with_coordinates"] == len(located)
    assert summary["rows_converted"] == sum(r["liftover"] == "ok" for r in located)
    assert summary["variants_failed"] == len(report)
    genome = json.loads((KB.root / "genome" / "about.json").read_text())
    assert summary["chain_sha256"] == genome["files"]["GRCh37_to_GRCh38.chain.gz"]


def test_user_added_rows_with_grch37_coordinates_are_converted_on_load(tmp_path: Path) -> None:
    """A CIViC export in the 2018 format carries GRCh37 coordinates: they are lifted on load."""
    folder = tmp_path / "home" / "kb" / "civic"  # as `kb add civic` writes it
    folder.mkdir(parents=True)
    added = folder / "biomarkers.tsv"
    row = dict.fromkeys(BIOMARKER_COLUMNS, "")
    row.update(
        source="civic-2026-01-01", source_id="EID1", feature="somatic", gene="KRAS",
        kind="protein", protein="G12C", chrom="12", pos="25398285", ref="C", alt="A",
        build="GRCh37", tumor_code="LUAD", therapy="Newdrugib", response="sensitive",
        evidence_level="A", strength="strong", alteration="KRAS G12C",
    )  # fmt: skip
    with added.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, BIOMARKER_COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerow(row)
    kb = KnowledgeBase(home=tmp_path / "home")
    okb = oncology_kb(kb)
    mine = [r for r in okb.rows if r["source_id"] == "EID1"]
    assert [(r["pos_grch38"], r["liftover"]) for r in mine] == [("25245351", "ok")]
    # the table as read by the registry is not changed by the conversion
    assert "pos_grch38" not in kb.rows("civic", "biomarkers.tsv", user=True)[0]
    raw = Alteration(kind="variant", gene="", chrom="12", pos=25245351, ref="C", alt="A")
    doc = analyse([raw], "LUAD", "GRCh38", kb=kb, annotated=False)
    assert "Newdrugib" in _sensitive(doc, "genomic")


def test_lift_rows_marks_every_row_and_reports_each_failed_variant() -> None:
    from precisionrx.engines.oncology.knowledge import lift_rows
    from precisionrx.kb.liftover import packaged_chain, parse_chain

    def row(source_id: str, chrom: str = "", pos: str = "", ref: str = "", alt: str = "",
            build: str = "GRCh37") -> dict[str, str]:  # fmt: skip
        r = dict.fromkeys(BIOMARKER_COLUMNS, "")
        r.update(source="t", source_id=source_id, chrom=chrom, pos=pos, ref=ref, alt=alt,
                 build=build if pos else "", alteration=f"alt{source_id}")  # fmt: skip
        return r

    rows = [
        row("1", "7", "140453136", "A", "T"),  # BRAF V600E
        row("2", "13", "28592642", "C", "G/A"),  # CIViC's two-allele notation
        row("3", "1", "5000", "A", "T"),  # before the first GRCh37 -> GRCh38 chain: a gap
        row("4", "13", "28592642", "C", "G/A"),  # same variant: one report line, two rows
        row("5"),  # no coordinates
        row("6", "7", "140753336", "A", "T", build="GRCh38"),  # already GRCh38: left alone
    ]
    failures = lift_rows(rows, packaged_chain("GRCh37", "GRCh38"))
    status = [(r["liftover"], r["pos_grch38"], r["liftover_method"]) for r in rows]
    assert status == [
        ("ok", "140753336", "chain+"),
        ("failed:unsupported_allele", "", ""),
        ("failed:gap", "", ""),
        ("failed:unsupported_allele", "", ""),
        ("", "", ""),
        ("", "", ""),
    ]
    assert [(f["chrom"], f["pos"], f["reason"], f["rows"], f["source_ids"]) for f in failures] == [
        ("13", "28592642", "unsupported_allele", "2", "t:2 t:4"),
        ("1", "5000", "gap", "1", "t:3"),
    ]
    # a conversion that does not come back through the reverse chain is a failure too
    there = parse_chain(["chain 1 7 1000 + 0 100 7 1000 + 0 100 1", "100"], name="there",
                        source_build="GRCh37", target_build="GRCh38")  # fmt: skip
    elsewhere = parse_chain(["chain 1 7 1000 + 0 100 7 1000 + 200 300 1", "100"], name="back",
                            source_build="GRCh38", target_build="GRCh37")  # fmt: skip
    toy = [row("7", "7", "50", "A", "T")]
    assert lift_rows(toy, there, elsewhere)[0]["reason"] == "round_trip_mismatch"
    assert toy[0]["liftover"] == "failed:round_trip_mismatch" and not toy[0]["pos_grch38"]
    assert lift_rows(toy, there) == [] and toy[0]["pos_grch38"] == "50"
    with pytest.raises(ValueError, match="GRCh38 -> GRCh37"):
        lift_rows(toy, there, there)  # the round-trip chain must go the other way
    with pytest.raises(ValueError, match="GRCh37 -> GRCh38"):
        lift_rows(toy, elsewhere)
