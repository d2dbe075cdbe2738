"""Cohort runs on Dask (docs/cli/cohort.md, docs/scale.md): the single-machine engines over many
samples, patients or rows, sharded, written as partitioned Parquet, resumable after a crash."""
