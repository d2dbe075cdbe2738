"""The oncology knowledge base: biomarker -> therapy evidence rows and the OncoTree subset.

kb/data/oncology/biomarkers.tsv (built by tools/build_kb.py from MOAlmanac and CIViC) has one row
per biomarker, tumour type, therapy and response. ``kind`` says how the row matches: ``genomic``
coordinates, ``protein``, ``codon``, ``exon`` (+ variant class), ``gene_any``, ``gene_lof``,
``amplification``, ``deletion``, ``fusion`` (``gene2`` empty = any partner), ``msi_high``,
``tmb_high``; ``unsupported`` rows are never matched. A user-added CIViC export lives under
``$PRECISIONRX_HOME/kb/civic`` (``precisionrx kb add civic FILE``) and is read as an extra source
that replaces the packaged CIViC 2018 snapshot. Everything is read through the
:class:`~precisionrx.kb.registry.KnowledgeBase` (:func:`oncology_kb`, built once per object).

Coordinates: ``chrom``/``pos``/``ref``/``alt`` are on the row's ``build`` (GRCh37 for every
packaged row). The build converts them to GRCh38 with the packaged Ensembl chain
(kb/liftover.py) into ``chrom_grch38``/``pos_grch38``/``ref_grch38``/``alt_grch38``, with
``liftover`` = ``ok`` or ``failed:<reason>`` (empty without coordinates) and
``liftover_method`` = ``chain+`` or ``chain-revcomp`` (a minus-strand block: REF and ALT
reverse-complemented). Rows of a user-added export are converted the same way when loaded.
Failures are listed in kb/data/oncology/liftover_report.tsv; reference bases are not re-checked
after conversion (no reference sequence is shipped).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from precisionrx.errors import KbIntegrityError, KbNotFound
from precisionrx.kb.liftover import (
    BUILDS,
    Chain,
    LiftedVariant,
    ensembl_chrom,
    lift_variant,
    packaged_chain,
)
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.oncology import AddedSource

#: Columns the build adds after kb.oncology_sources.BIOMARKER_COLUMNS.
LIFTOVER_COLUMNS = [
    "chrom_grch38", "pos_grch38", "ref_grch38", "alt_grch38", "liftover", "liftover_method",
]  # fmt: skip
#: One row per distinct GRCh37 variant that did not convert (liftover_report.tsv).
LIFTOVER_REPORT_COLUMNS = (
    "chrom", "pos", "ref", "alt", "reason", "detail", "rows", "alterations", "source_ids",
)  # fmt: skip
Row = dict[str, str]


def coordinate_key(row: Row) -> tuple[str, str, str, str]:
    return row["chrom"], row["pos"], row["ref"], row["alt"]


def _allele(seq: str) -> str:
    return seq.upper() if seq not in ("", "-") else "-"


def _lift(key: tuple[str, str, str, str], chain: Chain, back: Chain | None) -> Row:
    """GRCh38 columns for one variant; with ``back``, the result must convert back to it."""
    chrom, pos, ref, alt = key
    try:
        position = int(pos)
    except ValueError:
        return {"liftover": "failed:bad_position", "detail": f"position {pos!r}"}
    lifted = lift_variant(chain, chrom, position, ref, alt)
    if not isinstance(lifted, LiftedVariant):
        return {"liftover": str(lifted), "detail": lifted.detail}
    if back is not None:
        again = lift_variant(back, lifted.chrom, lifted.pos, lifted.ref, lifted.alt)
        home = (ensembl_chrom(chrom), position, _allele(ref), _allele(alt))
        if not isinstance(again, LiftedVariant) or (
            (again.chrom, again.pos, again.ref, again.alt) != home
        ):
            return {"liftover": "failed:round_trip_mismatch",
                    "detail": f"{lifted.chrom}:{lifted.pos} does not convert back"}  # fmt: skip
    return {
        "chrom_grch38": lifted.chrom, "pos_grch38": str(lifted.pos), "ref_grch38": lifted.ref,
        "alt_grch38": lifted.alt, "liftover": "ok", "liftover_method": lifted.method,
    }  # fmt: skip


def lift_rows(rows: list[Row], chain: Chain, back: Chain | None = None) -> list[Row]:
    """Fill the GRCh38 columns of ``rows`` in place (rows on ``chain.source_build`` only) and
    return one report row per distinct variant that failed to convert."""
    if (chain.source_build, chain.target_build) != ("GRCh37", "GRCh38"):
        raise ValueError(f"expected a GRCh37 -> GRCh38 chain, got {chain.name}")
    if back is not None and (back.source_build, back.target_build) != ("GRCh38", "GRCh37"):
        raise ValueError(f"expected a GRCh38 -> GRCh37 chain, got {back.name}")
    done: dict[tuple[str, str, str, str], Row] = {}
    failed: dict[tuple[str, str, str, str], list[Row]] = {}
    for row in rows:
        for col in LIFTOVER_COLUMNS:
            row[col] = ""
        if not row["pos"] or row["build"] != chain.source_build:
            continue
        key = coordinate_key(row)
        if key not in done:
            done[key] = _lift(key, chain, back)
        result = done[key]
        row.update((k, v) for k, v in result.items() if k in LIFTOVER_COLUMNS)
        if result["liftover"] != "ok":
            failed.setdefault(key, []).append(row)
    return [
        {
            "chrom": key[0],
            "pos": key[1],
            "ref": key[2],
            "alt": key[3],
            "reason": done[key]["liftover"].removeprefix("failed:"),
            "detail": done[key].get("detail", ""),
            "rows": str(len(members)),
            "alterations": "; ".join(sorted({m["alteration"] for m in members})),
            "source_ids": " ".join(f"{m['source']}:{m['source_id']}" for m in members),
        }
        for key, members in failed.items()
    ]


NATIVE_COLUMNS = ("chrom", "pos", "ref", "alt")
GRCH38_COLUMNS = ("chrom_grch38", "pos_grch38", "ref_grch38", "alt_grch38")


def coordinate_columns(row: Row, build: str | None) -> tuple[str, str, str, str] | None:
    """Names of the row's chrom/pos/REF/ALT columns on ``build``: its own when the build is
    theirs or unknown (then coordinate matches assume the row's build, with a caveat), the
    converted GRCh38 ones for GRCh38 input, else None (no coordinates on that build)."""
    if not row["pos"]:
        return None
    native = row["build"]
    if not build or not native or native == build:
        return NATIVE_COLUMNS
    if build == "GRCh38" and native == "GRCh37" and row.get("liftover") == "ok":
        return GRCH38_COLUMNS
    return None


def _position_keys(row: Row) -> list[tuple[str, str, int]]:
    """Index keys (build or '' for unknown-build input, chrom, pos) the row can match at."""
    native = row["build"]
    try:
        pos = int(row["pos"])
    except ValueError:
        return []
    keys = [("", row["chrom"], pos)]
    keys += [(native, row["chrom"], pos)] if native else [(b, row["chrom"], pos) for b in BUILDS]
    if native == "GRCh37" and row.get("liftover") == "ok":
        keys.append(("GRCh38", row["chrom_grch38"], int(row["pos_grch38"])))
    return keys


@dataclass(frozen=True, slots=True)
class OncologyKb:
    """The biomarker rows (packaged, or replaced/extended by a user import), the OncoTree
    subset and the indexes the matcher uses. Rows are shared: never modify them."""

    rows: list[Row]
    parents: dict[str, str]
    names: dict[str, str]
    about: dict[str, Any]
    added: list[AddedSource] = field(default_factory=list)
    by_gene: dict[str, list[Row]] = field(default_factory=dict)
    by_kind: dict[str, list[Row]] = field(default_factory=dict)
    by_position: dict[tuple[str, str, int], list[Row]] = field(default_factory=dict)
    #: (source, source_id) -> {"flag", "reason"} from evidence_flags.tsv
    flags: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def flag(self, row: Row) -> dict[str, str] | None:
        """The curated flag of a biomarker row (evidence_flags.tsv), or None."""
        return self.flags.get((row["source"], row["source_id"]))

    def at_position(self, build: str | None, chrom: str, pos: int) -> list[Row]:
        """Rows with coordinates at ``chrom:pos`` on ``build`` (None: on the row's own build)."""
        return self.by_position.get((build or "", chrom, pos), [])

    @property
    def liftover(self) -> dict[str, Any]:
        """The build's GRCh37 -> GRCh38 conversion summary (about.json ``liftover``)."""
        summary: dict[str, Any] = self.about.get("liftover", {})
        return summary

    def lineage(self, code: str) -> list[str]:
        """The code and its ancestors, most specific first (unknown codes: just the code)."""
        out = []
        seen = set()
        while code and code not in seen:
            out.append(code)
            seen.add(code)
            code = self.parents.get(code, "")
        return out

    def known(self, code: str) -> bool:
        return code in self.parents

    def tumor_match(self, patient: str | None, row_code: str) -> str:
        """``pan-cancer`` (row has no tumour type), ``same`` (one code is the other or its
        ancestor in OncoTree: NSCLC evidence applies to LUAD, lung-cancer evidence to NSCLC) or
        ``other`` (including a sibling such as SCLC evidence for LUAD)."""
        if not row_code:
            return "pan-cancer"
        if not patient or row_code == "?":
            return "other"
        if row_code in self.lineage(patient) or patient in self.lineage(row_code):
            return "same"
        return "other"


def oncology_kb(kb: KnowledgeBase) -> OncologyKb:
    """The oncology knowledge base of ``kb``, built once per knowledge-base object.

    The packaged ``oncology`` source (biomarkers.tsv, oncotree_subset.tsv, evidence_flags.tsv,
    about.json) plus a user-added CIViC export (``precisionrx kb add civic FILE``), whose rows
    replace the packaged CIViC 2018 snapshot; its GRCh37 coordinates are converted to GRCh38
    with the packaged chain when loaded.
    """
    return kb.memo("oncology.kb", lambda: _build(kb))


def oncotree_codes(kb: KnowledgeBase) -> list[str]:
    """The OncoTree codes of the subset the oncology knowledge base ships."""
    return [r["code"] for r in kb.rows("oncology", "oncotree_subset.tsv")]


def _build(kb: KnowledgeBase) -> OncologyKb:
    rows = list(kb.rows("oncology", "biomarkers.tsv"))
    added: list[AddedSource] = []
    civic = kb.user_source("civic")
    if civic is not None:
        extra = [dict(r) for r in kb.rows("civic", "biomarkers.tsv", user=True)]  # lifted below
        _lift_added(extra, kb)
        if any(r["source"].startswith("civic") for r in extra):
            # a user's CIViC export replaces the packaged 2018 snapshot
            rows = [r for r in rows if not r["source"].startswith("civic-2018")]
        rows += extra
        try:
            record = kb.json("civic", "biomarkers.json", user=True)
        except KbNotFound:
            record = None
        if record is not None:
            try:
                added.append(AddedSource.model_validate(record))
            except ValidationError as exc:
                raise KbIntegrityError(
                    f"the record of the added CIViC export is not valid: {exc}",
                    path=civic.path,
                ) from exc
    parents: dict[str, str] = {}
    names: dict[str, str] = {}
    for r in kb.rows("oncology", "oncotree_subset.tsv"):
        parents[r["code"]] = r["parent"] or ""
        names[r["code"]] = r["name"]
    flags = (
        {
            (r["source"], r["source_id"]): {"flag": r["flag"], "reason": r["reason"]}
            for r in kb.rows("oncology", "evidence_flags.tsv")
        }
        if kb.has("oncology", "evidence_flags.tsv")
        else {}
    )
    by_gene: dict[str, list[Row]] = defaultdict(list)
    by_kind: dict[str, list[Row]] = defaultdict(list)
    by_position: dict[tuple[str, str, int], list[Row]] = defaultdict(list)
    for r in rows:
        if r["kind"] == "unsupported":
            continue  # never matched, by name or by coordinates
        if r["pos"]:
            for key in _position_keys(r):
                by_position[key].append(r)
        by_kind[r["kind"]].append(r)
        if r["gene"]:
            by_gene[r["gene"]].append(r)
        if r["kind"] == "fusion" and r["gene2"]:
            by_gene[r["gene2"]].append(r)
    return OncologyKb(
        rows=rows,
        parents=parents,
        names=names,
        about=dict(kb.json("oncology", "about.json")),
        added=added,
        by_gene=dict(by_gene),
        by_kind=dict(by_kind),
        by_position=dict(by_position),
        flags=flags,
    )


def _lift_added(rows: list[Row], kb: KnowledgeBase) -> None:
    """Give a user-added table (written without the GRCh38 columns) its converted coordinates."""
    if any(r.get("pos") and r.get("build") == "GRCh37" for r in rows):
        lift_rows(rows, packaged_chain("GRCh37", "GRCh38", kb.source_dir("genome")))
    else:
        for row in rows:
            for col in LIFTOVER_COLUMNS:
                row.setdefault(col, "")
