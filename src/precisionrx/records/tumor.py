"""Tumour alterations as read from MAF, annotated VCF, CNA and fusion tables."""

from __future__ import annotations

from dataclasses import dataclass, field

#: MAF Variant_Classification -> Sequence Ontology consequence (after oncokb-annotator's map).
MAF_TO_SO = {
    "Missense_Mutation": "missense_variant",
    "Nonsense_Mutation": "stop_gained",
    "Nonstop_Mutation": "stop_lost",
    "Silent": "synonymous_variant",
    "Splice_Site": "splice_donor_variant",
    "Splice_Region": "splice_region_variant",
    "Frame_Shift_Del": "frameshift_variant",
    "Frame_Shift_Ins": "frameshift_variant",
    "In_Frame_Del": "inframe_deletion",
    "In_Frame_Ins": "inframe_insertion",
    "Translation_Start_Site": "start_lost",
    "5'UTR": "5_prime_UTR_variant",
    "3'UTR": "3_prime_UTR_variant",
    "5'Flank": "upstream_gene_variant",
    "3'Flank": "downstream_gene_variant",
    "Intron": "intron_variant",
    "IGR": "intergenic_variant",
    "RNA": "non_coding_transcript_exon_variant",
    "lincRNA": "non_coding_transcript_exon_variant",
}
LOF_TERMS = frozenset(
    {"stop_gained", "frameshift_variant", "splice_donor_variant", "splice_acceptor_variant",
     "start_lost", "transcript_ablation"}
)  # fmt: skip


@dataclass
class Alteration:
    """One tumour alteration. ``kind``: ``variant``, ``amplification``, ``deletion``, ``fusion``."""

    kind: str
    gene: str
    gene2: str = ""  # fusion 3' partner
    chrom: str = ""
    pos: int = 0
    ref: str = ""
    alt: str = ""
    protein: str = ""  # canonical one-letter change, e.g. V600E
    hgvsc: str = ""
    exon: str = ""  # exon number (first number of "19/28")
    consequence: frozenset[str] = frozenset()  # Sequence Ontology terms
    consequence_text: str = ""  # the terms in their annotated order, joined by "&"
    t_depth: int | None = None
    t_alt_count: int | None = None
    sample: str = ""
    source: str = ""  # file and record it came from
    copy_number: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def vaf(self) -> float | None:
        if self.t_depth and self.t_alt_count is not None:
            return self.t_alt_count / self.t_depth
        return None

    @property
    def label(self) -> str:
        if self.kind == "fusion":
            return f"{self.gene}::{self.gene2}" if self.gene2 else f"{self.gene} fusion"
        if self.kind in ("amplification", "deletion"):
            return f"{self.gene} {self.kind}"
        if self.protein:
            return f"{self.gene} {self.protein}"
        if self.hgvsc:
            return f"{self.gene} {self.hgvsc}"
        return f"{self.gene} {self.chrom}:{self.pos} {self.ref}>{self.alt}".strip()
