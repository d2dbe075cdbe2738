"""Tumour mutational burden (PCGR's three schemes) and MSI status from input.

TMB = counted somatic variants / callable megabases (PCGR pcgr/variant.py calculate_tmb): a
variant counts when its consequence string (terms joined by "&", in annotation order) matches
the scheme's pattern *at its start* (pandas ``str.match``):
- ``coding_and_silent`` (default): stop gained/lost, start lost, frameshift, missense, splice
  donor/acceptor, protein altering, in-frame, synonymous, start/stop retained;
- ``coding_non_silent``: the same without synonymous and start/stop retained;
- ``missense_only``: ``missense_variant``.
Rounded to 4 decimals. TMB-high at >= 10 mut/Mb (FDA pembrolizumab, KEYNOTE-158, F1CDx).
Default callable size 34 Mb (PCGR's coding exome size); smaller values mean a panel.
MSI: ``--msi`` MSI-H / MSS (or MSI-L), or an MSIsensor score (>= 10 MSI-H, 3-10 indeterminate,
< 3 MSS; MSK-IMPACT cut-offs as recalled in tmb_msi_reference.json, not re-verified).
A callable size or MSIsensor score that is NaN, infinite or out of range is an InputError
whatever the input route (CLI option or patient file): a NaN score never becomes "MSS".
"""

from __future__ import annotations

import math
import re

from precisionrx.errors import InputError
from precisionrx.records.evidence import Caveat, CaveatKind
from precisionrx.records.oncology import Msi, Tmb
from precisionrx.records.tumor import Alteration

SCHEMES = {
    "coding_and_silent": r"(stop_(lost|gained)|start_lost|frameshift_|missense_|"
    r"splice_(donor|acceptor)|protein_altering|inframe_|synonymous|(start|stop)_retained)",
    "coding_non_silent": r"(stop_(lost|gained)|start_lost|frameshift_|missense_|"
    r"splice_(donor|acceptor)|protein_altering|inframe_)",
    "missense_only": r"^missense_variant",
}
EXOME_MB = 34.0
TMB_HIGH = 10.0
MSISENSOR_HIGH = 10.0
MSISENSOR_LOW = 3.0


def tmb(
    alterations: list[Alteration], callable_mb: float, scheme: str = "coding_and_silent"
) -> Tmb:
    """TMB of the variants among ``alterations`` (caveat codes ``tmb_assay``,
    ``tmb_panel``, ``tmb_unannotated``)."""
    if not math.isfinite(callable_mb) or callable_mb <= 0:
        raise InputError(
            f"callable size must be a positive number of megabases (got {callable_mb})"
        )
    if scheme not in SCHEMES:
        raise InputError(f"unknown TMB scheme {scheme!r}", hint=f"one of {', '.join(SCHEMES)}")
    pattern = re.compile(SCHEMES[scheme])
    counted = sum(
        1 for a in alterations if a.kind == "variant" and pattern.match(a.consequence_text or "")
    )
    value = counted / callable_mb  # unrounded in JSON; views round (issue 11 item 6)
    caveats = [
        Caveat(
            code="tmb_assay",
            kind=CaveatKind.NOTE,
            message="TMB depends on the assay, the callable region and the variant filters: "
            "compare it only with values from the same assay; the >= 10 mut/Mb cut-off was set "
            "for FoundationOne CDx (KEYNOTE-158)",
        )
    ]
    if callable_mb < EXOME_MB:
        caveats.append(
            Caveat(
                code="tmb_panel",
                message=f"callable size {callable_mb:g} Mb is smaller than an exome "
                f"({EXOME_MB:g} Mb): a panel TMB needs calibration against exome TMB (Friends "
                "of Cancer Research harmonisation)",
            )
        )
    if any(a.kind == "variant" and not a.consequence_text for a in alterations):
        caveats.append(
            Caveat(
                code="tmb_unannotated",
                message="variants without consequence annotation were not counted",
            )
        )
    return Tmb(
        value=value,
        scheme=scheme,
        callable_mb=callable_mb,
        variants_counted=counted,
        high=value >= TMB_HIGH,
        threshold=TMB_HIGH,
        caveats=caveats,
    )


def msi(status: str | None, msisensor_score: float | None) -> Msi:
    """MSI status (caveat codes ``msisensor_cutoffs``, ``msi_unknown``)."""
    if status:
        s = status.strip().upper().replace("_", "-")
        s = {"MSIH": "MSI-H", "MSI-HIGH": "MSI-H", "MSIL": "MSI-L", "MSI-LOW": "MSI-L"}.get(s, s)
        return Msi(status=s, source="input (--msi)", high=s == "MSI-H")
    if msisensor_score is not None:
        if not math.isfinite(msisensor_score) or msisensor_score < 0:
            raise InputError(f"MSIsensor score must be a number >= 0 (got {msisensor_score})")
        if msisensor_score >= MSISENSOR_HIGH:
            s = "MSI-H"
        elif msisensor_score >= MSISENSOR_LOW:
            s = "indeterminate"
        else:
            s = "MSS"
        return Msi(
            status=s,
            source=f"MSIsensor score {msisensor_score:g}",
            high=s == "MSI-H",
            caveats=[
                Caveat(
                    code="msisensor_cutoffs",
                    kind=CaveatKind.NOTE,
                    message="MSIsensor cut-offs (>= 10 MSI-H, 3-10 indeterminate) are "
                    "MSK-IMPACT's, recalled from the literature and not re-verified",
                )
            ],
        )
    return Msi(
        status="unknown",
        source="not given",
        high=False,
        caveats=[
            Caveat(
                code="msi_unknown",
                message="MSI status not given (--msi or --msisensor-score): MSI-H therapies are "
                "not matched; no VCF-based MSI estimate is made (PCGR's classifier needs "
                "tumour-normal WES/WGS)",
            )
        ],
    )
