"""Tumour inputs: MAF (GDC/TCGA, vcf2maf), VEP/SnpEff-annotated VCF, CNA and fusion tables.

MAF columns used: Hugo_Symbol, Chromosome, Start_Position, Reference_Allele, Tumor_Seq_Allele2,
Variant_Classification (required), HGVSp_Short, HGVSc, Exon_Number (or EXON), Consequence,
t_depth, t_alt_count, Tumor_Sample_Barcode, NCBI_Build.

CNA and fusion tables: :mod:`precisionrx.io.tumor_tables` (re-exported here).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from precisionrx.errors import InputError
from precisionrx.io.tumor_tables import AMPLIFICATION_CN, GISTIC, read_cna, read_fusions
from precisionrx.records.tumor import MAF_TO_SO, Alteration

__all__ = ["AMPLIFICATION_CN", "GISTIC", "read_cna", "read_fusions", "read_maf", "read_tumor_vcf"]

MAF_REQUIRED = ("Hugo_Symbol", "Variant_Classification")


def _read_table(path: Path, what: str) -> pl.DataFrame:
    if not path.is_file():
        raise InputError(f"{what} file not found", path=path)
    try:
        return pl.read_csv(
            path, separator="\t", comment_prefix="#", infer_schema=False, quote_char=None,
            truncate_ragged_lines=False,
        )  # fmt: skip
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read {what} ({exc.__class__.__name__}: {str(exc)[:120]})", path=path
        ) from exc


def _text(frame: pl.DataFrame, col: str) -> list[str]:
    if col not in frame.columns:
        return [""] * frame.height
    return [v or "" for v in frame[col].to_list()]


def _ints(frame: pl.DataFrame, col: str, path: Path) -> list[int | None]:
    """Whole numbers of a column (empty, "." and NA are None); anything else is an error."""
    if col not in frame.columns:
        return [None] * frame.height
    text = frame[col].str.strip_chars()
    blank = text.is_null() | text.is_in(["", ".", "NA"])
    num = text.cast(pl.Float64, strict=False)
    bad = (~blank & num.is_null()).to_list()
    if any(bad):
        i = bad.index(True)
        raise InputError(f"{col} {text[i]!r} is not a number", path=path, record=f"row {i + 1}")
    return [None if v is None else int(v) for v in num.to_list()]


def read_maf(path: str | Path) -> tuple[list[Alteration], str | None]:
    """Alterations and the genome build (NCBI_Build) of a MAF file."""
    from precisionrx.records.notation import gene_symbol, protein_change

    path = Path(path)
    # A MAF may start with "#version" lines; the header row is the first other line.
    frame = _read_table(path, "MAF")
    if "#FusionName" in frame.columns or not set(MAF_REQUIRED) <= set(frame.columns):
        missing = [c for c in MAF_REQUIRED if c not in frame.columns]
        raise InputError(
            f"not a MAF: missing column(s) {', '.join(missing)}", path=path, record="header"
        )
    genes = _text(frame, "Hugo_Symbol")
    classes = _text(frame, "Variant_Classification")
    unknown = [i for i, c in enumerate(classes) if c and c not in MAF_TO_SO and c != "Unknown"]
    if unknown:
        i = unknown[0]
        raise InputError(
            f"unknown Variant_Classification {classes[i]!r}", path=path, record=f"row {i + 1}"
        )
    starts = _ints(frame, "Start_Position", path)
    chroms = _text(frame, "Chromosome")
    refs = _text(frame, "Reference_Allele")
    alts = _text(frame, "Tumor_Seq_Allele2")
    hgvsp = _text(frame, "HGVSp_Short") if "HGVSp_Short" in frame.columns else _text(frame, "HGVSp")
    hgvsc = _text(frame, "HGVSc")
    exons = _text(frame, "Exon_Number") if "Exon_Number" in frame.columns else _text(frame, "EXON")
    csq = _text(frame, "Consequence")
    depth = _ints(frame, "t_depth", path)
    alt_count = _ints(frame, "t_alt_count", path)
    samples = _text(frame, "Tumor_Sample_Barcode")
    name = path.name
    out = []
    for i in range(frame.height):
        text = csq[i].replace(",", "&") or MAF_TO_SO.get(classes[i], "")
        terms = frozenset(t for t in text.split("&") if t)
        out.append(
            Alteration(
                kind="variant", gene=gene_symbol(genes[i]),
                chrom=chroms[i].removeprefix("chr"), pos=starts[i] or 0,
                ref=refs[i], alt=alts[i], protein=protein_change(hgvsp[i]),
                hgvsc=hgvsc[i].split(":")[-1], exon=exons[i].split("/")[0],
                consequence=terms, consequence_text=text, t_depth=depth[i],
                t_alt_count=alt_count[i],
                sample=samples[i], source=f"{name} row {i + 1}",
            )
        )  # fmt: skip
    builds = {b for b in _text(frame, "NCBI_Build") if b}
    build = None
    if builds:
        b = sorted(builds)[0].upper().replace("HG19", "GRCH37").replace("HG38", "GRCH38")
        build = "GRCh38" if "38" in b else "GRCh37" if "37" in b else None
    return out, build


def read_tumor_vcf(path: str | Path) -> tuple[list[Alteration], bool, str | None]:
    """Alterations from a tumour VCF; True when VEP CSQ / SnpEff ANN annotation was present."""
    from precisionrx.io.vcf import VcfFile
    from precisionrx.io.vcf_annotations import consequences, csq_fields
    from precisionrx.records.notation import gene_symbol, protein_change

    path = Path(path)
    out: list[Alteration] = []
    annotated = False
    with VcfFile(path) as vcf:
        fmt = csq_fields(vcf.info_description("CSQ"))
        build = vcf.declared_build()
        chroms = vcf.seqnames or [str(c) for c in range(1, 23)] + ["X", "Y"]
        regions = [(c, 1, 2**31 - 1) for c in chroms]
        for ar in vcf.annotated(regions, ["CSQ", "ANN"]):
            rec = ar.record
            for k, alt in enumerate(rec.alts, start=1):
                if alt in ("*", ".") or alt.startswith("<"):
                    continue
                cons = [c for c in consequences(ar.info, fmt) if c.allele in (alt, "-", "")]
                if not cons and len(rec.alts) == 1:
                    cons = consequences(ar.info, fmt)
                best = next((c for c in cons if c.canonical), cons[0] if cons else None)
                annotated = annotated or best is not None
                depth = alt_count = None
                out.append(
                    Alteration(
                        kind="variant", gene=gene_symbol(best.gene) if best else "",
                        chrom=rec.chrom.removeprefix("chr"), pos=rec.pos, ref=rec.ref, alt=alt,
                        protein=protein_change(best.hgvsp) if best else "",
                        hgvsc=best.hgvsc if best else "",
                        exon=best.exon.split("/")[0] if best else "",
                        consequence=frozenset(best.terms) if best else frozenset(),
                        consequence_text=best.consequence if best else "",
                        t_depth=depth, t_alt_count=alt_count,
                        source=f"{path.name} {rec.chrom}:{rec.pos} (ALT {k})",
                    )
                )  # fmt: skip
    return out, annotated, build
