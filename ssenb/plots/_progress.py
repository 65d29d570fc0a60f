"""Progress curves: each task's percentage over time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import analysis
from ..value import CaptureLike
from ._base import new_axes, note

if TYPE_CHECKING:  # matplotlib loads when a plot is drawn, not at import
    from matplotlib.axes import Axes

__all__ = ["plot_task_progress", "task_progress_series"]


def task_progress_series(capture: CaptureLike) -> pd.DataFrame:
    """One row per progress report, from ``ssenb.analysis.task_progress``: ``t`` (stream
    seconds), ``task``, ``percentage`` (0-100) and the rest of its ``series``."""
    series: pd.DataFrame = analysis.task_progress(analysis.prepare(capture)).series
    return series


def plot_task_progress(
    capture: CaptureLike | analysis.Result, *, ax: Axes | None = None
) -> Axes:
    """Each task's reported percentage over time, one line per task.

    Takes a capture, an events frame, or a table with ``t``, ``task`` and
    ``percentage`` columns (such as an analysis result's ``series``).
    """
    tables: Any = getattr(capture, "tables", {})  # an analysis result's
    if isinstance(capture, pd.DataFrame) and {"t", "task", "percentage"} <= set(
        capture.columns
    ):
        series, label = capture, "stream time (s)"
    elif isinstance(tables.get("series"), pd.DataFrame):
        series, label = tables["series"], "stream time (s)"
    else:
        prep = analysis.prepare(capture)
        series, label = task_progress_series(prep), prep.time_label
    ax = new_axes(ax, (8, 3.5))
    ax.set_title("Progress")
    ax.set_xlabel(label)
    ax.set_ylabel("percent done")
    series = series.dropna(subset=["t", "percentage"])
    if not len(series):
        note(ax, "no progress reports in this capture")
        return ax
    for task, grp in series.groupby("task", sort=False):
        ax.plot(
            grp["t"].to_numpy(dtype=float),
            grp["percentage"].to_numpy(dtype=float),
            marker="o",
            ms=3,
            label=str(task),
        )
    ax.set_ylim(0, max(105.0, float(series["percentage"].max()) * 1.05))
    ax.axhline(100, color="#999999", lw=0.8, ls=":")
    ax.legend(
        title="task", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1)
    )
    return ax
