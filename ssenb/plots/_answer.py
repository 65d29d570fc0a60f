"""An LLM answer growing over time, with the first token marked.

Built on the public output of :func:`ssenb.analysis.llm` (its ``tokens`` table: one
row per text delta with its stream time), so this module owns only the drawing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import analysis
from ..value import CaptureLike
from ._base import color_of, new_axes, note, short

if TYPE_CHECKING:  # matplotlib loads when a plot is drawn, not at import
    from matplotlib.axes import Axes

__all__ = ["plot_answer"]


def plot_answer(capture: CaptureLike, *, ax: Axes | None = None) -> Axes:
    """The answer's length in characters over stream time, one line per
    connection, with a dot and a dashed line at the first token: how long the wait
    was, then how fast the text came.

    Example:
        >>> ssenb.plots.plot_answer(capture)  # doctest: +SKIP
    """
    prep = analysis.prepare(capture)
    ax = new_axes(ax, (9, 3.2))
    ax.set_title("The answer as it grew")
    tokens = analysis.llm(prep).tables.get("tokens")
    if tokens is None or not len(tokens) or tokens["t"].isna().all():
        note(ax, "no answer text in this capture")
        return ax
    groups = list(tokens.groupby(["stream", "connection"], sort=False))
    timed = tokens["t"].dropna()
    first, last = float(timed.min()), float(timed.max())
    for i, ((stream, conn), part) in enumerate(groups):
        part = part.dropna(subset=["t"])
        if not len(part):
            continue
        t = part["t"].to_numpy(dtype=float)
        chars = np.cumsum(part["text"].fillna("").astype(str).str.len().to_numpy())
        color = color_of("data") if len(groups) == 1 else f"C{i % 10}"
        name = short(f"{stream} #{conn}" if stream else f"connection {conn}", 28)
        ax.step(t, chars, where="post", color=color, lw=1.6, label=name)
        ax.plot([t[0]], [chars[0]], "o", color=color, ms=5)
        ax.axvline(t[0], color=color, ls="--", lw=1)
        ax.annotate(
            f"first token {t[0]:.2f} s",
            (t[0], 0),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize="small",
            color=color,
        )
        ax.annotate(
            f"{int(chars[-1]):,} chars",
            (t[-1], chars[-1]),
            xytext=(4, 0),
            textcoords="offset points",
            fontsize="small",
            va="center",
        )
    ax.set_xlabel(prep.time_label)
    ax.set_ylabel("characters so far")
    # from just before the first token to the end: the wait is marked, the growth
    # gets the width
    span = max(last - first, 1e-3)
    ax.set_xlim(max(0.0, first - 0.15 * span), last + 0.2 * span)
    ax.set_ylim(bottom=0)
    if len(groups) > 1:
        ax.legend(
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
        )
    return ax
