"""CGM summary metrics per subject, with iglu 4.3's names and definitions (numpy per subject).

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

import math
from typing import Any

import numpy as np
import numpy.typing as npt
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


def reading_metrics(gl: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Every reading-level metric above (except the quantiles) of one subject's readings."""
    n = len(gl)
    mean = float(gl.mean())
    sd = float(gl.std(ddof=1)) if n > 1 else float("nan")
    ln = np.log(gl)
    f = ln**1.084 - 5.381
    risk = f * f
    log10 = ln / math.log(10)
    with np.errstate(invalid="ignore", divide="ignore"):  # gl <= 18 has no GRADE (NaN)
        grade = 425 * (np.log10(log10 - math.log10(18)) + 0.16) ** 2
    grade_sum = float(grade.sum())

    def pct(mask: npt.NDArray[np.bool_]) -> float:
        return 100.0 * np.count_nonzero(mask) / n

    out: dict[str, Any] = {
        "n_readings": n, "mean": mean, "sd": sd, "cv": 100 * sd / mean,
        "gmi": 3.31 + 0.02392 * mean, "gmi_mmol_mol": 12.71 + 4.70587 * mean / MGDL_PER_MMOL,
        "ea1c": (46.7 + mean) / 28.7,
        **{name: pct((gl >= lo) & (gl <= hi)) for name, (lo, hi) in RANGES.items()},
        **{f"below_{t}": pct(gl < t) for t in BELOW},
        **{f"above_{t}": pct(gl > t) for t in ABOVE},
        "lbgi": RISK_FACTOR * float(risk[f < 0].sum()) / n,
        "hbgi": RISK_FACTOR * float(risk[f > 0].sum()) / n,
        "j_index": 0.001 * (mean + sd) ** 2,
        "m_value": 1000 * float(np.mean(np.abs(log10 - math.log10(90)) ** 3)),
        "hyper_index": float(np.sum((gl[gl > 140] - 140) ** 1.1)) / (30 * n),
        "hypo_index": float(np.sum((80 - gl[gl < 80]) ** 2)) / (30 * n),
        "grade": grade_sum / n,
        "grade_hypo": 100 * float(grade[gl < 80].sum()) / grade_sum,
        "grade_eugly": 100 * float(grade[(gl >= 70) & (gl <= 140)].sum()) / grade_sum,
        "grade_hyper": 100 * float(grade[gl > 140].sum()) / grade_sum,
        "min": float(gl.min()), "max": float(gl.max()),
    }  # fmt: skip
    out["igc"] = out["hyper_index"] + out["hypo_index"]
    hypo = out["below_54"] + 0.8 * (out["below_70"] - out["below_54"])
    hyper = out["above_250"] + 0.5 * (out["above_180"] - out["above_250"])
    gri = min(3.0 * hypo + 1.6 * hyper, 100.0)
    out.update(gri=gri, gri_hypo=hypo, gri_hyper=hyper)
    out["gri_zone"] = next((z for upper, z in GRI_ZONES if gri < upper), "E")
    out["cogi"] = (
        0.5 * out["in_range_70_180"]
        + 0.35 * 100 * (1 - min(max(out["below_70"], 0.0), 15.0) / 15)
        + 0.15 * 100 * (1 - (min(max(sd, 18.0), 108.0) - 18) / 90)
    )
    # undefined values (one reading has no SD; GRADE needs gl > 18) are missing, not NaN
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in out.items()}


def summary_metrics(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per subject id (METRIC_COLUMNS except the quantiles) from ``id, time_utc, gl``,
    subjects in order of first appearance."""
    rows = [
        {"id": part["id"][0], "first": part["time_utc"].min(), "last": part["time_utc"].max(),
         **reading_metrics(part["gl"].to_numpy())}
        for part in frame.partition_by("id", maintain_order=True)
    ]  # fmt: skip
    columns = [c for c in METRIC_COLUMNS if c not in QUANTILE_COLUMNS]
    out = pl.DataFrame(rows, infer_schema_length=None)
    return out.with_columns(pl.col("id").cast(frame["id"].dtype)).select(columns)
