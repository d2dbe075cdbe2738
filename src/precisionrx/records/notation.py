"""Notation of protein changes and fusions, so that every spelling matches the same biomarker.

Protein changes: ``V600E``, ``p.V600E``, ``p.Val600Glu``, ``BRAF V600E`` and ``BRAF p.(Val600Glu)``
all normalise to ``V600E``; stops ``*``, ``Ter`` and ``X`` to ``*``; frameshift tails (``fs*12``,
``fsTer12``) and the new residue before them to ``fs`` (``p.G574Rfs*12`` -> ``G574fs``).
Fusions: ``EML4-ALK``, ``EML4::ALK``, ``EML4--ALK`` (STAR-Fusion) and ``EML4/ALK`` give the
pair (EML4, ALK); ``ALK fusion`` gives (ALK, None), a one-partner biomarker. Gene aliases follow
HGNC (HER2 = ERBB2, MLL = KMT2A, MLL2 = KMT2D).
"""

from __future__ import annotations

import re

THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
    "Sec": "U", "Pyl": "O", "Xaa": "X",
}  # fmt: skip
GENE_ALIASES = {"HER2": "ERBB2", "MLL": "KMT2A", "MLL2": "KMT2D", "C-KIT": "KIT", "CMET": "MET"}
_THREE = re.compile("|".join(THREE_TO_ONE))
_SIMPLE = re.compile(r"^([A-Z*])(\d+)([A-Z*]|=|fs|del|dup|ins[A-Z*]+|delins[A-Z*]+)?$")
_ONE_LETTER = re.compile(r"[A-Z]\d+[A-WYZ=]")  # X (stop) still needs converting
_REGION = re.compile(r"^([A-Z*])(\d+)_([A-Z*])(\d+)(.*)$")
_FS_TAIL = re.compile(r"fs(\*|X)?\d*$")
_FS_RESIDUE = re.compile(r"^([A-Z*]\d+)[A-Z]fs$")
_X_STOP = re.compile(r"(?<=\d)X$")


def gene_symbol(name: str) -> str:
    g = name.strip().upper()
    return GENE_ALIASES.get(g, g)


def protein_change(text: str | None) -> str:
    """Canonical one-letter protein change, or ``""`` when there is none."""
    if not text:
        return ""
    t = text.strip()
    if " " in t:  # "BRAF V600E": drop the gene
        t = t.split()[-1]
    t = t.removeprefix("p.").strip("()")
    if not t or t in {".", "?", "="}:
        return ""
    if _ONE_LETTER.fullmatch(t):  # already canonical (most MAF HGVSp_Short values)
        return t
    if t != t.upper():  # three-letter residues have lower-case letters ("fs" too)
        t = _THREE.sub(lambda m: THREE_TO_ONE[m.group(0)], t)
        if "fs" in t:
            t = _FS_TAIL.sub("fs", t)
            t = _FS_RESIDUE.sub(r"\1fs", t)  # G574Rfs -> G574fs
    return _X_STOP.sub("*", t) if t.endswith("X") else t  # nonsense written with X


def codon(change: str) -> str:
    """``V600E`` -> ``V600``; empty for changes that span residues."""
    m = _SIMPLE.match(change)
    return f"{m.group(1)}{m.group(2)}" if m else ""


def residues(change: str) -> tuple[int, int] | None:
    """First and last residue a canonical change touches (``E746_A750del`` -> (746, 750))."""
    m = _REGION.match(change)
    if m:
        return int(m.group(2)), int(m.group(4))
    m = _SIMPLE.match(change)
    if m:
        return int(m.group(2)), int(m.group(2))
    return None


def fusion_pair(text: str) -> tuple[str, str | None] | None:
    """(5' gene, 3' gene) of a fusion, (gene, None) for "GENE fusion", None if not a fusion."""
    t = text.strip()
    lowered = t.lower()
    for word in (" fusions", " fusion", " rearrangement", " translocation"):
        if lowered.endswith(word):
            gene = t[: -len(word)].strip()
            if re.fullmatch(r"[A-Za-z0-9.]+", gene):
                return gene_symbol(gene), None
            return _split(gene)
    return _split(t)


def _split(t: str) -> tuple[str, str | None] | None:
    for sep in ("::", "--", "-", "/"):
        if sep in t:
            a, _, b = t.partition(sep)
            a, b = a.strip(), b.strip().split()[0] if b.strip() else ""
            if re.fullmatch(r"[A-Za-z0-9.]+", a) and re.fullmatch(r"[A-Za-z0-9.]+", b):
                return gene_symbol(a), gene_symbol(b)
    return None
