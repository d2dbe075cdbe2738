"""Precision oncology: well-known biomarkers, notation variants, resistance, tiers, TMB, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from precisionrx.engines.oncology import burden, tiering
from precisionrx.engines.oncology.api import TumourSettings, analyse_tumour
from precisionrx.engines.oncology.knowledge import oncology_kb
from precisionrx.errors import InputError
from precisionrx.io.tumor_inputs import read_cna, read_fusions, read_maf
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.notation import fusion_pair, protein_change
from precisionrx.records.oncology import TumourReport
from precisionrx.records.tumor import Alteration
from testkit.oncology import shared_kb
from testkit.oncology import tumour_document as analyse

KB = shared_kb()
OKB = oncology_kb(KB)


MAF_HEADER = (
    "Hugo_Symbol\tChromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\t"
    "Variant_Classification\tHGVSp_Short\tHGVSc\tExon_Number\tt_depth\tt_alt_count\t"
    "Tumor_Sample_Barcode\tNCBI_Build\n"
)


def maf(tmp_path: Path, *rows: str, name: str = "t.maf") -> Path:
    path = tmp_path / name
    path.write_text("#version 2.4\n" + MAF_HEADER + "".join(r + "\n" for r in rows))
    return path


def variant(gene: str, protein: str, csq: str, exon: str = "", ref: str = "A",
            alt: str = "T") -> Alteration:  # fmt: skip
    return Alteration(kind="variant", gene=gene, protein=protein_change(protein), exon=exon,
                      consequence=frozenset(csq.split("&")), consequence_text=csq, ref=ref,
                      alt=alt, source=f"{gene} {protein}")  # fmt: skip


def therapies(report: dict[str, Any], resolution: str | None = None) -> list[dict[str, Any]]:
    return [
        t
        for m in report["matches"]
        if resolution is None or m["match_resolution"] == resolution
        for t in m["therapies"]
    ]


def drugs(
    ts: list[dict[str, Any]], response: str = "sensitive", tier: str | None = None
) -> set[str]:
    out = set()
    for t in ts:
        if t["response"] == response and (tier is None or t["tier"] == tier):
            out |= {t["drug"]} if isinstance(t["drug"], str) else set(t["drug"])
    return out


@pytest.mark.parametrize("spelling", ["V600E", "p.V600E", "p.Val600Glu", "BRAF V600E"])
def test_braf_v600e_melanoma_any_notation(spelling: str) -> None:
    report = analyse([variant("BRAF", spelling, "missense_variant", "15")], "MEL", "GRCh38")
    hgvsp = therapies(report, "hgvsp")
    assert {"Dabrafenib", "Vemurafenib", "Trametinib"} <= drugs(hgvsp, tier="I")
    assert all(t["tumor_type_match"] in ("same", "pan-cancer") for t in hgvsp if t["tier"] == "I")
    assert report["matches"][0]["match_resolution"] == "hgvsp"  # most specific first


def test_egfr_l858r_and_exon19_deletion_in_luad_via_nsclc_evidence() -> None:
    l858r = variant("EGFR", "p.L858R", "missense_variant", "21")
    ex19 = variant(
        "EGFR", "p.E746_A750del", "inframe_deletion", "19", ref="GGAATTAAGAGAAGCA", alt="G"
    )
    report = analyse([l858r, ex19], "LUAD", "GRCh38")
    by_alt = {m["alteration"] + "|" + m["match_resolution"]: m for m in report["matches"]}
    assert "Osimertinib" in drugs(by_alt["EGFR L858R|hgvsp"]["therapies"], tier="I")
    exon = by_alt["EGFR E746_A750del|exon"]
    assert {"Osimertinib", "Erlotinib", "Gefitinib"} <= drugs(exon["therapies"], tier="I")
    # LUAD is a child of NSCLC in OncoTree: NSCLC evidence is "same".
    assert all(
        t["tumor_type_match"] == "same" for t in exon["therapies"] if t["tumor_type"] == "NSCLC"
    )
    # A missense variant in exon 19 is not an exon 19 deletion.
    other = analyse([variant("EGFR", "p.L747F", "missense_variant", "19")], "LUAD", "GRCh38")
    assert not [m for m in other["matches"] if m["match_resolution"] == "exon"
                and "Osimertinib" in drugs(m["therapies"])]  # fmt: skip


def test_t790m_is_resistance_not_a_recommendation() -> None:
    report = analyse([variant("EGFR", "p.T790M", "missense_variant", "20")], "NSCLC", None)
    hgvsp = therapies(report, "hgvsp")
    resistant = [t for t in hgvsp if t["response"] == "resistant"]
    assert {"Gefitinib", "Erlotinib"} <= drugs(resistant, "resistant")
    assert all(t["tier"] is None and t["recommendation"] == "avoid / expect resistance"
               for t in resistant)  # fmt: skip
    assert "Osimertinib" in drugs(hgvsp, tier="I")


def test_kras_g12c_and_anti_egfr_resistance_in_colorectal() -> None:
    g12c = variant("KRAS", "p.G12C", "missense_variant", "2")
    nsclc = analyse([g12c], "NSCLC", None)
    assert "Sotorasib" in drugs(therapies(nsclc, "hgvsp"), tier="I")
    crc = analyse([g12c], "COADREAD", None)
    exon = therapies(crc, "exon")
    assert {"Cetuximab", "Panitumumab"} <= drugs(exon, "resistant")


@pytest.mark.parametrize("name", ["EML4-ALK", "EML4::ALK", "EML4--ALK", "ALK fusion"])
def test_alk_fusion_notations(tmp_path: Path, name: str) -> None:
    path = tmp_path / "f.tsv"
    path.write_text(f"#FusionName\tJunctionReadCount\n{name}\t12\n")
    report = analyse(read_fusions(path), "LUAD", None)
    assert "Alectinib" in drugs(therapies(report), tier="I")
    resolutions = {m["match_resolution"] for m in report["matches"]}
    assert resolutions <= {"fusion_pair", "fusion_gene"} and resolutions


def test_ros1_and_ntrk_fusions_pan_cancer() -> None:
    ros1 = Alteration(kind="fusion", gene="CD74", gene2="ROS1", source="f1")
    ntrk = Alteration(kind="fusion", gene="ETV6", gene2="NTRK3", source="f2")
    report = analyse([ros1, ntrk], "THPA", None)
    ntrk_ts = [t for m in report["matches"] if m["alteration"] == "ETV6::NTRK3"
               for t in m["therapies"]]  # fmt: skip
    lar = [t for t in ntrk_ts if t["drug"] == "Larotrectinib"]
    assert lar and all(t["tumor_type_match"] == "pan-cancer" and t["tier"] == "I" for t in lar)
    ros = analyse([ros1], "NSCLC", None)
    assert {"Crizotinib", "Entrectinib"} & drugs(therapies(ros), tier="I")


def test_erbb2_amplification_breast_and_brca_parp() -> None:
    amp = Alteration(kind="amplification", gene="ERBB2", source="cna")
    brca2 = variant("BRCA2", "p.K1000fs", "frameshift_variant", "11")
    report = analyse([amp, brca2], "BRCA", None)
    assert "Trastuzumab" in drugs(therapies(report, "cna"), tier="I")
    assert "Olaparib" in drugs(therapies(report, "gene"), tier="I")
    # Synonymous variants are not protein-altering: no gene-level match.
    silent = analyse([variant("BRCA2", "p.L100=", "synonymous_variant")], "BRCA", None)
    assert not silent["matches"]


def test_msi_h_and_tmb_h_give_pembrolizumab() -> None:
    report = analyse([], "PAAD", None, msi="MSI-H")
    msi = [m for m in report["matches"] if m["match_resolution"] == "msi"]
    assert msi and "Pembrolizumab" in drugs(msi[0]["therapies"], tier="I")
    many = [variant("TTN", f"p.A{i}T", "missense_variant") for i in range(400)]
    tmb = analyse(many, "LUAD", None, callable_mb=34.0)
    assert tmb["tmb"]["value"] == 400 / 34 and tmb["tmb"]["high"]  # unrounded (issue 11.6)
    assert any(m["match_resolution"] == "tmb" for m in tmb["matches"])


def test_tmb_schemes_count_as_pcgr() -> None:
    alts = [
        variant("A", "p.A1T", "missense_variant"),
        variant("B", "p.A2=", "synonymous_variant"),
        variant("C", "", "splice_region_variant&synonymous_variant"),  # anchored: not counted
        variant("D", "p.Q3*", "stop_gained"),
        variant("E", "", "intron_variant"),
    ]
    assert burden.tmb(alts, 1.0).variants_counted == 3
    assert burden.tmb(alts, 1.0, "coding_non_silent").variants_counted == 2
    assert burden.tmb(alts, 1.0, "missense_only").variants_counted == 1
    panel = burden.tmb(alts, 1.2)
    assert panel.value == round(3 / 1.2, 4) and any(c.code == "tmb_panel" for c in panel.caveats)
    assert "panel" in next(c.message for c in panel.caveats if c.code == "tmb_panel")
    with pytest.raises(InputError, match="TMB scheme"):
        burden.tmb(alts, 1.0, "every_variant")


def test_tier_rules() -> None:
    assert tiering.tier("strong", "same") == ("I", "A")
    assert tiering.tier("strong", "pan-cancer") == ("I", "A")
    assert tiering.tier("strong", "other") == ("II", "C")
    assert tiering.tier("weak", "same") == ("II", "C")
    assert tiering.tier("weak", "other") == ("III", "D")
    assert OKB.tumor_match("LUAD", "NSCLC") == "same"
    assert OKB.tumor_match("NSCLC", "LUAD") == "same"
    assert OKB.tumor_match("LUAD", "SCLC") == "other"
    assert OKB.tumor_match("LUAD", "") == "pan-cancer"


def test_notation_helpers() -> None:
    assert protein_change("p.Gly12Cys") == "G12C"
    assert protein_change("p.Gln61Ter") == protein_change("p.Q61*") == "Q61*"
    assert protein_change("p.R213X") == protein_change("R213X") == "R213*"  # X is a stop
    assert protein_change("p.G574Rfs*12") == protein_change("p.Gly574fsTer3") == "G574fs"
    assert fusion_pair("HER2-GRB7") == ("ERBB2", "GRB7")
    assert fusion_pair("not a fusion") is None


def test_maf_reader_and_errors(tmp_path: Path) -> None:
    good = maf(
        tmp_path,
        "BRAF\t7\t140753336\tA\tT\tMissense_Mutation\tp.V600E\tc.1799T>A\t15/18\t100\t40\tT1\tGRCh38",
    )
    alts, build = read_maf(good)
    assert build == "GRCh38" and alts[0].protein == "V600E" and alts[0].exon == "15"
    assert alts[0].vaf == 0.4 and "missense_variant" in alts[0].consequence
    bad_class = maf(
        tmp_path, "BRAF\t7\t1\tA\tT\tMisense\tp.V600E\t\t\t\t\tT1\tGRCh38", name="b.maf"
    )
    with pytest.raises(InputError, match="Variant_Classification"):
        read_maf(bad_class)
    bad_pos = maf(tmp_path, "BRAF\t7\tabc\tA\tT\tMissense_Mutation\t\t\t\t\t\tT1\t", name="c.maf")
    with pytest.raises(InputError, match="line 3: Start_Position 'abc'"):  # the file's line
        read_maf(bad_pos)
    no_cols = tmp_path / "d.maf"
    no_cols.write_text("gene\tchange\nBRAF\tV600E\n")
    with pytest.raises(InputError, match="Hugo_Symbol"):
        read_maf(no_cols)
    cna = tmp_path / "cna.tsv"
    cna.write_text("gene\tcall\tcopy_number\nERBB2\t\t12\nCDKN2A\t-2\t\nMYC\tgain\t\n")
    assert [(a.gene, a.kind) for a in read_cna(cna)] == [
        ("ERBB2", "amplification"), ("CDKN2A", "deletion")
    ]  # fmt: skip


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_cli_contract_germline_conflict_and_html(tmp_path: Path) -> None:
    from testkit.synthetic import VcfBuilder

    germ = (
        VcfBuilder(KB)
        .haplotypes("DPYD", "c.1905+1G>A (*2A)", "c.1905+1G>A (*2A)")
        .write(tmp_path / "germ.vcf")
    )
    path = maf(
        tmp_path, "TP53\t17\t7675088\tC\tT\tMissense_Mutation\tp.R175H\t\t5/11\t80\t30\tT1\tGRCh38"
    )
    cna = tmp_path / "cna.tsv"
    cna.write_text("gene\tcall\nERBB2\tamplification\n")
    proc = _run("tumor", str(path), "--tumor-type", "BRCA", "--cna", str(cna),
                "--germline-vcf", str(germ))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"tumor_type", "tmb", "msi", "alterations", "matches", "germline_conflicts",
            "caveats"} <= set(doc)  # fmt: skip
    assert {"value", "scheme", "callable_mb", "high"} <= set(doc["tmb"])
    m = doc["matches"][0]
    assert {"gene", "alteration", "match_resolution", "therapies"} <= set(m)
    assert {"drug", "response", "evidence_level", "tier", "source", "citation",
            "tumor_type_match", "approval"} <= set(m["therapies"][0])  # fmt: skip
    conflict = {c["drug"]: c for c in doc["germline_conflicts"]}
    assert conflict["capecitabine"]["status"] == "action"
    assert conflict["capecitabine"]["genes"] == ["DPYD"]
    assert any(c["code"] == "moalmanac_research_use" and "research use only" in c["message"]
               for c in doc["caveats"])  # fmt: skip
    assert doc["germline_checked"]["vcf"] == str(germ) and doc["notice"] and doc["input"]
    assert doc["provenance"]["knowledge_bases"] and doc["provenance"]["input_sha256"]
    html = _run("tumor", str(path), "--tumor-type", "BRCA", "--cna", str(cna), "--germline-vcf",
                str(germ), "--format", "html", "-o", str(tmp_path / "r.html"))  # fmt: skip
    assert html.returncode == 0, html.stderr
    text = (tmp_path / "r.html").read_text()
    assert "germline: DPYD" in text and "research use only" in text


def test_cli_errors_and_raw_vcf(tmp_path: Path) -> None:
    bad = tmp_path / "x.maf"
    bad.write_text("Hugo_Symbol\tVariant_Classification\nBRAF\tNotAClass\n")
    proc = _run("tumor", str(bad), "-o", str(tmp_path / "o.json"))
    assert proc.returncode == InputError.exit_code and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.json").exists()
    assert _run("tumor", str(bad), "--callable-mb", "0").returncode == InputError.exit_code
    raw = tmp_path / "raw.vcf"
    raw.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=249250621>\n##contig=<ID=7,length=159138663>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
        "7\t140453136\t.\tA\tT\t50\tPASS\t.\tGT\t0/1\n"  # BRAF V600E on GRCh37
    )
    proc = _run("tumor", str(raw), "--tumor-type", "MEL")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["genome_build"] == "GRCh37"
    assert any(c["code"] == "vcf_not_annotated" and "genomic coordinates only" in c["message"]
               for c in doc["caveats"])  # fmt: skip
    assert doc["matches"] and all(m["match_resolution"] == "genomic" for m in doc["matches"])
    assert "Dabrafenib" in drugs(therapies(doc), tier="I")
    # The same position read as GRCh38 is another base: no coordinate match across builds.
    proc38 = _run("tumor", str(raw), "--tumor-type", "MEL", "--genome-build", "GRCh38")
    assert proc38.returncode == 4 and "GRCh37" in proc38.stderr


def test_kb_add_civic_current_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = tmp_path / "civic.tsv"
    export.write_text(
        "molecular_profile\tdisease\ttherapies\tevidence_type\tevidence_direction\t"
        "evidence_level\tsignificance\tevidence_status\tevidence_id\tcitation\n"
        "BRAF V600E\tMelanoma\tNewdrugumab\tPredictive\tSupports\tA\tSensitivity/Response\t"
        "accepted\t9001\tDoe 2026\n"
    )
    monkeypatch.setenv("PRECISIONRX_HOME", str(tmp_path / "home"))
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "kb", "add", "civic",
         str(export)],
        capture_output=True, text=True, check=False, env={**__import__("os").environ},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    kb = KnowledgeBase(home=tmp_path / "home")
    assert kb.user_source("civic") is not None
    okb = oncology_kb(kb)
    report = analyse([variant("BRAF", "V600E", "missense_variant", "15")], "SKCM", None, kb=kb)
    assert "Newdrugumab" in drugs(therapies(report, "hgvsp"), tier="I")
    assert not any(r["source"].startswith("civic-2018") for r in okb.rows)
    assert not any(c["code"] == "civic_out_of_date" for c in report["caveats"])
    assert [a["file"] for a in report["knowledge_base"]["added"]] == ["civic.tsv"]
    assert "civic (user)" in {k["name"] for k in report["provenance"]["knowledge_bases"]}
    # the packaged knowledge base alone still carries the 2018 snapshot and says so
    assert any(r["source"].startswith("civic-2018") for r in OKB.rows)
    assert any(c["code"] == "civic_out_of_date" for c in analyse([], "SKCM")["caveats"])


def test_demo_plan_has_the_oncology_section_and_the_dpyd_conflict() -> None:
    from importlib import resources

    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.plan.builder import build_plan

    demo = Path(str(resources.files("precisionrx.demo"))) / "patient.yaml"
    plan = build_plan(read_patient_file(demo), KB)
    assert plan.oncology is not None and "oncology" in plan.engines
    assert isinstance(plan.oncology, TumourReport)
    braf = [m for m in plan.oncology.matches if m.alteration == "BRAF V600E"]
    assert any(m.tier == "I" for m in braf)
    # The tumour calls for fluorouracil-based regimens; the germline DPYD c.2846A>T
    # heterozygote (activity score 1.5) needs a reduced dose: shown next to the therapy.
    conflicts = {c.drug: c for c in plan.oncology.germline_conflicts}
    assert conflicts["fluorouracil"].status == "action"
    assert conflicts["fluorouracil"].genes == ["DPYD"]
    assert plan.oncology.input == "tumour.maf" and plan.oncology.notice is None
    assert "germline_checked" not in plan.oncology.model_dump(mode="json")
    assert any(f.domain == "oncology" and "DPYD" in f.title for f in plan.findings)


VEP_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp|CANONICAL"


def test_vep_and_snpeff_annotated_vcfs(tmp_path: Path) -> None:
    head = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n##contig=<ID=7,length=159345973>\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="VEP. Format: {VEP_FORMAT}">\n'
        '##INFO=<ID=ANN,Number=.,Type=String,Description="SnpEff">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
    )
    vep = tmp_path / "vep.vcf"
    vep.write_text(head + "7\t140753336\t.\tA\tT\t50\tPASS\tCSQ="
                   "T|missense_variant|MODERATE|BRAF|ENSG|Transcript|ENST1|protein_coding|15/18||"
                   "ENST1:c.1799T>A|ENSP1:p.Val600Glu|YES\tGT\t0/1\n")  # fmt: skip
    doc = json.loads(_run("tumor", str(vep), "--tumor-type", "SKCM").stdout)
    assert doc["genome_build"] == "GRCh38"
    assert doc["alterations"][0]["protein_change"] == "V600E"
    assert "Vemurafenib" in drugs(therapies(doc, "hgvsp"), tier="I")
    snpeff = tmp_path / "snpeff.vcf"
    snpeff.write_text(head + "7\t55191822\t.\tT\tG\t50\tPASS\tANN="
                      "G|missense_variant|MODERATE|EGFR|ENSG|transcript|ENST2|protein_coding|21/28|"
                      "c.2573T>G|p.Leu858Arg|||||\tGT\t0/1\n")  # fmt: skip
    doc = json.loads(_run("tumor", str(snpeff), "--tumor-type", "LUAD").stdout)
    assert doc["alterations"][0]["exon"] == "21"
    assert "Osimertinib" in drugs(therapies(doc, "hgvsp"), tier="I")


def test_tamoxifen_conflict_only_through_the_cyp2d6_inhibitor_the_patient_takes(
    tmp_path: Path,
) -> None:
    from testkit.synthetic import VcfBuilder

    b = VcfBuilder(KB)
    for gene in KB.genes:  # every gene reference: CYP2D6 normal metaboliser
        ref = KB.definition(gene).reference_allele.name
        b.haplotypes(gene, ref, ref, phased=False)
    germ = b.write(tmp_path / "nm.vcf")
    tumour = tmp_path / "esr1.maf"
    tumour.write_text(
        "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\tExon_Number\n"
        "ESR1\tMissense_Mutation\tp.L536Q\t8/8\n"
    )
    meds = tmp_path / "meds.txt"
    meds.write_text("paroxetine 20 mg daily\n")
    base = ["tumor", str(tumour), "--tumor-type", "BRCA", "--germline-vcf", str(germ)]
    without = json.loads(_run(*base).stdout)
    assert "tamoxifen" in without["germline_checked"]["drugs"]
    assert not [c for c in without["germline_conflicts"] if c["drug"] == "tamoxifen"]
    with_inhibitor = json.loads(_run(*base, "--medications", str(meds)).stdout)
    (tam,) = [c for c in with_inhibitor["germline_conflicts"] if c["drug"] == "tamoxifen"]
    assert tam["status"] == "action" and tam["genes"] == ["CYP2D6"]
    assert all(r["phenotype_basis"] == "phenoconverted" and r["caused_by"] == ["paroxetine"]
               for r in tam["recommendations"])  # fmt: skip


def test_malformed_tumour_vcf_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.vcf"
    bad.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\n7\tnot-a-number\n")
    proc = _run("tumor", str(bad), "-o", str(tmp_path / "o.json"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "bad.vcf" in proc.stderr
    assert not (tmp_path / "o.json").exists()


def test_civic_export_that_is_not_text_is_an_input_error(tmp_path: Path) -> None:
    from precisionrx.kb.oncology_sources import civic_rows

    path = tmp_path / "civic.tsv"
    path.write_bytes(b"gene\tvariant\xff\xfe\n")
    with pytest.raises(InputError, match="not a UTF-8 text file"):
        civic_rows(path, {}, "test")


# --- the entry point (issue 13) -------------------------------------------------------------


def test_analyse_tumour_typed_report_round_trip_and_provenance() -> None:
    from precisionrx.records.evidence import Caveat

    braf = variant("BRAF", "V600E", "missense_variant", "15")
    report = analyse_tumour([braf], KB, TumourSettings(tumor_type="mel", input_name="t.maf"))
    assert isinstance(report, TumourReport)
    assert TumourReport.model_validate_json(report.model_dump_json()) == report
    assert report.tumor_type.code == "MEL" and report.input == "t.maf"
    vem = [r for r in report.therapy_summary if r.drug == "Vemurafenib"]
    assert vem[0].status == "sensitive" and vem[0].tier == "I"
    # every caveat is a Caveat with a code; the list is the command's, in its order
    caveats = [*report.caveats, *report.tmb.caveats, *report.msi.caveats]
    assert all(isinstance(c, Caveat) and c.code for c in caveats)
    assert [c.code for c in report.caveats] == [
        "moalmanac_research_use", "civic_out_of_date", "genome_build_not_stated",
        "germline_not_checked",
    ]  # fmt: skip
    assert [c.code for c in report.msi.caveats] == ["msi_unknown"]
    # provenance: the knowledge bases used, the input fingerprint, the settings
    prov = report.provenance
    assert prov is not None and prov.input_sha256
    assert {k.name for k in prov.knowledge_bases} == {"oncology", "genome"}
    assert prov.parameters["tumor_type"] == "mel" and prov.parameters["callable_mb"] == "34.0"
    again = analyse_tumour([braf], KB, TumourSettings(tumor_type="mel", input_name="t.maf"))
    assert again == report  # pure: same input, same report
    other = analyse_tumour([variant("BRAF", "V600K", "missense_variant", "15")], KB,
                           TumourSettings(tumor_type="mel"))  # fmt: skip
    assert other.provenance is not None and other.provenance.input_sha256 != prov.input_sha256
    # keys as the command writes them; those only the command sets are left out
    doc = report.model_dump(mode="json")
    assert list(doc) == [
        "tumor_type", "genome_build", "tmb", "msi", "alterations", "matches", "therapy_summary",
        "germline_conflicts", "caveats", "knowledge_base", "input", "provenance",
    ]  # fmt: skip


def test_analyse_tumour_germline_caveat_and_check(tmp_path: Path) -> None:
    from precisionrx.api.pgx import call_vcf
    from precisionrx.engines.pgx.caller import CallOptions
    from testkit.synthetic import VcfBuilder

    germ = (
        VcfBuilder(KB)
        .haplotypes("DPYD", "c.1905+1G>A (*2A)", "c.1905+1G>A (*2A)")
        .write(tmp_path / "germ.vcf")
    )
    amp = Alteration(kind="amplification", gene="ERBB2", source="cna")
    tp53 = variant("TP53", "R175H", "missense_variant", "5")
    plan = analyse_tumour([amp, tp53], KB, TumourSettings(tumor_type="BRCA", context="plan"))
    (missing,) = [c for c in plan.caveats if c.code == "germline_not_checked"]
    assert missing.message.startswith("no germline genotype in the record")
    results = call_vcf(germ, KB, None, CallOptions())
    report = analyse_tumour(
        [amp, tp53], KB, TumourSettings(tumor_type="BRCA", germline_input="germ.vcf"),
        germline=results,
    )  # fmt: skip
    assert "germline_not_checked" not in {c.code for c in report.caveats}
    conflict = {c.drug: c for c in report.germline_conflicts}
    assert conflict["capecitabine"].status == "action"
    assert report.germline_checked is not None and report.germline_checked.vcf == "germ.vcf"
    assert "capecitabine" in report.germline_checked.drugs
    assert report.provenance is not None
    assert {"guidelines", "interactions"} <= {k.name for k in report.provenance.knowledge_bases}


def test_alteration_notes_are_caveats_with_a_code(tmp_path: Path) -> None:
    path = tmp_path / "f.tsv"
    path.write_text("#gene1\tgene2\tconfidence\nEML4\tALK\tlow\n")
    report = analyse(read_fusions(path), "LUAD")
    notes = [c for c in report["caveats"] if c["code"] == "alteration_note"]
    assert notes and all(c["message"].startswith("EML4::ALK: ") for c in notes)
    assert [n["message"].removeprefix("EML4::ALK: ") for n in notes] == (
        report["alterations"][0]["notes"]
    )


def test_oncotree_codes_and_kb_built_once() -> None:
    from precisionrx.cli.tumor import tumor_types
    from precisionrx.engines.oncology.knowledge import oncotree_codes

    assert {"LUAD", "NSCLC", "MEL", "COADREAD"} <= set(oncotree_codes(KB))
    assert set(tumor_types()) == set(oncotree_codes(KB))
    assert oncology_kb(KB) is OKB  # memoised on the knowledge-base object
    assert oncology_kb(KnowledgeBase()) is not OKB
