"""Self-contained HTML reports rendered from Jinja2 templates kept as package data."""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, FunctionLoader, select_autoescape

from precisionrx.records.evidence import Provenance
from precisionrx.report.writers import provenance_text


def report_template(name: str) -> str:
    """A file of the report templates (a template or the style sheet)."""
    return resources.files("precisionrx.report").joinpath("templates", name).read_text("utf-8")


_load = report_template


def number(value: Any, pattern: str = "%.1f") -> str:
    """A number for a report cell; a dash for a value that could not be computed (None)."""
    return "–" if value is None else pattern % value


def caveat_text(value: Any) -> str:
    """One caveat as a line of a report: ``[code] message`` for a Caveat (as a model or its
    JSON form), the text itself for a plain string."""
    if isinstance(value, dict):
        return f"[{value.get('code', '')}] {value.get('message', '')}"
    code, message = getattr(value, "code", None), getattr(value, "message", None)
    if code is not None and message is not None:
        return f"[{code}] {message}"
    return str(value)


def environment(loader: BaseLoader | None = None) -> Environment:
    """The report templates' environment (filters ``num`` and ``caveat``); ``loader`` is
    tried before the report templates (the service's web pages)."""
    reports = FunctionLoader(_load)
    env = Environment(
        loader=reports if loader is None else ChoiceLoader([loader, reports]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = number
    env.filters["caveat"] = caveat_text
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)


def page(template: str, context: dict[str, Any], provenance: Provenance | None = None) -> str:
    """A self-contained HTML page: the template with the house style sheet inlined and, given a
    result's provenance, the line naming the tool and knowledge-base versions (``versions``)."""
    extra = {"css": _load("base.css")}
    if provenance is not None:
        extra["versions"] = provenance_text(provenance)
    return render(template, {**context, **extra})
