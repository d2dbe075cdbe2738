"""Per-allele consequences from VEP ``CSQ`` and SnpEff ``ANN`` INFO fields, and ClinVar tags.

VEP writes its field order in the header (``Description="... Format: Allele|Consequence|..."``);
SnpEff's ANN order is fixed by its specification (Allele | Annotation | Annotation_Impact |
Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | HGVS.p |
...). ClinVar's own VCF uses ``GENEINFO`` (``SYMBOL:GeneID|...``) and ``CLNSIG``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

SNPEFF_FIELDS = (
    "Allele", "Annotation", "Annotation_Impact", "Gene_Name", "Gene_ID", "Feature_Type",
    "Feature_ID", "Transcript_BioType", "Rank", "HGVS.c", "HGVS.p",
)  # fmt: skip
INFO_KEYS = ("CSQ", "ANN", "GENEINFO", "CLNSIG", "GENE", "SYMBOL")


@dataclass(frozen=True, slots=True)
class Consequence:
    allele: str
    gene: str
    consequence: str  # Sequence Ontology terms joined by "&"
    hgvsc: str
    hgvsp: str
    exon: str = ""
    canonical: bool = False

    @property
    def terms(self) -> set[str]:
        return set(self.consequence.split("&"))


def csq_fields(description: str | None) -> list[str] | None:
    """Field names from a VEP CSQ header description; None when it has no ``Format:``."""
    if not description or "Format:" not in description:
        return None
    return [f.strip() for f in description.split("Format:", 1)[1].strip().strip('"').split("|")]


def _strip_transcript(hgvs: str) -> str:
    """``ENSP0000:p.Val600Glu`` -> ``p.Val600Glu`` (VEP prefixes the feature id)."""
    return unquote(hgvs.split(":", 1)[1]) if ":" in hgvs else unquote(hgvs)


def parse_csq(value: str, fields: list[str]) -> list[Consequence]:
    index = {name: i for i, name in enumerate(fields)}

    def get(parts: list[str], *names: str) -> str:
        for name in names:
            i = index.get(name)
            if i is not None and i < len(parts) and parts[i]:
                return parts[i]
        return ""

    out = []
    for entry in value.split(","):
        parts = entry.split("|")
        out.append(
            Consequence(
                allele=get(parts, "Allele"),
                gene=get(parts, "SYMBOL", "Gene"),
                consequence=get(parts, "Consequence"),
                hgvsc=_strip_transcript(get(parts, "HGVSc")),
                hgvsp=_strip_transcript(get(parts, "HGVSp")),
                exon=get(parts, "EXON"),
                canonical=get(parts, "CANONICAL") == "YES",
            )
        )
    return out


def parse_ann(value: str) -> list[Consequence]:
    out = []
    index = {name: i for i, name in enumerate(SNPEFF_FIELDS)}
    for entry in value.split(","):
        parts = entry.split("|")
        if len(parts) < len(SNPEFF_FIELDS):
            continue
        rank = parts[index["Rank"]]
        out.append(
            Consequence(
                allele=parts[index["Allele"]],
                gene=parts[index["Gene_Name"]],
                consequence=parts[index["Annotation"]],
                hgvsc=parts[index["HGVS.c"]],
                hgvsp=parts[index["HGVS.p"]],
                exon=rank,
            )
        )
    return out


def consequences(info: dict[str, str], csq_format: list[str] | None) -> list[Consequence]:
    """Every consequence in a record's CSQ (needs the header's format) or ANN values."""
    out: list[Consequence] = []
    if "CSQ" in info and csq_format:
        out += parse_csq(info["CSQ"], csq_format)
    if "ANN" in info:
        out += parse_ann(info["ANN"])
    return out


def genes_of(info: dict[str, str], csq_format: list[str] | None) -> set[str]:
    """Gene symbols named by any annotation of the record (CSQ, ANN, GENEINFO, GENE)."""
    genes = {c.gene for c in consequences(info, csq_format) if c.gene}
    for item in info.get("GENEINFO", "").split("|"):
        if item:
            genes.add(item.split(":", 1)[0])
    for key in ("GENE", "SYMBOL"):
        genes.update(g for g in info.get(key, "").split(",") if g)
    return genes


def clinvar_significance(info: dict[str, str]) -> str:
    """ClinVar CLNSIG text normalised to lower case with spaces (``likely pathogenic``)."""
    return info.get("CLNSIG", "").replace("_", " ").lower()
