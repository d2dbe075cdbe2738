"""The figures of the ``effects evaluate`` HTML report, as inline SVG: the calibration of the
predicted CATE by quantile group, the TOC curve, and the histogram of the predicted CATE.

Each figure is drawn with matplotlib's object-oriented API on its own Agg canvas (``Figure`` +
``FigureCanvasAgg``: the process's global backend is never changed; matplotlib is imported
inside the functions). The SVG is reproducible byte for byte: no date in the metadata and a
fixed ``svg.hashsalt`` for the element ids; text stays text (``svg.fonttype: none``) so the
labels are searchable and read by screen readers. Inputs are the JSON forms of the
evaluation's parts (docs/cli/effects.md).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from typing import Any

#: Okabe–Ito colours (distinguishable with colour-vision deficiency).
BLUE, VERMILION, GREY = "#0072B2", "#D55E00", "#777777"
SIZE = (5.6, 4.0)
#: The salt of the SVG element ids (fixed: the same figure, the same bytes).
HASH_SALT = "precisionrx-effects"


def _svg(fig: Any, label: str) -> str:
    """The figure as an SVG element labelled for screen readers (``label``: fixed text, no
    markup), the XML prolog and doctype dropped for inlining; call inside :func:`_rc` (the hash
    salt is read when saving)."""
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :].replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _rc() -> Any:
    """The style and reproducibility settings, for the whole drawing and saving of a figure."""
    from matplotlib import rc_context

    return rc_context({"svg.hashsalt": HASH_SALT, "svg.fonttype": "none", "font.size": 9})


def calibration_svg(bins: Sequence[dict[str, Any]]) -> str:
    """Mean predicted CATE (x) against the doubly-robust estimate of each quantile group's
    average effect (y) with its interval, and the line y = x of perfect calibration."""
    with _rc():
        fig, ax = _figure()
        xs = [b["mean_cate"] for b in bins]
        ys = [b["mean_dr"] for b in bins]
        low = [b["mean_dr"] - b["ci_lower"] if b["ci_lower"] is not None else 0.0 for b in bins]
        high = [b["ci_upper"] - b["mean_dr"] if b["ci_upper"] is not None else 0.0 for b in bins]
        values = xs + [y - d for y, d in zip(ys, low, strict=True)]
        values += [y + d for y, d in zip(ys, high, strict=True)]
        lo, hi = min(values), max(values)
        pad = 0.05 * (hi - lo) if hi > lo else 0.5
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=GREY, linestyle="--",
                linewidth=1, label="perfect calibration (y = x)")  # fmt: skip
        ax.errorbar(xs, ys, yerr=[low, high], fmt="o", color=BLUE, ecolor=BLUE, capsize=3,
                    label="quantile group: DR estimate and interval")  # fmt: skip
        ax.set_xlabel("mean predicted CATE in the group")
        ax.set_ylabel("doubly-robust estimate of the group's effect")
        ax.set_title("Calibration by quantile of the predicted CATE", loc="left")
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        return _svg(fig, "Calibration plot: doubly-robust group effects against predictions")


def toc_svg(rate: dict[str, Any]) -> str:
    """The TOC curve (Yadlowsky et al. 2021): the average effect among the fraction q of rows
    the model ranks highest, minus the average effect of all rows, with its pointwise interval;
    the AUTOC is the area under it."""
    with _rc():
        fig, ax = _figure()
        points = rate["toc"]
        q = [p["q"] for p in points]
        toc = [p["toc"] for p in points]
        if all(p["ci_lower"] is not None for p in points):
            ax.fill_between(q, [p["ci_lower"] for p in points], [p["ci_upper"] for p in points],
                            color=BLUE, alpha=0.18, linewidth=0,
                            label="pointwise interval (bootstrap)")  # fmt: skip
        ax.plot(q, toc, color=BLUE, linewidth=1.6, label="TOC")
        ax.axhline(0.0, color=GREY, linestyle="--", linewidth=1, label="no heterogeneity")
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction treated, highest predicted CATE first (q)")
        ax.set_ylabel("effect in the top q minus overall effect")
        autoc = rate["autoc"]["estimate"]
        ax.set_title(f"Targeting operator characteristic (AUTOC {autoc:.3g})", loc="left")
        ax.legend(loc="upper right", frameon=False, fontsize=8)
        return _svg(fig, "Targeting operator characteristic (TOC) curve")


def histogram_svg(dist: dict[str, Any]) -> str:
    """The histogram of the predicted CATE with its median and 5th/95th percentiles."""
    with _rc():
        fig, ax = _figure()
        edges, counts = dist["histogram_edges"], dist["histogram_counts"]
        widths = [b - a for a, b in itertools.pairwise(edges)]
        ax.bar(edges[:-1], counts, width=widths, align="edge", color=BLUE, alpha=0.75,
               edgecolor="white", linewidth=0.5)  # fmt: skip
        quantiles = dist["quantiles"]
        ax.axvline(quantiles["p50"], color=VERMILION, linewidth=1.4, label="median")
        for key in ("p5", "p95"):
            ax.axvline(quantiles[key], color=VERMILION, linestyle=":", linewidth=1.2,
                       label="5th and 95th percentiles" if key == "p5" else None)  # fmt: skip
        ax.axvline(0.0, color=GREY, linestyle="--", linewidth=1, label="no effect")
        ax.set_xlabel("predicted CATE")
        ax.set_ylabel("rows")
        ax.set_title("Distribution of the predicted CATE", loc="left")
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        return _svg(fig, "Histogram of the predicted CATE")
