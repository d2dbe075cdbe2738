"""Knowledge added by the user at run time (``precisionrx kb add civic FILE``).

Stored under ``$PRECISIONRX_HOME/kb/<name>/`` (default ``~/.precisionrx/kb``) as a converted
table with an ``about.json`` in the packaged sources' format (version, date, licence, the
sha256 of every file and the bundle sha256), so the registry lists it, ``kb verify`` checks
it and every result names it. ``biomarkers.json`` keeps the record of the export itself (file
name, its sha256, the date added, row counts). Writing is atomic: the new files are written
beside the old ones and renamed into place, ``about.json`` last.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from precisionrx.kb.oncology_sources import BIOMARKER_COLUMNS, civic_rows, read_disease_map
from precisionrx.kb.registry import KnowledgeBase, bundle_sha256

CIVIC_TABLE = "biomarkers.tsv"
CIVIC_RECORD = "biomarkers.json"


def user_kb_dir(kb: KnowledgeBase) -> Path:
    return kb.home / "kb"


def add_civic(export: Path, kb: KnowledgeBase) -> dict[str, Any]:
    """Convert a CIViC clinical-evidence export and register it; returns its record."""
    raw = export.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    stamp = datetime.now(UTC).date().isoformat()
    disease_map = read_disease_map(kb.source_dir("oncology") / "civic_disease_oncotree.tsv")
    rows = civic_rows(export, disease_map, stamp)
    folder = user_kb_dir(kb) / "civic"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{CIVIC_TABLE}.tmp").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, BIOMARKER_COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    record = {
        "name": "civic",
        "file": export.name,
        "sha256": digest,
        "added": stamp,
        "rows": len(rows),
        "matchable_rows": sum(1 for r in rows if r["kind"] != "unsupported"),
        "license": "CC0 1.0 (CIViC)",
    }
    (folder / f"{CIVIC_RECORD}.tmp").write_text(json.dumps(record, indent=1) + "\n")
    files = {
        name: hashlib.sha256((folder / f"{name}.tmp").read_bytes()).hexdigest()
        for name in (CIVIC_TABLE, CIVIC_RECORD)
    }
    about = {
        "name": "civic",
        # The export has no version of its own: the date added and the export's checksum
        # tell two imports apart.
        "version": f"user {stamp} ({digest[:12]})",
        "date": stamp,
        "license": "CC0 1.0 (CIViC)",
        "source": f"CIViC clinical evidence export {export.name} added with precisionrx kb add",
        "files": files,
        "sha256": bundle_sha256(files),
    }
    (folder / "about.json.tmp").write_text(json.dumps(about, indent=1) + "\n")
    for name in (CIVIC_TABLE, CIVIC_RECORD, "about.json"):
        (folder / f"{name}.tmp").replace(folder / name)
    return record
