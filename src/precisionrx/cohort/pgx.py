"""``cohort pgx``: star-allele calls for every sample of many VCF/BCF files.

Shards: a multi-sample file is split by gene (each gene's region is read through the index on
its own) and by block of samples; single-sample files are grouped, every gene per group. Each
row is one sample x gene with the fields of ``precisionrx pgx``'s JSON for that gene (``input``,
``sample``, ``gene``, ``called``, ``diplotypes``, ``phenotype``, ``activity_score``,
``caveats`` ...), computed by the same engine with the same options (genotypes only).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from precisionrx.cohort.runner import Shard, file_identity, kb_versions, vcf_samples, worker_kb

if TYPE_CHECKING:
    import pyarrow as pa

    from precisionrx.records import SampleResult

#: Samples per shard of a multi-sample file (genotype arrays of a gene region for this many
#: samples stay well under a gigabyte).
SAMPLES_PER_SHARD = 5000
#: Single-sample files per shard.
FILES_PER_SHARD = 32


def pgx_shards(
    inputs: Sequence[Path],
    *,
    genome_build: str,
    samples: Sequence[str] | None,
    samples_per_shard: int = SAMPLES_PER_SHARD,
) -> tuple[list[Shard], dict[str, Any]]:
    """The shards of a run and its identity (inputs and options)."""
    from precisionrx.engines.pgx.caller import CallOptions, genotype_request
    from precisionrx.io.germline import check_germline_build

    kb = worker_kb()
    wanted = set(samples) if samples else None
    shards: list[Shard] = []
    single: list[tuple[str, list[str]]] = []
    for path in inputs:
        names = vcf_samples(path)
        chosen = [s for s in names if wanted is None or s in wanted]
        if not chosen:
            continue
        if len(names) == 1:
            single.append((str(path), chosen))
            continue
        # the build is checked once per file, here; the shards then read only their regions
        request = genotype_request(kb, CallOptions(genome_build=genome_build))
        check_germline_build(path, request, checked=True)  # vcf_samples checked the data
        for start in range(0, len(chosen), samples_per_shard):
            block = chosen[start : start + samples_per_shard]
            for gene in kb.genes:
                spec = {
                    "inputs": [str(path.resolve())],
                    "names": [str(path)],
                    "build_checked": True,
                    "samples": block,
                    "genes": [gene],
                    "genome_build": genome_build,
                }
                label = f"{gene}, samples {start + 1}-{start + len(block)} of {path.name}"
                shards.append(Shard(len(shards), spec, label))
    if wanted is not None:
        found = {s for spec in shards for s in spec.spec["samples"] or ()}
        found |= {s for _, names in single for s in names}
        missing = sorted(wanted - found)
        if missing:
            from precisionrx.errors import MissingSampleError

            raise MissingSampleError(
                f"sample(s) {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''} "
                f"not found in any input", path=inputs[0] if len(inputs) == 1 else None,
            )  # fmt: skip
    for start in range(0, len(single), FILES_PER_SHARD):
        group = single[start : start + FILES_PER_SHARD]
        files = {"inputs": [str(Path(p).resolve()) for p, _ in group],
                 "names": [p for p, _ in group], "samples": None, "genes": None,
                 "genome_build": genome_build}  # fmt: skip
        shards.append(Shard(len(shards), files, f"{len(group)} single-sample file(s)"))
    identity = {"inputs": [file_identity(p) for p in inputs], "genome_build": genome_build,
                "samples": sorted(wanted) if wanted else None,
                "samples_per_shard": samples_per_shard, "kb": kb_versions(kb)}  # fmt: skip
    return shards, identity


def pgx_shard(spec: dict[str, Any]) -> pa.Table:
    """Call the shard's genes for its samples; one row per sample x gene."""
    from precisionrx.engines.pgx.api import analyse
    from precisionrx.engines.pgx.caller import CallOptions, genotype_request
    from precisionrx.io.germline import read_germline

    kb = worker_kb()
    options = CallOptions(genome_build=spec["genome_build"], genes=spec["genes"])
    request = genotype_request(kb, options)
    checked = bool(spec.get("build_checked"))
    genotypes = [read_germline(path, request, spec["samples"], build_checked=checked)
                 for path in spec["inputs"]]  # fmt: skip
    run = analyse(genotypes, kb, options, genotypes_only=True)
    # each result names its input as the command line gave it, as ``precisionrx pgx`` does
    given = dict(zip(spec["inputs"], spec["names"], strict=True))
    results = [r.model_copy(update={"input": given.get(r.input, r.input)}) for r in run.results]
    return pgx_table(results)


def pgx_rows(results: Sequence[SampleResult]) -> list[dict[str, Any]]:
    """The rows of sample results: the single-run JSON fields of each gene call, flattened."""
    return [
            {
                "input": r.input, "sample": r.sample, "genome_build": r.genome_build,
                "gene": g.gene, "called": g.called, "diplotypes": list(g.diplotypes),
                "diplotype_probabilities": g.diplotype_probabilities,
                "diplotype_phenotypes": [c.phenotype for c in g.diplotype_calls],
                "diplotype_activity_scores": [c.activity_score for c in g.diplotype_calls],
                "phenotype": g.phenotype, "activity_score": g.activity_score,
                "allele_functions": list(g.allele_functions), "lookup_key": g.lookup_key,
                "source": g.source, "phased": g.phased,
                "positions_found": g.positions.found, "positions_total": g.positions.total,
                "positions_missing": list(g.positions.missing),
                "reference_filled": g.positions.reference_filled,
                "variants": list(g.variants),
                "caveats": [{"code": c.code, "message": c.message, "kind": c.kind.value}
                            for c in g.caveats],
            }
        for r in results
        for g in r.genes
    ]  # fmt: skip


def pgx_schema() -> pa.Schema:
    import pyarrow as pa

    text, texts = pa.string(), pa.list_(pa.string())
    caveat = pa.struct([("code", text), ("message", text), ("kind", text)])
    return pa.schema([
        ("input", text), ("sample", text), ("genome_build", text), ("gene", text),
        ("called", pa.bool_()), ("diplotypes", texts),
        ("diplotype_probabilities", pa.list_(pa.float64())),
        ("diplotype_phenotypes", texts), ("diplotype_activity_scores", texts),
        ("phenotype", text), ("activity_score", text), ("allele_functions", texts),
        ("lookup_key", text), ("source", text), ("phased", pa.bool_()),
        ("positions_found", pa.int32()), ("positions_total", pa.int32()),
        ("positions_missing", texts), ("reference_filled", pa.int32()), ("variants", texts),
        ("caveats", pa.list_(caveat)),
    ])  # fmt: skip


def pgx_table(results: Sequence[SampleResult]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pylist(pgx_rows(results), schema=pgx_schema())
