"""``cohort prs``: polygenic scores for every sample of large genotype files (VCF/BCF, PLINK
1/2, BGEN).

Shards: each scoring file x block of samples of each input; a whole input when missing calls
are mean-imputed (the allele frequencies are those of every sample in the file, as in plink2).
Rows: one per sample x score with the fields of ``precisionrx prs``'s ``scores`` (``pgs_id``,
``sample``, ``sum``, ``variants_matched``, ``variants_in_score``, ``percentile``, ``z``,
``caveats``), plus
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
    from precisionrx.engines.prs.scorer import resolve_missing
    from precisionrx.io.genotypes import genotype_kind

    shards: list[Shard] = []
    for path in inputs:
        names = vcf_samples(path)
        # Mean imputation takes allele frequencies over every sample of the file, as plink2
        # does: such a file is scored whole (PLINK/BGEN stream it in variant blocks).
        whole = resolve_missing(settings.get("missing", "auto"), len(names))
        if whole and genotype_kind(path) == "vcf":
            _check_whole_vcf(path, scorefiles, len(names))
        size = max(len(names), 1) if whole else samples_per_shard
        for score in scorefiles:
            for start in range(0, len(names), size):
                block = names[start : start + size]
                spec = {"input": str(path.resolve()), "name": str(path),
                        "scorefile": str(score.resolve()), "samples": block,
                        "settings": settings}  # fmt: skip
                label = f"{score.name}, samples {start + 1}-{start + len(block)} of {path.name}"
                shards.append(Shard(len(shards), spec, label))
    identity = {"inputs": [file_identity(p) for p in inputs],
                "scorefiles": [file_identity(p) for p in scorefiles], "settings": settings,
                "samples_per_shard": samples_per_shard, "kb": kb_versions(worker_kb())}  # fmt: skip
    return shards, identity


#: Largest genotype matrix (bytes) a whole-VCF shard may hold: a VCF's matched genotypes are
#: read into memory at once (sites x 2 x samples int8), unlike PLINK/BGEN files.
WHOLE_VCF_LIMIT = 4 * 10**9


def _check_whole_vcf(path: Path, scorefiles: Sequence[Path], n_samples: int) -> None:
    """Refuse a whole-file shard of a VCF whose matched genotypes would not fit the limit."""
    from precisionrx.errors import InputError
    from precisionrx.io.pgs_scorefile import read_scorefile

    largest = max((read_scorefile(p).table.height for p in scorefiles), default=0)
    need = largest * 2 * n_samples
    if need > WHOLE_VCF_LIMIT:
        raise InputError(
            f"mean imputation takes allele frequencies over all {n_samples} samples, so this VCF "
            f"would be scored in one shard holding up to {need / 1e9:.1f} GB of genotypes",
            path=path,
            hint="convert it to PLINK 2 first (precisionrx convert; PLINK files are read in "
            "blocks), or pass --missing no-mean-imputation to score it in sample blocks",
        )


def prs_shard(spec: dict[str, Any]) -> pa.Table:
    import pyarrow as pa

    from precisionrx.engines.prs.api import score_genotypes
    from precisionrx.io.genotypes import open_genotypes
    from precisionrx.io.pgs_scorefile import read_scorefile
    from precisionrx.records.prs import PrsSettings

    settings = PrsSettings(**spec["settings"])
    with open_genotypes(spec["input"], spec["samples"]) as vcf:
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
