"""Cardiometabolic risk equations, vectorised over cohorts (numpy arrays, one row per person)."""
