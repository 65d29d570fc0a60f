"""What every plot shares: the family palette, the input made uniform, new axes.

Rules:

- One colour per family, the same in every plot and widget (``FAMILY_COLORS``); a row
  with no family yet is coloured by its kind (comments and blank lines as keep-alives,
  retry hints as control, events as data).
- Times on every axis are stream seconds since the capture started: measured seconds
  times the server's announced time scale, so a time-compressed demo reads in the
  stream's own time.
- No global state: a plot draws on the axes it is given, or on a new figure made here;
  rcParams are never changed and ``plt.show()`` is never called.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from ..frames import empty_connections
from ..patterns import classify

__all__ = ["FAMILY_COLORS", "color_of", "label_rows", "prepare"]

#: One colour per family of the pattern catalogue, stable across every plot.
FAMILY_COLORS: dict[str, str] = {
    "keepalive": "#8c8c8c",
    "control": "#1f77b4",
    "state": "#17becf",
    "progress": "#2ca02c",
    "error": "#d62728",
    "metadata": "#9467bd",
    "auth": "#bcbd22",
    "data": "#ff7f0e",
    "unknown": "#e377c2",
}

#: The family a row is drawn as before it is classified, by its kind.
KIND_FAMILY = {
    "event": "data",
    "comment": "keepalive",
    "blank": "keepalive",
    "retry": "control",
}

#: Row labels of the records that are not events.
KIND_LABELS = {"comment": "(comment)", "blank": "(blank line)", "retry": "(retry)"}


def color_of(family: Any) -> str:
    """The colour of a family (``unknown``'s for a name the catalogue lacks)."""
    return FAMILY_COLORS.get(str(family), FAMILY_COLORS["unknown"])


@dataclass
class Prepared:
    """A capture made uniform for plotting.

    Attributes:
        events: the events frame plus ``family``, ``label`` (the event type, or
            ``(comment)``/``(blank line)``/``(retry)``) and ``t`` (stream seconds
            since the start; NaN when unknown).
        connections: one row per connection with ``start_s``/``end_s`` (stream
            seconds) and ``outcome``.
        scale: the time scale announced by the server (1 = real time).
        has_time: the events carry arrival times.
    """

    events: pd.DataFrame
    connections: pd.DataFrame
    scale: float
    has_time: bool

    @property
    def time_label(self) -> str:
        """The x-axis label for stream seconds."""
        if abs(self.scale - 1.0) > 1e-9:
            return f"stream time (s; played {self.scale:g}x faster)"
        return "time since start (s)"


def _family(events: pd.DataFrame) -> pd.Series:
    if "family" in events.columns:
        return events["family"].astype(str)
    return events["kind"].astype(str).map(KIND_FAMILY).fillna("unknown")


def prepare(obj: Any) -> Prepared:
    """A :class:`Prepared` from a Capture (``.events``, ``.connections``, ``.meta``)
    or a bare events frame.

    Raises:
        TypeError: ``obj`` is neither.
    """
    if isinstance(obj, Prepared):
        return obj
    if isinstance(obj, pd.DataFrame):
        events, conns, meta = obj, None, {}
    elif isinstance(getattr(obj, "events", None), pd.DataFrame):
        events = obj.events
        conns = getattr(obj, "connections", None)
        meta = dict(getattr(obj, "meta", None) or {})
    else:
        raise TypeError(
            f"expected a Capture or an events DataFrame, got {type(obj).__name__}"
        )
    # a recorded capture is not classified yet: without this, an event: ping would be
    # drawn as data and missed by the keep-alive plots
    ev = classify(events) if "family" not in events.columns else events.copy()
    for col, default in (("stream", ""), ("connection", 1)):
        if col not in ev.columns:
            ev[col] = default
    ev = label_rows(ev)
    scale = float(meta.get("time_scale") or 1.0)
    if isinstance(conns, pd.DataFrame) and len(conns) and "time_scale" in conns:
        found = conns["time_scale"].astype("float64").dropna()
        if len(found):
            scale = float(found.max()) or 1.0
    elapsed = (
        ev["elapsed"].astype("float64")
        if "elapsed" in ev.columns
        else pd.Series(np.nan, index=ev.index)
    )
    ev["t"] = elapsed.to_numpy() * scale
    has_time = bool(len(ev) and ev["t"].notna().any())
    if not isinstance(conns, pd.DataFrame) or not len(conns):
        conns = _infer_connections(ev)
    conns = conns.copy()
    conns["start_s"] = conns["start"].astype("float64") * scale
    conns["end_s"] = conns["end"].astype("float64") * scale
    return Prepared(ev, conns.reset_index(drop=True), scale, has_time)


def _infer_connections(ev: pd.DataFrame) -> pd.DataFrame:
    out = empty_connections()
    if not len(ev) or ev["t"].isna().all():
        return out
    g = ev.groupby(["stream", "connection"], sort=True, observed=True)["t"]
    agg = g.agg(["min", "max"]).reset_index()
    return pd.DataFrame(
        {
            "stream": agg["stream"].astype(str),
            "connection": agg["connection"].astype("int64"),
            "start": agg["min"],
            "end": agg["max"],
            "outcome": pd.array([None] * len(agg), dtype="string"),
        }
    )


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new figure of ``figsize`` inches.

    A new figure goes through pyplot so that a notebook shows it at the end of the
    cell, as pandas plots are shown; no rcParams change and nothing is shown here.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize)
    return fig.add_subplot()


def note(ax: Axes, text: str) -> None:
    """Write ``text`` in the middle of an otherwise empty plot."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#666666",
        fontstyle="italic",
    )


def family_legend(ax: Axes, families: Iterable[str], **kwargs: Any) -> None:
    """A legend with one patch per family, in catalogue order."""
    present = [f for f in FAMILY_COLORS if f in set(families)]
    if not present:
        return
    handles = [Patch(color=color_of(f), label=f) for f in present]
    ax.legend(handles=handles, title="family", fontsize="small", **kwargs)


def label_order(ev: pd.DataFrame) -> list[str]:
    """Row labels ordered by family (catalogue order), then by count."""
    if not len(ev):
        return []
    fam_rank = {f: i for i, f in enumerate(FAMILY_COLORS)}
    families = main_family(ev)
    counts = {str(k): int(v) for k, v in ev["label"].value_counts().items()}
    return sorted(
        counts, key=lambda k: (fam_rank.get(families.get(k, ""), 99), -counts[k], k)
    )


def main_family(ev: pd.DataFrame) -> dict[str, str]:
    """Each row label's most frequent family."""
    if not len(ev):
        return {}
    return {
        str(k): str(v)
        for k, v in ev.groupby("label", sort=False)["family"]
        .agg(lambda s: s.mode().iloc[0])
        .items()
    }


def label_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus ``label`` and ``family`` columns, for rows as they arrive.

    Used by the live views on each batch of new rows; cheap and vectorised.
    """
    out = frame.copy()
    out["family"] = _family(out).to_numpy()
    kind = out["kind"].astype(str)
    out["label"] = np.where(
        kind == "event", out["type"].astype(str), kind.map(KIND_LABELS).fillna(kind)
    )
    return out
