"""What every analysis starts from: a Capture or a bare events frame, made uniform.

Rules:

- What stands for a capture is decided once, by ``ssenb.value.as_capture`` (a Capture,
  an events frame, a path, anything with ``.events``). A bare events frame has no
  connections; they are inferred from its ``connection`` column.
- Times are stream times: measured seconds × the time scale of the row's connection
  (a server that plays 100x faster than real time announces ``time_scale`` 100). Every
  duration, interval and rate an analysis gives is in these seconds.
- Classification runs once per capture; analyses given a :class:`Prepared` reuse it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ..frames import CONNECTIONS_SCHEMA
from ..patterns import classify
from ..value import CaptureLike, as_capture

__all__: list[str] = []

_F = TypeVar("_F", bound=Callable[..., Any])


def per_stream(func: _F) -> _F:
    """Let an analysis take a dataset of captures too: given an object with
    ``_ssenb_per_stream`` (``ssenb.dataset.Dataset``), hand it the analysis to run
    on each of its streams; anything else goes to ``func`` as it is."""

    @functools.wraps(func)
    def wrapper(capture: Any, *args: Any, **kwargs: Any) -> Any:
        run = getattr(type(capture), "_ssenb_per_stream", None)
        if run is not None:
            return run(capture, func, *args, **kwargs)
        return func(capture, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass
class Prepared:
    """A capture made uniform for analysis.

    Attributes:
        events: the classified events frame plus ``t`` (stream seconds since the capture
            started; NaN when unknown) and ``scale``.
        connections: one row per connection (given, or inferred), plus ``scale``,
            ``start_s``, ``end_s`` and ``duration`` in stream seconds.
        meta: the capture's metadata (``{}`` for a bare frame).
        scale: the largest time scale of the capture (1 = real time).
        inferred: connections were inferred from the events.
        has_time: the events carry arrival times.
    """

    events: pd.DataFrame
    connections: pd.DataFrame
    meta: dict[str, Any]
    scale: float
    inferred: bool
    has_time: bool
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def compressed(self) -> bool:
        """The server played faster (or slower) than real time."""
        return bool(self.scale and abs(self.scale - 1.0) > 1e-9)

    @property
    def scale_note(self) -> str:
        """A sentence saying how times were scaled, or ``""`` for real time."""
        if not self.compressed:
            return ""
        return (
            f"This capture was time-compressed: the server played it {self.scale:g}x "
            f"faster than real time; every duration, interval and rate here is in the "
            f"stream's own time (measured seconds x {self.scale:g})."
        )

    @property
    def latency_note(self) -> str:
        """For time to first byte, event or token: what the scale does to them, or
        ``""`` for real time."""
        if not self.compressed:
            return ""
        setup = 0.02 * self.scale
        return (
            f"Times to a first byte, event or token include the connection's real "
            f"setup, which the scale multiplies too: a 20 ms local connect reads as "
            f"{setup:g} s here. Record at speed=1 to measure them."
        )


def prepare(
    obj: CaptureLike | Prepared, *, time_scale: float | None = None
) -> Prepared:
    """A :class:`Prepared` from what :func:`ssenb.value.as_capture` takes, or a
    Prepared (returned)."""
    if isinstance(obj, Prepared):
        return obj
    cap = as_capture(obj)
    events, meta = cap.events, dict(cap.meta)
    # a bare frame has no connections: they are inferred from its rows
    connections = None if isinstance(obj, pd.DataFrame) else cap.connections
    ev = classify(events)
    n = len(ev)
    for col, default in (("stream", ""), ("connection", 1)):
        if col not in ev.columns:
            ev[col] = default
    if "seq" not in ev.columns:
        ev["seq"] = np.arange(n, dtype=np.int64)
    if "size" not in ev.columns:
        ev["size"] = ev["data"].str.len().fillna(0).astype("int64")
    # plain Python strings: cheap to group by, and no categorical surprises
    ev["stream"] = pd.Series(
        np.asarray(ev["stream"], dtype=object), index=ev.index, dtype=object
    )
    if "id" not in ev.columns:
        ev["id"] = pd.array([None] * n, dtype="string")

    elapsed = (
        ev["elapsed"].astype("float64")
        if "elapsed" in ev.columns
        else pd.Series(np.nan, index=ev.index)
    )
    if n and elapsed.isna().all() and "time" in ev.columns and ev["time"].notna().any():
        t0 = ev["time"].min()
        elapsed = (ev["time"] - t0).dt.total_seconds()
    has_time = bool(n and elapsed.notna().any())

    inferred = connections is None or (len(connections) == 0 and n > 0)
    conns = _infer_connections(ev, elapsed) if inferred else connections.copy()
    conns["stream"] = conns["stream"].astype(str)
    default_scale = float(
        time_scale or meta.get("time_scale") or ev.attrs.get("time_scale", 1.0) or 1.0
    )
    if time_scale is not None:
        conns["scale"] = float(time_scale)
    elif "time_scale" in conns.columns:
        conns["scale"] = (
            conns["time_scale"].astype("float64").fillna(default_scale).replace(0, 1.0)
        )
    else:
        conns["scale"] = default_scale
    scales = conns["scale"].unique()
    if len(scales) <= 1:
        row_scale = pd.Series(
            float(scales[0]) if len(scales) else default_scale, index=ev.index
        )
    else:
        key = pd.MultiIndex.from_frame(conns[["stream", "connection"]])
        lookup = pd.Series(conns["scale"].to_numpy(), index=key)
        idx = pd.MultiIndex.from_frame(ev[["stream", "connection"]])
        row_scale = pd.Series(
            lookup.reindex(idx).fillna(default_scale).to_numpy(), index=ev.index
        )
    ev["scale"] = row_scale.to_numpy()
    ev["t"] = elapsed.to_numpy() * ev["scale"].to_numpy()
    conns["start_s"] = conns["start"].astype("float64") * conns["scale"]
    conns["end_s"] = conns["end"].astype("float64") * conns["scale"]
    conns["duration"] = conns["end_s"] - conns["start_s"]
    scale = float(conns["scale"].max()) if len(conns) else default_scale
    return Prepared(
        events=ev,
        connections=conns.reset_index(drop=True),
        meta=meta,
        scale=scale if scale == scale else 1.0,
        inferred=inferred,
        has_time=has_time,
    )


def _infer_connections(ev: pd.DataFrame, elapsed: pd.Series) -> pd.DataFrame:
    """One row per (stream, connection) of the events, in the connections schema."""
    if not len(ev):
        out = pd.DataFrame(
            {c: pd.Series([], dtype=d) for c, d in CONNECTIONS_SCHEMA.items()}
        )
        out["stream"] = out["stream"].astype(str)
        return out
    work = pd.DataFrame(
        {
            "stream": ev["stream"].to_numpy(),
            "connection": ev["connection"].to_numpy(),
            "elapsed": elapsed.to_numpy(),
            "size": ev["size"].to_numpy(),
            "is_event": (ev["kind"] == "event").to_numpy(),
            "retry": ev["retry"].to_numpy() if "retry" in ev.columns else np.nan,
        }
    )
    g = work.groupby(["stream", "connection"], sort=True)
    agg = g.agg(
        start=("elapsed", "min"),
        end=("elapsed", "max"),
        bytes=("size", "sum"),
        records=("size", "size"),
        events=("is_event", "sum"),
        retry=("retry", "last"),
    ).reset_index()
    n = len(agg)
    out = pd.DataFrame(
        {
            "stream": agg["stream"].astype(str),
            "connection": agg["connection"].astype("int64"),
            "url": pd.array([None] * n, dtype="string"),
            "status": pd.array([None] * n, dtype="Int64"),
            "last_event_id_sent": pd.array([None] * n, dtype="string"),
            "delay": np.nan,
            "start": agg["start"].astype("float64"),
            "end": agg["end"].astype("float64"),
            "bytes": agg["bytes"].astype("int64"),
            "records": agg["records"].astype("int64"),
            "events": agg["events"].astype("int64"),
            "outcome": pd.array([None] * n, dtype="string"),
            "retry": pd.array(agg["retry"], dtype="Int64"),
            "time_scale": np.nan,
        }
    )
    return out
