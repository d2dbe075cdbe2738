"""Knowledge added by the user at run time (``precisionrx kb add civic FILE``).

Stored under ``$PRECISIONRX_HOME/kb`` (default ``~/.precisionrx/kb``) as a converted biomarker
table plus a JSON record of the file, its sha256, the date added and the row counts, so the
report can name the knowledge-base version it used. Writing is atomic.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from precisionrx.kb.oncology_sources import BIOMARKER_COLUMNS, civic_rows, read_disease_map


def user_kb_dir() -> Path:
    home = os.environ.get("PRECISIONRX_HOME")
    return (Path(home) if home else Path.home() / ".precisionrx") / "kb"


def added_civic() -> Path | None:
    path = user_kb_dir() / "civic" / "biomarkers.tsv"
    return path if path.is_file() else None


def add_civic(export: Path, packaged_oncology: Path) -> dict[str, Any]:
    """Convert a CIViC clinical-evidence export and store it; returns its record."""
    digest = hashlib.sha256(export.read_bytes()).hexdigest()
    stamp = datetime.now(UTC).date().isoformat()
    rows = civic_rows(
        export, read_disease_map(packaged_oncology / "civic_disease_oncotree.tsv"), stamp
    )
    folder = user_kb_dir() / "civic"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "biomarkers.tsv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
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
    (folder / "biomarkers.json.tmp").write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(folder / "biomarkers.tsv")
    (folder / "biomarkers.json.tmp").replace(folder / "biomarkers.json")
    return record
