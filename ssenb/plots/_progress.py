"""Progress curves: each task's percentage over time."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from ._base import new_axes, note, prepare

__all__ = ["plot_progress", "progress_series"]

_KEYS = r'"(?:percentage|percent|progress|current)"\s*:'


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def progress_series(capture: Any) -> pd.DataFrame:
    """One row per progress report: ``t`` (stream seconds), ``task`` and
    ``percentage`` (0-100), read from JSON data carrying ``percentage``/``percent``,
    ``progress`` (0-1 or 0-100) or ``current``/``total``."""
    prep = prepare(capture)
    ev = prep.events
    ev = ev[(ev["kind"].astype(str) == "event") & ev["t"].notna()]
    cand = ev[ev["data"].str.contains(_KEYS, regex=True).fillna(False).astype(bool)]
    rows = []
    for t, ty, data in zip(
        cand["t"], cand["type"].astype(str), cand["data"], strict=True
    ):
        try:
            obj = json.loads(data)
        except (TypeError, ValueError):
            continue
        if not isinstance(obj, dict):
            continue
        pct = _number(obj.get("percentage", obj.get("percent")))
        if pct is None and (p := _number(obj.get("progress"))) is not None:
            pct = p * 100 if p <= 1 else p
        cur, tot = _number(obj.get("current")), _number(obj.get("total"))
        if pct is None and cur is not None and tot:
            pct = 100 * cur / tot
        if pct is None:
            continue
        task = obj.get("task_id") or obj.get("job_id") or obj.get("task") or ty
        rows.append((float(t), str(task), pct))
    return pd.DataFrame(rows, columns=["t", "task", "percentage"]).astype(
        {"t": "float64", "percentage": "float64"}
    )


def plot_progress(capture: Any, *, ax: Axes | None = None) -> Axes:
    """Each task's reported percentage over time, one line per task.

    Takes a capture, an events frame, or a table with ``t``, ``task`` and
    ``percentage`` columns (such as an analysis result's ``series``).
    """
    if isinstance(capture, pd.DataFrame) and {"t", "task", "percentage"} <= set(
        capture.columns
    ):
        series, label = capture, "time since start (s)"
    elif isinstance(getattr(capture, "series", None), pd.DataFrame):
        series, label = capture.series, "time since start (s)"
    else:
        series, label = progress_series(capture), prepare(capture).time_label
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
