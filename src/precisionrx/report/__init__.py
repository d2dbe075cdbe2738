"""Renderers: one result model, many formats (JSON, TSV, HTML)."""
