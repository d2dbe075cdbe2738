"""Continuous monitoring: CGM metrics, the AGP, CGM alerts and wearable vitals."""
