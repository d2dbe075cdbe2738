"""The tables and row-heavy documents of the commands: risk CSV, CGM metrics CSV, CGM alerts
CSV, PRS TSV and the PRS JSON with its match log (docs/cli/*.md give the columns and fields).

Large tables are written by polars (C speed, floats as their shortest round-trip digits,
empty cell for a missing value); small ones by :mod:`precisionrx.report.writers`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from precisionrx.report.output import dumps, write_atomic_with
from precisionrx.report.writers import tsv_text

if TYPE_CHECKING:
    import polars as pl

    from precisionrx.records.cardio import RiskResult
    from precisionrx.records.monitoring import Alert, CgmMetricsResult
    from precisionrx.records.prs import PrsResult

#: ``precisionrx risk --format csv`` columns (docs/cli/risk.md).
RISK_COLUMNS = ["id", "model", "variant", "horizon_years", "outcome", "risk", "category", "caveats"]
#: ``precisionrx prs --format tsv`` columns (docs/cli/prs.md).
PRS_COLUMNS = ["pgs_id", "sample", "sum", "variants_matched", "variants_in_score", "percentile",
               "z"]  # fmt: skip


def _write_blocks(fh: BinaryIO, blocks: list[pl.DataFrame]) -> None:
    if not blocks:
        fh.write((",".join(RISK_COLUMNS) + "\n").encode())
    for i, block in enumerate(blocks):
        block.write_csv(fh, include_header=(i == 0))


def write_risk_csv(path: Path, blocks: list[pl.DataFrame]) -> None:
    """Stream the risk blocks into ``path``; the file appears whole or not at all."""

    def write(fh: BinaryIO) -> None:
        _write_blocks(fh, blocks)

    write_atomic_with(path, write)


def risk_csv(blocks: list[pl.DataFrame]) -> str:
    """The risk CSV as text (the header alone when there is no row)."""
    text = "".join(b.write_csv(include_header=(i == 0)) for i, b in enumerate(blocks))
    return text or ",".join(RISK_COLUMNS) + "\n"


def estimates_csv(result: RiskResult) -> str:
    """The CSV text of typed estimates, identical to the streamed blocks: caveats rendered as
    ``code: message`` joined with "; "."""
    import polars as pl

    from precisionrx.engines.cardio.runner import caveats_text

    rows = result.results
    frame = pl.DataFrame(
        {
            "id": [r.id for r in rows],
            "model": [r.model for r in rows],
            "variant": [r.variant for r in rows],
            "horizon_years": [r.horizon_years for r in rows],
            "outcome": [r.outcome for r in rows],
            "risk": [r.risk for r in rows],
            "category": [r.category for r in rows],
            "caveats": [caveats_text(r.caveats) for r in rows],
        },
        schema={"id": pl.Utf8, "model": pl.Utf8, "variant": pl.Utf8, "horizon_years": pl.Int32,
                "outcome": pl.Utf8, "risk": pl.Float64, "category": pl.Utf8,
                "caveats": pl.Utf8},
    )  # fmt: skip
    return frame.write_csv()


def metrics_csv(result: CgmMetricsResult) -> str:
    """The metrics CSV: the metric columns (docs/cli/monitor.md, in order), then
    ``sufficient_data`` and ``consensus_met``; numbers as the shortest round-trip repr."""
    return metrics_frame(result).write_csv()


def metrics_frame(result: CgmMetricsResult) -> pl.DataFrame:
    """The rows of :func:`metrics_csv` as a typed frame (one per subject)."""
    import polars as pl

    from precisionrx.records.monitoring import CgmMetricValues

    def dtype(annotation: Any) -> Any:
        kinds = set(getattr(annotation, "__args__", (annotation,)))
        if int in kinds:
            return pl.Int64
        return pl.Float64 if float in kinds else pl.Utf8

    schema = {name: dtype(f.annotation) for name, f in CgmMetricValues.model_fields.items()}
    schema |= {"sufficient_data": pl.Boolean, "consensus_met": pl.Boolean}
    rows = [
        {**s.model_dump(exclude={"consensus"}), "sufficient_data": s.consensus.sufficient_data,
         "consensus_met": s.consensus.all_met}
        for s in result.subjects
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def prs_tsv(result: PrsResult) -> str:
    """One row per score and sample."""
    rows = result.rows()
    return tsv_text(PRS_COLUMNS, ([getattr(r, c) for c in PRS_COLUMNS] for r in rows))


def prs_json(result: PrsResult, match_logs: Iterable[pl.DataFrame]) -> str:
    """``{"scores": [...], "match_log": [...], "match_summary": [...], "provenance": {...}}``
    (``match_summary``: per scoring file the counts by status and reason, and of the build
    conversion when there was one) with one match-log row per
    line (the log can hold millions of rows; polars writes them at C speed, NaN as null)."""
    import polars as pl

    scores = [r.model_dump(mode="json") for r in result.rows()]
    logs = list(match_logs)
    log = pl.concat(logs) if logs else pl.DataFrame()
    rows = log.write_ndjson().rstrip("\n").replace("\n", ",\n") if log.height else ""
    prov = result.provenance.model_dump(mode="json") if result.provenance else None
    summary = [s.match_log.model_dump(mode="json") for s in result.scores]
    return ('{"scores": ' + dumps(scores, indent=1) + ',\n"match_log": [\n' + rows
            + '\n],\n"match_summary": ' + dumps(summary)
            + ',\n"provenance": ' + dumps(prov) + "}\n")  # fmt: skip


def alerts_csv(alerts: Iterable[Alert]) -> str:
    """One CSV row per alert (``monitor alerts --format csv``), columns
    :data:`~precisionrx.engines.monitoring.alerts.ALERT_FIELDS`: the JSON object's fields, numbers
    unrounded (shortest round-trip repr), missing values empty, ``readings`` the JSON array of
    ``{"time", "value"}`` objects written compactly."""
    import csv
    import io
    import json

    from precisionrx.engines.monitoring.alerts import ALERT_FIELDS

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ALERT_FIELDS)
    for alert in alerts:
        row = alert.as_dict()
        row["readings"] = json.dumps(row["readings"], separators=(",", ":"))
        writer.writerow(["" if row[k] is None else row[k] for k in ALERT_FIELDS])
    return buffer.getvalue()
