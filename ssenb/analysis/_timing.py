"""Timing: time to first byte and first event, inter-arrival times, throughput."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..value import CaptureLike
from ._input import prepare
from ._prepare import Prepared, by_stream_name, kept
from ._result import Result

__all__ = ["timing"]

_QUANTILES = (0.5, 0.9, 0.95, 0.99)


def timing(capture: CaptureLike) -> Result:
    """How fast the stream starts and how its events are spaced.

    Tables:
        connections: stream, connection, ttfb (request to first body byte), ttfe
            (request to first event), duration, bytes, bytes_per_s, events,
            events_per_s — stream seconds.
        distribution: stat (mean, p50, p90, p95, p99, max), value — inter-arrival
            seconds between consecutive events of a connection.
        inter_arrival: stream, connection, seq, t, interval — one row per event; plots
            as a histogram or a time series.
    """
    prep = prepare(capture)
    return kept(prep, "timing", lambda: _timing(prep))


def _timing(prep: Prepared) -> Result:
    ev = prep.events
    conns = prep.connections
    rows = np.flatnonzero((ev["kind"] == "event").to_numpy(dtype=bool, na_value=False))
    events = ev[["stream", "connection", "seq", "t"]].iloc[rows]
    inter = events.reset_index(drop=True)
    # one grouping, by stream code (sorted like the names) and connection
    codes, streams = prep.stream_codes()
    g = inter["t"].groupby([codes[rows], inter["connection"].to_numpy()], sort=True)
    inter["interval"] = g.diff()
    keys = pd.MultiIndex.from_frame(conns[["stream", "connection"]])
    first_event = by_stream_name(g.min(), streams).reindex(keys)
    n_events = by_stream_name(g.size(), streams).reindex(keys).fillna(0)
    if {"t_request", "t_first_byte"} <= set(conns.columns) and not prep.inferred:
        ttfb = (conns["t_first_byte"] - conns["t_request"]).dt.total_seconds()
        ttfb = ttfb * conns["scale"]
    else:
        ttfb = pd.Series(np.nan, index=conns.index)
    start = (
        conns["start_s"] if not prep.inferred else pd.Series(np.nan, index=conns.index)
    )
    duration = conns["duration"]
    nbytes = conns["bytes"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame(
            {
                "stream": conns["stream"],
                "connection": conns["connection"],
                "ttfb": ttfb.to_numpy(dtype=float),
                "ttfe": first_event.to_numpy(dtype=float) - start.to_numpy(dtype=float),
                "duration": duration.to_numpy(),
                "bytes": conns["bytes"].to_numpy(),
                "bytes_per_s": np.where(duration > 0, nbytes / duration, np.nan),
                "events": n_events.to_numpy(dtype="int64"),
                "events_per_s": np.where(
                    duration > 0, n_events.to_numpy() / duration, np.nan
                ),
            }
        )
    iv = inter["interval"].dropna()
    # every quantile from one sort of the intervals
    wanted = [*_QUANTILES, 0.5, 0.95]
    qs = np.quantile(iv.to_numpy(), wanted) if len(iv) else [np.nan] * len(wanted)
    stats = [("mean", iv.mean())] + [
        (f"p{int(q * 100)}", qs[i]) for i, q in enumerate(_QUANTILES)
    ]
    stats.append(("max", iv.max()))
    dist = (
        pd.DataFrame(stats, columns=["stat", "value"])
        if len(iv)
        else pd.DataFrame(columns=["stat", "value"])
    )
    summary: list[str] = []
    if not len(ev):
        summary.append("No records in this capture.")
    elif not prep.has_time:
        summary.append(
            f"{len(events)} events, but no arrival times were recorded: timing unknown."
        )
    else:
        if table["ttfb"].notna().any():
            summary.append(
                f"Time to first byte: {table['ttfb'].median():.3f} s (median)."
            )
        if table["ttfe"].notna().any():
            summary.append(
                f"Time to first event: {table['ttfe'].median():.3f} s (median)."
            )
        if len(iv):
            summary.append(
                f"Events arrive every {qs[-2]:.3f} s (median), p95 "
                f"{qs[-1]:.3f} s, max {iv.max():.3f} s."
            )
        total_d = float(duration.sum())
        if total_d > 0:
            summary.append(
                f"{float(nbytes.sum()) / total_d:.0f} bytes/s and "
                f"{len(events) / total_d:.2f} events/s while connected."
            )
    return Result(
        "Timing",
        summary=summary,
        tables={"connections": table, "distribution": dist, "inter_arrival": inter},
        facts={
            "ttfb": _median(table["ttfb"]),
            "ttfe": _median(table["ttfe"]),
            "median_interval": float(qs[-2]) if len(iv) else np.nan,
        },
        notes=[prep.scale_note, prep.latency_note],
    )


def _median(values: pd.Series) -> float:
    """The median of the known values, NaN when there is none (no warning)."""
    known = values.dropna()
    return float(known.median()) if len(known) else float("nan")
