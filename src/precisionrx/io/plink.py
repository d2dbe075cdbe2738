"""PLINK 2 (``.pgen/.pvar/.psam``) and PLINK 1 (``.bed/.bim/.fam``) genotype files.

Both binary formats are decoded by pgenlib (the reader of plink2 itself, by the authors of
PLINK 2; it reads PLINK 1 ``.bed`` files as the fixed-width case of ``.pgen``). The text
companions are read here with polars:

* ``.pvar`` (PLINK 2): ``##`` header lines (``##contig=<ID=1,length=...>`` gives the build, as
  in a VCF), then ``#CHROM POS ID REF ALT ...``; a ``.pvar`` without a ``#CHROM`` line has the
  ``.bim`` column order.
* ``.bim`` (PLINK 1): CHROM ID CM POS A1 A2, whitespace-separated. As plink2 does, A2 is taken
  as REF and A1 as ALT: the ``.bed`` codes count A1 copies.
* ``.psam``: a ``#FID``/``#IID`` header line; without one, ``.fam`` columns (FID IID PAT MAT SEX
  PHENO). Samples are named by IID, which must be unique.

Chromosome codes are made bare (``chr`` prefix removed; PLINK's numeric 23/24/25/26 become X, Y,
X (pseudo-autosomal XY) and MT).

Genotypes come out in blocks of variants (:meth:`PlinkFile.dosage_blocks`) so that memory stays
bounded whatever the file size: hard calls as int8 ALT counts (``-9`` missing) when the file
cannot hold dosages, float32 dosages (``-9`` missing) otherwise, exactly as stored (PLINK 2
stores dosages in units of 1/16384).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from precisionrx.errors import VcfFormatError
from precisionrx.io.textio import check_input_file

if TYPE_CHECKING:
    import polars as pl

#: Variants decoded per block (one int8 row per variant of every selected sample).
BLOCK_VARIANTS = 2048
#: PLINK 1 numeric chromosome codes and the names used here.
PLINK_CHROMS = {"23": "X", "24": "Y", "25": "X", "26": "MT", "XY": "X", "M": "MT", "0": "0"}
#: chr1 length identifies the build when the header declares contigs.
CHR1_LENGTH = {248956422: "GRCh38", 249250621: "GRCh37"}

Matrix = npt.NDArray[np.int8] | npt.NDArray[np.float32]


def bare_chrom(name: str) -> str:
    """``chr``-less chromosome name; PLINK codes 23-26 named; leading zeros dropped (``01``,
    as in UK Biobank BGEN files)."""
    bare = name.removeprefix("chr").removeprefix("CHR")
    if bare.isdigit():
        bare = bare.lstrip("0") or "0"
    return PLINK_CHROMS.get(bare, bare)


def plink_prefix(path: Path) -> tuple[Path, str] | None:
    """(prefix, "pgen" | "bed") for a ``.pgen``/``.bed`` path or a prefix whose file exists."""
    name = path.name
    for kind in ("pgen", "bed"):
        if name.endswith(f".{kind}"):
            return path.with_name(name[: -len(kind) - 1]), kind
    for kind in ("pgen", "bed"):
        if path.with_name(f"{name}.{kind}").is_file():
            return path, kind
    return None


def _split_lines(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise VcfFormatError(f"not UTF-8 text ({exc.reason})", path=path) from None
    return [ln.split() for ln in text.splitlines() if ln.strip()]


def _read_variants(path: Path, kind: str) -> tuple[pl.DataFrame, list[str]]:
    """The variant table (row, chrom, pos, id, ref, alt) and the ``##`` header lines."""
    import polars as pl

    check_input_file(path, "PLINK variant", VcfFormatError)
    header: list[str] = []
    columns: list[str] | None = None
    skip = 0
    with path.open("rb") as fh:
        for raw in fh:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("##"):
                header.append(line)
                skip += 1
                continue
            if kind == "pgen" and line.startswith("#CHROM"):
                columns = line[1:].split("\t") if "\t" in line else line[1:].split()
                skip += 1
            break
    names = ["CHROM", "ID", "CM", "POS", "ALT", "REF"] if columns is None else columns
    need = ["CHROM", "POS", "ID", "REF", "ALT"]
    lacking = [c for c in need if c not in names]
    if lacking:
        raise VcfFormatError(f"variant file header lacks {', '.join(lacking)}", path=path)
    try:
        table = pl.read_csv(path, separator="\t", has_header=False, skip_rows=skip,
                            new_columns=names, infer_schema=False, quote_char=None,
                            truncate_ragged_lines=False)  # fmt: skip
    except Exception as exc:  # polars raises ComputeError/ShapeError on ragged or odd text
        table = None
        reason = str(exc).splitlines()[0]
    if table is None or table.width != len(names):
        rows = _split_lines(path)[skip:]
        bad = next((i for i, r in enumerate(rows) if len(r) != len(names)), None)
        if bad is not None:
            raise VcfFormatError(
                f"expected {len(names)} columns, found {len(rows[bad])}",
                path=path, record=f"line {skip + bad + 1}",
            )  # fmt: skip
        if not rows and table is None:
            raise VcfFormatError(f"unreadable variant table ({reason})", path=path)
        table = pl.DataFrame(rows, schema=names, orient="row")
    pos = table["POS"].cast(pl.Int64, strict=False)
    if pos.null_count():
        i = int(pos.is_null().arg_max() or 0)
        raise VcfFormatError(
            f"position {table['POS'][i]!r} is not a whole number",
            path=path, record=f"line {skip + i + 1}",
        )  # fmt: skip
    variants = table.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
        pl.col("CHROM")
        .str.replace(r"^(?i:chr)", "")
        .str.replace(r"^0+(\d)", "$1")
        .replace(PLINK_CHROMS)
        .alias("chrom"),
        pos.alias("pos"),
        pl.col("ID").alias("id"),
        pl.col("REF").str.to_uppercase().alias("ref"),
        pl.col("ALT").str.to_uppercase().alias("alt"),
    )
    return variants, header


def _read_samples(path: Path, kind: str) -> list[str]:
    check_input_file(path, "PLINK sample", VcfFormatError)
    rows = _split_lines(path)
    if not rows:
        raise VcfFormatError("the sample file lists no samples", path=path)
    first = rows[0]
    if first[0].startswith("#"):
        cols = [first[0][1:], *first[1:]]
        if "IID" not in cols:
            raise VcfFormatError("sample file header has no IID column", path=path)
        at = cols.index("IID")
        body = rows[1:]
    else:  # .fam layout: FID IID PAT MAT SEX PHENO
        at = 1
        body = rows
    short = next((i for i, r in enumerate(body) if len(r) <= at), None)
    if short is not None:
        raise VcfFormatError(
            "sample line has no IID",
            path=path,
            record=f"line {short + 1 + (len(rows) - len(body))}",
        )
    names = [r[at] for r in body]
    dup = first_duplicate(names)
    if dup is not None:
        raise VcfFormatError(f"sample {dup!r} is listed twice (IIDs must be unique)", path=path)
    return names


def first_duplicate(names: Sequence[str]) -> str | None:
    """The first name listed a second time, or None."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def sites_at(variants: pl.DataFrame, points: pl.DataFrame) -> pl.DataFrame:
    """The variants (a reader's variant table) at (bare chrom, pos) points, with the columns of
    a GenotypeSites table (``row`` = the variant's index in the file), in file order."""
    import polars as pl

    pts = points.select(pl.col("chrom").cast(pl.Utf8), pl.col("pos").cast(pl.Int64)).unique()
    hit = variants.join(pts, on=["chrom", "pos"], how="semi")
    return hit.select("row", "chrom", "pos", pl.col("pos").alias("at_pos"), "ref", "alt",
                      pl.lit(False).alias("block")).sort("row")  # fmt: skip


def declared_build(header: Sequence[str]) -> str | None:
    """The build named by ``##contig`` chr1's length or a ``##reference`` line."""
    from precisionrx.io.vcf import reference_build

    for line in header:
        m = re.match(r"##contig=<ID=(?:chr)?1,.*length=(\d+)", line)
        if m and int(m.group(1)) in CHR1_LENGTH:
            return CHR1_LENGTH[int(m.group(1))]
    for line in header:
        if line.startswith("##reference="):
            return reference_build(line.split("=", 1)[1].strip())
    return None


def select_samples(
    all_samples: list[str], samples: Sequence[str] | None, path: Path
) -> tuple[list[str], npt.NDArray[np.uint32] | None]:
    """Selected sample names in file order and their file indexes (None: every sample)."""
    if not samples:
        return list(all_samples), None
    index = {s: i for i, s in enumerate(all_samples)}
    missing = [s for s in samples if s not in index]
    if missing:
        from precisionrx.io.vcf import unknown_samples

        raise unknown_samples(missing, all_samples, path)
    picked = np.array(sorted({index[s] for s in samples}), dtype=np.uint32)
    return [all_samples[i] for i in picked], picked


class PlinkFile:
    """A PLINK 2 fileset (``kind="pgen"``) or PLINK 1 fileset (``kind="bed"``)."""

    def __init__(self, path: str | Path, samples: Sequence[str] | None = None) -> None:
        found = plink_prefix(Path(path))
        if found is None:
            raise VcfFormatError("not a .pgen/.bed file or prefix", path=Path(path))
        prefix, kind = found
        self.kind = kind
        self.prefix = prefix
        self.path = check_input_file(prefix.with_name(f"{prefix.name}.{kind}"), kind,
                                     VcfFormatError)  # fmt: skip
        var_ext, sam_ext = ("pvar", "psam") if kind == "pgen" else ("bim", "fam")
        self.variant_path = prefix.with_name(f"{prefix.name}.{var_ext}")
        self.sample_path = prefix.with_name(f"{prefix.name}.{sam_ext}")
        self._all_samples = _read_samples(self.sample_path, kind)
        self.samples, self._subset = select_samples(self._all_samples, samples, self.path)
        self._variants: pl.DataFrame | None = None
        self._header: list[str] = []
        self._check_magic()
        self._reader = self._open()

    def _check_magic(self) -> None:
        with self.path.open("rb") as fh:
            head = fh.read(12)
        if head[:2] != b"\x6c\x1b":
            raise VcfFormatError(f"not a PLINK .{self.kind} file (wrong magic bytes)",
                                 path=self.path)  # fmt: skip
        if self.kind == "bed":
            if head[2:3] != b"\x01":
                raise VcfFormatError(
                    "sample-major .bed files are not supported", path=self.path,
                    hint="rewrite it with plink --make-bed (variant-major)",
                )  # fmt: skip
            self.may_have_dosages = False
        else:
            mode = head[2]
            self.may_have_dosages = mode in (3, 4) or (mode >= 0x10 and len(head) == 12
                                                       and (head[11] & 0x0F) >= 4)  # fmt: skip

    def _open(self) -> object:
        import pgenlib

        n = len(self._all_samples)
        v = self.variants().height
        try:
            if self.kind == "bed":
                size = self.path.stat().st_size
                if size != 3 + v * ((n + 3) // 4):
                    raise VcfFormatError(
                        f"the .bed file has {size} bytes, but {v} variants x {n} samples need "
                        f"{3 + v * ((n + 3) // 4)}: truncated, or .bim/.fam of another dataset",
                        path=self.path,
                    )
                reader = pgenlib.PgenReader(bytes(self.path), raw_sample_ct=n, variant_ct=v,
                                            sample_subset=self._subset)  # fmt: skip
            else:
                reader = pgenlib.PgenReader(bytes(self.path), sample_subset=self._subset,
                                            allele_idx_offsets=self._allele_offsets())  # fmt: skip
        except VcfFormatError:
            raise
        except Exception as exc:  # pgenlib raises RuntimeError with plink2's message
            raise VcfFormatError(f"unreadable .{self.kind} file ({exc})", path=self.path) from None
        try:
            self._check_counts(reader, n, v)
        except VcfFormatError:
            reader.close()
            raise
        return reader

    def _check_counts(self, reader: Any, n: int, v: int) -> None:
        if self.kind != "pgen":
            return
        if reader.get_raw_sample_ct() != n:
            raise VcfFormatError(
                f".pgen has {reader.get_raw_sample_ct()} samples but {self.sample_path.name} "
                f"lists {n}", path=self.path,
            )  # fmt: skip
        if reader.get_variant_ct() != v:
            raise VcfFormatError(
                f".pgen has {reader.get_variant_ct()} variants but "
                f"{self.variant_path.name} lists {v}", path=self.path,
            )  # fmt: skip

    def _allele_offsets(self) -> npt.NDArray[np.uintp] | None:
        """Cumulative allele counts (pgenlib needs them when a variant has several ALTs)."""
        import polars as pl

        counts = (
            self.variants()
            .select((pl.col("alt").str.count_matches(",") + 2).alias("n"))["n"]
            .to_numpy()
        )
        if (counts == 2).all():
            return None
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.uintp)

    # -- variants and build ------------------------------------------------------------
    def variants(self) -> pl.DataFrame:
        if self._variants is None:
            self._variants, self._header = _read_variants(self.variant_path, self.kind)
        return self._variants

    def declared_build(self) -> str | None:
        self.variants()
        return declared_build(self._header)

    def site_table(self, points: pl.DataFrame) -> pl.DataFrame:
        """Variants at (bare chrom, pos) points, with the GenotypeSites table columns."""
        return sites_at(self.variants(), points)

    # -- genotypes ---------------------------------------------------------------------
    def _read_hardcalls(self, rows: npt.NDArray[np.uint32], allele: int) -> npt.NDArray[np.int8]:
        out = np.empty((len(rows), len(self.samples)), dtype=np.int8)
        if len(rows):
            self._reader.read_list(rows, out, allele_idx=allele)  # type: ignore[attr-defined]
        return out

    def _read_dosages(self, rows: npt.NDArray[np.uint32], allele: int) -> npt.NDArray[np.float32]:
        out = np.empty((len(rows), len(self.samples)), dtype=np.float32)
        if len(rows):
            self._reader.read_dosages_list(rows, out, allele_idx=allele)  # type: ignore[attr-defined]
        return out

    def dosage_blocks(
        self, rows: npt.NDArray[np.int64], alt_k: npt.NDArray[np.int8], block: int = BLOCK_VARIANTS
    ) -> Iterator[tuple[npt.NDArray[np.int64], Matrix]]:
        """(positions into ``rows``, ALT-``alt_k`` dosage matrix of those variants x samples);
        ``-9`` marks a missing call. Hard-call files give int8 counts, dosage files float32."""
        order = np.argsort(rows, kind="stable")
        for k in np.unique(alt_k):
            at = order[alt_k[order] == k]
            for start in range(0, len(at), block):
                part = at[start : start + block]
                file_rows = rows[part].astype(np.uint32)
                if self.may_have_dosages:
                    yield part, self._read_dosages(file_rows, int(k))
                else:
                    yield part, self._read_hardcalls(file_rows, int(k))

    def calls(
        self, rows: npt.NDArray[np.uint32]
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
        """Allele indexes (variants, samples, 2), -1 missing, and whether each call is phased
        (a .bed file holds no phase)."""
        n = len(self.samples)
        alleles = np.empty((len(rows), 2 * n), dtype=np.int32)
        phased = np.zeros((len(rows), n), dtype=np.bool_)
        if len(rows):
            if self.kind == "pgen":
                self._reader.read_alleles_and_phasepresent_list(  # type: ignore[attr-defined]
                    rows, alleles, phased
                )
            else:
                self._reader.read_alleles_list(rows, alleles)  # type: ignore[attr-defined]
        alleles[alleles < 0] = -1
        return alleles.reshape(len(rows), n, 2), phased

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()  # type: ignore[attr-defined]

    def __enter__(self) -> PlinkFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
