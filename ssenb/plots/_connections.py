"""The connections of a capture as a Gantt chart: spans, reconnect gaps, end reasons."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import analysis
from ..value import CaptureLike
from ._base import new_axes, note

if TYPE_CHECKING:  # matplotlib loads when a plot is drawn, not at import
    from matplotlib.axes import Axes

__all__ = ["OUTCOME_COLORS", "plot_connections"]

#: A colour per way a connection can end; anything else is drawn grey.
OUTCOME_COLORS: dict[str, str] = {
    "eof": "#4c72b0",
    "stopped": "#55a868",
    "until": "#55a868",
    "max-events": "#55a868",
    "duration": "#55a868",
    "http-204": "#8172b2",
    "idle-timeout": "#dd8452",
    "error": "#c44e52",
}


def plot_connections(capture: CaptureLike, *, ax: Axes | None = None) -> Axes:
    """One bar per connection attempt, from request to close, labelled with how it
    ended; the gap before each reconnect is drawn as a dotted line with its length.

    Bars are coloured by outcome (``OUTCOME_COLORS``); a failed attempt with no time
    span is a diamond at its start.
    """
    prep = analysis.prepare(capture)
    conns = prep.connections.dropna(subset=["start_s"]).reset_index(drop=True)
    ax = new_axes(ax, (10, 2.5))
    ax.set_title("Connections")
    ax.set_xlabel(prep.time_label)
    if not len(conns):
        note(ax, "no connections with times in this capture")
        return ax
    conns = conns.sort_values(["stream", "start_s"]).reset_index(drop=True)
    names = [
        f"{s}#{c}" if s else f"#{c}"
        for s, c in zip(conns["stream"].astype(str), conns["connection"], strict=True)
    ]
    y = np.arange(len(conns))[::-1]
    ends = conns["end_s"].fillna(conns["start_s"]).to_numpy(dtype=float)
    starts = conns["start_s"].to_numpy(dtype=float)
    outcome_col = (
        conns["outcome"].astype("string").fillna("")
        if "outcome" in conns.columns
        else pd.Series([""] * len(conns))
    )
    outcomes = [str(o) for o in outcome_col]
    colors = [OUTCOME_COLORS.get(o, "#999999") for o in outcomes]
    widths = ends - starts
    ax.barh(y, widths, left=starts, color=colors, height=0.6)
    zero = widths <= 0
    if zero.any():
        ax.scatter(starts[zero], y[zero], marker="D", color=np.array(colors)[zero])
    span = float(max(ends.max() - starts.min(), 1e-9))
    for yi, end, outcome in zip(y, ends, outcomes, strict=True):
        if outcome:
            ax.text(end + span * 0.01, yi, outcome, va="center", fontsize="small")
    streams = conns["stream"].astype(str).to_numpy()
    for i in range(1, len(conns)):
        if streams[i] != streams[i - 1]:
            continue
        gap = starts[i] - ends[i - 1]
        if gap > 0:
            ax.plot(
                [ends[i - 1], starts[i]],
                [y[i - 1], y[i]],
                ls=":",
                color="#444444",
                lw=1,
            )
            ax.text(
                (ends[i - 1] + starts[i]) / 2,
                (y[i - 1] + y[i]) / 2,
                f"{gap:.3g} s",
                fontsize="x-small",
                ha="center",
                va="bottom",
            )
    ax.set_yticks(y, names)
    ax.set_ylim(-0.7, len(conns) - 0.3)
    ax.set_xlim(starts.min() - span * 0.02, ends.max() + span * 0.15)
    return ax
