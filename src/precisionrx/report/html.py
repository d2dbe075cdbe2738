"""Self-contained HTML reports rendered from Jinja2 templates kept as package data."""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import Environment, FunctionLoader, select_autoescape


def _load(name: str) -> str:
    return resources.files("precisionrx.report").joinpath("templates", name).read_text("utf-8")


def environment() -> Environment:
    return Environment(
        loader=FunctionLoader(_load),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)
