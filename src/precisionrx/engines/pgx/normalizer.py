"""Allele representation: map a VCF allele onto the definition's allele at a position.

Two VCFs can write the same change differently: with or without padding bases
(``C>CAT`` versus ``CAT>CATAT`` for UGT1A1 *28), split or joined multi-allelic records,
or, on GRCh37, on a reference that carries another base. We compare *edits*: trim the
shared suffix then the shared prefix of (REF, ALT), and compare the remaining deleted and
inserted sequence together with the position offset from the definition position.
"""

from __future__ import annotations

from collections.abc import Iterable

Edit = tuple[int, str, str]  # (offset from anchor, deleted sequence, inserted sequence)


def edit_of(pos: int, ref: str, alt: str, anchor: int) -> Edit:
    """The minimal edit of ``ref -> alt`` at ``pos``, as an offset from ``anchor``.

    >>> edit_of(233760233, "C", "CAT", 233760233)
    (1, '', 'AT')
    >>> edit_of(233760233, "CAT", "CATAT", 233760233)
    (1, '', 'AT')
    """
    r, a = ref, alt
    while len(r) > 0 and len(a) > 0 and r[-1] == a[-1]:
        r, a = r[:-1], a[:-1]
    lead = 0
    while lead < len(r) and lead < len(a) and r[lead] == a[lead]:
        lead += 1
    return (pos + lead - anchor, r[lead:], a[lead:])


def match_allele(
    rec_pos: int,
    rec_ref: str,
    rec_alt: str,
    def_pos: int,
    def_ref: str,
    candidates: Iterable[str],
) -> str | None:
    """The definition allele (from ``candidates``) equal to the record's ALT, if any.

    SNVs compare bases directly (which also serves GRCh37, where the reference base can
    be another named allele); other alleles compare edits.

    >>> match_allele(233760233, "C", "CATAT", 233760233, "CAT", ["CAT", "C", "CATAT"])
    'CATAT'
    >>> match_allele(10, "A", "T", 10, "A", ["A", "G"]) is None
    True
    """
    if rec_alt.startswith("<") or rec_alt in {"*", "."}:
        return None
    if rec_pos == def_pos and len(rec_ref) == len(rec_alt) == len(def_ref) == 1:
        return rec_alt if rec_alt in set(candidates) else None
    target = edit_of(rec_pos, rec_ref, rec_alt, def_pos)
    if target[1] == "" and target[2] == "":
        return def_ref
    for cand in candidates:
        if edit_of(def_pos, def_ref, cand, def_pos) == target:
            return cand
    return None
