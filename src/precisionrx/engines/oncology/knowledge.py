"""The oncology knowledge base: biomarker -> therapy evidence rows and the OncoTree subset.

kb/data/oncology/biomarkers.tsv (built by tools/build_kb.py from MOAlmanac and CIViC) has one row
per biomarker, tumour type, therapy and response. ``kind`` says how the row matches: ``genomic``
coordinates, ``protein``, ``codon``, ``exon`` (+ variant class), ``gene_any``, ``gene_lof``,
``amplification``, ``deletion``, ``fusion`` (``gene2`` empty = any partner), ``msi_high``,
``tmb_high``; ``unsupported`` rows are never matched. A user-added CIViC export lives under
``~/.precisionrx/kb/civic`` (``precisionrx kb add civic FILE``) and is read as an extra source.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class OncologyKb:
    rows: list[dict[str, str]]
    parents: dict[str, str]
    names: dict[str, str]
    about: dict[str, Any]
    extra_sources: list[dict[str, str]] = field(default_factory=list)
    by_gene: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    by_kind: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path, extra: list[Path] | None = None) -> OncologyKb:
        with (folder / "biomarkers.tsv").open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        extra_sources = []
        for path in extra or []:
            with path.open(encoding="utf-8") as fh:
                added = list(csv.DictReader(fh, delimiter="\t"))
            if any(r["source"].startswith("civic") for r in added):
                # a user's CIViC export replaces the packaged 2018 snapshot
                rows = [r for r in rows if not r["source"].startswith("civic-2018")]
            rows += added
            meta = path.with_suffix(".json")
            if meta.is_file():
                extra_sources.append(json.loads(meta.read_text()))
        parents: dict[str, str] = {}
        names: dict[str, str] = {}
        with (folder / "oncotree_subset.tsv").open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                parents[r["code"]] = r["parent"] or ""
                names[r["code"]] = r["name"]
        about = json.loads((folder / "about.json").read_text())
        kb = cls(rows, parents, names, about, extra_sources)
        by_gene: dict[str, list[dict[str, str]]] = defaultdict(list)
        by_kind: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in rows:
            if r["kind"] == "unsupported":
                continue
            by_kind[r["kind"]].append(r)
            if r["gene"]:
                by_gene[r["gene"]].append(r)
            if r["kind"] == "fusion" and r["gene2"]:
                by_gene[r["gene2"]].append(r)
        kb.by_gene, kb.by_kind = dict(by_gene), dict(by_kind)
        return kb

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
