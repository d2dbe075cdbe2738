"""``cohort cgm``: CGM metrics for a folder (or list) of exports.

Shards: groups of files. Each subject's readings must be in one file (a Dexcom Clarity export
is one person; an ``id,time,gl`` table may hold many people, each within that file). Rows: the
columns of ``precisionrx monitor metrics --format csv`` (one per subject), plus ``file``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from precisionrx.cohort.runner import Shard, file_identity, kb_versions, worker_kb

if TYPE_CHECKING:
    import pyarrow as pa

FILES_PER_SHARD = 16
#: File name endings read as CGM exports when a folder is given.
SUFFIXES = (".csv", ".tsv", ".txt", ".json")


def cgm_files(inputs: Sequence[Path]) -> list[Path]:
    """The exports: files as given, and the files of each folder (sorted; hidden ones not)."""
    out: list[Path] = []
    for path in inputs:
        if path.is_dir():
            out += sorted(p for p in path.iterdir()
                          if p.is_file() and not p.name.startswith(".")
                          and p.suffix.lower() in SUFFIXES)  # fmt: skip
        else:
            out.append(path)
    return out


def cgm_shards(
    files: Sequence[Path], tz: str | None, population: str, files_per_shard: int = FILES_PER_SHARD
) -> tuple[list[Shard], dict[str, Any]]:
    shards = [
        Shard(i, {"files": [str(p.resolve()) for p in files[start : start + files_per_shard]],
                  "tz": tz, "population": population},
              f"{files[start].name} and {len(files[start : start + files_per_shard]) - 1} more")
        for i, start in enumerate(range(0, len(files), files_per_shard))
    ]  # fmt: skip
    identity = {"inputs": [file_identity(p) for p in files], "tz": tz, "population": population,
                "kb": kb_versions(worker_kb())}  # fmt: skip
    return shards, identity


def cgm_shard(spec: dict[str, Any]) -> pa.Table:
    import polars as pl

    from precisionrx.engines.monitoring.api import cgm_metrics
    from precisionrx.engines.monitoring.metrics_table import MetricOptions
    from precisionrx.io.cgm import read_cgm
    from precisionrx.report.tables import metrics_frame

    options = MetricOptions(population=spec["population"])
    frames = []
    for name in spec["files"]:
        result = cgm_metrics(read_cgm(Path(name), spec["tz"]), worker_kb(), options)
        frames.append(metrics_frame(result).with_columns(pl.lit(name).alias("file")))
    return pl.concat(frames, how="vertical").to_arrow()
