"""Tumour inputs: MAF (GDC/TCGA, vcf2maf), VEP/SnpEff-annotated VCF, CNA and fusion tables.

MAF columns used: Hugo_Symbol, Chromosome, Start_Position, Reference_Allele, Tumor_Seq_Allele2,
Variant_Classification (required), HGVSp_Short, HGVSc, Exon_Number (or EXON), Consequence,
t_depth, t_alt_count, Tumor_Sample_Barcode, NCBI_Build.

CNA and fusion tables: :mod:`precisionrx.io.tumor_tables` (re-exported here).

The MAF is read through :mod:`precisionrx.io.textio` (regular file, UTF-8 with or without a BOM,
UTF-16, CRLF; an undecodable byte names its line). A row with more or fewer fields than the
header is an error naming its line (a short row never becomes a phantom alteration); so is a
number that is not one (NaN and infinity included). A gzip-compressed MAF (``.maf.gz``) is
recognised by its magic bytes and decompressed first; the size cap applies to the decompressed
text.

In a tumour VCF, a genotype call that is invalid (``0/x``, an allele index beyond the ALT
alleles, ...) is treated as missing and named in the notes of the record's alterations, which
the report lists as caveats; the record itself, its ID and its annotation are kept.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from precisionrx.errors import InputError
from precisionrx.io.textio import MAX_TEXT_BYTES, check_input_file, decode_text
from precisionrx.io.tumor_tables import AMPLIFICATION_CN, GISTIC, read_cna, read_fusions
from precisionrx.records.evidence import fingerprint
from precisionrx.records.tumor import MAF_TO_SO, Alteration

__all__ = [
    "AMPLIFICATION_CN", "GISTIC", "TumourInput", "is_maf", "read_cna", "read_fusions",
    "read_maf", "read_tumor_vcf", "read_tumour",
]  # fmt: skip

MAF_REQUIRED = ("Hugo_Symbol", "Variant_Classification")


def _read_text(path: Path, what: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The decoded text of a plain or gzip-compressed file, at most ``max_bytes`` (plain or
    decompressed)."""
    p = check_input_file(path, what, InputError)
    try:
        with p.open("rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        if gz:
            with gzip.open(p, "rb") as zf:
                data = zf.read(max_bytes + 1)
        else:
            size = p.stat().st_size
            if size > max_bytes:
                raise InputError(
                    f"{what} file is {size:,} bytes, over the {max_bytes:,}-byte limit for this "
                    "input",
                    path=p,
                )
            data = p.read_bytes()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{what} gzip data is truncated or corrupt ({exc})", path=p) from None
    except OSError as exc:
        raise InputError(f"{what} file cannot be read: {exc.strerror or exc}", path=p) from None
    if len(data) > max_bytes:
        raise InputError(
            f"{what} file decompresses to more than the {max_bytes:,}-byte limit for this input",
            path=p,
        )
    return decode_text(data, p, InputError)


def _fast_table(text: str) -> tuple[pl.DataFrame, list[int], int] | None:
    """The common case read by polars: after the header (the first line that is not blank and
    does not start with ``#``), no blank or ``#`` lines, no duplicate column and every line
    with the header's number of tab-separated fields. None otherwise (the line-by-line reader
    then names the problem)."""
    raw = text.encode("utf-8")
    data = np.frombuffer(raw, dtype=np.uint8)
    if not len(data):
        return None
    ends = np.flatnonzero(data == 10)
    if not len(ends) or ends[-1] != len(data) - 1:
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    empty = ends == starts
    first = np.where(empty, 0, data[np.minimum(starts, len(data) - 1)])
    skipped = empty | (first == ord("#"))
    body = np.flatnonzero(~skipped)
    if not len(body):
        return None
    head = int(body[0])
    after = np.flatnonzero(skipped[head + 1 :])
    if len(after):  # only blank lines at the very end may follow the header
        n_after = len(skipped) - head - 1
        tail = np.arange(n_after - len(after), n_after)
        if not (np.array_equal(after, tail) and empty[head + 1 + after].all()):
            return None
    tabs = np.flatnonzero(data == 9)
    counts = np.searchsorted(tabs, ends) - np.searchsorted(tabs, starts)
    rows = np.flatnonzero(~skipped[head + 1 :]) + head + 1
    if (counts[rows] != counts[head]).any():
        return None
    header = [c.strip() for c in raw[starts[head] : ends[head]].decode("utf-8").split("\t")]
    if len(set(header)) != len(header):
        return None
    frame = pl.read_csv(
        io.BytesIO(raw[int(starts[head]) :]), separator="\t", quote_char=None, infer_schema=False,
        has_header=True, new_columns=header,
    )  # fmt: skip
    if frame.height != len(rows):
        return None
    return frame, (rows + 1).tolist(), head + 1


def _read_table(path: Path, what: str) -> tuple[pl.DataFrame, list[int], int]:
    """The table (every cell text), each row's line number and the header's line number.
    ``#`` lines are skipped; every data row must have the header's number of fields."""
    text = _read_text(path, what)
    fast = _fast_table(text)
    if fast is not None:
        return fast
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if header is None:
            if not line.strip() or line.startswith("#"):
                continue
            header = [c.strip() for c in line.split("\t")]
            header_line = number
            dupes = sorted({c for c in header if header.count(c) > 1 and c})
            if dupes:
                raise InputError(
                    f"duplicate column(s) {', '.join(dupes)}", path=path, record=f"line {number}"
                )
            continue
        if not line.strip():
            continue
        if line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            short = len(cells) < len(header)
            missing = f"; missing {', '.join(header[len(cells) :][:5])}" if short else ""
            raise InputError(
                f"{len(cells)} field(s), the header (line {header_line}) has {len(header)}"
                + missing,
                path=path, record=f"line {number}",
            )  # fmt: skip
        rows.append(cells)
        numbers.append(number)
    if header is None:
        raise InputError(f"the {what} file has no header line", path=path)
    columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    frame = pl.DataFrame({k: pl.Series(k, v, dtype=pl.Utf8) for k, v in columns.items()})
    return frame, numbers, header_line


def _text(frame: pl.DataFrame, col: str) -> list[str]:
    if col not in frame.columns:
        return [""] * frame.height
    return [v or "" for v in frame[col].to_list()]


def _ints(frame: pl.DataFrame, col: str, path: Path, lines: list[int]) -> list[int | None]:
    """Whole numbers of a column (empty, "." and NA are None); anything else, NaN and infinity
    included, is an error naming the line."""
    if col not in frame.columns:
        return [None] * frame.height
    text = frame[col].str.strip_chars()
    blank = text.is_null() | text.is_in(["", ".", "NA"])
    num = text.cast(pl.Float64, strict=False)
    bad = ~blank & (num.is_null() | ~num.is_finite())
    if bad.any():
        i = int(bad.arg_true()[0])
        raise InputError(f"{col} {text[i]!r} is not a number", path=path, record=f"line {lines[i]}")
    return [None if v is None else int(v) for v in num.to_list()]


def read_maf(path: str | Path) -> tuple[list[Alteration], str | None]:
    """Alterations and the genome build (NCBI_Build) of a MAF file."""
    from precisionrx.records.notation import gene_symbol, protein_change

    path = Path(path)
    # A MAF may start with "#version" lines; the header row is the first other line.
    frame, lines, header_line = _read_table(path, "MAF")
    if not set(MAF_REQUIRED) <= set(frame.columns):
        missing = [c for c in MAF_REQUIRED if c not in frame.columns]
        raise InputError(
            f"not a MAF: missing column(s) {', '.join(missing)} in the header",
            path=path, record=f"line {header_line}",
            hint="the header is the first line not starting with '#'",
        )  # fmt: skip
    genes = _text(frame, "Hugo_Symbol")
    classes = _text(frame, "Variant_Classification")
    unknown = [i for i, c in enumerate(classes) if c and c not in MAF_TO_SO and c != "Unknown"]
    if unknown:
        i = unknown[0]
        raise InputError(
            f"unknown Variant_Classification {classes[i]!r}", path=path, record=f"line {lines[i]}"
        )
    starts = _ints(frame, "Start_Position", path, lines)
    chroms = _text(frame, "Chromosome")
    refs = _text(frame, "Reference_Allele")
    alts = _text(frame, "Tumor_Seq_Allele2")
    hgvsp = _text(frame, "HGVSp_Short") if "HGVSp_Short" in frame.columns else _text(frame, "HGVSp")
    hgvsc = _text(frame, "HGVSc")
    exons = _text(frame, "Exon_Number") if "Exon_Number" in frame.columns else _text(frame, "EXON")
    csq = _text(frame, "Consequence")
    depth = _ints(frame, "t_depth", path, lines)
    alt_count = _ints(frame, "t_alt_count", path, lines)
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
            invalid = rec.invalid_notes(vcf.samples, per_sample=False)
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
                        notes=list(invalid),
                    )
                )  # fmt: skip
    return out, annotated, build


@dataclass(frozen=True, slots=True)
class TumourInput:
    """A tumour's alterations as read: variants (MAF or VCF), then those of the copy-number
    and fusion tables; whether the variants carry consequence annotation (a raw VCF does not)
    and the genome build the variant file declares (None when it does not say)."""

    alterations: list[Alteration]
    annotated: bool
    build: str | None
    #: Fingerprint of the files read (variants, then the tables), for provenance.
    sha256: str | None = None


def is_maf(path: Path) -> bool:
    """A MAF by its name (``.maf``, ``.maf.gz``), a VCF by its name (``.vcf``, ``.vcf.gz``,
    ``.bcf``), else by its first bytes (not a VCF header, gzip or BCF: a MAF)."""
    name = path.name.lower()
    if name.endswith((".vcf", ".vcf.gz", ".bcf")):
        return False
    if name.endswith((".maf", ".maf.gz")):
        return True
    with path.open("rb") as fh:
        head = fh.read(4096)
    return not head.startswith((b"##fileformat=VCF", b"\x1f\x8b", b"BCF"))


def read_tumour(
    variants: str | Path,
    *,
    maf: bool | None = None,
    tables: Sequence[tuple[Literal["cna", "fusions"], str | Path]] = (),
) -> TumourInput:
    """Read a tumour's variant file (a MAF when ``maf``; None: by :func:`is_maf`) and its
    copy-number and fusion ``tables`` (their alterations follow in the order given)."""
    path = Path(variants)
    if maf is None:  # sniffed: the file must be a readable regular file first
        path = check_input_file(path, "tumour input", InputError)
        maf = is_maf(path)
    annotated = True
    if maf:
        alterations, build = read_maf(path)
    else:
        alterations, annotated, build = read_tumor_vcf(path)
    for kind, table in tables:
        alterations += read_cna(table) if kind == "cna" else read_fusions(table)
    digest = fingerprint(*(Path(f).read_bytes() for f in [path, *(t for _, t in tables)]))
    return TumourInput(alterations, annotated, build, digest)
