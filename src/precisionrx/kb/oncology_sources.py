"""Oncology evidence sources converted into the one biomarker table schema (BIOMARKER_COLUMNS).

CIViC clinical-evidence exports in both formats are read: the 2018 (v1) nightly summaries with
``gene`` and ``variant`` columns, and the current (v2) exports with ``molecular_profile`` (e.g.
``BRAF V600E``, ``EGFR Exon 19 Deletion``, ``EML4::ALK Fusion``). Only accepted, predictive,
supporting evidence of sensitivity or resistance is kept; combination molecular profiles
(``A and B``) and expression biomarkers are marked ``unsupported``. Evidence levels A and B are
"strong" (PCGR), C-E "weak". Used at build time (tools/build_kb.py) and at run time by
``precisionrx kb add civic FILE``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from precisionrx.errors import InputError
from precisionrx.records.notation import codon, fusion_pair, gene_symbol, protein_change, residues

BIOMARKER_COLUMNS = [
    "source", "source_id", "feature", "gene", "gene2", "kind", "protein", "codon", "aa_start",
    "aa_end", "hgvsc", "exon", "variant_class", "chrom", "pos", "ref", "alt", "build",
    "tumor_code", "tumor_name", "therapy", "therapy_type", "response", "evidence_level",
    "strength", "approval", "citation", "url", "alteration",
]  # fmt: skip
CIVIC_STRENGTH = {"A": "strong", "B": "strong"}
SENSITIVE = {"Sensitivity", "Sensitivity/Response"}
RESISTANT = {"Resistance or Non-Response", "Resistance"}
_PROTEIN = re.compile(r"[A-Z*]\d+([A-Z*]|fs|del|dup)?")
_PROTEIN_SPAN = re.compile(r"[A-Z*]\d+_[A-Z*]\d+(del|dup|ins[A-Z*]+|delins[A-Z*]+)")
#: Two gene symbols joined by "-" or "::" (each starts with a letter: "DI842-843VM" is a change).
_FUSION_WORD = re.compile(r"[A-Z][A-Z0-9]*(-|::)[A-Z][A-Z0-9]*")
#: A fusion name followed by one secondary protein change ("BCR-ABL T334I").
_FUSION_WITH_CHANGE = re.compile(r"(\S+(-|::)\S+|\S+ FUSION) [A-Z]\d+[A-Z*]")
_EXON = re.compile(r"EXON (\d+) (DELETION|INSERTION|MUTATION|SKIPPING MUTATION|SKIPPING)")


def civic_kind(variant: str) -> dict[str, str]:
    """Alteration kind and fields of a CIViC variant name (gene already removed)."""
    v = variant.strip()
    up = v.upper()
    if " AND " in up or " OR " in up:
        return {"kind": "unsupported", "feature": "other"}
    if up in {"MUTATION", "MUTATIONS"}:
        return {"kind": "gene_any", "feature": "somatic"}
    if up in {"LOSS-OF-FUNCTION", "LOSS OF FUNCTION", "TRUNCATING MUTATION",
              "FRAMESHIFT TRUNCATION"}:  # fmt: skip
        return {"kind": "gene_lof", "feature": "somatic"}
    if up == "AMPLIFICATION":
        return {"kind": "amplification", "feature": "cna"}
    if up in {"LOSS", "DELETION", "COPY NUMBER LOSS"}:
        return {"kind": "deletion", "feature": "cna"}
    m = _EXON.fullmatch(up)
    if m:
        cls = {"DELETION": "deletion", "INSERTION": "insertion", "MUTATION": "",
               "SKIPPING MUTATION": "skipping", "SKIPPING": "skipping"}[m.group(2)]  # fmt: skip
        return {"kind": "exon", "feature": "somatic", "exon": m.group(1), "variant_class": cls}
    words = up.split()
    pair_word = bool(words) and re.fullmatch(_FUSION_WORD, words[0]) is not None
    if "FUSION" in up or pair_word:
        extra = [w for w in words[1:] if w not in {"FUSION", "FUSIONS"}]
        if (pair_word and extra) or (not pair_word and words[-1] not in {"FUSION", "FUSIONS"}):
            # a fusion with a secondary mutation ("EML4-ALK L1196M", "ALK FUSION G1202R",
            # "EML4-ALK C1156Y–L1198F"): not the fusion alone
            return {"kind": "unsupported", "feature": "fusion"}
        pair = fusion_pair(v if "FUSION" in up else words[0])
        if pair:
            return {"kind": "fusion", "feature": "fusion", "gene": pair[0], "gene2": pair[1] or ""}
    protein = protein_change(v)
    if _PROTEIN.fullmatch(protein) or _PROTEIN_SPAN.fullmatch(protein):
        span = residues(protein)
        return {
            "kind": "codon" if codon(protein) == protein else "protein", "feature": "somatic",
            "protein": protein, "codon": codon(protein),
            "aa_start": str(span[0]) if span else "", "aa_end": str(span[1]) if span else "",
        }  # fmt: skip
    return {"kind": "unsupported", "feature": "other"}


def split_drugs(text: str) -> list[str]:
    """Drug names of a CIViC ``drugs`` cell: commas separate drugs except inside brackets
    ("BEZ235 (NVP-BEZ235, Dactolisib)" is one drug)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth <= 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [drug_name(d) for d in out if d.strip()]


def drug_name(name: str) -> str:
    """One name per drug: "Alectinib (CH5424802)" -> "Alectinib", "BYL719 (Alpelisib)" ->
    "Alpelisib", "BEZ235 (NVP-BEZ235, Dactolisib)" -> "Dactolisib". Of the name and its
    bracketed synonyms, the first that is a word (letters, spaces and hyphens, some lower
    case: a generic name rather than a code such as AZD6244 or an abbreviation such as SAHA)
    is kept; with none, the name is kept as written."""
    name = " ".join(name.split())
    m = re.fullmatch(r"(.+?) \((.+)\)", name)
    if not m:
        return name
    for cand in [m[1], *(c.strip() for c in m[2].split(","))]:
        if re.fullmatch(r"[A-Za-z][A-Za-z \-]*", cand) and cand != cand.upper():
            return cand
    return name


def _gene_and_variant(r: dict[str, str]) -> tuple[str, str]:
    if r.get("gene") is not None and r.get("variant") is not None:
        return r["gene"], r["variant"]
    profile = (r.get("molecular_profile") or "").strip()
    if "::" in profile.split(" ")[0]:  # "EML4::ALK Fusion"
        return profile.split("::")[0], profile
    gene, _, variant = profile.partition(" ")
    return gene, variant


def civic_rows(path: Path, disease_map: dict[str, str], version: str) -> list[dict[str, str]]:
    try:
        return _civic_rows(path, disease_map, version)
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file ({exc.reason})", path=path) from exc
    except FileNotFoundError as exc:
        raise InputError("file not found", path=path) from exc


def _civic_rows(path: Path, disease_map: dict[str, str], version: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        cols = set(reader.fieldnames or [])
        if not ({"gene", "variant"} <= cols or "molecular_profile" in cols) or not (
            {"evidence_type", "evidence_level"} <= cols
        ):
            raise InputError(
                "not a CIViC clinical evidence export (needs gene+variant or molecular_profile, "
                "evidence_type and evidence_level columns)",
                path=path,
                record="header",
            )
        for r in reader:
            if r.get("evidence_type") != "Predictive":
                continue
            if (r.get("evidence_status") or "accepted").lower() != "accepted":
                continue
            sig = r.get("clinical_significance") or r.get("significance") or ""
            if (
                r.get("evidence_direction") or ""
            ) != "Supports" or sig not in SENSITIVE | RESISTANT:
                continue
            if not (r.get("drugs") or r.get("therapies") or "").strip():
                continue  # predictive evidence without a drug names no therapy
            gene, variant = _gene_and_variant(r)
            out.extend(
                _civic_row(r, gene, variant, name, disease_map, version, sig)
                for name in _alternatives(variant)
            )
    return out


def _alternatives(variant: str) -> list[str]:
    """``G12/G13`` -> ``G12``, ``G13``; ``D835H/Y`` -> ``D835H``, ``D835Y`` (CIViC lists
    alternatives in one variant name); anything else unchanged."""
    v = variant.strip()
    m = re.fullmatch(r"([A-Z])(\d+)([A-Z*])/([A-Z*])", v.upper())
    if m:
        return [f"{m[1]}{m[2]}{m[3]}", f"{m[1]}{m[2]}{m[4]}"]
    parts = v.upper().split("/")
    if len(parts) > 1 and all(re.fullmatch(r"[A-Z]\d+[A-Z*]?", p) for p in parts):
        return parts
    return [v]


def _civic_row(
    r: dict[str, str],
    gene: str,
    variant: str,
    name: str,
    disease_map: dict[str, str],
    version: str,
    sig: str,
) -> dict[str, str]:
    """One biomarker row of a CIViC evidence item (``name``: one alternative of ``variant``).

    A fusion with one secondary mutation ("BCR-ABL T334I", CIViC's isoform-1b name of ABL1
    T315I; "EML4-ALK G1202R") that CIViC gives genomic coordinates for is matched at those
    coordinates (kind ``genomic``); other unparsed names stay unsupported (compound changes,
    regions, germline polymorphisms named by rsID).
    """
    parsed = civic_kind(name)
    row = dict.fromkeys(BIOMARKER_COLUMNS, "")
    disease = r.get("disease") or ""
    level = r.get("evidence_level") or ""
    drugs = r.get("drugs") or r.get("therapies") or ""
    row.update(
        source=f"civic-{version}", source_id=f"EID{r.get('evidence_id', '')}",
        gene=gene_symbol(gene), tumor_code=disease_map.get(disease, "?" if disease else ""),
        tumor_name=disease, therapy=" + ".join(split_drugs(drugs)),
        response="sensitive" if sig in SENSITIVE else "resistant",
        evidence_level=level, strength=CIVIC_STRENGTH.get(level, "weak"),
        citation=(r.get("citation") or "") + (
            f" (PMID {r['pubmed_id']})" if r.get("pubmed_id") else ""
        ),
        url=r.get("evidence_civic_url") or "", alteration=f"{gene} {variant}".strip(),
    )  # fmt: skip
    row.update(parsed)
    located = bool(r.get("chromosome") and r.get("reference_bases") and r.get("variant_bases"))
    if located and name == variant:
        row.update(chrom=r["chromosome"], pos=r.get("start") or "",
                   ref=r["reference_bases"], alt=r["variant_bases"],
                   build=r.get("reference_build") or "GRCh37")  # fmt: skip
        plain = " ".join(name.upper().split())
        if row["kind"] == "unsupported" and _FUSION_WITH_CHANGE.fullmatch(plain):
            row.update(kind="genomic", feature="somatic")
    return row


def read_disease_map(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as fh:
        return {r["civic_disease"]: r["oncotree_code"] for r in csv.DictReader(fh, delimiter="\t")}
