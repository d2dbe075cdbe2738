"""FH and Lp(a) from a germline VCF, CAC bands, and the plan's risk-enhancer section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from precisionrx.engines.cardio.fh import cac_status
from precisionrx.engines.cardio.fh_genetics import fh_genetics
from precisionrx.io.patient_file import read_patient_file
from precisionrx.io.vcf import VcfFile
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.cardio import FhGenetics

KB = KnowledgeBase()
CSQ_FORMAT = (
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp"
)
HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=1,length=248956422>\n##contig=<ID=2,length=242193529>\n"
    "##contig=<ID=6,length=170805979>\n##contig=<ID=19,length=58617616>\n"
    f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: {CSQ_FORMAT}">\n'
    '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="ClinVar significance">\n'
    '##INFO=<ID=CLNDN,Number=.,Type=String,Description="ClinVar disease name">\n'
    '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Gene symbol:id">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
)


def vcf(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "germline.vcf"
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def fh(path: Path) -> dict[str, Any]:
    """The engine over a VCF opened here (the engine opens no file), as JSON."""
    with VcfFile(path) as v:
        res = fh_genetics(v, "GRCh38", KB, str(path))
    assert FhGenetics.model_validate_json(res.model_dump_json()) == res
    assert res.input == str(path)
    return res.model_dump(mode="json")


def messages(res: dict[str, Any]) -> list[str]:
    return [c["message"] for c in res["caveats"]]


def csq(gene: str, consequence: str, hgvsp: str, allele: str) -> str:
    return f"CSQ={allele}|{consequence}|HIGH|{gene}|ENSG|Transcript|ENST|protein_coding|4/18||c.x|ENSP:{hgvsp}"


def test_predicted_null_ldlr_counts_and_is_flagged_unverified(tmp_path: Path) -> None:
    path = vcf(
        tmp_path,
        f"19\t11105500\t.\tC\tT\t50\tPASS\t{csq('LDLR', 'stop_gained', 'p.Gln208Ter', 'T')}\tGT\t0/1",
        f"19\t11110000\t.\tG\tA\t50\tPASS\t{csq('LDLR', 'missense_variant', 'p.Ala370Thr', 'A')}\tGT\t0/1",
    )
    res = fh(path)
    by_hgvsp = {v["hgvsp"]: v for v in res["variants"]}
    null = by_hgvsp["p.Gln208Ter"]
    assert null["classification"] == "likely_pathogenic_predicted_null"
    assert null["zygosity"] == "heterozygous" and null["verified"] is False
    # Missense without ClinVar evidence is reported but does not count.
    assert by_hgvsp["p.Ala370Thr"]["classification"] == "uncertain_significance"
    assert res["fh_variant_found"] is True and res["possible_homozygous_fh"] is False
    assert any("unverified" in c for c in messages(res))
    assert "unverified_classification" in [c["code"] for c in res["caveats"]]


def test_clinvar_tags_and_the_apob_opposite_phenotype(tmp_path: Path) -> None:
    path = vcf(
        tmp_path,
        "19\t11113000\t.\tG\tC\t50\tPASS\tGENEINFO=LDLR:3949;CLNSIG=Pathogenic;"
        "CLNDN=Hypercholesterolemia,_familial,_1\tGT\t1/1",
        "2\t21010000\t.\tG\tA\t50\tPASS\tGENEINFO=APOB:338;CLNSIG=Pathogenic;"
        "CLNDN=Familial_hypobetalipoproteinemia_1\tGT\t0/1",
        "2\t21020000\t.\tC\tT\t50\tPASS\tGENEINFO=APOB:338;"
        "CLNSIG=Conflicting_classifications_of_pathogenicity\tGT\t0/1",
    )
    res = fh(path)
    classes = {v["pos"]: v["classification"] for v in res["variants"]}
    assert classes[11113000] == "pathogenic"
    assert classes[21010000] == "not_fh"
    assert classes[21020000] == "uncertain_significance"
    # One homozygous FH-causing variant: possible homozygous FH.
    assert res["possible_homozygous_fh"] is True


@pytest.mark.parametrize("indexed", [False, True])
def test_listed_rsids_protective_pcsk9_and_lpa_alleles(tmp_path: Path, indexed: bool) -> None:
    path = vcf(
        tmp_path,
        "1\t55039974\trs11591147\tG\tT\t50\tPASS\t.\tGT\t0/1",
        "2\t21006288\trs5742904\tC\tT\t50\tPASS\t.\tGT\t0/1",
        "6\t1000000\trs10455872\tA\tG\t50\tPASS\t.\tGT\t0/1",  # far outside LPA: ignored
        "6\t160540105\trs3798220\tT\tC\t50\tPASS\t.\tGT\t0/0",
        "6\t160589086\trs10455872\tA\tG\t50\tPASS\t.\tGT\t1/1",
    )
    if indexed:  # region queries through the index over the padded gene windows
        import pysam

        path = Path(pysam.tabix_index(str(path), preset="vcf", force=True))
    res = fh(path)
    by_rsid = {v["rsid"]: v for v in res["variants"]}
    assert by_rsid["rs11591147"]["classification"] == "protective"
    assert by_rsid["rs11591147"]["hgvsp"] == "p.Arg46Leu"
    # The APOB hotspot is marked verify:true in the knowledge file: unverified here.
    assert by_rsid["rs5742904"]["classification"] == "pathogenic"
    assert by_rsid["rs5742904"]["verified"] is False
    assert res["lpa_alleles"] == [
        {
            "rsid": "rs10455872",
            "risk_allele": "G",
            "copies": 2,
            "note": res["lpa_alleles"][0]["note"],
        }
    ]


def test_unannotated_vcf_says_a_negative_is_not_a_negative(tmp_path: Path) -> None:
    path = vcf(tmp_path, "19\t11105500\t.\tC\tT\t50\tPASS\t.\tGT\t0/1")
    res = fh(path)
    assert res["variants"] == [] and res["fh_variant_found"] is False
    assert any("does not exclude genetic FH" in c for c in messages(res))
    assert res["caveats"][0]["code"] == "unannotated_vcf"


@pytest.mark.parametrize(
    ("score", "band"), [(0, "zero"), (1, "1_99"), (99, "1_99"), (100, "ge_100"), (400, "ge_100")]
)
def test_cac_bands(score: float, band: str) -> None:
    assert cac_status(score).band == band


def test_plan_uses_the_dna_item_cac_and_polygenic_score(tmp_path: Path) -> None:
    vcf(
        tmp_path,
        f"19\t11105500\t.\tC\tT\t50\tPASS\t{csq('LDLR', 'frameshift_variant', 'p.Gly20fs', 'T')}\tGT\t0/1",
        "19\t11106000\trsX1\tA\tG\t50\tPASS\t.\tGT\t1/1",
        "19\t11107000\trsX2\tC\tT\t50\tPASS\t.\tGT\t0/1",
    )
    (tmp_path / "score.txt").write_text(
        "#pgs_id=PGS_TEST\n#trait_reported=LDL cholesterol\n#genome_build=GRCh38\n"
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\tallelefrequency_effect\n"
        "19\t11106000\tG\tA\t0.2\t0.3\n19\t11107000\tT\tC\t0.1\t0.2\n"
    )
    patient = {
        "id": "fh-1",
        "demographics": {"sex_at_birth": "male", "age_years": 45, "country": "US"},
        "measurements": [
            {"name": "LDL cholesterol", "value": 5.5, "unit": "mmol/L"},
            {"name": "Total cholesterol", "value": 7.5, "unit": "mmol/L"},
            {"name": "HDL cholesterol", "value": 1.1, "unit": "mmol/L"},
            {"name": "Systolic blood pressure", "value": 128, "unit": "mm[Hg]"},
            {"name": "Coronary artery calcium score", "value": 35, "unit": "Agatston"},
        ],
        "genomic_inputs": [
            {"kind": "germline_vcf", "path": "germline.vcf"},
            {"kind": "pgs_scorefile", "path": "score.txt"},
        ],
    }
    (tmp_path / "p.json").write_text(json.dumps(patient))
    from precisionrx.plan.builder import build_plan

    plan = build_plan(read_patient_file(tmp_path / "p.json"), KB)
    cardio = plan.model_dump(mode="json")["cardio"]
    assert cardio is not None
    # DLCN: LDL-C 5.0-6.4 mmol/L = 3, functional LDLR variant = 8 -> 11, definite FH.
    assert cardio["dlcn"]["points"] == 11 and cardio["dlcn"]["category"] == "definite"
    assert cardio["fh_genetics"]["fh_variant_found"] is True
    assert cardio["cac"]["band"] == "1_99"
    (prs,) = cardio["polygenic_scores"]
    # 2 x 0.2 + 1 x 0.1; analytic mean 2(0.3)(0.2) + 2(0.2)(0.1) = 0.16.
    assert prs["pgs_id"] == "PGS_TEST" and prs["sum"] == pytest.approx(0.5)
    assert prs["trait"] == "LDL cholesterol" and prs["z"] > 0
    from precisionrx.report.html import render

    html = render("plan.html.j2", {"plan": plan.model_dump(mode="json"), "css": ""})
    assert "likely pathogenic predicted null" in html and "[unverified]" in html
    assert "PGS_TEST" in html and "Coronary artery calcium 35.0 Agatston" in html


def test_cardio_section_is_typed_and_reads_the_vcf_through_io(tmp_path: Path) -> None:
    from precisionrx.plan.cardio_section import cardio_section
    from precisionrx.records.cardio import CardioSection

    vcf(
        tmp_path,
        f"19\t11105500\t.\tC\tT\t50\tPASS\t{csq('LDLR', 'frameshift_variant', 'p.Gly20fs', 'T')}\tGT\t0/1",
        "19\t11106000\trsX1\tA\tG\t50\tPASS\t.\tGT\t1/1",
        "6\t160589086\trs10455872\tA\tG\t50\tPASS\t.\tGT\t0/1",
    )
    (tmp_path / "score.txt").write_text(
        "#pgs_id=PGS_LOW\n#genome_build=GRCh38\n"
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
        "19\t11106000\tG\tA\t0.2\n19\t99\tT\tC\t0.1\n"
    )
    patient = {
        "id": "fh-2",
        "demographics": {"sex_at_birth": "female", "age_years": 50},
        "family_history": [{"relation": "father", "condition": "myocardial infarction",
                            "age_at_onset": 50}],
        "measurements": [
            {"name": "LDL cholesterol", "value": 200, "unit": "mg/dL"},
            {"name": "Total cholesterol", "value": 280, "unit": "mg/dL"},
            {"name": "HDL cholesterol", "value": 50, "unit": "mg/dL"},
        ],
        "genomic_inputs": [
            {"kind": "germline_vcf", "path": "germline.vcf"},
            {"kind": "pgs_scorefile", "path": "score.txt"},
        ],
    }  # fmt: skip
    (tmp_path / "p.json").write_text(json.dumps(patient))
    section = cardio_section(KB, read_patient_file(tmp_path / "p.json"), [])
    assert isinstance(section, CardioSection)
    assert CardioSection.model_validate_json(section.model_dump_json()) == section
    doc = section.model_dump(mode="json")
    # DLCN: family 1 + LDL-C 190-249 mg/dL 3 + DNA 8.
    assert doc["dlcn"]["points"] == 12 and doc["dlcn"]["items"][0] == "family history: 1"
    assert doc["fh_genetics"]["input"].endswith("germline.vcf")
    assert doc["lpa"] == {
        "value": None,
        "status": "not measured; LPA risk allele carried",
        "note": "carries an LPA variant linked to high Lp(a): measure Lp(a) once",
    }
    assert "cac" not in doc
    (prs,) = doc["polygenic_scores"]
    assert prs["sum"] is None and prs["scorefile"].endswith("score.txt")
    assert [c["code"] for c in prs["caveats"]] == ["ancestry_transfer", "low_overlap"]
    assert all(set(c) == {"code", "message", "kind", "refs"} for c in doc["fh_genetics"]["caveats"])
    # No SBP: PREVENT needs it, so no baseline risk and no prevention options.
    assert doc["baseline"]["risk"] is None and doc["prevention"] == []
    assert "risk_not_computed" in [c.code for c in section.caveats]
