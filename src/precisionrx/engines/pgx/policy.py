"""Run policies of the pharmacogenomics engine (light: the command line reads them at start)."""

#: Above this many sample results, recommendations are added only when asked for: a cohort
#: run wants genotypes, and per-sample prescribing text would dominate the output.
AUTO_RECOMMEND_MAX = 50
