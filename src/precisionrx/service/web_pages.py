"""Rendering of the web pages: the service's templates (``service/templates``) in the report
templates' environment (their filters and macros), with the house style sheet plus the page
layout rules."""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import FunctionLoader


def _service_template(name: str) -> str | None:
    path = resources.files("precisionrx.service").joinpath("templates", name)
    return path.read_text("utf-8") if path.is_file() else None


def render(template: str, context: dict[str, Any]) -> str:
    from precisionrx.report.html import environment, report_template

    css = report_template("base.css") + (_service_template("web.css") or "")
    env = environment(FunctionLoader(_service_template))
    return env.get_template(template).render(**{**context, "css": css})
