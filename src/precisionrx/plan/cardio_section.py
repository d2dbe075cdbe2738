"""Cardiovascular risk and prevention section of the treatment plan (from one patient record).

Composition only: the germline VCF is opened here (io) and the scoring files are read (io), and
the cardio engine's entry point (:func:`precisionrx.engines.cardio.api.assess_patient`) does
the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from precisionrx.engines.cardio.api import GenotypeSource, assess_patient
from precisionrx.io.patient_file import germline_vcfs
from precisionrx.io.pgs_scorefile import ScoreFile, read_scorefile
from precisionrx.io.vcf import VcfFile
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import PatientRecord, SampleResult
from precisionrx.records.cardio import CardioSection


def cardio_section(
    kb: KnowledgeBase,
    record: PatientRecord,
    pgx: list[SampleResult],
    home_sbp: float | None = None,
    gmi: float | None = None,
) -> CardioSection | None:
    """Risk rows, prevention options and statin PGx notes; None when the record has no CV data."""
    vcfs = germline_vcfs(record)
    paths = [g.path for g in record.genomic_inputs if g.kind == "pgs_scorefile"]

    def scorefiles() -> Iterator[ScoreFile]:  # read only when the section applies
        for path in paths:
            yield read_scorefile(path)

    with contextlib.ExitStack() as stack:
        genotypes = None
        if vcfs:
            gi = vcfs[0]
            vcf = stack.enter_context(VcfFile(gi.path, [gi.sample] if gi.sample else None))
            genotypes = GenotypeSource(vcf, gi.genome_build, gi.path)
        return assess_patient(record, kb, pgx, genotypes, scorefiles(), home_sbp=home_sbp, gmi=gmi)
