"""What ``precisionrx fhir import`` read from HL7 FHIR Genomics Reporting (IG 3.0.0) resources.

Every item names the resource it came from in ``source`` (``Observation/<id>``, ``Task/<id>``,
or the entry's ``fullUrl`` when the resource has no id). Nothing is inferred: a field the
source does not state is ``null`` (docs/fhir.md).

>>> g = ImportedGenotype(gene="CYP2C19", diplotype="*2/*2", source="Observation/g1")
>>> r = FhirGenomicsImport(genotypes=(g,))
>>> FhirGenomicsImport.model_validate_json(r.model_dump_json()) == r
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Codes of HL7 Genomics Reporting IG 3.0.0 results (LOINC unless said otherwise; shared
# research/interop.md §1.2 and the IG's StructureDefinitions), read by io/fhir_genomics.py.
GENOTYPE, HAPLOTYPE, VARIANT = "84413-4", "84414-2", "69548-6"
GENE_STUDIED, HGVS_C, HGVS_P, HGVS_G = "48018-6", "48004-6", "48005-3", "81290-9"
SOURCE_CLASS, VAF, ALLELIC_STATE, VARIATION_CODE = "48002-0", "81258-6", "53034-5", "81252-9"
MEDICATION_ASSESSED = "51963-7"
THERAPEUTIC_IMPLICATION = "therapeutic-implication"
#: Phenotype component of older (STU1) TherapeuticImplication profiles.
DRUG_METABOLISM = "53040-2"
#: Components of an implication that never carry its phenotype (drug, context, evidence,
#: clinical significance, conclusion text).
NOT_PHENOTYPE = {MEDICATION_ASSESSED, "81259-4", "93044-6", "53037-8", "conclusion-string",
                 "associated-therapy", GENE_STUDIED}  # fmt: skip
Origin = Literal["germline", "somatic"]
#: Genomic source class (48002-0) answers.
ORIGIN: dict[str, Origin] = {"LA6683-2": "germline", "LA6684-0": "somatic"}
#: Presence answers (codes and displays as the IG examples write them).
PRESENT = {"LA9633-4": True, "LA9634-2": False, "LA6576-8": True, "LA6577-6": False}
PRESENCE_WORDS = {"present": True, "positive": True, "detected": True, "absent": False,
                  "negative": False, "not detected": False}  # fmt: skip
#: Allelic state (53034-5): LA6706-1 heterozygous (IG examples), LA6705-3 homozygous
#: (research/interop.md §1.2).
ZYGOSITY = {"LA6706-1": "het", "LA6705-3": "hom"}
#: genetic-therapeutic-implications-vs (IG 3.0.0, conformance/ValueSet-genetic-therapeutic-
#: implications-vs.json); the same LOINC answers as PHENOTYPE_LA in report/fhir/pgx.py.
IMPLICATION_LA = {
    "LA10315-2": "Ultrarapid metabolizer", "LA25391-6": "Normal metabolizer",
    "LA25390-8": "Rapid metabolizer", "LA10317-8": "Intermediate metabolizer",
    "LA9657-3": "Poor metabolizer", "LA19542-2": "Low Risk", "LA19541-4": "High Risk",
    "LA6676-6": "Resistant", "LA6677-4": "Responsive", "LA9660-7": "Presumed resistant",
    "LA9661-5": "Presumed responsive", "LA6682-4": "Unknown Significance", "LA6675-8": "Benign",
    "LA6674-1": "Presumed Benign", "LA9662-3": "Presumed non-responsive",
    "LA25392-4": "Increased function", "LA25393-2": "Normal function",
    "LA25395-7": "Decreased function", "LA25394-0": "Poor function",
}  # fmt: skip
#: LOINC displays of MedicationRecommendation codes (answer list LL4049-4) that could be
#: verified without the list itself (not in the IG package): LA26423-6 from the IG examples
#: (Bundle-bundle-pgxexample, bundle-cgexample); LA26421-0 and LA26422-8 from
#: research/interop.md §1.2. Other codes are not checked.
RECOMMENDATION_DISPLAY = {
    "LA26423-6": "Increase dose",
    "LA26421-0": "Consider alternative medication",
    "LA26422-8": "Decrease dose",
}
#: HGNC ids of pharmacogenes, each stated with the same symbol by several IG 3.0.0 examples
#: (HLA-A/B/C: HLA-*-haplotype*, CG-IG-HLA bundle; CYP2C9: bundle-pgxexample, cgexample;
#: CYP2D6: *ExamplePharmVar*; CYP2C19: Procedure-PGXGenomicStudyAnalysis,
#: Parameters-FindSubjectHaplotypesOutput and research/interop.md; VKORC1: cgexample,
#: Procedure-PGXGenomicStudyAnalysis; APOE: clinical-trial examples and the cardio KB). Ids of
#: other genes are not checked.
HGNC_IDS = {
    "CYP2C19": "HGNC:2621", "CYP2C9": "HGNC:2623", "CYP2D6": "HGNC:2625",
    "HLA-A": "HGNC:4931", "HLA-B": "HGNC:4932", "HLA-C": "HGNC:4933",
    "VKORC1": "HGNC:23663", "APOE": "HGNC:613",
}  # fmt: skip
HGNC_SYMBOLS = {v: k for k, v in HGNC_IDS.items()}


_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ImportedGenotype(BaseModel):
    """A diplotype as the source states it, the gene symbol removed (``*1/*2``)."""

    model_config = _FROZEN

    gene: str
    diplotype: str
    source: str


class ImportedVariant(BaseModel):
    """A variant reported present (LOINC 69548-6); VAF as a fraction of reads (0-1)."""

    model_config = _FROZEN

    gene: str | None = None
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    hgvs_g: str | None = None
    origin: Literal["germline", "somatic"] | None = None
    vaf: float | None = None
    source: str


class ImportedImplication(BaseModel):
    """A TherapeuticImplication: the drug assessed, the gene it derives from, the phenotype."""

    model_config = _FROZEN

    drug: str | None = None
    gene: str | None = None
    phenotype: str | None = None
    source: str


class ImportedRecommendation(BaseModel):
    """A MedicationRecommendation Task: the drug and the Task's code as the source codes it."""

    model_config = _FROZEN

    drug: str | None = None
    code: str | None = None
    display: str | None = None
    source: str


class ImportedHla(BaseModel):
    """An HLA result: a genotype (two alleles, ``*15:01/*57:01`` as written), or one allele
    with its presence (``present`` true for a positive test or a reported haplotype, false for
    a negative test)."""

    model_config = _FROZEN

    gene: str
    allele: str | None = None
    genotype: str | None = None
    present: bool | None = None
    source: str


class EngineComparison(BaseModel):
    """The source's phenotype for a drug next to the engine's own CPIC phenotype of the
    imported diplotype (``engine_phenotype`` null when the engine cannot interpret it)."""

    model_config = _FROZEN

    drug: str | None = None
    gene: str
    source_phenotype: str | None = None
    engine_phenotype: str | None = None
    agree: bool


class FhirGenomicsImport(BaseModel):
    """The result of reading one or more files of Genomics Reporting resources."""

    model_config = _FROZEN

    genotypes: tuple[ImportedGenotype, ...] = ()
    variants: tuple[ImportedVariant, ...] = ()
    implications: tuple[ImportedImplication, ...] = ()
    recommendations: tuple[ImportedRecommendation, ...] = ()
    hla: tuple[ImportedHla, ...] = ()
    warnings: tuple[str, ...] = ()
    engine_comparison: tuple[EngineComparison, ...] = ()
    #: Patients the genotypes and HLA results are about (``Patient/<id>`` or the reference as
    #: written); not part of the output, used to refuse a file about several people.
    subjects: tuple[str, ...] = Field(default=(), exclude=True)


@dataclass(frozen=True, slots=True)
class VariantEvidence:
    """A variant observation as the genotype check needs it."""

    source: str
    gene: str | None
    rsid: str | None
    present: bool
    zygosity: str | None


@dataclass(frozen=True, slots=True)
class GenotypeEvidence:
    """An imported genotype with the variants it rests on (linked by ``derivedFrom`` /
    ``hasMember``, through haplotypes; else every variant of the gene in the input)."""

    gene: str
    diplotype: str
    source: str
    variants: tuple[VariantEvidence, ...]


@dataclass(frozen=True, slots=True)
class GenomicsRead:
    """What the reader found, and the evidence the engine comparison uses."""

    result: FhirGenomicsImport
    evidence: tuple[GenotypeEvidence, ...] = ()
