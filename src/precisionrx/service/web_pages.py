"""Rendering of the web pages: the service's templates (``service/templates``) in the report
templates' environment (their filters and macros), with the house style sheet plus the page
layout rules."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from jinja2 import Environment, FunctionLoader


def _service_template(name: str) -> str | None:
    path = resources.files("precisionrx.service").joinpath("templates", name)
    return path.read_text("utf-8") if path.is_file() else None


@functools.cache
def _environment() -> tuple[Environment, str]:
    """The pages' environment and style sheet, made once per process: an environment keeps
    the templates it compiled, and compiling the report's section templates costs more than
    rendering them."""
    from precisionrx.report.html import environment, report_template

    css = report_template("base.css") + (_service_template("web.css") or "")
    return environment(FunctionLoader(_service_template)), css


def render(template: str, context: dict[str, Any]) -> str:
    env, css = _environment()
    return env.get_template(template).render(**{**context, "css": css})
