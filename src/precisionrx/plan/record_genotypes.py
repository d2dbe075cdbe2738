"""A patient record's pharmacogenomic results: its germline VCFs with its outside calls applied
(they override the VCF per gene), or the outside calls alone when there is no VCF.

Outside calls come from ``outside_calls`` (a PharmCAT outside-call TSV path or inline entries
``{gene, diplotype | phenotype | activity_score}``), from ``genomic_inputs`` of kind
``outside_calls``, and from ``genomic_inputs`` of kind ``fhir_bundle`` (a lab's FHIR Genomics
Reporting report: one outside call per genotype and per HLA gene, naming the file and the
resource; docs/fhir.md). Like every outside call, a FHIR result overrides the VCF for its gene.
The plan and ``mh options`` read a record through here, so both see the same genotypes.
"""

from __future__ import annotations

import re

from precisionrx.engines.pgx.api import analyse
from precisionrx.engines.pgx.caller import CallOptions, genotype_request
from precisionrx.engines.pgx.outside import check_outside_calls, outside_gene_call
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.errors import OutsideCallError
from precisionrx.io.germline import read_germline
from precisionrx.io.outside_calls import OutsideCall, by_gene, read_outside_calls
from precisionrx.io.patient_file import germline_vcfs
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.fhir_genomics_compare import fhir_outside_calls
from precisionrx.records import PatientRecord, SampleResult

_SCORE = re.compile(r"(?:≥|>=)?\d+(?:\.\d+)?")


def record_outside_calls(record: PatientRecord, kb: KnowledgeBase) -> list[OutsideCall]:
    """Every outside call of the record, checked against the knowledge base."""
    calls: list[OutsideCall] = []
    for gi in record.genomic_inputs:
        if gi.kind == "outside_calls":
            calls += read_outside_calls(gi.path)
        elif gi.kind == "fhir_bundle":
            calls += fhir_outside_calls(gi.path, kb)
    given = record.outside_calls
    if isinstance(given, str):
        calls += read_outside_calls(given)
    elif given:
        for n, e in enumerate(given, start=1):
            score = None if e.activity_score is None else str(e.activity_score)
            if score is not None and not _SCORE.fullmatch(score.strip()):
                raise OutsideCallError(
                    f"{e.gene}: activity score {score!r} is not a number (e.g. 1.5 or ≥3.0)",
                    record=f"outside_calls[{n - 1}]",
                )
            if not (e.diplotype or e.phenotype or score):
                raise OutsideCallError(
                    f"{e.gene}: give a diplotype, a phenotype or an activity score",
                    record=f"outside_calls[{n - 1}]",
                )
            dip = e.diplotype.removeprefix(e.gene).strip() if e.diplotype else None
            calls.append(OutsideCall(e.gene, dip, e.phenotype, score, n, "outside_calls"))
    check_outside_calls(kb, calls)
    return calls


def record_pgx(record: PatientRecord, kb: KnowledgeBase) -> list[SampleResult]:
    """One result per germline VCF sample (outside calls applied), or one result from the
    outside calls alone; with recommendations, the medication review and phenoconversion."""
    outside = record_outside_calls(record, kb)
    meds = list(record.medications) if record.medications else None
    sex = record.demographics.sex_at_birth
    results: list[SampleResult] = []
    for gi in germline_vcfs(record):
        options = CallOptions(genome_build=gi.genome_build, default_sex=sex)
        genotypes = read_germline(
            gi.path, genotype_request(kb, options), [gi.sample] if gi.sample else None
        )
        run = analyse([genotypes], kb, options, outside=outside, medications=meds,
                      recommendations=True, patient=record)  # fmt: skip
        results.extend(run.results)
    if not results and outside:
        genes = [outside_gene_call(kb, lines) for lines in by_gene(outside).values()]
        provenance = kb.provenance(["pharmcat", "guidelines", "interactions"], None, {})
        only = SampleResult(input="outside calls", sample=record.id, genes=genes,
                            provenance=provenance)  # fmt: skip
        results.append(prescribed(kb, only, meds, None, None, record))
    return results
