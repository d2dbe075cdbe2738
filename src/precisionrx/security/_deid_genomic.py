"""Which FHIR resources carry genomic data, for Safe Harbor de-identification
(:mod:`precisionrx.security.deid`; 45 CFR 164.514(b)(2)(i)(P), (R)).

Raw germline genotype (sequence reads, variant call files) is an identifying characteristic and
is never released under Safe Harbor: :func:`has_genomic_file` finds Attachments of such files.
Interpreted genomic results are kept but labelled GDIS: :func:`is_genomic`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from precisionrx.security._deid_text import _words

#: Deepest nesting searched.
_MAX_DEPTH = 64
#: Resource types that are raw sequence data.
RAW_GENOMIC_TYPES = frozenset({"MolecularSequence", "Sequence"})
#: Content types and file names of sequence and variant files (raw genotype).
_GENOMIC_TYPE = re.compile(r"(?i)\b(?:x-)?(?:vcf|bcf|bam|cram|sam|fastq|fasta)\b")
_GENOMIC_NAME = re.compile(r"(?i)\.(?:g\.)?(?:vcf|bcf|bam|cram|sam|fastq|fq|fasta|fa)(?:\.b?gz)?$")
_GENOMIC_LOINC = _words(
    "69548-6 81247-9 55233-1 48018-6 53037-8 81290-9 48004-6 48005-3 84413-4 51958-7 53034-5 "
    "48002-0 48001-2 81252-9 69547-8 69551-0 93364-8 47998-0 81258-6"
)


def has_genomic_file(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` holds an Attachment of a sequence or variant file (VCF, BAM ...)."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, list):
        return any(has_genomic_file(v, depth + 1) for v in value)
    if not isinstance(value, dict):
        return False
    if "contentType" in value or "data" in value or ("url" in value and "title" in value):
        ctype = value.get("contentType")
        if isinstance(ctype, str) and _GENOMIC_TYPE.search(ctype):
            return True
        names = [value.get("url"), value.get("title")]
        if any(isinstance(n, str) and _GENOMIC_NAME.search(n.split("?")[0]) for n in names):
            return True
    return any(
        has_genomic_file(v, depth + 1)
        for k, v in value.items()
        if k not in ("contained", "entry") and isinstance(v, dict | list)
    )


def is_genomic(res: Mapping[str, Any]) -> bool:
    """A genomic result (GDIS): a Genomics Reporting profile, a genetics extension, a
    genetics category or a genomic LOINC code."""
    text = json.dumps(
        {k: res.get(k) for k in ("meta", "extension", "category", "code")}, ensure_ascii=False
    )
    if "genomics-reporting" in text or "observation-genetics" in text:
        return True
    codes = re.findall(r'"code":\s*"([^"]+)"', text)
    return any(c in _GENOMIC_LOINC or c in ("GE", "genetics") for c in codes)
