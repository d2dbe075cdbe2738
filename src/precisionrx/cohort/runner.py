"""Running a cohort's shards on Dask and writing their results.

A run is a list of :class:`Shard` s, each a JSON description of a piece of work (an input
file, a gene, a block of samples or rows) that a task function (:data:`TASKS`) turns into a
table. Shards run on a Dask cluster: by default a ``LocalCluster`` of one single-threaded
worker process per core; with ``scheduler`` an existing cluster, unchanged (its workers need
precisionrx installed and the inputs and output on a file system they share).

The output ``OUT.parquet`` is a directory:

- ``part-NNNNN.parquet``: one file per shard, written by the worker that ran it, first under a
  temporary name and then renamed, so a part file is complete or absent: a crash or kill never
  leaves a partial part that a later read or ``--resume`` would take as done;
- ``_cohort.json``: what the run is (kind, inputs with their size and fingerprint, options,
  versions) and its shards; ``--resume`` refuses to continue a different run;
- ``_SUCCESS``: written last, when every shard is done.

Temporary files (``.part-NNNNN.parquet.<random>.tmp``) of a killed run may remain; no part
pattern matches them, and they are not deleted, because on a shared cluster a task of the killed
client may still be writing one.

``OUT.duckdb`` beside it holds the view ``results`` over the parts (DuckDB).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from precisionrx.errors import ConfigError, InputError, OutputPathError, PrecisionRxError

if TYPE_CHECKING:
    import pyarrow as pa
    from distributed import Client

    from precisionrx.kb.registry import KnowledgeBase

MANIFEST = "_cohort.json"
SUCCESS = "_SUCCESS"
#: Task functions by name: ``module:function`` taking a shard's spec, returning a table.
TASKS = {
    "pgx": "precisionrx.cohort.pgx:pgx_shard",
    "prs": "precisionrx.cohort.prs:prs_shard",
    "risk": "precisionrx.cohort.risk:risk_shard",
    "cgm": "precisionrx.cohort.cgm:cgm_shard",
}
INSTALL_HINT = "reinstall precisionrx (pip install .): Dask, pyarrow and DuckDB are dependencies"


@dataclass(frozen=True)
class Shard:
    index: int
    #: JSON-able description of the work, read by the task function.
    spec: dict[str, Any]
    #: Short text for progress and errors ("CYP2D6, samples 1-5000 of in.vcf.gz").
    label: str

    @property
    def part(self) -> str:
        return f"part-{self.index:05d}.parquet"


@dataclass(frozen=True)
class RunSummary:
    shards: int
    done_before: int
    rows: int
    output: Path
    view: Path


@functools.cache
def worker_kb() -> KnowledgeBase:
    """The knowledge base, loaded once per process (each worker's, and the planner's)."""
    from precisionrx.kb.registry import KnowledgeBase

    return KnowledgeBase()


def kb_versions(kb: KnowledgeBase) -> list[str]:
    """``precisionrx X`` and ``name version`` of each knowledge base: part of a run's identity."""
    from precisionrx import __version__

    return [f"precisionrx {__version__}", *(f"{v['name']} {v['version']}" for v in kb.versions())]


def vcf_samples(path: Path) -> list[str]:
    """The sample names of a genotype file (VCF/BCF, PLINK 1/2, BGEN; opening it checks the
    file, once, for the planner)."""
    from precisionrx.io.genotypes import genotype_samples

    return genotype_samples(path)


def require_cohort_dependencies() -> None:
    """A clear error when Dask, pyarrow or DuckDB is not installed."""
    for module in ("distributed", "pyarrow", "duckdb"):
        try:
            importlib.import_module(module)
        except ImportError:
            raise ConfigError(f"cohort runs need {module}", hint=INSTALL_HINT) from None


def file_identity(path: Path) -> dict[str, Any]:
    """Size and a fingerprint (sha256 of the first MiB) of an input: enough to notice that
    ``--resume`` was given other data under the same name."""
    from precisionrx.io.genotypes import companion_files, main_file

    path = main_file(path)  # a PLINK prefix: its .pgen/.bed
    h = hashlib.sha256()
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
    for extra in companion_files(path):  # sample and variant lists: their order matters
        h.update(extra.read_bytes())
    return {"path": str(path.resolve()), "size": path.stat().st_size, "sha256_1mib": h.hexdigest()}


def run_shard(task: str, spec: dict[str, Any], part: str) -> int:
    """Run one shard on a worker and write its part atomically; the number of rows."""
    import pyarrow.parquet as pq

    module, _, name = TASKS[task].partition(":")
    table: pa.Table = getattr(importlib.import_module(module), name)(spec)
    final = Path(part)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)
    return int(table.num_rows)


def _prepare(
    out: Path, identity: dict[str, Any], shards: Sequence[Shard], resume: bool
) -> set[int]:
    """The output folder ready for this run; the shards already done (``resume``)."""
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise OutputPathError("exists and is not a folder of Parquet parts", path=out)
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise OutputPathError(
                "already exists", path=out,
                hint="pass --resume to continue that run, or choose another output",
            )  # fmt: skip
        try:
            before = json.loads(manifest.read_text())
        except (OSError, ValueError):
            raise OutputPathError("is not a cohort run (no readable _cohort.json)",
                                  path=out) from None  # fmt: skip
        if before.get("identity") != identity:
            raise InputError(
                "--resume: this output was made by another run (other inputs, options or "
                "versions)", path=out, hint="choose another output, or rerun with the same "
                "inputs and options",
            )  # fmt: skip
        done = {s.index for s in shards if (out / s.part).is_file()}
        (out / SUCCESS).unlink(missing_ok=True)
        return done
    out.mkdir(parents=True, exist_ok=True)
    body = {"identity": identity, "shards": [asdict(s) for s in shards]}
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=1, allow_nan=False))
    tmp.replace(manifest)
    return set()


@contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Client]:
    """A client of the given scheduler, or of a LocalCluster sized to this machine (one
    single-threaded worker process per core, or ``workers``)."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:  # fmt: skip
        yield client


def run_cohort(
    task: str,
    shards: Sequence[Shard],
    out: Path,
    identity: dict[str, Any],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Run the shards not yet done, then mark the output complete and write the DuckDB view.

    :raises PrecisionRxError: a shard's input is bad (the first such error; finished parts
        stay). ``resume`` continues a run whose inputs are unchanged (after a crash, a kill, a
        lost node); a fixed input is another run, so its output folder starts afresh.
    """
    from distributed import as_completed

    require_cohort_dependencies()
    if not shards:
        raise InputError("nothing to run: the inputs hold no samples, rows or files to process")
    identity = {"task": task, **identity}
    done = _prepare(out, identity, shards, resume)
    todo = [s for s in shards if s.index not in done]
    rows = 0
    if progress is not None:
        progress(len(done), len(shards))
    if todo:
        with dask_client(scheduler, workers) as client:
            futures = {client.submit(run_shard, task, s.spec, str((out / s.part).resolve()),
                                     key=f"{task}-{uuid.uuid4().hex[:8]}-{s.index}",
                                     pure=False): s for s in todo}  # fmt: skip
            finished = len(done)
            try:
                for future in as_completed(futures):
                    shard = futures[future]
                    try:
                        rows += int(future.result())
                    except PrecisionRxError:
                        raise
                    except Exception as exc:
                        raise InputError(f"shard {shard.index} ({shard.label}) failed: "
                                         f"{type(exc).__name__}: {exc}") from None  # fmt: skip
                    finished += 1
                    if progress is not None:
                        progress(finished, len(shards))
            except BaseException:
                client.cancel(list(futures))
                raise
    view = write_view(out)
    (out / SUCCESS).write_text("")
    return RunSummary(shards=len(shards), done_before=len(done), rows=rows, output=out, view=view)


def view_path(out: Path) -> Path:
    return out.with_suffix(".duckdb") if out.suffix == ".parquet" else Path(f"{out}.duckdb")


def write_view(out: Path) -> Path:
    """``OUT.duckdb`` with the view ``results`` over the run's parts (replaced atomically)."""
    import duckdb

    target = view_path(out)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    pattern = str(out.resolve() / "part-*.parquet").replace("'", "''")
    try:
        with duckdb.connect(str(tmp)) as con:
            con.execute(f"CREATE VIEW results AS SELECT * FROM read_parquet('{pattern}', "
                        "union_by_name = true)")  # fmt: skip
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_results(out: Path) -> tuple[dict[str, Any], Any]:
    """A finished run's manifest and its rows as a polars frame.

    :raises InputError: the folder is not a finished cohort run.
    """
    import polars as pl

    if not (out / MANIFEST).is_file():
        raise InputError("is not a cohort run output (no _cohort.json)", path=out)
    if not (out / SUCCESS).is_file():
        raise InputError("is an unfinished cohort run", path=out,
                         hint="finish it first with the same command and --resume")  # fmt: skip
    manifest = json.loads((out / MANIFEST).read_text())
    parts = sorted(out.glob("part-*.parquet"))
    if not parts:
        return manifest, pl.DataFrame()
    return manifest, pl.read_parquet(parts)
