"""CNA and fusion tables of a tumour, read line by line so that every error names its line.

Gzip or plain text, LF/CRLF/CR line ends, UTF-8 with or without a byte-order mark. CNA: a gene
column with ``call`` (amplification/gain/deletion/loss/neutral, or GISTIC 2/1/0/-1/-2) and/or
``copy_number`` (absolute; >= 6 amplification, 0 deep deletion). Fusions: STAR-Fusion, Arriba and
FusionCatcher outputs as the tools write them, a ``fusion`` column (``A::B``, ``A--B``, ``A-B``,
``A fusion``), ``gene1``/``gene2`` columns, or a table of two gene columns with or without a
header. Layouts and rules are documented in docs/cli/tumor.md (``--cna``, ``--fusions``).
"""

from __future__ import annotations

import gzip
import io
import math
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from precisionrx.errors import InputError, InternalError
from precisionrx.io.textio import check_input_file, read_text
from precisionrx.records.notation import gene_symbol
from precisionrx.records.tumor import Alteration

#: Absolute copy number thresholds when no call is given (documented in docs/cli/tumor.md).
AMPLIFICATION_CN = 6.0
GISTIC = {"2": "amplification", "-2": "deletion", "1": "gain", "-1": "loss"}

# --- CNA and fusion tables: read line by line, so that every error names its line ----------------

#: Values that mean "no gene here" in a gene column (Arriba writes "." when no gene is annotated).
NO_GENE = frozenset({".", "NA", "-"})
FUSION_WORDS = frozenset({"fusion", "fusions", "rearrangement", "translocation"})
#: FusionCatcher ``Fusion_description`` labels that mark a likely false positive: seen in healthy
#: tissue or cell lines (healthy, bodymap2, hpa, gtex, 1000genomes, non_cancer_tissues,
#: non_tumor_cells), on FusionCatcher's banned list, conjoined genes (cacg, conjoing), paralogs,
#: RefSeq false positives, or supported by reads that also map elsewhere (similar_reads). Source:
#: FusionCatcher manual, "Fusion_description" labels (github.com/ndaniel/fusioncatcher,
#: doc/manual.md); list taken from the manual's description, not re-verified offline.
FUSIONCATCHER_FALSE_POSITIVE = frozenset(
    {"banned", "bodymap2", "cacg", "conjoing", "1000genomes", "gtex", "healthy", "hpa",
     "non_cancer_tissues", "non_tumor_cells", "paralogs", "refseq_fp", "similar_reads"}
)  # fmt: skip
#: STAR-Fusion ``annots`` that FusionAnnotator's CTAT library uses for "red herrings" (normal
#: tissue, paralogs, gene families, conjoined genes). Source: STAR-Fusion wiki, "Fusion
#: annotation" (github.com/STAR-Fusion/STAR-Fusion/wiki); not re-verified offline.
STAR_FUSION_RED_HERRINGS = frozenset(
    {"GTEx_recurrent_StarF2019", "BodyMap", "DGD_PARALOGS", "HGNC_GENEFAM", "Greger_Normal",
     "Babiceanu_Normal", "ConjoinG"}
)  # fmt: skip
FUSION_LAYOUTS = (
    "STAR-Fusion (#FusionName, LeftGene, RightGene), Arriba (#gene1, gene2), FusionCatcher "
    "(Gene_1_symbol(5end_fusion_partner), Gene_2_symbol(3end_fusion_partner)), a fusion column "
    "(A::B, A--B, A-B, A fusion), gene1/gene2 columns, or two gene columns (5' then 3')"
)
CNA_GENE_COLUMNS = ("gene", "hugo_symbol", "gene_symbol")
CNA_CALLS = {
    "amplification": "amplification", "amp": "amplification", "amplified": "amplification",
    "deletion": "deletion", "del": "deletion", "deep deletion": "deletion",
    "homdel": "deletion", "homozygous deletion": "deletion",
    "gain": "gain", "loss": "loss", "neutral": "neutral", "": "",
    # GISTIC discrete calls (also cBioPortal's data_CNA): 2, 1, 0, -1, -2.
    **GISTIC, "0": "neutral",
}  # fmt: skip

_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")  # HGNC, Ensembl clone and RNA-family names
_STRICT_SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9.@-]*")  # as tools write them: upper case
_LISTED = re.compile(r"([^()\s]+?)\s*(?:\(\s*(-?\d+)\s*\))?")  # Arriba "GENE(1234)"
_PHRASE = re.compile(r"(.+?)\s+(fusions?|rearrangements?|translocations?)", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_STRONG_SEPARATORS = ("::", "--", "/")


def _lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """Every line of a text table as (1-based number, text without the line end).

    Reads gzip (by its magic bytes) and plain text, LF, CRLF or CR line ends, and drops a UTF-8
    byte-order mark; UTF-16 text is decoded by :func:`~precisionrx.io.textio.read_text`. The
    path must be a regular file (not a directory, FIFO or device). NUL bytes or invalid UTF-8
    outside comment lines are an error naming the line.
    """
    check_input_file(path, what, InputError)
    try:
        with path.open("rb") as probe:
            head = probe.read(4096)
    except OSError as exc:
        raise InputError(f"cannot open the {what} file ({exc.strerror})", path=path) from exc
    magic = head[:2]
    if magic != b"\x1f\x8b" and (magic in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head):
        # UTF-16/32 (with or without a byte-order mark) is read by the shared decoder; what it
        # cannot decode is binary data, named by its line below.
        try:
            decoded = read_text(path, what, InputError)
        except InputError:
            pass
        else:
            yield from enumerate(decoded.removesuffix("\n").split("\n"), start=1)
            return
    gz = magic == b"\x1f\x8b"
    number = 0
    try:
        with (
            _open_binary(path, gz) as raw,
            io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline=None)
            as text,
        ):  # fmt: skip
            for number, line in enumerate(text, start=1):
                line = line.removesuffix("\n")
                if "\x00" in line:
                    raise InputError(
                        f"binary data (NUL bytes): not a text {what}", path=path,
                        record=f"line {number}",
                    )  # fmt: skip
                try:
                    line.encode("utf-8")
                except UnicodeEncodeError as exc:
                    if not line.lstrip().startswith("#"):
                        raise InputError(
                            f"not UTF-8 text (byte {ord(line[exc.start]) - 0xDC00:#04x})",
                            path=path, record=f"line {number}",
                        ) from None  # fmt: skip
                    line = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                yield number, line
    except (OSError, EOFError, zlib.error) as exc:
        where = f"after line {number}" if number else "at the start"
        problem = "truncated or corrupt gzip data" if gz else "read error"
        raise InputError(f"{problem} {where}", path=path) from exc


def _open_binary(path: Path, gz: bool) -> BinaryIO:
    if gz:
        return cast(BinaryIO, gzip.open(path, "rb"))  # a GzipFile is a binary stream
    return path.open("rb")


def _is_comment(text: str) -> bool:
    return text.lstrip().startswith("#")


def _column_name(cell: str) -> str:
    """Header cell as compared: without "#", surrounding space and case; spaces as "_"."""
    return re.sub(r"\s+", "_", cell.strip().lstrip("#").strip().lower())


def _symbol(text: str) -> str | None:
    """Gene symbol of a cell (``EML4^ENSG00000143924.19`` -> ``EML4``), None if it is none."""
    t = text.strip().split("^", 1)[0].strip()
    if len(t) < 2 or not _SYMBOL.fullmatch(t) or not any(c.isalpha() for c in t):
        return None
    return gene_symbol(t)


def _strict_symbol(text: str) -> bool:
    """Looks like a symbol a tool writes (upper case, ``orf`` allowed): data, not a header."""
    t = text.strip().split("^", 1)[0].replace("orf", "ORF")
    return _symbol(t) is not None and bool(_STRICT_SYMBOL.fullmatch(t))


@dataclass(frozen=True, slots=True)
class _Side:
    """One breakpoint's gene: ``gene`` empty when it lies in no gene."""

    gene: str
    near: tuple[str, ...] = ()  # intergenic: neighbouring genes with their distance
    others: tuple[str, ...] = ()  # further genes listed for the same breakpoint


@dataclass(frozen=True, slots=True)
class _FusionLayout:
    """Where a table keeps what a fusion needs; column numbers are 0-based."""

    tool: str
    name: int | None = None  # fusion name (A--B, A::B, A fusion)
    genes: tuple[int, int] | None = None  # 5' and 3' gene columns
    column_names: tuple[str, ...] = ()  # header as written, for messages
    breakpoints: tuple[int, int] | None = None
    support: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (label, columns joined by "+")
    confidence: int | None = None  # Arriba: low / medium / high
    frame: int | None = None  # Arriba reading_frame, FusionCatcher Predicted_effect ...
    tags: int | None = None  # FusionCatcher Fusion_description, STAR-Fusion annots
    delimiter: str | None = "\t"  # None: runs of white space
    generic: bool = False  # no tool header: two gene columns or a fusion name

    @property
    def required(self) -> tuple[int, ...]:
        """Columns a data line must reach: the gene and name columns (the rest is optional)."""
        return tuple(c for c in (self.name, *(self.genes or ())) if c is not None) or (0,)


def _fusion_layout(text: str) -> _FusionLayout | None:
    """The layout of a tool's header line, or None when the line is no known header."""
    raw = [c.strip() for c in text.split("\t")]
    col: dict[str, int] = {}
    for i, cell in enumerate(raw):
        col.setdefault(_column_name(cell), i)

    def get(*names: str) -> int | None:
        return next((col[n] for n in names if n in col), None)

    def pair(a: str, b: str) -> tuple[int, int] | None:
        return (col[a], col[b]) if a in col and b in col else None

    def counts(*items: tuple[str, tuple[str, ...]]) -> tuple[tuple[str, tuple[int, ...]], ...]:
        return tuple(
            (label, tuple(col[n] for n in names))
            for label, names in items
            if all(n in col for n in names)
        )

    names = tuple(raw)
    if "fusionname" in col:  # STAR-Fusion star-fusion.fusion_predictions(.abridged).tsv
        return _FusionLayout(
            "STAR-Fusion", name=col["fusionname"], genes=pair("leftgene", "rightgene"),
            column_names=names, breakpoints=pair("leftbreakpoint", "rightbreakpoint"),
            support=counts(("junction reads", ("junctionreadcount",)),
                           ("spanning fragments", ("spanningfragcount",)), ("FFPM", ("ffpm",))),
            frame=get("prot_fusion_type"), tags=get("annots"),
        )  # fmt: skip
    g1, g2 = "gene_1_symbol(5end_fusion_partner)", "gene_2_symbol(3end_fusion_partner)"
    if g1 in col and g2 in col:  # FusionCatcher final-list_candidate-fusion-genes.txt
        return _FusionLayout(
            "FusionCatcher", genes=(col[g1], col[g2]), column_names=names,
            breakpoints=pair("fusion_point_for_gene_1(5end_fusion_partner)",
                             "fusion_point_for_gene_2(3end_fusion_partner)"),
            support=counts(("spanning pairs", ("spanning_pairs",)),
                           ("spanning unique reads", ("spanning_unique_reads",))),
            frame=get("predicted_effect"), tags=get("fusion_description"),
        )  # fmt: skip
    if "gene1" in col and "gene2" in col:  # Arriba fusions.tsv, or plain gene1/gene2 columns
        arriba = bool({"breakpoint1", "split_reads1", "confidence"} & set(col))
        return _FusionLayout(
            "Arriba" if arriba else "gene1/gene2 columns", genes=(col["gene1"], col["gene2"]),
            column_names=names, breakpoints=pair("breakpoint1", "breakpoint2"),
            support=counts(("split reads", ("split_reads1", "split_reads2")),
                           ("discordant mates", ("discordant_mates",))),
            confidence=get("confidence"), frame=get("reading_frame"),
        )  # fmt: skip
    name = get("fusion", "fusion_name")
    if name is not None:
        return _FusionLayout("fusion column", name=name, column_names=names)
    return None


def _cells(text: str, delimiter: str | None) -> list[str]:
    return [c.strip() for c in (text.split(delimiter) if delimiter else text.split())]


def _generic_layout(text: str, path: Path, number: int) -> tuple[_FusionLayout, bool]:
    """Layout of a table without a tool header, and whether ``text`` is its header line.

    The first line is data when its first cell is a fusion name or its first two cells are gene
    symbols as tools write them (upper case); otherwise it is a header of two columns.
    """
    delimiter = "\t" if "\t" in text else "," if "," in text else None
    cells = _cells(text, delimiter)
    first = cells[0]
    if len(cells) > 1 and cells[1].lower() in FUSION_WORDS:
        first = f"{first} {cells[1]}"
    data = _strict_name(first) or (
        len(cells) > 1 and _strict_symbol(cells[0]) and _strict_symbol(cells[1])
        and not _NUMBER.fullmatch(cells[1])
    )  # fmt: skip
    if not data and len([c for c in cells if c]) > 2:
        raise InputError(
            "no recognisable fusion header", path=path, record=f"line {number}",
            hint=f"expected {FUSION_LAYOUTS}",
        )  # fmt: skip
    names = () if data else tuple(cells)
    return _FusionLayout("two-column table", column_names=names, delimiter=delimiter,
                         generic=True), not data  # fmt: skip


def _strict_name(text: str) -> bool:
    """A fusion name whose genes look as tools write them (upper case)."""
    m = _PHRASE.fullmatch(text.strip())
    inner = m.group(1) if m else text
    for sep in (*_STRONG_SEPARATORS, "-"):
        if sep in inner:
            a, _, b = inner.partition(sep)
            return _strict_symbol(a) and _strict_symbol(b)
    return m is not None and _strict_symbol(inner)


def _hyphen_pairs(text: str) -> list[tuple[str, str]]:
    """Every split of ``A-B`` at one hyphen that leaves two gene symbols."""
    out = []
    for i, ch in enumerate(text):
        if ch == "-":
            a, b = _symbol(text[:i]), _symbol(text[i + 1 :])
            if a and b:
                out.append((a, b))
    return out


def _name_sides(text: str, path: Path, number: int) -> tuple[_Side, _Side | None]:
    """5' and 3' genes of a fusion name; (gene, None) for a one-partner "GENE fusion"."""

    def fail(problem: str) -> InputError:
        return InputError(
            f"cannot read fusion {text!r}: {problem}", path=path, record=f"line {number}",
            hint="write fusions as 5'::3' (EML4::ALK), A--B, A-B or 'ALK fusion'",
        )  # fmt: skip

    t = text.strip()
    phrase = _PHRASE.fullmatch(t)
    inner = phrase.group(1).strip() if phrase else t
    for sep in _STRONG_SEPARATORS:
        if sep in inner:
            a, _, b = inner.partition(sep)
            ga, gb = _symbol(a), _symbol(b)
            if ga is None or gb is None:
                raise fail(f"{(a if ga is None else b).strip()!r} is not a gene symbol")
            return _Side(ga), _Side(gb)
    pairs = _hyphen_pairs(inner)
    if len(pairs) == 1:  # "EML4-ALK"; "NKX2-1 fusion" does not split (no gene "1")
        return _Side(pairs[0][0]), _Side(pairs[0][1])
    if phrase and (gene := _symbol(inner)) is not None:
        return _Side(gene), None
    if len(pairs) > 1:
        raise fail("the hyphen is ambiguous (gene symbols with a hyphen)")
    if not t:
        raise fail("empty")
    raise fail("no separator between two genes")


def _gene_side(cell: str, column: str, path: Path, number: int) -> _Side:
    """A gene cell: ``EML4``, ``EML4^ENSG...``, ``.`` (none), or Arriba's ``A(123),B(45)``."""
    text = cell.strip()
    if text in NO_GENE:
        return _Side("")
    if not text:
        raise InputError(f"no gene in {column}", path=path, record=f"line {number}")
    genes: list[str] = []
    near: list[tuple[int, str]] = []
    for part in (p.strip() for p in text.split(",")):
        m = _LISTED.fullmatch(part)
        gene = _symbol(m.group(1)) if m else None
        if gene is None or m is None:
            raise InputError(
                f"{column} {cell.strip()!r} is not a gene symbol", path=path,
                record=f"line {number}",
            )  # fmt: skip
        if m.group(2) is not None:
            near.append((abs(int(m.group(2))), gene))
        else:
            genes.append(gene)
    if near:  # an intergenic breakpoint: the neighbouring genes are not fusion partners
        near.sort()
        return _Side("", near=tuple(f"{g} ({d:,} bp)" for d, g in near))
    return _Side(genes[0], others=tuple(genes[1:]))


def _generic_sides(cells: list[str], path: Path, number: int) -> tuple[_Side, _Side | None]:
    first = cells[0]
    second = cells[1] if len(cells) > 1 else ""
    if second.lower() in FUSION_WORDS:
        return _name_sides(f"{first} {second}", path, number)
    strong = any(sep in first for sep in _STRONG_SEPARATORS)
    if second and not strong and not _NUMBER.fullmatch(second) and _symbol(second):
        return (_gene_side(first, "5' gene", path, number),
                _gene_side(second, "3' gene", path, number))  # fmt: skip
    if not first:
        raise InputError("no gene in the first column", path=path, record=f"line {number}")
    if len(cells) == 1 and _symbol(first) and not _hyphen_pairs(first):
        raise InputError(
            f"only one gene ({first!r}): expected two gene columns or a fusion name (A::B)",
            path=path, record=f"line {number}",
        )  # fmt: skip
    return _name_sides(first, path, number)


def _evidence(layout: _FusionLayout, cells: list[str]) -> tuple[str, list[str]]:
    """Breakpoints, read support and tool flags of a line: (summary, tool flags)."""

    def cell(i: int | None) -> str:
        v = cells[i].strip() if i is not None and i < len(cells) else ""
        return "" if v in NO_GENE else v

    parts: list[str] = []
    flags: list[str] = []
    if layout.breakpoints:
        a, b = (cell(i) for i in layout.breakpoints)
        if a or b:
            parts.append(f"{a or '?'} > {b or '?'}")
    for label, cols in layout.support:
        values = [cell(i) for i in cols]
        if any(values):
            parts.append(f"{label} {'+'.join(v or '?' for v in values)}")
    if (conf := cell(layout.confidence).lower()) != "":
        parts.append(f"confidence {conf}")
        if conf == "low":
            flags.append("Arriba confidence low (more likely an artefact)")
    if frame := cell(layout.frame):
        parts.append(frame)
    tags = cell(layout.tags)
    if tags and layout.tool == "FusionCatcher":
        labels = [t.strip().lower() for t in tags.split(",")]
        bad = [t for t in labels if t in FUSIONCATCHER_FALSE_POSITIVE]
        if bad:
            parts.append(f"FusionCatcher {','.join(bad)}")
            flags.append(f"FusionCatcher labels it a likely false positive ({', '.join(bad)})")
    elif tags:
        bad = sorted(set(re.findall(r"[A-Za-z0-9_]+", tags)) & STAR_FUSION_RED_HERRINGS)
        if bad:
            parts.append(f"STAR-Fusion {','.join(bad)}")
            flags.append(f"STAR-Fusion annotates it as a likely red herring ({', '.join(bad)})")
    return ", ".join(parts), flags


def _fusion_line(
    layout: _FusionLayout, text: str, path: Path, number: int
) -> tuple[Alteration, str] | None:
    """The fusion of one data line and its evidence text; None when no gene is involved."""
    cells = _cells(text, layout.delimiter)
    if len(cells) <= max(layout.required):
        names = layout.column_names
        missing = [names[i] for i in layout.required if len(cells) <= i < len(names)]
        raise InputError(
            f"too few fields: {len(cells)}, the header has {len(names)}"
            + (f"; missing {', '.join(missing)}" if missing else ""),
            path=path, record=f"line {number}",
        )  # fmt: skip
    notes: list[str] = []
    three: _Side | None
    if layout.generic:
        five, three = _generic_sides(cells, path, number)
    elif layout.genes is not None:
        names = layout.column_names
        five, three = (_gene_side(cells[i], names[i].lstrip("#"), path, number)
                       for i in layout.genes)  # fmt: skip
    elif layout.name is not None:
        five, three = _name_sides(cells[layout.name], path, number)
    else:  # pragma: no cover - every layout has a name or gene columns
        raise InternalError(f"fusion layout {layout.tool} has no gene column")
    evidence, flags = _evidence(layout, cells)
    notes += [f"line {number}: {f}; kept, confirm before acting on it" for f in flags]
    for end, side in (("5'", five), ("3'", three)):
        if side is None:
            continue
        if side.near:
            notes.append(
                f"line {number}: {end} breakpoint is intergenic (near {', '.join(side.near)}); "
                f"no {end} partner assigned"
            )
        elif not side.gene:
            notes.append(f"line {number}: no gene at the {end} breakpoint")
        if side.others:
            notes.append(
                f"line {number}: {end} breakpoint lies in several genes "
                f"({', '.join((side.gene, *side.others))}); {side.gene} used"
            )
    gene, gene2 = five.gene, three.gene if three else ""
    if not gene:
        gene, gene2 = gene2, ""  # one known partner: a one-partner fusion named after it
    if not gene:
        return None
    if gene == gene2:
        notes.append(f"line {number}: both breakpoints in {gene} (intragenic rearrangement)")
    source = f"{path.name} line {number}" + (f" ({evidence})" if evidence else "")
    return Alteration(kind="fusion", gene=gene, gene2=gene2, source=source, notes=notes), evidence


def read_fusions(path: str | Path) -> list[Alteration]:
    """Fusions of a STAR-Fusion, Arriba or FusionCatcher output, or of a fusion table.

    The layout is recognised by its header (see ``FUSION_LAYOUTS``); without one, the first line
    must be data of two gene columns or a fusion name. Comment lines (``#`` other than the
    header), blank lines and fields after the needed ones are ignored. ``gene`` is the 5'
    partner and ``gene2`` the 3' partner; the same ordered pair on several lines is one
    alteration whose ``source`` lists every line. Lines flagged by the tool (Arriba confidence
    low, FusionCatcher false-positive labels, STAR-Fusion red herrings) are kept with a note.
    """
    path = Path(path)
    layout: _FusionLayout | None = None
    seen = 0
    found: dict[tuple[str, str], Alteration] = {}
    for number, text in _lines(path, "fusion table"):
        if not text.strip():
            continue
        seen = seen or number
        if layout is None:
            layout = _fusion_layout(text)
            if layout is not None:
                continue
            if _is_comment(text):
                continue
            layout, is_header = _generic_layout(text, path, number)
            if is_header:
                continue
        elif _is_comment(text):
            continue
        line = _fusion_line(layout, text, path, number)
        if line is None:
            continue
        alt, evidence = line
        key = (alt.gene, alt.gene2)
        if key in found:
            first = found[key]
            first.source += f"; line {number}" + (f" ({evidence})" if evidence else "")
            first.notes.extend(alt.notes)
        else:
            found[key] = alt
    if not seen:
        raise InputError("the fusion table is empty", path=path, hint=f"expected {FUSION_LAYOUTS}")
    if layout is None:
        raise InputError(
            "no fusion header or data, only comment lines", path=path,
            hint=f"expected {FUSION_LAYOUTS}",
        )  # fmt: skip
    return list(found.values())


def read_cna(path: str | Path) -> list[Alteration]:
    """Amplifications and deep deletions of a gene-level copy-number table.

    Header (any case, may start with ``#``): a gene column (``gene``, ``Hugo_Symbol`` or
    ``gene_symbol``) and ``call`` and/or ``copy_number``; tab- or comma-separated; comment and
    blank lines are skipped and extra fields ignored. Gains, losses and neutral calls are read
    but not returned; the same gene and call on several lines is one alteration.
    """
    path = Path(path)
    header: tuple[str | None, int, int | None, int | None] | None = None
    seen = 0
    found: dict[tuple[str, str], Alteration] = {}
    for number, text in _lines(path, "CNA table"):
        if not text.strip():
            continue
        seen = seen or number
        if header is None:
            delimiter = "\t" if "\t" in text else "," if "," in text else None
            names = [_column_name(c) for c in _cells(text, delimiter)]
            gene_i = next((names.index(c) for c in CNA_GENE_COLUMNS if c in names), None)
            call_i = names.index("call") if "call" in names else None
            cn_i = names.index("copy_number") if "copy_number" in names else None
            if gene_i is not None and (call_i is not None or cn_i is not None):
                header = (delimiter, gene_i, call_i, cn_i)
                continue
            if _is_comment(text):
                continue
            raise InputError(
                "no CNA header: a gene column (gene, Hugo_Symbol or gene_symbol) and a call or "
                "copy_number column are needed", path=path, record=f"line {number}",
            )  # fmt: skip
        if _is_comment(text):
            continue
        alt = _cna_line(header, text, path, number)
        if alt is None:
            continue
        key = (alt.gene, alt.kind)
        if key in found:
            found[key].source += f"; line {number}"
        else:
            found[key] = alt
    if not seen:
        raise InputError("the CNA table is empty", path=path)
    if header is None:
        raise InputError("no CNA header, only comment lines", path=path)
    return list(found.values())


def _cna_line(
    header: tuple[str | None, int, int | None, int | None], text: str, path: Path, number: int
) -> Alteration | None:
    delimiter, gene_i, call_i, cn_i = header
    cells = _cells(text, delimiter)

    def cell(i: int | None) -> str:
        return cells[i] if i is not None and i < len(cells) else ""

    has_value = any(i is not None and i < len(cells) for i in (call_i, cn_i))
    if len(cells) <= gene_i or not has_value:
        raise InputError(
            f"{len(cells)} field(s): the line stops before its gene and call/copy_number",
            path=path, record=f"line {number}",
        )  # fmt: skip
    gene = _symbol(cell(gene_i))
    if gene is None:
        raise InputError(
            f"gene {cell(gene_i)!r} is not a gene symbol", path=path, record=f"line {number}"
        )
    raw_call = cell(call_i)
    call = CNA_CALLS.get(" ".join(raw_call.lower().replace("_", " ").split()))
    if call is None:
        raise InputError(
            f"unknown CNA call {raw_call!r}", path=path, record=f"line {number}",
            hint="amplification, gain, neutral, loss, deletion or GISTIC 2, 1, 0, -1, -2",
        )  # fmt: skip
    cn = None
    text_cn = cell(cn_i)
    if text_cn and text_cn not in ("NA", "."):
        try:
            cn = float(text_cn)
        except ValueError:
            cn = None
        if cn is None or not math.isfinite(cn):
            raise InputError(
                f"copy_number {text_cn!r} is not a number", path=path, record=f"line {number}"
            )
        if cn < 0:
            raise InputError("copy_number cannot be negative", path=path, record=f"line {number}")
    if not call and cn is not None:
        call = "amplification" if cn >= AMPLIFICATION_CN else "deletion" if cn == 0 else ""
    if call not in ("amplification", "deletion"):
        return None
    return Alteration(kind=call, gene=gene, copy_number=cn, source=f"{path.name} line {number}")
