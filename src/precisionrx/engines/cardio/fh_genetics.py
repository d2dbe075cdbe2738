"""Familial hypercholesterolaemia and Lp(a) from a germline VCF (LDLR, APOB, PCSK9, LPA).

Knowledge: kb/data/cardio/fh_lpa_knowledge.json (genes, hotspots, protective PCSK9 alleles, LPA
SNPs; entries with ``verify: true`` are reported as unverified). Classification, in order:

1. ClinVar tags in the VCF (``CLNSIG``, ``CLNDN``): pathogenic / likely pathogenic in LDLR, APOB
   or PCSK9 for a hypercholesterolaemia condition -> FH-causing. APOB pathogenic for
   hypobetalipoproteinaemia is the opposite phenotype and is not FH.
2. Listed variants by rsID: APOB p.Arg3527Gln and PCSK9 gain-of-function alleles -> FH-causing;
   PCSK9 loss-of-function alleles (R46L, Y142X, C679X) -> protective (lower LDL-C; Cohen 2006).
3. VEP/SnpEff consequences: a predicted null allele (stop gained, frameshift, canonical splice
   site, start lost) in LDLR -> likely pathogenic (null LDLR alleles are FH-causing; ACMG PVS1 as
   specified for LDLR by the ClinGen FH expert panel, Chora 2022) - reported as *predicted*;
   truncating APOB -> hypobetalipoproteinaemia, not FH; PCSK9 loss of function -> protective.
   Any other variant in these genes is of uncertain significance and does not count.

An FH-causing variant sets the DLCN "DNA" item (8 points). Two FH-causing alleles (or one
homozygous) raise the possibility of homozygous/compound heterozygous FH.
A raw VCF without IDs or annotations cannot be interpreted here: that is said as a caveat.
An invalid genotype call in the gene regions (``0/x``, an allele index beyond the ALT alleles, a
record without GT; see :mod:`precisionrx.io.vcf`) is treated as missing and named in a caveat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from precisionrx.io.vcf import AnnotatedRecord, VcfFile
from precisionrx.io.vcf_annotations import (
    INFO_KEYS,
    Consequence,
    clinvar_significance,
    consequences,
    csq_fields,
    genes_of,
)
from precisionrx.records.cardio import FhGenetics, FhVariant, LpaAllele
from precisionrx.records.evidence import Caveat, CaveatKind

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

FH_GENES = ("LDLR", "APOB", "PCSK9")
NULL_TERMS = {
    "stop_gained", "frameshift_variant", "splice_acceptor_variant", "splice_donor_variant",
    "start_lost", "transcript_ablation",
}  # fmt: skip
FH_CAUSING = {"pathogenic", "likely_pathogenic", "likely_pathogenic_predicted_null"}
#: Invalid genotype calls named in the caveat (the rest are counted).
MAX_INVALID_LISTED = 10


def _warning(code: str, message: str) -> Caveat:
    return Caveat(code=code, message=message)


def _listed(knowledge: dict[str, Any]) -> dict[str, tuple[str, str, str, str, bool]]:
    """rsID -> (gene, hgvsp, classification, effect, verified) from the knowledge file."""
    kinds = (
        ("hotspot", "pathogenic", "FH-causing (hotspot)"),
        ("gof_examples", "pathogenic", "FH-causing gain of function"),
        ("lof_protective_examples", "protective", "loss of function: lower LDL-C and CHD risk"),
    )
    out: dict[str, tuple[str, str, str, str, bool]] = {}
    for gene in knowledge["fh_genes"]:
        for key, label, effect in kinds:
            entries = gene.get(key) or []
            for ex in [entries] if isinstance(entries, dict) else entries:
                if ex.get("rsid"):
                    verified = not ex.get("verify", False)
                    out[ex["rsid"]] = (gene["gene"], ex["hgvs_p"], label, effect, verified)
    return out


def _zygosity(gt: list[int], alt_index: int) -> str | None:
    alleles = [a for a in gt[:2] if a != -2]
    count = sum(1 for a in alleles if a == alt_index)
    if count == 0:
        return None
    if len(alleles) == 1:
        return "hemizygous"
    return "homozygous" if count == len(alleles) else "heterozygous"


def _by_consequence(gene: str, csq: Consequence | None) -> tuple[str, str] | None:
    if csq is None:
        return None
    null = bool(csq.terms & NULL_TERMS)
    if gene == "LDLR" and null:
        return "likely_pathogenic_predicted_null", "predicted null LDLR allele (FH-causing class)"
    if gene == "APOB" and null:
        return "not_fh", "truncating APOB: hypobetalipoproteinaemia (lower LDL-C), not FH"
    if gene == "PCSK9" and null:
        return "protective", "PCSK9 loss of function: lower LDL-C"
    return None


def _by_clinvar(gene: str, info: dict[str, str], csq: Consequence | None) -> tuple[str, str] | None:
    sig = clinvar_significance(info)
    if "pathogenic" not in sig or "conflicting" in sig:
        return None
    condition = info.get("CLNDN", "").replace("_", " ").lower()
    truncating = csq is not None and bool(csq.terms & NULL_TERMS)
    if gene == "APOB" and ("hypobeta" in condition or truncating):
        return "not_fh", "ClinVar pathogenic for hypobetalipoproteinaemia: not FH"
    if condition and "cholesterol" not in condition and "lipid" not in condition:
        return "uncertain_significance", f"ClinVar pathogenic for another condition ({condition})"
    label = "likely_pathogenic" if "likely" in sig else "pathogenic"
    return label, f"ClinVar {sig}" + (f" ({condition})" if condition else "")


def interpret(
    records: list[AnnotatedRecord],
    sample_index: int,
    knowledge: dict[str, Any],
    csq_format: list[str] | None,
    invalid: list[str] | None = None,
    vcf_label: str | None = None,
) -> FhGenetics:
    """Classify the records of one sample (see the module docstring); ``invalid`` names the
    invalid genotype calls found in the gene regions, ``vcf_label`` the VCF (its path as
    given)."""
    listed = _listed(knowledge)
    lpa = {s["rsid"]: s for s in knowledge["lpa"]["genetics"]["snps"]}
    variants: list[FhVariant] = []
    lpa_alleles: list[LpaAllele] = []
    caveats: list[Caveat] = []
    annotated = False
    for ar in records:
        rec = ar.record
        if rec.is_ref_block:
            continue
        genes = genes_of(ar.info, csq_format) & {*FH_GENES, "LPA"}
        annotated = annotated or bool(genes) or "CLNSIG" in ar.info
        rsid = next((i for i in ar.ids if i in listed or i in lpa), None)
        gt = [int(a) for a in rec.genotypes[sample_index][:2]]
        for k, alt in enumerate(rec.alts, start=1):
            zyg = _zygosity(gt, k)
            if zyg is None:
                continue
            if rsid is not None and rsid in lpa:
                snp = lpa[rsid]
                copies = 2 if zyg == "homozygous" else 1
                if alt == snp["risk_allele"]:
                    lpa_alleles.append(
                        LpaAllele(rsid=rsid, risk_allele=alt, copies=copies, note=snp["note"])
                    )
                continue
            consequence = next(
                (c for c in consequences(ar.info, csq_format)
                 if c.gene in FH_GENES and c.allele in (alt, "-", "")),
                None,
            )  # fmt: skip
            gene = next((g for g in FH_GENES if g in genes), None)
            verified = True
            verdict: tuple[str, str] | None = None
            source = ""
            hgvsp = consequence.hgvsp if consequence and consequence.hgvsp else None
            if rsid in listed:
                gene, hgvsp, label, effect, verified = listed[rsid]
                verdict, source = (label, effect), "fh_lpa_knowledge.json"
            elif gene is not None:
                verdict = _by_clinvar(gene, ar.info, consequence)
                source = "ClinVar annotation in the VCF"
                if verdict is None:
                    verdict = _by_consequence(gene, consequence)
                    source = "predicted consequence (VEP/SnpEff annotation)"
                    verified = verdict is None or verdict[0] != "likely_pathogenic_predicted_null"
                if verdict is None:
                    verdict = ("uncertain_significance", "not classified: does not count for FH")
                    source = "annotation"
            if gene is None or verdict is None:
                continue
            variants.append(
                FhVariant(gene=gene, chrom=rec.chrom, pos=rec.pos, ref=rec.ref, alt=alt,
                          rsid=rsid, hgvsp=hgvsp, zygosity=zyg, classification=verdict[0],
                          effect=verdict[1], source=source, verified=verified)
            )  # fmt: skip
    fh_causing = [v for v in variants if v.classification in FH_CAUSING]
    possible_homozygous = len(fh_causing) >= 2 or any(
        v.zygosity == "homozygous" for v in fh_causing
    )
    if not annotated and not variants and not lpa_alleles:
        caveats.append(_warning(
            "unannotated_vcf",
            "the germline VCF has no gene annotation (VEP CSQ, SnpEff ANN or ClinVar tags) for "
            "LDLR/APOB/PCSK9: only the listed variants were recognisable by rsID, so a negative "
            "result does not exclude genetic FH",
        ))  # fmt: skip
    caveats.append(Caveat(
        code="sequence_variants_only",
        kind=CaveatKind.NOTE,
        message="sequence variants only: LDLR exon deletions/duplications (about 5-10% of LDLR FH "
        "variants) need copy-number calling, and polygenic hypercholesterolaemia is not assessed",
    ))  # fmt: skip
    if any(not v.verified for v in variants):
        caveats.append(_warning(
            "unverified_classification",
            "some classifications are unverified (knowledge entries marked verify, or predicted "
            "null alleles): confirm with an accredited laboratory before use",
        ))  # fmt: skip
    if possible_homozygous:
        caveats.append(_warning(
            "possible_homozygous_fh",
            "two FH-causing alleles (or one homozygous): consider homozygous or compound "
            "heterozygous FH; phase not assessed",
        ))  # fmt: skip
    if invalid:
        more = len(invalid) - MAX_INVALID_LISTED
        caveats.append(_warning(
            "invalid_genotype",
            f"{len(invalid)} invalid genotype call(s) in the FH/Lp(a) gene regions were treated "
            f"as missing (a variant there may be unreported): "
            + "; ".join(invalid[:MAX_INVALID_LISTED])
            + (f"; and {more} more" if more > 0 else ""),
        ))  # fmt: skip
    return FhGenetics(
        input=vcf_label,
        genes_checked=[*FH_GENES, "LPA"],
        variants=variants,
        fh_variant_found=bool(fh_causing),
        possible_homozygous_fh=possible_homozygous,
        lpa_alleles=lpa_alleles,
        caveats=caveats,
    )


def fh_genetics(
    vcf: VcfFile, build: str, kb: KnowledgeBase, label: str | None = None
) -> FhGenetics:
    """FH and Lp(a) variants of the first selected sample of an opened VCF (the caller opens
    it: this reads only the padded gene windows of ``build`` from it).

    ``label`` names the VCF in the result (``input``), e.g. its path as given in the record."""
    knowledge = kb.json("cardio", "fh_lpa_knowledge.json")
    windows = kb.json("cardio", "fh_gene_windows.json")
    pad = int(windows["padding"])
    regions = [(c, max(1, a - pad), b + pad) for c, a, b in windows[build].values()]
    records = vcf.annotated(regions, [*INFO_KEYS, "CLNDN"])
    fmt = csq_fields(vcf.info_description("CSQ"))
    invalid = [n for ar in records for n in ar.record.invalid_notes(vcf.samples, False)]
    return interpret(records, 0, knowledge, fmt, invalid, label)
