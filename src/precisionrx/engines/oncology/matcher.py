"""Match tumour alterations to knowledge-base biomarkers in PCGR's order of resolution.

Order (most specific first; each biomarker row is reported once, at the best resolution):
``genomic`` (chromosome, position, REF, ALT on the input's build: GRCh37 rows are converted to
GRCh38 at KB build time; unknown build = the biomarker's own) -> ``hgvsp`` (protein
change) -> ``codon`` (e.g. KRAS G12 for G12C) -> ``aa_region`` (a residue range) -> ``hgvsc``
-> ``exon`` (exon number + consequence class: EGFR exon 19 deletion = in-frame deletion in exon
19, exon 20 insertion, MET exon 14 skipping = splice variant in exon 14) -> ``gene_lof``
(loss-of-function biomarker, LoF consequence) -> ``gene`` (any protein-altering variant).
Copy number: ``cna`` by gene and direction. Fusions: ``fusion_pair`` (both partners, either
order) or ``fusion_gene`` (one-partner biomarker such as "ALK fusion"). ``msi`` and ``tmb``
biomarkers match the sample-level status. (PCGR: pcgr/biomarker.py match_csq_biomarker.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from precisionrx.engines.oncology.knowledge import GRCH38_COLUMNS, OncologyKb, coordinate_columns
from precisionrx.records.notation import codon, residues
from precisionrx.records.tumor import LOF_TERMS, Alteration

PROTEIN_ALTERING = LOF_TERMS | {
    "missense_variant", "inframe_deletion", "inframe_insertion", "protein_altering_variant",
    "stop_lost", "splice_region_variant", "start_retained_variant",
}  # fmt: skip
RESOLUTION_ORDER = [
    "genomic", "hgvsp", "codon", "aa_region", "hgvsc", "exon", "gene_lof", "gene", "cna",
    "fusion_pair", "fusion_gene", "msi", "tmb",
]  # fmt: skip


@dataclass
class BiomarkerMatch:
    alteration: Alteration | None  # None for sample-level biomarkers (MSI, TMB)
    label: str
    gene: str
    resolution: str
    rows: list[dict[str, str]] = field(default_factory=list)


def _class_ok(variant_class: str, alt: Alteration) -> bool:
    terms = alt.consequence
    longer_ref = len(alt.ref) > len(alt.alt)
    if variant_class == "deletion":
        return "inframe_deletion" in terms or ("protein_altering_variant" in terms and longer_ref)
    if variant_class == "insertion":
        return "inframe_insertion" in terms or (
            "protein_altering_variant" in terms and not longer_ref
        )
    if variant_class == "missense":
        return "missense_variant" in terms
    if variant_class == "nonsense":
        return "stop_gained" in terms
    if variant_class == "frameshift":
        return "frameshift_variant" in terms
    if variant_class in ("splice", "skipping"):
        return bool(terms & {"splice_donor_variant", "splice_acceptor_variant",
                             "splice_region_variant"})  # fmt: skip
    return bool(terms & PROTEIN_ALTERING)


def _variant_resolution(row: dict[str, str], alt: Alteration, build: str | None) -> str | None:
    # Coordinates on the input's build: the row's own (GRCh37) for GRCh37 input, the converted
    # GRCh38 columns for GRCh38 input; an unknown build uses the row's own (with a caveat).
    # Converted coordinates are derived data (REF not re-checked against a reference): when the
    # variant's own annotation names the row's protein change, the match is reported at
    # ``hgvsp`` as before conversion existed (docs/methods/oncology.md, "Genome builds").
    cols = coordinate_columns(row, build) if alt.pos and row["pos"] else None
    if (
        cols and row[cols[0]] == alt.chrom and int(row[cols[1]]) == alt.pos
        and row[cols[2]] == alt.ref and row[cols[3]] == alt.alt
        and not (cols is GRCH38_COLUMNS and alt.protein and row["protein"] == alt.protein)
    ):  # fmt: skip
        return "genomic"
    kind = row["kind"]
    if not alt.gene or row["gene"] != alt.gene:
        return None
    if kind == "protein" and alt.protein and row["protein"] == alt.protein:
        return "hgvsp"
    if kind == "codon" and alt.protein and codon(alt.protein) == row["codon"]:
        return "codon"
    if kind == "aa_region" and alt.protein and row["aa_start"]:
        span = residues(alt.protein)
        if span and int(row["aa_start"]) <= span[0] and span[1] <= int(row["aa_end"]):
            return "aa_region"
    if row["hgvsc"] and alt.hgvsc and row["hgvsc"] == alt.hgvsc:
        return "hgvsc"
    if (
        kind == "exon"
        and alt.exon
        and row["exon"] == alt.exon
        and _class_ok(row["variant_class"], alt)
    ):
        return "exon"
    if kind == "gene_lof" and alt.consequence & LOF_TERMS:
        return "gene_lof"
    if kind == "gene_any" and alt.consequence & PROTEIN_ALTERING:
        return "gene"
    return None


def match_alterations(
    kb: OncologyKb,
    alterations: list[Alteration],
    build: str | None,
    msi_high: bool,
    tmb_high: bool,
) -> list[BiomarkerMatch]:
    """Matches grouped per alteration and resolution, most specific resolution first."""
    out: list[BiomarkerMatch] = []
    for alt in alterations:
        found: dict[str, list[dict[str, str]]] = {}
        if alt.kind == "variant":
            candidates = kb.by_gene.get(alt.gene, []) if alt.gene else []
            if not alt.gene:  # raw VCF: coordinates only, on the input's build
                candidates = kb.at_position(build, alt.chrom, alt.pos)
            for row in candidates:
                if row["kind"] in ("amplification", "deletion", "fusion"):
                    continue
                res = _variant_resolution(row, alt, build)
                if res:
                    found.setdefault(res, []).append(row)
        elif alt.kind in ("amplification", "deletion"):
            rows = [r for r in kb.by_gene.get(alt.gene, []) if r["kind"] == alt.kind]
            if rows:
                found["cna"] = rows
        elif alt.kind == "fusion":
            pair = {alt.gene, alt.gene2} - {""}
            for row in kb.by_kind.get("fusion", []):
                if row["gene2"] and {row["gene"], row["gene2"]} == pair:
                    found.setdefault("fusion_pair", []).append(row)
                elif not row["gene2"] and row["gene"] in pair:
                    found.setdefault("fusion_gene", []).append(row)
        if found:
            out.extend(
                BiomarkerMatch(alt, alt.label, alt.gene, res, found[res])
                for res in RESOLUTION_ORDER
                if res in found
            )
    if msi_high and kb.by_kind.get("msi_high"):
        out.append(BiomarkerMatch(None, "MSI-H", "", "msi", kb.by_kind["msi_high"]))
    if tmb_high and kb.by_kind.get("tmb_high"):
        out.append(BiomarkerMatch(None, "TMB-H", "", "tmb", kb.by_kind["tmb_high"]))
    return out
