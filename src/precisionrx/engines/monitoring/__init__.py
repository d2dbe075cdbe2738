"""Continuous monitoring: CGM metrics (and later AGP, alerts, wearables)."""
