"""BGEN 1.2 and 1.3 genotype files (Band & Marchini, https://www.well.ox.ac.uk/~gav/bgen_format/).

Layout 2 only (BGEN 1.2/1.3: zlib or zstd compressed, 1-32 bit probabilities, phased or not);
layout 1 (BGEN 1.1) is refused with a hint. A variant of more than two alleles is
excluded from matching (multi-allelic) and, when kept (``--keep-multiallelic``), read as missing
calls. Probabilities are decoded by cbgen (the C bgen
library of the limix/sgkit projects). The variant list comes from the ``.bgi`` index of bgenix
(SQLite table ``Variant`` with ``file_start_position``) when ``FILE.bgen.bgi`` exists, else from
one pass over the uncompressed variant headers (the genotype blocks are skipped by length, not
decompressed).

Samples are named by the ``.sample`` file (Oxford format: two header lines, then ``ID_1 ID_2
...``; ``ID_2`` names the sample) when ``FILE.sample`` exists, else by the identifiers stored in
the BGEN header. The first allele is taken as REF and the second as ALT (the UK Biobank and
``plink2 --bgen ref-first`` convention; scores match either way, as matching is by allele).

Dosages are what plink2 makes of the probabilities: the expected count of the ALT allele
(P(het) + 2 P(hom ALT), or the sum of the ALT haplotype probabilities when phased), stored in
units of 1/16384 (PLINK 2's dosage precision), so that scores equal plink2's on the same file.
A haploid call counts double (0..2), as the other readers count a haploid ALT; the scorer
halves chrY and mitochondrial weights, as plink2 counts those 0..1.
"""

from __future__ import annotations

import mmap
import sqlite3
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from precisionrx.errors import VcfFormatError
from precisionrx.io.plink import (
    BLOCK_VARIANTS,
    bare_chrom,
    first_duplicate,
    select_samples,
    sites_at,
)
from precisionrx.io.textio import check_input_file

if TYPE_CHECKING:
    import polars as pl

#: PLINK 2 dosage unit: dosages are multiples of 1/16384.
DOSAGE_UNIT = 16384.0
#: A hard call is made from a dosage within this distance of a whole number (plink2's default
#: --hard-call-threshold), else the call is missing.
HARD_CALL_THRESHOLD = 0.1


def plink_dosage(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Dosages rounded to PLINK 2's 1/16384 unit (NaN stays NaN)."""
    return np.asarray(np.floor(x * DOSAGE_UNIT + 0.5) / DOSAGE_UNIT)


#: Bits per stored probability tried when recovering the stored integers (most files use 8).
_BIT_DEPTHS = (8, 16, *range(1, 8), *range(9, 16), *range(17, 33))


def _plink_units(dose: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Expected ALT counts in PLINK 2's 1/16384 unit, rounded as plink2 2.00a3.5 rounds BGEN
    probabilities: BGEN stores each probability as an integer over D = 2^bits - 1, and plink2
    turns the ALT count n/D (n = P(het) + 2 P(hom ALT) in those integers) into
    floor((16384 n + (D - 3) / 2) / D) units. This differs from plain rounding only when the
    exact value lies just above a half unit (8-bit files: 16384 n mod 255 = 128, e.g. 2/255),
    which plink2 rounds down; checked against plink2 on 8- and 16-bit files
    (tests/golden/test_plink2_formats.py)."""
    ok = ~np.isnan(dose)
    if not ok.any():
        return dose
    values = dose[ok]
    for bits in _BIT_DEPTHS:
        denominator = float((1 << bits) - 1)
        n = values * denominator
        whole = np.round(n)
        if np.all(np.abs(n - whole) < 1e-6):
            units = np.floor((16384.0 * whole + (denominator - 3) / 2) / denominator)
            out = dose.copy()
            out[ok] = units / DOSAGE_UNIT
            return out
    return plink_dosage(dose)


def _u16(buf: mmap.mmap | bytes, at: int) -> int:
    return int(struct.unpack_from("<H", buf, at)[0])


def _u32(buf: mmap.mmap | bytes, at: int) -> int:
    return int(struct.unpack_from("<I", buf, at)[0])


class BgenFile:
    """A BGEN 1.2/1.3 file opened for scoring and for reading hard calls at a few sites."""

    kind = "bgen"

    def __init__(self, path: str | Path, samples: Sequence[str] | None = None) -> None:
        self.path = check_input_file(path, "BGEN", VcfFormatError)
        self._fh = self.path.open("rb")
        try:
            self._map = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            self._fh.close()
            raise VcfFormatError("empty file, not a BGEN file", path=self.path) from None
        try:
            self._parse_header()
            self._all_samples = self._read_sample_names()
            dup = first_duplicate(self._all_samples)
            if dup is not None:
                raise VcfFormatError(f"sample {dup!r} is listed twice", path=self.path)
            self.samples, subset = select_samples(self._all_samples, samples, self.path)
        except BaseException:
            self._map.close()
            self._fh.close()
            raise
        self._columns = None if subset is None else subset.astype(np.int64)
        self._variants: pl.DataFrame | None = None
        self._offset_array: npt.NDArray[np.int64] | None = None
        self._k_array: npt.NDArray[np.int64] | None = None
        self._bgen: object | None = None

    # -- header ------------------------------------------------------------------------
    def _parse_header(self) -> None:
        m = self._map
        if len(m) < 24:
            raise VcfFormatError("too short for a BGEN header", path=self.path)
        self._first = _u32(m, 0) + 4
        header_len = _u32(m, 4)
        self.n_variants = _u32(m, 8)
        self.n_samples = _u32(m, 12)
        magic = bytes(m[16:20])
        if magic not in (b"bgen", b"\x00\x00\x00\x00"):
            raise VcfFormatError("not a BGEN file (no 'bgen' magic number)", path=self.path)
        if header_len < 20 or 4 + header_len > len(m) or self._first > len(m):
            raise VcfFormatError("BGEN header lengths point beyond the file", path=self.path)
        flags = _u32(m, 4 + header_len - 4)
        self.compression = flags & 3
        self.layout = (flags >> 2) & 0xF
        self.has_sample_ids = bool(flags >> 31)
        self._header_len = header_len
        if self.layout != 2:
            raise VcfFormatError(
                f"BGEN layout {self.layout} is not supported (BGEN 1.2/1.3 use layout 2)",
                path=self.path, hint="convert it with qctool or plink2 --export bgen-1.2",
            )  # fmt: skip
        if self.compression not in (0, 1, 2):
            raise VcfFormatError(f"unknown BGEN compression {self.compression}", path=self.path)

    def _read_sample_names(self) -> list[str]:
        sample_file = self.path.with_suffix(".sample")
        if sample_file.is_file():
            names = read_sample_file(sample_file)
            if len(names) != self.n_samples:
                raise VcfFormatError(
                    f"{sample_file.name} lists {len(names)} samples but the BGEN has "
                    f"{self.n_samples}", path=self.path,
                )  # fmt: skip
            return names
        if not self.has_sample_ids:
            raise VcfFormatError(
                "the BGEN file stores no sample identifiers and there is no "
                f"{sample_file.name} next to it", path=self.path,
                hint="put the Oxford .sample file next to the .bgen, with the same name",
            )  # fmt: skip
        m = self._map
        at = 4 + self._header_len + 8
        names = []
        try:
            for _ in range(self.n_samples):
                n = _u16(m, at)
                names.append(bytes(m[at + 2 : at + 2 + n]).decode("utf-8"))
                at += 2 + n
        except (struct.error, UnicodeDecodeError) as exc:
            raise VcfFormatError(f"unreadable sample identifier block ({exc})",
                                 path=self.path) from None  # fmt: skip
        return names

    # -- variants ----------------------------------------------------------------------
    def variants(self) -> pl.DataFrame:
        """One row per variant: row, chrom, pos, id, ref, alt (comma-joined), k (number of
        alleles), offset (of its genotype block)."""
        if self._variants is None:
            index = Path(f"{self.path}.bgi")
            self._variants = self._from_index(index) if index.is_file() else self._scan()
        return self._variants

    def _from_index(self, index: Path) -> pl.DataFrame:
        import polars as pl

        try:
            con = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
            try:
                rows = con.execute(
                    "SELECT chromosome, position, rsid, allele1, allele2, number_of_alleles, "
                    "file_start_position FROM Variant ORDER BY file_start_position"
                ).fetchall()
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise VcfFormatError(f"unreadable .bgi index ({exc})", path=index) from None
        if len(rows) != self.n_variants:
            raise VcfFormatError(
                f"the .bgi index lists {len(rows)} variants but the BGEN has {self.n_variants}",
                path=index, hint="rebuild it with bgenix -index",
            )  # fmt: skip
        schema = ["chrom", "pos", "id", "ref", "alt", "k", "offset"]
        try:
            # the index keeps two alleles: a variant with more is marked multi-allelic (an
            # extra ALT) so that matching excludes it
            rows = [(r[0], r[1], r[2], r[3], r[4] if int(r[5]) <= 2 else f"{r[4]},?", r[5],
                     self._genotype_offset(int(r[6]))) for r in rows]  # fmt: skip
        except (struct.error, IndexError) as exc:
            raise VcfFormatError(f"the .bgi index points outside the BGEN file ({exc})",
                                 path=index) from None  # fmt: skip
        t = pl.DataFrame(rows, schema=schema, orient="row")
        return t.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
                        pl.col("chrom").cast(pl.Utf8).map_elements(bare_chrom, pl.Utf8,
                                                                   skip_nulls=True),
                        pl.col("pos").cast(pl.Int64), pl.col("id").cast(pl.Utf8),
                        pl.col("ref").str.to_uppercase(), pl.col("alt").str.to_uppercase(),
                        pl.col("k").cast(pl.Int64), pl.col("offset").cast(pl.Int64))  # fmt: skip

    def _genotype_offset(self, start: int) -> int:
        """Where the genotype block of the variant starting at ``start`` begins (cbgen reads a
        variant from there)."""
        m = self._map
        at = start
        for _ in range(3):  # variant id, rsid, chromosome
            at += 2 + _u16(m, at)
        k = _u16(m, at + 4)
        at += 6
        for _ in range(k):
            at += 4 + _u32(m, at)
        if at >= len(m):
            raise struct.error("variant header runs past the end of the file")
        return at

    def _scan(self) -> pl.DataFrame:
        import polars as pl

        m = self._map
        at = self._first
        out: list[tuple[str, int, str, str, str, int, int]] = []
        try:
            for _ in range(self.n_variants):
                n = _u16(m, at)
                vid = bytes(m[at + 2 : at + 2 + n]).decode()
                at += 2 + n
                n = _u16(m, at)
                rsid = bytes(m[at + 2 : at + 2 + n]).decode()
                at += 2 + n
                n = _u16(m, at)
                chrom = bytes(m[at + 2 : at + 2 + n]).decode()
                at += 2 + n
                pos = _u32(m, at)
                k = _u16(m, at + 4)
                at += 6
                alleles = []
                for _ in range(k):
                    n = _u32(m, at)
                    alleles.append(bytes(m[at + 4 : at + 4 + n]).decode().upper())
                    at += 4 + n
                geno = at
                at += 4 + _u32(m, at)
                if at > len(m):
                    raise struct.error("genotype block runs past the end of the file")
                out.append((bare_chrom(chrom), pos, rsid or vid, alleles[0] if alleles else ".",
                            ",".join(alleles[1:]) or ".", k, geno))  # fmt: skip
        except (struct.error, UnicodeDecodeError, IndexError) as exc:
            raise VcfFormatError(
                f"truncated or malformed variant header ({exc})", path=self.path,
                record=f"variant {len(out) + 1}",
            ) from None  # fmt: skip
        schema = {"chrom": pl.Utf8, "pos": pl.Int64, "id": pl.Utf8, "ref": pl.Utf8,
                  "alt": pl.Utf8, "k": pl.Int64, "offset": pl.Int64}  # fmt: skip
        t = pl.DataFrame(out, schema=schema, orient="row")
        return t.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("row")).select(
            "row", *schema
        )

    def _offsets(self) -> npt.NDArray[np.int64]:
        """Genotype-block offsets by variant row (read once: looked up per variant)."""
        if self._offset_array is None:
            self._offset_array = self.variants()["offset"].to_numpy()
        return self._offset_array

    def _allele_counts(self) -> npt.NDArray[np.int64]:
        if self._k_array is None:
            self._k_array = self.variants()["k"].to_numpy()
        return self._k_array

    def declared_build(self) -> str | None:
        """BGEN files declare no build: the data decides (see the PRS build check)."""
        return None

    def site_table(self, points: pl.DataFrame) -> pl.DataFrame:
        return sites_at(self.variants(), points)

    # -- genotypes ---------------------------------------------------------------------
    def _reader(self) -> object:
        if self._bgen is None:
            import cbgen

            try:
                self._bgen = cbgen.bgen_file(self.path)
            except Exception as exc:
                raise VcfFormatError(f"unreadable BGEN file ({exc})", path=self.path) from None
        return self._bgen

    def _alt_dosage(self, row: int, k: int) -> npt.NDArray[np.float64]:
        """ALT-``k`` dosage of one variant for the selected samples (NaN missing)."""
        offset = int(self._offsets()[row])
        try:
            g = self._reader().read_genotype(offset)  # type: ignore[attr-defined]
        except Exception as exc:
            raise VcfFormatError(f"unreadable genotype block ({exc})", path=self.path,
                                 record=f"variant {row + 1}") from None  # fmt: skip
        p = np.asarray(g.probability, dtype=np.float64)
        if p.shape[1] < 3:  # every call haploid: pad, so that both branches below index
            p = np.hstack([p, np.full((len(p), 3 - p.shape[1]), np.nan)])
        ploidy = np.asarray(g.ploidy)
        n_alleles = int(self._allele_counts()[row])
        if n_alleles != 2 or k != 1:
            # multi-allelic (only matched with --keep-multiallelic): read as missing calls
            return np.full(len(self.samples), np.nan)
        if g.phased:
            dose = np.nansum(p[:, 1::2], axis=1)
            dose = np.where(ploidy == 1, 2 * p[:, 1], dose)
        else:
            dose = np.where(ploidy == 1, 2 * p[:, 1], p[:, 1] + 2 * p[:, 2])
        dose[np.asarray(g.missing, dtype=bool) | np.isnan(p[:, 0])] = np.nan
        if self._columns is not None:
            dose = dose[self._columns]
        return _plink_units(dose)

    def dosage_blocks(
        self, rows: npt.NDArray[np.int64], alt_k: npt.NDArray[np.int8], block: int = BLOCK_VARIANTS
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """As :meth:`precisionrx.io.plink.PlinkFile.dosage_blocks`: float32 dosages, -9
        missing (multiples of 1/16384 are exact in float32)."""
        order = np.argsort(rows, kind="stable")
        for start in range(0, len(order), block):
            part = order[start : start + block]
            out = np.empty((len(part), len(self.samples)), dtype=np.float32)
            for i, j in enumerate(part):
                d = self._alt_dosage(int(rows[j]), int(alt_k[j]))
                out[i] = np.where(np.isnan(d), -9.0, d)
            yield part, out

    def calls(
        self, rows: npt.NDArray[np.uint32]
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
        """Hard calls (variants, samples, 2) from the dosages (within 0.1 of a whole number,
        else missing), unphased; multi-allelic variants are all missing."""
        n = len(self.samples)
        out = np.full((len(rows), n, 2), -1, dtype=np.int32)
        k = self._allele_counts()
        for i, row in enumerate(rows):
            if int(k[int(row)]) != 2:
                continue
            d = self._alt_dosage(int(row), 1)
            call = np.round(np.nan_to_num(d, nan=-9.0))
            ok = np.abs(d - call) <= HARD_CALL_THRESHOLD
            out[i, :, 0] = np.where(ok, call >= 2, -1)
            out[i, :, 1] = np.where(ok, call >= 1, -1)
        return out, np.zeros((len(rows), n), dtype=np.bool_)

    def close(self) -> None:
        if self._bgen is not None:
            self._bgen.close()  # type: ignore[attr-defined]
            self._bgen = None
        if not self._map.closed:
            self._map.close()
        self._fh.close()

    def __enter__(self) -> BgenFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_sample_file(path: Path) -> list[str]:
    """Sample names of an Oxford ``.sample`` file (``ID_2``, or ``ID_1`` when it is the only
    identifier column)."""
    try:
        lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except UnicodeDecodeError as exc:
        raise VcfFormatError(f"not UTF-8 text ({exc.reason})", path=path) from None
    if len(lines) < 2 or not lines[0] or lines[0][0].upper() != "ID_1":
        raise VcfFormatError("not an Oxford .sample file (first header field must be ID_1)",
                             path=path)  # fmt: skip
    at = 1 if len(lines[0]) > 1 and lines[0][1].upper() == "ID_2" else 0
    body = lines[2:]
    short = next((i for i, r in enumerate(body) if len(r) <= at), None)
    if short is not None:
        raise VcfFormatError("sample line has no identifier", path=path,
                             record=f"line {short + 3}")  # fmt: skip
    return [r[at] for r in body]
