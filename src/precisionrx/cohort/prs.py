"""``cohort prs``: polygenic scores for every sample of large VCF/BCF files.

Shards: each scoring file x block of samples of each input. Rows: one per sample x score with
the fields of ``precisionrx prs``'s ``scores`` (``pgs_id``, ``sample``, ``sum``,
``variants_matched``, ``variants_in_score``, ``percentile``, ``z``, ``caveats``), plus
``input`` and ``match_share`` (matched / in score, for the equity view), from the same engine
and settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from precisionrx.cohort.runner import Shard, file_identity, kb_versions, vcf_samples, worker_kb

if TYPE_CHECKING:
    import pyarrow as pa

#: Samples per shard (the engine holds one dosage matrix of matched variants x samples).
SAMPLES_PER_SHARD = 2000


def prs_shards(
    inputs: Sequence[Path],
    scorefiles: Sequence[Path],
    settings: dict[str, Any],
    samples_per_shard: int = SAMPLES_PER_SHARD,
) -> tuple[list[Shard], dict[str, Any]]:
    shards: list[Shard] = []
    for path in inputs:
        names = vcf_samples(path)
        for score in scorefiles:
            for start in range(0, len(names), samples_per_shard):
                block = names[start : start + samples_per_shard]
                spec = {"input": str(path.resolve()), "name": str(path),
                        "scorefile": str(score.resolve()), "samples": block,
                        "settings": settings}  # fmt: skip
                label = f"{score.name}, samples {start + 1}-{start + len(block)} of {path.name}"
                shards.append(Shard(len(shards), spec, label))
    identity = {"inputs": [file_identity(p) for p in inputs],
                "scorefiles": [file_identity(p) for p in scorefiles], "settings": settings,
                "samples_per_shard": samples_per_shard, "kb": kb_versions(worker_kb())}  # fmt: skip
    return shards, identity


def prs_shard(spec: dict[str, Any]) -> pa.Table:
    import pyarrow as pa

    from precisionrx.engines.prs.api import score_genotypes
    from precisionrx.io.pgs_scorefile import read_scorefile
    from precisionrx.io.vcf import VcfFile
    from precisionrx.records.prs import PrsSettings

    settings = PrsSettings(**spec["settings"])
    with VcfFile(spec["input"], spec["samples"]) as vcf:
        result = score_genotypes(
            [read_scorefile(Path(spec["scorefile"]))], vcf, worker_kb(), settings
        )
    rows = []
    for r in result.rows():
        row = r.model_dump(mode="json")
        row["caveats"] = [{"code": c["code"], "message": c["message"], "kind": c["kind"]}
                          for c in row["caveats"]]  # fmt: skip
        share = r.variants_matched / r.variants_in_score if r.variants_in_score else None
        rows.append({"input": spec["name"], **row, "match_share": share})
    return pa.Table.from_pylist(rows, schema=prs_schema())


def prs_schema() -> pa.Schema:
    import pyarrow as pa

    text = pa.string()
    caveat = pa.struct([("code", text), ("message", text), ("kind", text)])
    return pa.schema([
        ("input", text), ("pgs_id", text), ("sample", text), ("sum", pa.float64()),
        ("variants_matched", pa.int64()), ("variants_in_score", pa.int64()),
        ("percentile", pa.float64()), ("z", pa.float64()), ("caveats", pa.list_(caveat)),
        ("match_share", pa.float64()),
    ])  # fmt: skip
