"""Fairness audits of risk and treatment models: per-group discrimination, calibration and
error rates, and the gaps between groups (docs/cli/fairness.md)."""

from precisionrx.engines.fairness.audit import (
    auc,
    audit_predictions,
    ece_10bin,
    gap,
    group_metrics,
    reliability,
)

__all__ = ["auc", "audit_predictions", "ece_10bin", "gap", "group_metrics", "reliability"]
