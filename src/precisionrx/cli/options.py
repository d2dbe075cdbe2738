"""Option values checked while the command line is parsed: closed sets and numeric ranges.

An invalid value is a usage error (exit 2 with the command's usage, docs/errors.md), raised as
``typer.BadParameter`` from an option's ``parser``/``callback`` so click names the option. A
value outside a closed set gets the nearest accepted values (``difflib``) as a suggestion; a
number must be finite (no ``nan``/``inf``) and inside the option's range.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

import typer

E = TypeVar("E", bound=StrEnum)
N = TypeVar("N", int, float)

#: How many close matches a "did you mean" names at most.
SUGGESTIONS = 3


def suggest(value: str, choices: Mapping[str, str] | Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest accepted values, or an empty string.

    With a mapping, aliases are compared too but the canonical values are named.
    """
    table = dict(choices) if isinstance(choices, Mapping) else {c: c for c in choices}
    by_fold = {k.casefold(): v for k, v in table.items()}
    close = difflib.get_close_matches(value.casefold(), list(by_fold), n=8, cutoff=0.6)
    names = list(dict.fromkeys(by_fold[c] for c in close))[:SUGGESTIONS]
    if not names:
        return ""
    return f" (did you mean {' or '.join(repr(n) for n in names)}?)"


#: Closed sets up to this size are listed in full in the message; larger ones are counted.
LISTED = 12


def pick(value: str, choices: Mapping[str, str] | Iterable[str], what: str = "") -> str:
    """The accepted spelling of ``value`` (case-insensitive), or a usage error with a suggestion.

    ``choices`` maps accepted spellings (aliases included) to canonical values, or lists them.
    """
    table = dict(choices) if isinstance(choices, Mapping) else {c: c for c in choices}
    by_fold = {k.casefold(): v for k, v in table.items()}
    text = value.strip()
    if text.casefold() in by_fold:
        return by_fold[text.casefold()]
    shown = list(dict.fromkeys(table.values()))
    if len(shown) <= LISTED:
        message = f"{text!r} is not one of {', '.join(shown)}"
    else:
        message = f"{text!r} is not {what or 'an accepted value'} ({len(shown)} accepted)"
    raise typer.BadParameter(message + suggest(text, table))


def enum_parser(enum: type[E]) -> Callable[[str], E]:
    """A ``typer.Option(parser=...)`` for a ``StrEnum``: case-insensitive, with a suggestion."""

    def parse(value: str) -> E:
        if isinstance(value, enum):
            return value
        return enum(pick(value, [m.value for m in enum]))

    return parse


def enum_metavar(enum: type[StrEnum]) -> str:
    return "[" + "|".join(m.value for m in enum) + "]"


def check_number(
    value: N,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
) -> N:
    """``value`` if finite and in range; otherwise a usage error naming the accepted range."""
    accepted = _range(low, high, low_open, high_open, unit)
    if isinstance(value, float) and not math.isfinite(value):
        raise typer.BadParameter(f"{value!r} is not a finite number; it {accepted}")
    below = low is not None and (value < low or (low_open and value == low))
    above = high is not None and (value > high or (high_open and value == high))
    if below or above:
        raise typer.BadParameter(f"{value:g} is out of range: it {accepted}")
    return value


def _range(
    low: float | None, high: float | None, low_open: bool, high_open: bool, unit: str
) -> str:
    u = f" {unit}" if unit else ""
    if low is not None and high is not None:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        return f"must be in {left}{low:g}, {high:g}{right}{u}"
    if low is not None:
        return f"must be {'>' if low_open else '>='} {low:g}{u}"
    if high is not None:
        return f"must be {'<' if high_open else '<='} {high:g}{u}"
    return "must be finite"


def number(
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
) -> Callable[[N | None], N | None]:
    """A ``typer.Option(callback=...)`` range check (None, an option not given, passes)."""

    def callback(value: N | None) -> N | None:
        if value is None:
            return None
        return check_number(
            value, low=low, high=high, low_open=low_open, high_open=high_open, unit=unit
        )

    return callback


def choice(
    choices: Callable[[], Mapping[str, str] | Iterable[str]], what: str = ""
) -> Callable[[str | None], str | None]:
    """A ``typer.Option(callback=...)`` for a string from a closed set (loaded lazily)."""

    def callback(value: str | None) -> str | None:
        if value is None:
            return None
        return pick(value, choices(), what)

    return callback


def choices_each(
    choices: Callable[[], Mapping[str, str] | Iterable[str]], what: str = ""
) -> Callable[[list[str] | None], list[str] | None]:
    """Like :func:`choice` for a repeatable option."""

    def callback(values: list[str] | None) -> list[str] | None:
        if not values:
            return values
        table = choices()
        return [pick(v, table, what) for v in values]

    return callback
