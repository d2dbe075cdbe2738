"""The ambulatory glucose profile as an interactive SVG for the web pages, without scripts.

The modal day (the percentiles of each 15-minute bin, however many days of data) is drawn as in
the printed AGP (Johnson ML et al., Diabetes Technol Ther 2019;21(S2):S217: median line,
25th-75th and 5th-95th percentile bands, the target range 70-180 mg/dL shaded). Each bin is a
focusable group (``tabindex="0"``) named for assistive technology with its readout; hovering or
focusing it shows the readout in the chart and highlights the bin by CSS alone, so the redraw
costs one style change whatever the length of the recording (the page's Content-Security-Policy
allows no script).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import escape

from precisionrx.records.monitoring import ModalDayBin

WIDTH, HEIGHT = 720.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 10.0, 10.0, 28.0
#: The y axis (mg/dL), as the printed AGP: 0-350.
Y_MAX = 350.0
TARGET = (70.0, 180.0)

_STYLE = (
    ".agp .bin rect.hit{fill:transparent}"
    ".agp .bin text{visibility:hidden;font-size:12px;pointer-events:none}"
    ".agp .bin:hover rect.hit,.agp .bin:focus rect.hit{fill:#0b4f9c;fill-opacity:.12}"
    ".agp .bin:hover text,.agp .bin:focus text{visibility:visible}"
    ".agp .bin:focus{outline:none}"
)


def _x(minute: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * minute / 1440.0


def _y(mg_dl: float) -> float:
    value = min(max(mg_dl, 0.0), Y_MAX)
    return TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - value / Y_MAX)


def _band(bins: Sequence[ModalDayBin], low: str, high: str) -> str:
    """A closed path between two percentile series (bins without both values are skipped)."""
    pts = [(b.minute + 7.5, getattr(b, low), getattr(b, high)) for b in bins]
    pts = [(m, lo, hi) for m, lo, hi in pts if lo is not None and hi is not None]
    if not pts:
        return ""
    upper = " ".join(f"{_x(m):.1f},{_y(hi):.1f}" for m, _lo, hi in pts)
    lower = " ".join(f"{_x(m):.1f},{_y(lo):.1f}" for m, lo, _hi in reversed(pts))
    return f"M{upper} L{lower} Z"


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _value(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}"


def readout(b: ModalDayBin) -> str:
    """``08:00–08:15: median 142; 25–75 %: 120–160; 5–95 %: 95–210 mg/dL``."""
    if b.p50 is None:
        return f"{_clock(b.minute)}–{_clock(b.minute + 15)}: no readings"
    return (
        f"{_clock(b.minute)}–{_clock(b.minute + 15)}: median {_value(b.p50)}; "
        f"25–75 %: {_value(b.p25)}–{_value(b.p75)}; 5–95 %: {_value(b.p5)}–{_value(b.p95)} mg/dL"
    )


def interactive_agp_svg(bins: Sequence[ModalDayBin], label: str) -> str:
    """The SVG (a string of markup, escaped) of the modal day ``bins``; ``label`` names it."""
    parts = [
        f'<svg class="agp" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f} '
        f'{HEIGHT:.0f}" role="group" aria-label="{escape(label)}">',
        f"<style>{_style()}</style>",
        f'<rect x="{LEFT:.1f}" y="{_y(TARGET[1]):.1f}" width="{WIDTH - LEFT - RIGHT:.1f}" '
        f'height="{_y(TARGET[0]) - _y(TARGET[1]):.1f}" fill="#e8f5e9"/>',
    ]
    parts.extend(
        f'<line x1="{LEFT:.1f}" x2="{WIDTH - RIGHT:.1f}" y1="{_y(mg):.1f}" y2="{_y(mg):.1f}" '
        f'stroke="#767676" stroke-width=".5"/><text x="{LEFT - 4:.1f}" y="{_y(mg) + 4:.1f}" '
        f'font-size="11" text-anchor="end">{mg}</text>'
        for mg in (54, 70, 180, 250)
    )
    for hour in range(0, 25, 3):
        anchor = "end" if hour == 24 else "middle"
        parts.append(f'<text x="{_x(hour * 60):.1f}" y="{HEIGHT - 8:.1f}" font-size="11" '
                     f'text-anchor="{anchor}">{hour:02d}:00</text>')  # fmt: skip
    outer, inner = _band(bins, "p5", "p95"), _band(bins, "p25", "p75")
    if outer:
        parts.append(f'<path d="{outer}" fill="#90caf9" fill-opacity=".5"/>')
    if inner:
        parts.append(f'<path d="{inner}" fill="#1e88e5" fill-opacity=".6"/>')
    median = [(b.minute + 7.5, b.p50) for b in bins if b.p50 is not None]
    if median:
        line = " ".join(f"{_x(m):.1f},{_y(v):.1f}" for m, v in median)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#0d2b52" stroke-width="2"/>')
    step = _x(15) - _x(0)
    for b in bins:
        text = readout(b)
        anchor = "start" if b.minute < 720 else "end"
        tx = _x(b.minute) + (step if anchor == "start" else 0)
        parts.append(
            f'<g class="bin" tabindex="0" role="img" aria-label="{escape(text)}">'
            f'<rect class="hit" x="{_x(b.minute):.1f}" y="{TOP:.1f}" width="{step:.2f}" '
            f'height="{HEIGHT - TOP - BOTTOM:.1f}"/>'
            f'<text x="{tx:.1f}" y="{TOP + 12:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _style() -> str:
    return _STYLE
