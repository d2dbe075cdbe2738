"""CGM summary metrics per subject, with iglu 4.3's names and definitions (polars, vectorised).

All on the readings as recorded (mg/dL), per subject:
- ``mean``, ``sd`` (n - 1), ``cv`` = 100 sd / mean (iglu mean_glu, sd_glu, cv_glu);
- ``gmi`` = 3.31 + 0.02392 mean (Bergenstal 2018), ``gmi_mmol_mol`` = 12.71 + 4.70587 mean/18.01559;
- ``ea1c`` = (46.7 + mean) / 28.7 (Nathan 2008);
- ``in_range_L_U`` = % of readings with L <= gl <= U; ``below_T`` = % gl < T; ``above_T`` = % gl > T
  (iglu in_range_percent, below_percent, above_percent);
- ``lbgi`` / ``hbgi`` = mean of 10 min(0, r)^2 / 10 max(0, r)^2 with r = 1.509 (ln(gl)^1.084 -
  5.381) over all n readings (Kovatchev 2006; iglu lbgi.Rd / hbgi.Rd give exactly this form, so
  the factor is 10 x 1.509^2 = 22.770081, not the rounded 22.77);
- ``j_index`` = 0.001 (mean + sd)^2; ``m_value`` = 1000 mean(|log10(gl / 90)|^3) (Schlichtkrull);
- ``hyper_index`` = sum over gl > 140 of (gl - 140)^1.1 / (30 n), ``hypo_index`` = sum over
  gl < 80 of (80 - gl)^2 / (30 n), ``igc`` = their sum (Rodbard 2009; iglu defaults);
- ``grade`` = mean of 425 (log10(log10(gl / 18)) + 0.16)^2 (Hill 2007); ``grade_hypo`` /
  ``grade_eugly`` / ``grade_hyper`` = % of the summed GRADE from readings < 80, 70 <= gl <= 140,
  > 140 (iglu grade_hypo.Rd lower = 80, grade_eugly.Rd lower 70 / upper 140 "not below ... or
  above", grade_hyper.Rd upper = 140);
- ``cogi`` = 0.5 TIR(70-180) + 0.35 (100 at 0 % to 0 at >= 15 % below 70, linear) + 0.15 (100 at
  SD <= 18 to 0 at SD >= 108 mg/dL, linear) (Leelarathna 2019 doi 10.1177/1932296819838525;
  iglu cogi.Rd targets (70, 180), weights (.5, .35, .15); the 0-15 % and 18-108 mg/dL scaling
  is the paper's and not spelled out in iglu's manual);
- ``gri`` = 3.0 below_54 + 2.4 (below_70 - below_54) + 1.6 above_250 + 0.8 (above_180 - above_250),
  capped at 100, with ``gri_hypo`` = below_54 + 0.8 (below_70 - below_54), ``gri_hyper`` =
  above_250 + 0.5 (above_180 - above_250) and ``gri_zone`` A (0-20) ... E (80-100) (Klonoff 2023);
- ``min``, ``q25``, ``median``, ``q75``, ``max``, ``iqr`` (R quantile type 7: linear); ``mad`` =
  1.4826 median |gl - median| (R ``mad``, iglu ``mad_glu``).
The time-dependent metrics (grid.py, mage.py, episodes.py) use iglu's day-by-day grid.
"""

from __future__ import annotations

import polars as pl

RANGES = {"in_range_70_180": (70, 180), "in_range_70_140": (70, 140), "in_range_63_140": (63, 140)}
BELOW = (54, 63, 70)
ABOVE = (140, 180, 250)
GRI_ZONES = ((20, "A"), (40, "B"), (60, "C"), (80, "D"))
#: Kovatchev's risk scale: 10 x 1.509^2 (iglu lbgi.Rd, hbgi.Rd).
RISK_FACTOR = 10 * 1.509**2
MGDL_PER_MMOL = 18.01559
METRIC_COLUMNS = [
    "id", "n_readings", "first", "last", "mean", "sd", "cv", "gmi", "gmi_mmol_mol", "ea1c",
    *RANGES, *(f"below_{t}" for t in BELOW), *(f"above_{t}" for t in ABOVE),
    "lbgi", "hbgi", "j_index", "m_value", "hyper_index", "hypo_index", "igc", "grade",
    "grade_hypo", "grade_eugly", "grade_hyper", "cogi",
    "gri", "gri_hypo", "gri_hyper", "gri_zone",
    "min", "q25", "median", "q75", "max", "iqr", "mad",
]  # fmt: skip
#: Computed per subject with numpy (metrics_table.py): one partial sort instead of three sorts.
QUANTILE_COLUMNS = ("q25", "median", "q75", "iqr", "mad")


def summary_metrics(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per subject id (METRIC_COLUMNS except the quantiles) from ``id, time_utc, gl``."""
    g = pl.col("gl")
    f = pl.col("_f")
    frame = frame.with_columns(
        (g.log().pow(1.084) - 5.381).alias("_f"),
        (425 * ((g / 18).log10().log10() + 0.16).pow(2)).alias("_grade"),
    )
    aggs = [
        pl.len().alias("n_readings"),
        pl.col("time_utc").min().alias("first"),
        pl.col("time_utc").max().alias("last"),
        g.mean().alias("mean"),
        g.std(ddof=1).alias("sd"),
        *((g.is_between(lo, hi, closed="both").mean() * 100).alias(name)
          for name, (lo, hi) in RANGES.items()),
        *((g < t).mean().mul(100).alias(f"below_{t}") for t in BELOW),
        *((g > t).mean().mul(100).alias(f"above_{t}") for t in ABOVE),
        (pl.when(f < 0).then(f.pow(2)).otherwise(0.0).sum() * RISK_FACTOR / pl.len()).alias("lbgi"),
        (pl.when(f > 0).then(f.pow(2)).otherwise(0.0).sum() * RISK_FACTOR / pl.len()).alias("hbgi"),
        ((g / 90).log10().abs().pow(3).mean() * 1000).alias("m_value"),
        (pl.when(g > 140).then((g - 140).pow(1.1)).otherwise(0.0).sum() / (pl.len() * 30))
        .alias("hyper_index"),
        (pl.when(g < 80).then((80 - g).pow(2)).otherwise(0.0).sum() / (pl.len() * 30))
        .alias("hypo_index"),
        pl.col("_grade").mean().alias("grade"),
        (pl.col("_grade").filter(g < 80).sum() / pl.col("_grade").sum() * 100).alias("grade_hypo"),
        (pl.col("_grade").filter(g.is_between(70, 140)).sum() / pl.col("_grade").sum() * 100)
        .alias("grade_eugly"),
        (pl.col("_grade").filter(g > 140).sum() / pl.col("_grade").sum() * 100)
        .alias("grade_hyper"),
        g.min().alias("min"),
        g.max().alias("max"),
    ]  # fmt: skip
    out = frame.group_by("id", maintain_order=True).agg(aggs)
    hypo = pl.col("below_54") + 0.8 * (pl.col("below_70") - pl.col("below_54"))
    hyper = pl.col("above_250") + 0.5 * (pl.col("above_180") - pl.col("above_250"))
    gri = pl.min_horizontal(3.0 * hypo + 1.6 * hyper, pl.lit(100.0))
    zone = pl.lit("E")
    for upper, name in reversed(GRI_ZONES):
        zone = pl.when(gri < upper).then(pl.lit(name)).otherwise(zone)
    out = out.with_columns(
        (100 * pl.col("sd") / pl.col("mean")).alias("cv"),
        (3.31 + 0.02392 * pl.col("mean")).alias("gmi"),
        (12.71 + 4.70587 * pl.col("mean") / MGDL_PER_MMOL).alias("gmi_mmol_mol"),
        ((46.7 + pl.col("mean")) / 28.7).alias("ea1c"),
        (0.001 * (pl.col("mean") + pl.col("sd")).pow(2)).alias("j_index"),
        gri.alias("gri"),
        (pl.col("hyper_index") + pl.col("hypo_index")).alias("igc"),
        (
            0.5 * pl.col("in_range_70_180")
            + 0.35 * (100 * (1 - pl.col("below_70").clip(0, 15) / 15))
            + 0.15 * (100 * (1 - (pl.col("sd").clip(18, 108) - 18) / 90))
        ).alias("cogi"),
        hypo.alias("gri_hypo"),
        hyper.alias("gri_hyper"),
        zone.alias("gri_zone"),
    )
    return out.select([c for c in METRIC_COLUMNS if c not in QUANTILE_COLUMNS])
