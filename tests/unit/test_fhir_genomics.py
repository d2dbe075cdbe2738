"""``precisionrx fhir import``: HL7 Genomics Reporting IG 3.0.0 resources read, compared with the
engine, and used as the genotype input of the patient record (docs/fhir.md).

Every IG example in tests/data/fhir_genomics is replayed; the IG's known oddities give their
``--strict`` warnings. Resources the IG keeps back (eMERGE report, HLA-B*15:02 genotype and
implication) are rebuilt here in their shape, with ``urn:uuid:`` references.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from precisionrx.errors import FhirValidationError
from precisionrx.io.fhir_genomics import parse_diplotype, read_fhir_genomics
from precisionrx.io.patient_file import read_patient_file
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.fhir_genomics_compare import (
    compare_with_engine,
    fhir_outside_calls,
    import_fhir_genomics,
)
from precisionrx.plan.record_genotypes import record_pgx
from precisionrx.records.fhir_genomics import FhirGenomicsImport
from testkit.cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "fhir_genomics"
EXAMPLES = sorted(DATA.glob("*.json"))
LOINC = "http://loinc.org"
HGNC = "http://www.genenames.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
GR_SD = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition"


def resources(value: Any) -> Iterator[dict[str, Any]]:
    """Every resource of a JSON value, Bundles and Parameters opened (an independent walk)."""
    if isinstance(value, list):
        for item in value:
            yield from resources(item)
        return
    if value.get("resourceType") == "Bundle":
        for entry in value.get("entry") or []:
            yield from resources(entry["resource"])
    elif value.get("resourceType") == "Parameters":
        stack = list(value.get("parameter") or [])
        while stack:
            p = stack.pop(0)
            if "resource" in p:
                yield from resources(p["resource"])
            stack += p.get("part") or []
    else:
        yield value


def code_of(res: dict[str, Any]) -> set[str]:
    return {c.get("code") for c in (res.get("code") or {}).get("coding") or []}


def key(res: dict[str, Any]) -> str:
    return f"{res['resourceType']}/{res['id']}"


def mentioned(result: FhirGenomicsImport, source: str) -> bool:
    return any(source in w for w in result.warnings)


# --------------------------------------------------------------------------- every example


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_ig_example_replays(path: Path, kb: KnowledgeBase) -> None:
    read = read_fhir_genomics([path], strict=True)
    result = compare_with_engine(read, kb, strict=True)
    json.loads(result.model_dump_json())  # strict JSON
    found = list(resources(json.loads(path.read_text())))
    observations = [r for r in found if r["resourceType"] == "Observation"]
    genotype_obs = [r for r in observations if "84413-4" in code_of(r)]
    sources = {
        "genotypes": {g.source for g in result.genotypes},
        "hla": {h.source for h in result.hla},
        "variants": {v.source for v in result.variants},
        "implications": {i.source for i in result.implications},
        "recommendations": {r.source for r in result.recommendations},
    }
    assert len(result.genotypes) <= len(genotype_obs)
    for obs in genotype_obs:  # a genotype, an HLA result or a warning naming it
        k = key(obs)
        assert k in sources["genotypes"] | sources["hla"] or mentioned(result, k), k
    for obs in observations:
        if "69548-6" in code_of(obs):
            absent = "LA9634-2" in code_of({"code": obs.get("valueCodeableConcept") or {}})
            assert (key(obs) in sources["variants"]) != absent, key(obs)
        if "therapeutic-implication" in code_of(obs):
            assert key(obs) in sources["implications"], key(obs)
        if "84414-2" in code_of(obs) and any(
            "HLA-" in str(c.get("display", "")) + str(c.get("code", ""))
            for c in (obs.get("valueCodeableConcept") or {}).get("coding") or []
        ):
            assert key(obs) in sources["hla"], key(obs)
    for task in (r for r in found if r["resourceType"] == "Task"):
        profiles = (task.get("meta") or {}).get("profile") or []
        if any(p.endswith("/medication-recommendation") for p in profiles):
            assert key(task) in sources["recommendations"]
    # every item names a resource of this file
    keys = {key(r) for r in found if "id" in r}
    for kind, names in sources.items():
        assert names <= keys, kind
    for row in result.engine_comparison:
        assert row.gene in {g.gene for g in result.genotypes} | {h.gene for h in result.hla}
        assert row.agree is False or row.engine_phenotype is not None


def test_all_examples_at_once(kb: KnowledgeBase) -> None:
    """162 files merged: references across files, duplicate ids, several subjects."""
    alone = {g.source for p in EXAMPLES for g in read_fhir_genomics([p]).result.genotypes}
    result = import_fhir_genomics(EXAMPLES, kb, strict=True)
    # the same resource in two files (identical) is read once
    assert {g.source for g in result.genotypes} == alone and len(result.genotypes) == 7
    assert any("different subjects" in w for w in result.warnings)
    # the HLA-B*15:02 report refers to a Task of another file: resolved across files
    names = {r.source for r in result.recommendations}
    assert "Task/MedicationRecommendationExample1" in names


# --------------------------------------------------------------------------- golden examples


def test_pgx_bundle_golden(kb: KnowledgeBase) -> None:
    result = import_fhir_genomics([DATA / "Bundle-bundle-pgxexample.json"], kb)
    doc = json.loads(result.model_dump_json())
    assert doc["genotypes"] == [
        {"gene": "CYP2C9", "diplotype": "*4/*35B", "source": "Observation/genotype-pgx-example"}
    ]
    assert doc["implications"] == [
        {
            "drug": "mercaptopurine",
            "gene": "CYP2C9",
            "phenotype": "Rapid metabolizer",
            "source": "Observation/med-impact-pgx-example",
        }
    ]
    assert doc["recommendations"] == [
        {
            "drug": "mercaptopurine",
            "code": "LA26423-6",
            "display": "Increase dose",
            "source": "Task/med-usage-impact-task-pgx-example",
        }
    ]
    assert [v["source"] for v in doc["variants"]] == [
        "Observation/variant-1-pgx-example",
        "Observation/variant-2-pgx-example",
    ]
    assert all(v["gene"] == "CYP2C9" and v["hgvs_c"] is None for v in doc["variants"])
    assert doc["hla"] == []
    # *35B is no CPIC allele: the engine cannot interpret the diplotype
    assert doc["engine_comparison"] == [
        {
            "drug": "mercaptopurine",
            "gene": "CYP2C9",
            "source_phenotype": "Rapid metabolizer",
            "engine_phenotype": None,
            "agree": False,
        }
    ]
    assert any("*35B" in w for w in doc["warnings"])
    assert set(doc) == {"genotypes", "variants", "implications", "recommendations", "hla",
                        "warnings", "engine_comparison"}  # fmt: skip


def test_pgx_bundle_strict_names_the_drug_gene_oddity(kb: KnowledgeBase) -> None:
    lenient = import_fhir_genomics([DATA / "Bundle-bundle-pgxexample.json"], kb)
    strict = import_fhir_genomics([DATA / "Bundle-bundle-pgxexample.json"], kb, strict=True)
    extra = [w for w in strict.warnings if w not in lenient.warnings]
    assert len(extra) == 1
    assert "mercaptopurine" in extra[0] and "TPMT" in extra[0] and "CYP2C9" in extra[0]


def test_cgexample_comparison_and_oddities(kb: KnowledgeBase) -> None:
    result = import_fhir_genomics([DATA / "Bundle-bundle-cgexample.json"], kb, strict=True)
    assert [(g.gene, g.diplotype) for g in result.genotypes] == [("CYP2C9", "*2/*5")]
    rows = {(r.drug, r.source_phenotype): r for r in result.engine_comparison}
    row = rows[("Warfarin", "Rapid metabolizer")]
    assert row.engine_phenotype == "Intermediate Metabolizer" and row.agree is False
    assert any("several genes studied (CYP2C9, VKORC1)" in w for w in result.warnings)
    # VAF 47 with UCUM '%': read as a fraction, said so
    variant = next(v for v in result.variants if v.source == "Observation/discrete-variant")
    assert variant.vaf == 0.47 and variant.origin == "germline"
    assert variant.hgvs_c == "NM_014049.4:c.1249C>T" and variant.hgvs_p == "NP_054768.2:p.Arg417Cys"
    assert any("VAF 47 %" in w for w in result.warnings)


def test_vaf_keeps_full_precision_and_origin() -> None:
    result = read_fhir_genomics([DATA / "Observation-variant-with-molec-consequences.json"]).result
    assert result.variants[0].vaf == 0.6 and result.variants[0].origin == "germline"
    onco = read_fhir_genomics([DATA / "Bundle-bundle-oncology-report-example.json"]).result
    assert {v.vaf for v in onco.variants} >= {0.2568, 0.2151, 0.3333}
    assert {v.origin for v in onco.variants} == {"somatic"}


def test_hla_bundle(kb: KnowledgeBase) -> None:
    path = DATA / "Bundle-bundle-CG-IG-HLA-FullBundle-01.json"
    lenient = read_fhir_genomics([path]).result
    strict = read_fhir_genomics([path], strict=True).result
    genotypes = {h.gene: h.genotype for h in lenient.hla if h.genotype}
    assert genotypes == {"HLA-B": "*15:01:01G/*57:01:01G", "HLA-C": "*01:02:01G/*03:04:01G"}
    # HLA-A's GL string writes 'HLA-A:01:01G' (no '*'): never guessed
    assert any("HLA-A:01:01G" in w and "not imported" in w for w in lenient.warnings)
    present = {(h.gene, h.allele) for h in lenient.hla if h.present}
    assert ("HLA-A", "*01:02") in present and ("HLA-B", "*57:01:01G") in present
    # HLA-C *01:02:01G+*03:04:01G from two *01:02:01G haplotypes: strict only
    hla_c = [w for w in strict.warnings if "HLA-C genotype" in w]
    assert hla_c and not [w for w in lenient.warnings if "HLA-C genotype" in w]
    calls = fhir_outside_calls(path, kb)
    by_gene = {c.gene: c for c in calls}
    assert set(by_gene) == {"HLA-A", "HLA-B"}  # HLA-C has no guideline: left out
    assert by_gene["HLA-B"].diplotype == "*15:01:01G/*57:01:01G"
    assert by_gene["HLA-A"].phenotype == "*01:01 positive; *01:02 positive"


def test_pharmvar_genotype_and_haplotypes_only() -> None:
    result = read_fhir_genomics([DATA / "Observation-GenotypeExamplePharmVar.json"]).result
    assert [(g.gene, g.diplotype) for g in result.genotypes] == [("CYP2D6", "*7.001/*1.001")]
    haps = read_fhir_genomics([DATA / "Observation-HaplotypeExamplePharmVar01.json",
                               DATA / "Observation-HaplotypeExamplePharmVar02.json"]).result  # fmt: skip
    assert haps.genotypes == ()  # haplotypes are never combined into a diplotype
    assert any("no diplotype is made from haplotypes" in w for w in haps.warnings)
    both = read_fhir_genomics(
        [DATA / f"Observation-{n}.json" for n in ("GenotypeExamplePharmVar",
                                                  "HaplotypeExamplePharmVar01",
                                                  "HaplotypeExamplePharmVar02")], strict=True
    ).result  # fmt: skip
    assert not both.warnings  # derived from its two haplotypes, consistent


def test_parse_diplotype() -> None:
    assert parse_diplotype("CYP2C19 *2/*2") == ("CYP2C19", "*2/*2")
    assert parse_diplotype("CYP2D6_*1/*1") == ("CYP2D6", "*1/*1")
    assert parse_diplotype("*1/*17") == (None, "*1/*17")
    assert parse_diplotype("CYP2C9*1/CYP2C19*2") is None
    assert parse_diplotype("Heterozygous") is None
    assert parse_diplotype("*1/*2/*3") is None


# --------------------------------------------------------------------------- held-back shapes


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c]}


def _gene(code: str, symbol: str) -> dict[str, Any]:
    return {"code": _coding(LOINC, "48018-6", "Gene studied [ID]"),
            "valueCodeableConcept": _coding(HGNC, code, symbol)}  # fmt: skip


def _obs(oid: str, code: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "code": code,
            "subject": {"reference": "urn:uuid:00000000-0000-0000-0000-00000000000a"}, **rest}  # fmt: skip


def _variant(oid: str, hgnc: str, rsid: str, state: str, present: bool = True) -> dict[str, Any]:
    return _obs(
        oid, _coding(LOINC, "69548-6"),
        valueCodeableConcept=_coding(LOINC, "LA9633-4" if present else "LA9634-2",
                                     "Present" if present else "Absent"),
        component=[_gene(hgnc, "CYP2C19"),
                   {"code": _coding(LOINC, "81252-9"),
                    "valueCodeableConcept": _coding("http://www.ncbi.nlm.nih.gov/projects/SNP",
                                                    rsid)},
                   {"code": _coding(LOINC, "53034-5"),
                    "valueCodeableConcept": _coding(LOINC, state)}],
    )  # fmt: skip


def emerge_like_bundle() -> dict[str, Any]:
    """An eMERGE-shaped PGx report: CYP2C19 *2/*2 whose variants do not support it, a variant
    labelled CYP2C19 with HGNC:262, a recommendation code displayed as another code, and a
    report recommended-action whose text names another drug than its Task."""
    u = "urn:uuid:00000000-0000-0000-0000-0000000000"
    genotype = _obs(
        "Pgx-geno-1001", _coding(LOINC, "84413-4", "Genotype display name"),
        valueCodeableConcept={"coding": [{"system": "http://www.pharmvar.org",
                                          "display": "CYP2C19 *2/*2"}]},
        component=[_gene("HGNC:2621", "CYP2C19")],
        derivedFrom=[{"reference": f"{u}11"}, {"reference": f"{u}12"}],
    )  # fmt: skip
    implication = _obs(
        "Pgx-ther-1001", _coding(TBD, "therapeutic-implication"),
        derivedFrom=[{"reference": f"{u}10"}],
        component=[{"code": _coding(TBD, "therapeutic-implication"),
                    "valueCodeableConcept": _coding(LOINC, "LA9657-3", "Poor metabolizer")},
                   {"code": _coding(LOINC, "51963-7"),
                    "valueCodeableConcept": _coding(RXNORM, "32968", "clopidogrel")}],
    )  # fmt: skip
    escitalopram = _obs(
        "Pgx-ther-1004", _coding(TBD, "therapeutic-implication"),
        derivedFrom=[{"reference": f"{u}10"}],
        component=[{"code": _coding(TBD, "therapeutic-implication"),
                    "valueCodeableConcept": _coding(LOINC, "LA9657-3", "Poor metabolizer")},
                   {"code": _coding(LOINC, "51963-7"),
                    "valueCodeableConcept": _coding(RXNORM, "321988", "escitalopram")}],
    )  # fmt: skip
    task = {
        "resourceType": "Task", "id": "PGxRecEx04", "status": "requested", "intent": "proposal",
        "meta": {"profile": [f"{GR_SD}/medication-recommendation"]},
        "code": _coding(LOINC, "LA26421-0", "Decrease dose"),
        "reasonReference": {"reference": f"{u}21"},
    }  # fmt: skip
    report = {
        "resourceType": "DiagnosticReport", "id": "Pgx-report", "status": "final",
        "code": _coding(LOINC, "51969-4"),
        "extension": [{"url": f"{GR_SD}/recommended-action",
                       "valueReference": {"reference": f"{u}30",
                                          "display": "50% amitriptyline"}}],
        "result": [{"reference": f"{u}10"}, {"reference": f"{u}20"}],
    }  # fmt: skip
    entries = [
        ("0a", {"resourceType": "Patient", "id": "emerge-patient"}),
        ("10", genotype),
        ("11", _variant("Pgx-var-1011", "HGNC:262", "rs4244285", "LA6706-1")),
        ("12", _variant("Pgx-var-1012", "HGNC:2621", "rs12248560", "LA6706-1")),
        ("20", implication),
        ("21", escitalopram),
        ("30", task),
        ("40", report),
    ]
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"{u}{n}", "resource": r} for n, r in entries]}  # fmt: skip


def hla_b_1502_bundle(value: dict[str, Any]) -> dict[str, Any]:
    """The IG's HLA-B*15:02 example shape: a genotype valued Positive, the allele named by the
    report's code, and a carbamazepine "High risk" implication."""
    genotype = _obs("GenotypeExample1", _coding(LOINC, "84413-4", "Genotype display name"),
                    valueCodeableConcept=value, component=[_gene("HGNC:4932", "HLA-B")])  # fmt: skip
    implication = _obs(
        "TherapeuticImplicationExample1", _coding(TBD, "therapeutic-implication"),
        derivedFrom=[{"reference": "Observation/GenotypeExample1"}],
        component=[{"code": _coding(TBD, "therapeutic-implication"),
                    "valueCodeableConcept": _coding(LOINC, "LA19541-4", "High Risk")},
                   {"code": _coding(LOINC, "51963-7"),
                    "valueCodeableConcept": _coding(RXNORM, "2002", "carbamazepine")}],
    )  # fmt: skip
    report = json.loads((DATA / "DiagnosticReport-GenomicReportExample01.json").read_text())
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in (report, genotype, implication)]}  # fmt: skip


def _write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_emerge_like_report_strict_warnings(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = _write(tmp_path, "emerge.json", emerge_like_bundle())
    lenient = import_fhir_genomics([path], kb)
    strict = import_fhir_genomics([path], kb, strict=True)
    assert [(g.gene, g.diplotype, g.source) for g in strict.genotypes] == [
        ("CYP2C19", "*2/*2", "Observation/Pgx-geno-1001")
    ]
    assert [r.drug for r in strict.recommendations] == ["escitalopram"]
    assert strict.recommendations[0].code == "LA26421-0"
    extra = [w for w in strict.warnings if w not in lenient.warnings]
    text = "\n".join(extra)
    assert "HGNC:262" in text and "Pgx-var-1011" in text  # HGNC:262 labelled CYP2C19
    assert "'Consider alternative medication'" in text and "'Decrease dose'" in text
    assert "50% amitriptyline" in text and "escitalopram" in text
    assert "rs4244285 on both chromosomes" in text  # *2/*2 needs it homozygous
    assert not [w for w in lenient.warnings if "HGNC:262" in w]
    rows = {r.drug: r for r in strict.engine_comparison}
    assert rows["clopidogrel"].agree is True
    assert rows["clopidogrel"].engine_phenotype == "Poor Metabolizer"
    assert rows["clopidogrel"].source_phenotype == "Poor metabolizer"


def test_variant_reported_absent_contradicts_the_genotype(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    bundle = emerge_like_bundle()
    bundle["entry"][2]["resource"] = _variant("Pgx-var-1011", "HGNC:2621", "rs4244285",
                                              "LA6706-1", present=False)  # fmt: skip
    result = import_fhir_genomics([_write(tmp_path, "b.json", bundle)], kb, strict=True)
    assert any("rs4244285, reported absent" in w for w in result.warnings)
    assert "Observation/Pgx-var-1011" not in {v.source for v in result.variants}


@pytest.mark.parametrize(
    "value",
    [
        _coding(LOINC, "LA6576-8", "Positive"),
        _coding("http://www.ebi.ac.uk/ipd/imgt/hla", "HLA-B*15:02", "HLA-B*15:02"),
        {"text": "HLA-B*15:02 positive"},
    ],
    ids=["positive", "imgt-allele", "text"],
)
def test_hla_b_1502(value: dict[str, Any], tmp_path: Path, kb: KnowledgeBase) -> None:
    path = _write(tmp_path, "hla.json", hla_b_1502_bundle(value))
    result = import_fhir_genomics([path], kb, strict=True)
    assert [(h.gene, h.allele, h.present) for h in result.hla] == [("HLA-B", "*15:02", True)]
    assert result.genotypes == ()
    row = result.engine_comparison[0]
    assert (row.drug, row.gene, row.source_phenotype) == ("carbamazepine", "HLA-B", "High Risk")
    assert row.engine_phenotype == "HLA-B*15:02 positive" and row.agree is True
    [call] = fhir_outside_calls(path, kb)
    assert (call.gene, call.phenotype) == ("HLA-B", "*15:02 positive")


def test_hla_negative_result(tmp_path: Path, kb: KnowledgeBase) -> None:
    bundle = hla_b_1502_bundle(_coding(LOINC, "LA6577-6", "Negative"))
    result = import_fhir_genomics([_write(tmp_path, "neg.json", bundle)], kb)
    assert [(h.allele, h.present) for h in result.hla] == [("*15:02", False)]
    row = result.engine_comparison[0]  # the source says High Risk, the engine negative
    assert row.engine_phenotype == "HLA-B*15:02 negative" and row.agree is False


# --------------------------------------------------------------------------- formats, errors


def test_ndjson_with_references_across_files(tmp_path: Path, kb: KnowledgeBase) -> None:
    bundle = emerge_like_bundle()
    lines = [json.dumps(e["resource"]) for e in bundle["entry"][1:4]]
    first = tmp_path / "a.ndjson"
    first.write_text("\n".join(lines) + "\n\n")
    # the implication refers to its genotype by Type/id in another file
    implication = bundle["entry"][4]["resource"]
    implication["derivedFrom"] = [{"reference": "Observation/Pgx-geno-1001"}]
    second = _write(tmp_path, "b.json", [implication])
    result = import_fhir_genomics([first, second], kb)
    assert [g.diplotype for g in result.genotypes] == ["*2/*2"]
    assert len(result.variants) == 2
    assert [(i.drug, i.gene) for i in result.implications] == [("clopidogrel", "CYP2C19")]


def test_ndjson_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text('{"resourceType": "Patient", "id": "p"}\n{"resourceType": "Observation"}\n'
                    '{"resourceType": \n')  # fmt: skip
    with pytest.raises(FhirValidationError) as err:
        read_fhir_genomics([path])
    assert err.value.record == "line 3" and "bad.ndjson" in str(err.value)


@pytest.mark.parametrize("text", ["not json at all", "", '{"a": NaN}'])
def test_not_json_is_an_error(text: str, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(FhirValidationError) as err:
        read_fhir_genomics([path])
    assert "x.json" in str(err.value)


def test_malformed_entries_are_warnings(tmp_path: Path) -> None:
    bundle = json.loads((DATA / "Bundle-bundle-pgxexample.json").read_text())
    bundle["entry"][5]["resource"]["status"] = 5  # the implication: not valid R4
    bundle["entry"].append({"fullUrl": "urn:uuid:1"})  # an entry without a resource
    bundle["entry"].append({"resource": {"id": "no-type"}})
    result = read_fhir_genomics([_write(tmp_path, "b.json", bundle)]).result
    assert [g.diplotype for g in result.genotypes] == ["*4/*35B"]
    assert result.implications == ()
    assert any("Observation/med-impact-pgx-example" in w and "not a valid R4" in w
               for w in result.warnings)  # fmt: skip
    assert any("no resource" in w for w in result.warnings)
    assert any("no resourceType" in w for w in result.warnings)
    # the Task still names its drug (from its focus MedicationStatement)
    assert [r.drug for r in result.recommendations] == ["mercaptopurine"]


def test_vaf_above_one_without_percent_is_not_used(tmp_path: Path) -> None:
    obs = json.loads((DATA / "Observation-SNVexample.json").read_text())
    for comp in obs["component"]:
        if comp["code"]["coding"][0]["code"] == "81258-6":
            comp["valueQuantity"] = {"value": 44, "unit": "decimal"}
    result = read_fhir_genomics([_write(tmp_path, "v.json", obs)]).result
    assert result.variants[0].vaf is None
    assert any("VAF 44 is above 1" in w for w in result.warnings)


# --------------------------------------------------------------------------- patient record


def _patient(tmp_path: Path, inputs: list[dict[str, str]], meds: list[str]) -> Path:
    path = tmp_path / "patient.yaml"
    lines = ["id: fhir-1", "demographics: {sex_at_birth: female, age_years: 61}",
             "medications: [" + ", ".join(f"{{name: {m}}}" for m in meds) + "]",
             "genomic_inputs: [" + ", ".join(
                 "{" + ", ".join(f"{k}: {v}" for k, v in i.items()) + "}" for i in inputs
             ) + "]"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_patient_record_takes_the_fhir_genotype(tmp_path: Path, kb: KnowledgeBase) -> None:
    _write(tmp_path, "lab.json", emerge_like_bundle())
    record = read_patient_file(
        _patient(tmp_path, [{"kind": "fhir_bundle", "path": "lab.json"}], ["clopidogrel"])
    )
    [result] = record_pgx(record, kb)
    gene = next(g for g in result.genes if g.gene == "CYP2C19")
    assert gene.diplotypes == ["*2/*2"] and gene.phenotype == "Poor Metabolizer"
    assert gene.source == "outside"
    assert any("Pgx-geno-1001" in c.message for c in gene.caveats)
    review = {r.medication: r for r in result.medication_review or []}
    assert review["clopidogrel"].status == "action"
    assert any(r.drug == "clopidogrel" and r.matched for r in result.recommendations or [])


def test_fhir_genotype_overrides_the_vcf(tmp_path: Path, kb: KnowledgeBase, builder: Any) -> None:
    builder.haplotypes("CYP2C19", "*1", "*1").write(tmp_path / "s.vcf")
    _write(tmp_path, "lab.json", emerge_like_bundle())
    inputs = [
        {"kind": "germline_vcf", "path": "s.vcf"},
        {"kind": "fhir_bundle", "path": "lab.json"},
    ]
    record = read_patient_file(_patient(tmp_path, inputs, ["clopidogrel"]))
    results = record_pgx(record, kb)
    gene = next(g for g in results[0].genes if g.gene == "CYP2C19")
    assert gene.source == "outside" and gene.diplotypes == ["*2/*2"]


def test_hla_result_reaches_the_recommendations(tmp_path: Path, kb: KnowledgeBase) -> None:
    _write(tmp_path, "hla.json", hla_b_1502_bundle(_coding(LOINC, "LA6576-8", "Positive")))
    record = read_patient_file(
        _patient(tmp_path, [{"kind": "fhir_bundle", "path": "hla.json"}], ["carbamazepine"])
    )
    [result] = record_pgx(record, kb)
    hla_b = next(g for g in result.genes if g.gene == "HLA-B")
    assert "HLA-B*15:02 positive" in hla_b.allele_functions
    review = {r.medication: r for r in result.medication_review or []}
    assert review["carbamazepine"].status == "action"


def test_a_file_about_two_people_is_refused(tmp_path: Path, kb: KnowledgeBase) -> None:
    bundle = emerge_like_bundle()
    other = json.loads(json.dumps(bundle["entry"][1]["resource"]))
    other["id"], other["subject"] = "other-geno", {"reference": "Patient/someone-else"}
    bundle["entry"].append({"resource": other})
    path = _write(tmp_path, "two.json", bundle)
    assert any("2 different subjects" in w for w in read_fhir_genomics([path]).result.warnings)
    with pytest.raises(FhirValidationError):
        fhir_outside_calls(path, kb)


def test_genes_without_guidance_are_left_out_of_the_record(kb: KnowledgeBase) -> None:
    path = DATA / "Observation-Genotype-Clinical-Trial-Example-using-haplotypes.json"
    assert [g.gene for g in read_fhir_genomics([path]).result.genotypes] == ["APOE"]
    assert fhir_outside_calls(path, kb) == []


# --------------------------------------------------------------------------- CLI and service


def test_cli_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["fhir", "import", str(DATA / "Bundle-bundle-pgxexample.json")], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["genotypes"][0]["diplotype"] == "*4/*35B"
    target = tmp_path / "out.json"
    code, out, err = run(["fhir", "import", "--strict", "--format", "json", "-o", str(target),
                          str(DATA / "Bundle-bundle-pgxexample.json")], capsys)  # fmt: skip
    assert code == 0 and out == "" and "1 genotype(s)" in err
    assert len(json.loads(target.read_text())["warnings"]) == 2


def test_cli_usage_and_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["fhir", "import"], capsys)
    assert code == 2 and "Missing argument" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    code, _, err = run(["fhir", "import", str(bad)], capsys)
    assert code == FhirValidationError.exit_code and "bad.json" in err
    assert "Traceback" not in err


def test_service_upload_of_a_fhir_bundle(tmp_path: Path) -> None:
    from precisionrx.errors import InputError
    from precisionrx.service.uploads import FileKind, validate

    summary = validate(FileKind.fhir_bundle, DATA / "Bundle-bundle-pgxexample.json", {})
    assert "1 genotype(s)" in summary and "1 therapeutic implication(s)" in summary
    bundle = emerge_like_bundle()
    other = json.loads(json.dumps(bundle["entry"][1]["resource"]))
    other["id"], other["subject"] = "other-geno", {"reference": "Patient/someone-else"}
    bundle["entry"].append({"resource": other})
    with pytest.raises(InputError):
        validate(FileKind.fhir_bundle, _write(tmp_path, "two.json", bundle), {})


def test_an_allele_the_kb_does_not_know_stops_the_plan(tmp_path: Path, kb: KnowledgeBase) -> None:
    """As for an outside-call file: never a result that silently replaces the VCF call."""
    from precisionrx.errors import OutsideCallError

    (tmp_path / "lab.json").write_bytes((DATA / "Bundle-bundle-pgxexample.json").read_bytes())
    record = read_patient_file(
        _patient(tmp_path, [{"kind": "fhir_bundle", "path": "lab.json"}], ["warfarin"])
    )
    with pytest.raises(OutsideCallError) as err:
        record_pgx(record, kb)
    assert "*35B" in str(err.value) and "Observation/genotype-pgx-example" in str(err.value)


@pytest.mark.parametrize(
    "name", ["precisionrx.io.fhir_genomics", "precisionrx.records.fhir_genomics"]
)
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(name), report=True)
    assert tried and failures == 0
