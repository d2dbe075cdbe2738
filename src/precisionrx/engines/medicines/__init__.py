"""Medicines across engines: the plan's drug-first review."""
