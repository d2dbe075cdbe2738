"""Risk-equation inputs as column arrays; cholesterol in both units.

Missing numeric values are NaN; booleans are 0/1 floats. ``chol_unit`` per row says whether
total/HDL cholesterol were given in mg/dL or mmol/L; both are derived here. The conversion factor
38.67 mg/dL per mmol/L (1/0.02586, the constant preventr uses) is applied in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
MGDL_PER_MMOL = 1 / 0.02586


@dataclass
class RiskInputs:
    ids: list[str]
    age: FloatArray
    female: npt.NDArray[np.bool_]
    sbp: FloatArray
    bp_treated: FloatArray
    total_mgdl: FloatArray
    hdl_mgdl: FloatArray
    diabetes: FloatArray
    smoker: FloatArray
    egfr: FloatArray
    bmi: FloatArray
    statin: FloatArray
    hba1c: FloatArray
    uacr: FloatArray
    sdi_decile: FloatArray
    race: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)
    #: QRISK3 and other optional columns by name (NaN = not given).
    extra: dict[str, FloatArray] = field(default_factory=dict)
    #: Inputs that were not given but defaulted or imputed, by input name: (rows, what was
    #: used), e.g. ``"smoker": (mask, "0 (non-smoker) used")``. Every result that uses the input
    #: says so in its caveats (engines/cardio/runner.py).
    defaulted: dict[str, tuple[npt.NDArray[np.bool_], str]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def total_mmol(self) -> FloatArray:
        return self.total_mgdl / MGDL_PER_MMOL

    @property
    def hdl_mmol(self) -> FloatArray:
        return self.hdl_mgdl / MGDL_PER_MMOL
