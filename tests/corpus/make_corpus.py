#!/usr/bin/env python3
"""Write the malformed-input corpus (tests/corpus/<kind>/...): run once, commit the files.

Each file is one malformed, implausible or edge-case input of one kind; tests/test_corpus.py
runs every command that reads that kind over it (and every command over the generic files)
and checks: no traceback, no internal error (exit 70), nothing partial or overwritten.
Expected outcomes for particular files are in tests/corpus/expected.tsv.

python tests/corpus/make_corpus.py
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

HERE = Path(__file__).parent

VCF_HEAD = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr10,length=133797422>\n"
    "##contig=<ID=chr22,length=50818468>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
)
COLS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
# CYP2C19 rs4244285 (GRCh38 chr10:94781859 G>A), rs12248560 (chr10:94761900 C>T)
REC = "chr10\t94781859\trs4244285\tG\tA\t.\tPASS\t.\tGT\t{gt}\n"
REC17 = "chr10\t94761900\trs12248560\tC\tT\t.\tPASS\t.\tGT\t{gt}\n"

MAF_HEAD = (
    "Hugo_Symbol\tChromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\t"
    "Variant_Classification\tHGVSp_Short\tTumor_Sample_Barcode\tNCBI_Build\n"
)
MAF_ROW = "BRAF\t7\t140753336\tA\tT\tMissense_Mutation\tp.V600E\tT1\tGRCh38\n"

CGM_HEAD = "id,time,gl\n"


def cgm_rows(values: list[tuple[str, str]]) -> str:
    return CGM_HEAD + "".join(f"p1,{t},{g}\n" for t, g in values)


def normal_cgm(n: int = 300) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        h, m = divmod(i * 5, 60)
        d, h = divmod(h, 24)
        out.append((f"2024-01-{1 + d:02d} {h:02d}:{m:02d}:00", str(100 + (i % 40))))
    return out


RISK_HEAD = "id,age,sex,total_chol,hdl_chol,sbp,bp_treated,diabetes,smoker,egfr,bmi\n"
RISK_ROW = "{id},55,female,200,50,{sbp},0,0,0,90,27\n"

PATIENT = """\
id: P1
demographics:
  age_years: 55
  sex_at_birth: female
{extra}
"""


def files() -> dict[str, bytes | str]:
    rng = random.Random(12)
    f: dict[str, bytes | str] = {}
    # ------------------------------------------------------------------ generic
    f["generic/empty.txt"] = ""
    f["generic/binary.bin"] = bytes(rng.randrange(256) for _ in range(4096))
    f["generic/nul_bytes.txt"] = "id,value\n1,\x00\x00\x00\n"
    f["generic/only_newlines.txt"] = "\n\n\n"
    f["generic/latin1.csv"] = "id,name\n1,Jos\xe9\n".encode("latin-1")
    f["generic/json_array.json"] = "[1, 2, 3]\n"
    f["generic/html.html"] = "<html><body>not data</body></html>\n"
    # ------------------------------------------------------------------ vcf
    f["vcf/no_header.vcf"] = REC.format(gt="0/1")
    f["vcf/header_only.vcf"] = VCF_HEAD + COLS
    f["vcf/gt_index_beyond_alt.vcf"] = VCF_HEAD + COLS + REC.format(gt="0/5")
    f["vcf/polyploid_gt.vcf"] = VCF_HEAD + COLS + REC.format(gt="0/1/1")
    f["vcf/malformed_gt.vcf"] = VCF_HEAD + COLS + REC.format(gt="x/y")
    # htslib hands back a broken record for a malformed GT on an undeclared contig (cyvcf2
    # then crashed the process): the reader declares the human chromosomes.
    f["vcf/malformed_gt_undeclared_contig.vcf"] = (
        "##fileformat=VCFv4.2\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        + COLS.rstrip("\n")
        + "\tS2\n"
        + REC.format(gt="0/1").rstrip("\n")
        + "\t0/x\n"
    )
    f["vcf/format_mismatch.vcf"] = (
        VCF_HEAD + COLS + REC.format(gt="0/1").replace("\tGT\t", "\tGT:DP:GQ\t")
    )
    f["vcf/too_few_columns.vcf"] = VCF_HEAD + COLS + "chr10\t94781859\trs4244285\tG\n"
    f["vcf/non_numeric_pos.vcf"] = (
        VCF_HEAD + COLS + REC.format(gt="0/1").replace("94781859", "9478x859")
    )
    f["vcf/duplicate_samples.vcf"] = (
        VCF_HEAD + COLS.rstrip("\n") + "\tS1\n" + REC.format(gt="0/1").rstrip("\n") + "\t0/0\n"
    )
    f["vcf/single_reference_record.vcf"] = VCF_HEAD + COLS + REC.format(gt="0/0")
    f["vcf/crlf.vcf"] = (VCF_HEAD + COLS + REC17.format(gt="0/1") + REC.format(gt="0/1")).replace(
        "\n", "\r\n"
    )
    f["vcf/utf8_bom.vcf"] = "\ufeff" + VCF_HEAD + COLS + REC.format(gt="0/1")
    # GRCh37 coordinates (rs4244285 at chr10:96541616), no contig or reference lines.
    f["vcf/grch37_without_header_build.vcf"] = (
        "##fileformat=VCFv4.2\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        + COLS
        + "10\t96521657\trs12248560\tC\tT\t.\tPASS\t.\tGT\t0/0\n"
        + "10\t96540410\trs4986893\tG\tA\t.\tPASS\t.\tGT\t0/0\n"
        + "10\t96541616\trs4244285\tG\tA\t.\tPASS\t.\tGT\t0/1\n"
    )
    f["vcf/truncated.vcf.gz"] = gzip.compress(  # mtime 0: the same bytes on every run
        (VCF_HEAD + COLS + REC.format(gt="0/1") * 50).encode(), mtime=0
    )[:-20]
    f["vcf/plain_text_named_gz.vcf.gz"] = VCF_HEAD + COLS + REC.format(gt="0/1")
    f["vcf/unsorted.vcf"] = VCF_HEAD + COLS + REC.format(gt="0/1") + REC17.format(gt="0/1")
    # ------------------------------------------------------------------ maf
    f["maf/too_few_fields.maf"] = MAF_HEAD + MAF_ROW + "KRAS\t12\n"
    f["maf/no_header.maf"] = MAF_ROW
    f["maf/crlf.maf"] = (MAF_HEAD + MAF_ROW).replace("\n", "\r\n")
    f["maf/utf16.maf"] = (MAF_HEAD + MAF_ROW).encode("utf-16")
    f["maf/header_only.maf"] = MAF_HEAD
    f["maf/nan_position.maf"] = MAF_HEAD + MAF_ROW.replace("140753336", "nan")
    f["maf/too_many_fields.maf"] = MAF_HEAD + MAF_ROW.rstrip("\n") + "\textra\tmore\n"
    # ------------------------------------------------------------------ cna / fusions
    f["cna/bad_call.tsv"] = "gene\tcall\nERBB2\tbanana\n"
    f["cna/ragged.tsv"] = "gene\tcall\nERBB2\n"
    f["cna/nan_copy_number.tsv"] = "gene\tcopy_number\nERBB2\tnan\n"
    f["fusions/empty_name.tsv"] = "#FusionName\n\n--\n"
    f["fusions/no_separator.tsv"] = "#FusionName\nEML4ALK\n"
    # ------------------------------------------------------------------ cgm
    base = normal_cgm()
    f["cgm/negative_glucose.csv"] = cgm_rows([*base, ("2024-01-02 01:00:00", "-40")])
    f["cgm/glucose_5000.csv"] = cgm_rows([*base, ("2024-01-02 01:00:00", "5000")])
    f["cgm/year_1.csv"] = cgm_rows([("0001-01-01 00:00:00", "100"), *base])
    f["cgm/year_9999.csv"] = cgm_rows([*base, ("9999-12-31 23:55:00", "100")])
    f["cgm/span_8000_years.csv"] = cgm_rows(
        [("2024-01-01 00:00:00", "100"), ("9999-01-01 00:00:00", "110")]
    )
    f["cgm/non_numeric_glucose.csv"] = cgm_rows([*base[:10], ("2024-01-02 01:00:00", "high")])
    f["cgm/nan_glucose.csv"] = cgm_rows([*base[:10], ("2024-01-02 01:00:00", "nan")])
    f["cgm/inf_glucose.csv"] = cgm_rows([*base[:10], ("2024-01-02 01:00:00", "inf")])
    f["cgm/ragged.csv"] = CGM_HEAD + "p1,2024-01-01 00:00:00\np1,2024-01-01 00:05:00,100,7\n"
    f["cgm/no_time_column.csv"] = "id,gl\np1,100\n"
    f["cgm/utf16.csv"] = cgm_rows(base[:50]).encode("utf-16")
    f["cgm/bad_dates.csv"] = cgm_rows([("yesterday", "100"), ("2024-13-45 25:61:00", "100")])
    f["cgm/duplicate_times.csv"] = cgm_rows([base[0], base[0], base[1]])
    f["cgm/one_reading.csv"] = cgm_rows(base[:1])
    # ------------------------------------------------------------------ vitals
    obs = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "effectiveDateTime": "2024-01-01T08:00:00Z",
                    "valueQuantity": {"value": -70, "unit": "/min"},
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "effectiveDateTime": "2024-01-01T09:00:00Z",
                    "valueQuantity": {"value": 99999, "unit": "/min"},
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "effectiveDateTime": "2024-01-01T10:00:00Z",
                    "valueQuantity": {"value": 64, "unit": "/min"},
                }
            },
        ],
    }
    f["vitals/heart_rate_implausible.json"] = json.dumps(obs, indent=1)
    f["vitals/bare_observation.json"] = json.dumps(obs["entry"][0]["resource"])  # type: ignore[index]
    f["vitals/broken.xml"] = "<HealthData><Record type='HKQuantityTypeIdentifierHeartRate'"
    f["vitals/truncated.json"] = json.dumps(obs)[:100]
    # ------------------------------------------------------------------ risk
    f["risk/sbp_9999.csv"] = RISK_HEAD + RISK_ROW.format(id="a", sbp=9999)
    f["risk/duplicate_ids.csv"] = RISK_HEAD + RISK_ROW.format(id="a", sbp=120) * 2
    f["risk/nan_age.csv"] = RISK_HEAD + RISK_ROW.format(id="a", sbp=120).replace(",55,", ",nan,")
    f["risk/negative_age.csv"] = RISK_HEAD + RISK_ROW.format(id="a", sbp=120).replace(
        ",55,", ",-5,"
    )
    f["risk/ragged.csv"] = RISK_HEAD + "a,55,female\n"
    f["risk/header_only.csv"] = RISK_HEAD
    f["risk/utf16.csv"] = (RISK_HEAD + RISK_ROW.format(id="a", sbp=120)).encode("utf-16")
    f["risk/bom.csv"] = "\ufeff" + RISK_HEAD + RISK_ROW.format(id="a", sbp=120)
    f["risk/misspelled_column.csv"] = (RISK_HEAD + RISK_ROW.format(id="a", sbp=120)).replace(
        "sbp", "systolic_bp", 1
    )
    f["risk/semicolon.csv"] = (RISK_HEAD + RISK_ROW.format(id="a", sbp=120)).replace(",", ";")
    # ------------------------------------------------------------------ patient
    f["patient/misspelled_medications.yaml"] = PATIENT.format(
        extra="medicatons:\n  - name: simvastatin\n"
    )
    f["patient/sbp_9999.yaml"] = PATIENT.format(
        extra="measurements:\n  - name: Systolic blood pressure\n    value: 9999\n    unit: mm[Hg]\n"
    )
    f["patient/a_list.yaml"] = "- id: P1\n- id: P2\n"
    f["patient/bad_yaml.yaml"] = "id: P1\ndemographics: [unclosed\n"
    f["patient/nested_unknown_key.yaml"] = PATIENT.format(extra="").replace(
        "  sex_at_birth: female", "  sex_at_birth: female\n  agee_years: 54"
    )
    f["patient/age_200.yaml"] = PATIENT.format(extra="").replace("age_years: 55", "age_years: 200")
    f["patient/bare_fhir_patient.json"] = json.dumps(
        {"resourceType": "Patient", "id": "p1", "gender": "female"}
    )
    # ------------------------------------------------------------------ scorefile
    sf_head = (
        "###PGS CATALOG SCORING FILE\n#pgs_id=PGS999999\n#genome_build=GRCh38\n"
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
    )
    f["scorefile/inf_weight.txt"] = sf_head + "10\t94781859\tA\tG\tinf\n"
    f["scorefile/nan_weight.txt"] = sf_head + "10\t94781859\tA\tG\tnan\n"
    f["scorefile/ragged.txt"] = sf_head + "10\t94781859\tA\n"
    f["scorefile/no_weight_column.txt"] = sf_head.replace("\teffect_weight", "") + (
        "10\t94781859\tA\tG\n"
    )
    f["scorefile/text_weight.txt"] = sf_head + "10\t94781859\tA\tG\theavy\n"
    # ------------------------------------------------------------------ medications
    f["medications/vcf_as_medications.txt"] = VCF_HEAD + COLS + REC.format(gt="0/1")
    f["medications/unknown_json_shape.json"] = json.dumps({"foo": {"bar": 1}})
    # ------------------------------------------------------------------ outside calls
    f["outside/unknown_gene.tsv"] = "CYP2C91\t*1/*2\n"
    f["outside/banana_diplotype.tsv"] = "CYP2C19\tbanana\n"
    f["outside/unknown_allele.tsv"] = "CYP2C19\t*1/*999\n"
    f["outside/too_many_columns.tsv"] = "CYP2C19\t*1/*2\tx\ty\tz\tw\n"
    return f


def main() -> None:
    for rel, content in files().items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        else:
            path.write_bytes(content)
    print(f"wrote {len(files())} corpus files under {HERE}")


if __name__ == "__main__":
    main()
