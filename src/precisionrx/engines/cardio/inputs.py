"""Re-export of the risk-input record (kept in ``records`` so readers can build it)."""

from precisionrx.records.risk_inputs import MGDL_PER_MMOL, FloatArray, RiskInputs

__all__ = ["MGDL_PER_MMOL", "FloatArray", "RiskInputs"]
