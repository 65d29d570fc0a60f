"""Progress: series per task and the ETA the server gave against when it finished."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ._input import prepare
from ._result import Result

__all__ = ["progress"]

_KEYS = r'"(?:percentage|percent|progress|eta_seconds)"[ \t\r\n]*:'


def progress(capture: Any) -> Result:
    """Progress reports per task, and how good the server's ETA was.

    Progress rows are events of the ``progress`` family or whose JSON carries
    ``percentage``, ``percent``, ``progress`` (0..1 or 0..100) or ``eta_seconds``. The
    task is ``task_id`` (or ``job_id``, ``id``, else the event type).

    Tables:
        series: stream, connection, seq, t, task, percentage (0..100), current, total,
            eta_seconds, predicted_end (t + eta), message — one row per report.
        tasks: task, reports, first_t, last_t, last_percentage, finished,
            first_eta, predicted_end (by the first ETA), actual_end, eta_error
            (actual_end - predicted_end; positive means late) — stream seconds.
    """
    prep = prepare(capture)
    ev = prep.events
    events = ev.loc[
        ev["kind"] == "event",
        ["stream", "connection", "seq", "t", "type", "data", "family"],
    ]
    cand = events[
        (events["family"] == "progress")
        | events["data"].str.contains(_KEYS, regex=True).fillna(False).astype(bool)
    ]
    rows = []
    for stream, conn, seq, t, ty, data in zip(
        cand["stream"].tolist(),
        cand["connection"].tolist(),
        cand["seq"].tolist(),
        cand["t"].tolist(),
        [str(x) for x in cand["type"].tolist()],
        cand["data"].tolist(),
        strict=True,
    ):
        try:
            obj = json.loads(data)
        except (TypeError, ValueError):
            continue
        if not isinstance(obj, dict):
            continue
        pct = _number(obj.get("percentage", obj.get("percent")))
        if pct is None:
            p = _number(obj.get("progress"))
            if p is not None:
                pct = p * 100 if p <= 1 else p
        current, total = _number(obj.get("current")), _number(obj.get("total"))
        if pct is None and current is not None and total:
            pct = 100 * current / total
        eta = _number(obj.get("eta_seconds", obj.get("eta")))
        if pct is None and eta is None:
            continue
        task = obj.get("task_id") or obj.get("job_id") or obj.get("task") or ty
        rows.append(
            (
                stream,
                conn,
                seq,
                t,
                str(task),
                pct,
                current,
                total,
                eta,
                t + eta if eta is not None else np.nan,
                obj.get("message") or obj.get("phase"),
            )
        )
    series = pd.DataFrame(
        rows,
        columns=[
            "stream",
            "connection",
            "seq",
            "t",
            "task",
            "percentage",
            "current",
            "total",
            "eta_seconds",
            "predicted_end",
            "message",
        ],
    )
    for col in ("percentage", "current", "total", "eta_seconds", "predicted_end", "t"):
        series[col] = pd.to_numeric(series[col], errors="coerce").astype("float64")
    task_cols = [
        "task",
        "reports",
        "first_t",
        "last_t",
        "last_percentage",
        "finished",
        "first_eta",
        "predicted_end",
        "actual_end",
        "eta_error",
    ]
    if not len(series):
        return Result(
            "Progress",
            summary=["No progress reports in this capture."],
            tables={"series": series, "tasks": pd.DataFrame(columns=task_cols)},
            notes=[prep.scale_note],
        )
    tasks = []
    for task, grp in series.groupby("task", sort=False):
        finished = bool((grp["percentage"] >= 100).any())
        done_t = grp.loc[grp["percentage"] >= 100, "t"].min() if finished else np.nan
        with_eta = grp.dropna(subset=["eta_seconds"])
        first_eta = with_eta["eta_seconds"].iloc[0] if len(with_eta) else np.nan
        predicted = with_eta["predicted_end"].iloc[0] if len(with_eta) else np.nan
        tasks.append(
            (
                task,
                len(grp),
                grp["t"].min(),
                grp["t"].max(),
                grp["percentage"].iloc[-1],
                finished,
                first_eta,
                predicted,
                done_t,
                done_t - predicted,
            )
        )
    table = pd.DataFrame(tasks, columns=task_cols)
    summary = [
        f"{len(series)} progress report(s) for {len(table)} task(s); "
        f"{int(table['finished'].sum())} reached 100%."
    ]
    errs = table["eta_error"].dropna()
    if len(errs):
        summary.append(
            f"The first ETA was off by {errs.abs().median():.1f} s (median; "
            f"{'late' if errs.median() > 0 else 'early'})."
        )
    return Result(
        "Progress",
        summary=summary,
        tables={"series": series, "tasks": table},
        notes=[prep.scale_note],
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
