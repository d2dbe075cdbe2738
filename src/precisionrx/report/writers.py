"""The text of every machine-readable output: JSON, JSON by lines, CSV and TSV.

Every command writes its documents through these functions (the files themselves through
:mod:`precisionrx.report.output`, atomically), so that all outputs follow one rule set:

* full precision: floats as Python's shortest round-trip repr, never rounded (rounding belongs
  to the HTML and console views);
* strict JSON (RFC 8259): a non-finite float is written as null, never ``NaN``/``Infinity``;
* UTF-8 text, one final newline;
* CSV/TSV: a header row, empty cell for a missing value, ``true``/``false`` for booleans.

The JSON documents name the tool and knowledge-base versions (``provenance`` or
``precisionrx_version`` + ``knowledge_bases``); CSV and TSV tables keep their documented
columns only, so their versions are those of the same command's JSON output.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from precisionrx.records.evidence import KbVersion, Provenance
from precisionrx.report.output import dumps, json_lines


def _plain(doc: BaseModel | Mapping[str, Any] | Sequence[Any]) -> Any:
    return doc.model_dump(mode="json") if isinstance(doc, BaseModel) else doc


def json_text(doc: BaseModel | Mapping[str, Any] | Sequence[Any], indent: int | None = 1) -> str:
    """A JSON document (a model in its JSON form), indented, strict, with a final newline.

    >>> json_text({"risk": float("nan"), "x": 0.1 + 0.2}, indent=None)
    '{"risk": null, "x": 0.30000000000000004}\\n'
    """
    return dumps(_plain(doc), indent=indent, ensure_ascii=False) + "\n"


def json_by_lines(doc: BaseModel | Mapping[str, Any]) -> str:
    """A JSON document with one line per top-level key and per element of top-level lists:
    for documents with many rows (alerts, tumour alterations), which an indented dump writes
    slowly and a reader diffs badly."""
    return json_lines(_plain(doc))


def model_json(model: BaseModel, indent: int = 2) -> str:
    """A model through pydantic's compiled encoder (fast for biobank-sized documents; pydantic
    writes non-finite floats as null by default, ``ser_json_inf_nan='null'``)."""
    return model.model_dump_json(indent=indent) + "\n"


def cell(value: Any) -> str:
    """A table cell: empty for None, ``true``/``false`` for booleans, numbers unrounded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tsv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A tab-separated table; a tab or newline inside a cell becomes a space."""
    lines = ["\t".join(columns)]
    for row in rows:
        cells = (cell(v).replace("\t", " ").replace("\n", " ") for v in row)
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An RFC 4180 CSV table (quoted where needed, ``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def versions_text(tool_version: str, knowledge_bases: Iterable[KbVersion | dict[str, str]]) -> str:
    """``precisionrx 0.1.0; knowledge bases: cpic 2025-…, …`` for a note or a conclusion."""
    names = []
    for k in knowledge_bases:
        name, version = (
            (k.name, k.version) if isinstance(k, KbVersion) else (k["name"], k["version"])
        )
        names.append(f"{name} {version}")
    kbs = ", ".join(names) or "none"
    return f"precisionrx {tool_version}; knowledge bases: {kbs}"


def provenance_text(provenance: Provenance | None) -> str:
    """The version line of a result's provenance (the running tool's version without one)."""
    if provenance is None:
        from precisionrx import __version__

        return versions_text(__version__, ())
    return versions_text(provenance.tool_version, provenance.knowledge_bases)
