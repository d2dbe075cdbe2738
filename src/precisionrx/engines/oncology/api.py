"""The oncology entry point: tumour alterations (read by ``io``) -> a typed tumour report.

:func:`analyse_tumour` matches the alterations to the oncology knowledge base (packaged, plus a
user-added CIViC export), tiers the evidence (AMP/ASCO/CAP as PCGR derives it), resolves
sensitivity against resistance across the tumour, builds the grouped view, computes TMB and
the MSI status, and checks every suggested drug against the patient's germline
pharmacogenomics when germline results are given (called beforehand by the PGx engine). It
opens no file: ``precisionrx tumor`` and the plan's oncology section read their inputs with
:mod:`precisionrx.io.tumor_inputs` and both call it.

>>> from precisionrx.kb.registry import KnowledgeBase
>>> from precisionrx.records.tumor import Alteration
>>> braf = Alteration(kind="variant", gene="BRAF", protein="V600E",
...                   consequence=frozenset({"missense_variant"}),
...                   consequence_text="missense_variant", source="demo")
>>> r = analyse_tumour([braf], KnowledgeBase(), TumourSettings(tumor_type="MEL"))
>>> r.therapy_summary[0].status, r.therapy_summary[0].tier
('sensitive', 'I')
>>> "germline_not_checked" in {c.code for c in r.caveats}
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from precisionrx.engines.oncology import burden
from precisionrx.engines.oncology.germline import germline_conflicts
from precisionrx.engines.oncology.knowledge import oncology_kb
from precisionrx.engines.oncology.report import (
    BULK_ALTERATIONS,
    collector_paused,
    evidence,
    matched_drugs,
    note_caveats,
    report_caveats,
)
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import PatientRecord, SampleResult
from precisionrx.records.evidence import Caveat, fingerprint
from precisionrx.records.oncology import (
    GermlineChecked,
    GermlineConflict,
    KnowledgeBaseInfo,
    TumourReport,
    TumourType,
)
from precisionrx.records.tumor import Alteration

#: Knowledge bases a tumour report is computed from (``genome``: the GRCh37 -> GRCh38 chain).
SOURCES = ["oncology", "genome"]
#: ... and those of the germline cross-check (prescribing guidelines, phenoconversion).
GERMLINE_SOURCES = ["guidelines", "interactions"]
#: The caveat when no germline result is given, worded for where the inputs come from.
NO_GERMLINE = {
    "command": "no germline genotype given (--germline-vcf): suggested drugs were not checked "
    "against the patient's pharmacogenomics",
    "plan": "no germline genotype in the record: suggested drugs were not checked against "
    "pharmacogenomics",
}


class TumourSettings(BaseModel):
    """What the tumour report is computed with, besides the alterations.

    ``annotated`` is False for a VCF without VEP/SnpEff annotation (the reader says so);
    ``input_name`` and ``germline_input`` name the inputs in the report (``input``,
    ``germline_checked.vcf``); ``context`` words the caveats about missing inputs for the
    command line or the plan.
    """

    model_config = ConfigDict(frozen=True)

    tumor_type: str | None = None
    genome_build: str | None = None
    msi: str | None = None
    msisensor_score: float | None = None
    callable_mb: float = burden.EXOME_MB
    tmb_scheme: str = "coding_and_silent"
    annotated: bool = True
    input_name: str | None = None
    germline_input: str | None = None
    #: The reader's fingerprint of the input files; without it, one of the alterations.
    input_sha256: str | None = None
    context: Literal["command", "plan"] = "command"


def analyse_tumour(
    alterations: Sequence[Alteration],
    kb: KnowledgeBase,
    settings: TumourSettings | None = None,
    *,
    germline: Sequence[SampleResult] | None = None,
    patient: PatientRecord | None = None,
) -> TumourReport:
    """The tumour report of ``alterations``.

    ``germline``: the patient's called germline results (None: not available, said in a
    caveat); every suggested drug is reviewed against them as if added to the medications of
    ``patient`` (so phenoconversion counts). Raises :class:`~precisionrx.errors.InputError`
    for a callable size or MSIsensor score out of range, or an unknown TMB scheme.
    """
    settings = settings or TumourSettings()
    alts = list(alterations)
    okb = oncology_kb(kb)
    code = settings.tumor_type.strip().upper() if settings.tumor_type else None
    build = settings.genome_build
    caveats = report_caveats(okb, code, build, settings.annotated)
    variants = [a for a in alts if a.kind == "variant"]
    tmb = burden.tmb(variants, settings.callable_mb, settings.tmb_scheme)
    msi = burden.msi(settings.msi, settings.msisensor_score)
    with collector_paused(len(alts) >= BULK_ALTERATIONS):
        matches, summary, entries = evidence(okb, alts, code, build, msi.high, tmb.high)
    caveats += note_caveats(alts)
    conflicts: list[GermlineConflict] = []
    checked = None
    if germline is None:
        caveats.append(Caveat(code="germline_not_checked", message=NO_GERMLINE[settings.context]))
    else:
        drugs = matched_drugs(matches)
        conflicts = germline_conflicts(kb, list(germline), drugs, patient=patient)
        if settings.germline_input is not None:
            checked = GermlineChecked(vcf=settings.germline_input, drugs=drugs)
    sources = SOURCES + (GERMLINE_SOURCES if germline is not None else [])
    inputs: list[Any] = [settings.input_sha256 or _canonical(alts), *(germline or [])]
    if patient is not None:
        inputs.append(patient)
    return TumourReport(
        tumor_type=TumourType(
            code=code, name=okb.names.get(code or ""), lineage=okb.lineage(code) if code else []
        ),
        genome_build=build,
        tmb=tmb,
        msi=msi,
        alterations=entries,
        matches=matches,
        therapy_summary=summary,
        germline_conflicts=conflicts,
        caveats=caveats,
        knowledge_base=KnowledgeBaseInfo(
            version=okb.about.get("version"),
            source=okb.about.get("source"),
            license=okb.about.get("license"),
            added=okb.added,
        ),
        germline_checked=checked,
        input=settings.input_name,
        provenance=kb.provenance(sources, fingerprint(*inputs), _parameters(settings)),
    )


_ALTERATION_FIELDS = tuple(f.name for f in dataclasses.fields(Alteration))


def _canonical(alterations: Sequence[Alteration]) -> str:
    """The alterations as one text in a fixed form, for the input fingerprint: one line per
    alteration, its fields in declaration order (consequence terms sorted). Built by hand: the
    JSON form of a dict per alteration costs seconds on a 50,000-variant tumour."""
    lines = []
    for a in alterations:
        values = [getattr(a, name) for name in _ALTERATION_FIELDS]
        values[_ALTERATION_FIELDS.index("consequence")] = sorted(a.consequence)
        lines.append(repr(values))
    return "\n".join(lines)


def _parameters(settings: TumourSettings) -> dict[str, str]:
    keep = ("tumor_type", "genome_build", "msi", "msisensor_score", "callable_mb", "tmb_scheme",
            "annotated")  # fmt: skip
    values = settings.model_dump(include=set(keep))
    return {k: str(values[k]) for k in keep if values[k] is not None}
