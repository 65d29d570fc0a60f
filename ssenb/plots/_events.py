"""Plots of the records themselves: timeline, rate by type, type mix, inter-arrival."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..value import CaptureLike
from ._base import (
    color_of,
    family_legend,
    label_order,
    main_family,
    new_axes,
    note,
    rows_of,
    short,
)

if TYPE_CHECKING:  # matplotlib loads when a plot is drawn, not at import
    from matplotlib.axes import Axes

__all__ = ["plot_interarrival", "plot_rate", "plot_timeline", "plot_types"]

_LINESTYLES = ("-", "--", ":", "-.")


def _shade_connections(ax: Axes, conns: pd.DataFrame) -> None:
    """Alternate light bands per connection, a dashed line at each reconnect."""
    spans = conns.dropna(subset=["start_s", "end_s"]).sort_values("start_s")
    for i, (start, end) in enumerate(
        zip(spans["start_s"], spans["end_s"], strict=True)
    ):
        ax.axvspan(
            start, end, color="#4c72b0", alpha=0.07 if i % 2 == 0 else 0.14, lw=0
        )
        if i:
            ax.axvline(start, color="#4c72b0", ls="--", lw=0.8, alpha=0.7)


def plot_timeline(capture: CaptureLike, *, ax: Axes | None = None) -> Axes:
    """Every record as a mark at its arrival, one row per event type.

    Comments, blank-line keep-alives and retry hints get rows of their own, so what a
    browser's ``EventSource`` never shows is visible too. Marks are coloured by family;
    each connection is a shaded band and a dashed line marks each reconnect.

    Example:
        >>> ssenb.plot_timeline(capture)  # doctest: +SKIP
    """
    prep, ev = rows_of(capture)
    ax = new_axes(ax, (9, 3.6))
    ax.set_title("Timeline: every record at its arrival")
    if not len(ev):
        note(ax, "no records in this capture")
        return ax
    x_all = ev["t"] if prep.has_time else pd.Series(np.arange(len(ev)), index=ev.index)
    order = label_order(ev)
    rows = {label: i for i, label in enumerate(reversed(order))}
    if prep.has_time:
        _shade_connections(ax, prep.connections)
    for (label, family), grp in ev.groupby(["label", "family"], sort=False):
        xs = x_all.loc[grp.index].to_numpy(dtype=float)
        ax.scatter(
            xs,
            np.full(len(xs), rows[str(label)]),
            color=color_of(family),
            marker="|",
            s=120,
            linewidths=1.5,
        )
    ax.set_yticks(range(len(rows)), [short(r) for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(prep.time_label if prep.has_time else "record number")
    family_legend(ax, ev["family"], loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def _bin_width(duration: float) -> float:
    """A round bin width giving about 60 bins over ``duration`` seconds."""
    raw = max(duration / 60.0, 1e-3)
    exp = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if step * exp >= raw:
            return float(step * exp)
    return float(10 * exp)  # pragma: no cover - the loop always returns


def plot_rate(
    capture: CaptureLike,
    *,
    ax: Axes | None = None,
    bin: float | None = None,
    top: int = 8,
    kind: str = "cumulative",
) -> Axes:
    """How records of each type accumulate over time (``kind="cumulative"``, the
    default: a line that climbs with each record, so bursts, stalls and steady
    streams read at a glance), or records per second in bins (``kind="rate"``).

    One line per type (the ``top`` most frequent; the rest summed as ``other``).
    Lines take their family's colour; types of one family differ by line style.
    ``bin`` is the width of a rate bin in seconds (by default about 60 bins over the
    capture).
    """
    if kind not in ("cumulative", "rate"):
        raise ValueError(f"kind must be 'cumulative' or 'rate', got {kind!r}")
    if bin is not None and bin <= 0:
        raise ValueError(f"bin must be a positive number of seconds, got {bin!r}")
    prep, rows = rows_of(capture)
    ev = rows[rows["t"].notna()]
    ax = new_axes(ax, (9, 3.2))
    cumulative = kind == "cumulative"
    ax.set_title("Records so far by type" if cumulative else "Rate by type")
    ax.set_ylabel("records" if cumulative else "records per second")
    ax.set_xlabel(prep.time_label)
    if not len(ev):
        note(ax, "no timed records in this capture")
        return ax
    t0, t1 = 0.0, float(ev["t"].max())
    width = float(bin) if bin else _bin_width(max(t1 - t0, 1e-3))
    edges = np.arange(t0, t1 + width, width)
    if len(edges) < 2:
        edges = np.array([t0, t0 + width])
    counts = ev["label"].value_counts()
    shown = list(counts.index[:top])
    fams = main_family(ev)
    used: dict[str, int] = {}
    labels = ev["label"].where(ev["label"].isin(shown), "other")
    for label in [*shown, "other"]:
        ts = np.sort(ev["t"][labels == label].to_numpy(dtype=float))
        if not len(ts):
            continue
        fam = fams.get(str(label), "unknown") if label != "other" else "unknown"
        style = _LINESTYLES[used.get(fam, 0) % len(_LINESTYLES)]
        used[fam] = used.get(fam, 0) + 1
        name = f"{short(label)} ({fam})" if label != "other" else "other"
        if cumulative:
            xs = np.concatenate([[t0], ts, [t1]])
            ys = np.concatenate([[0], np.arange(1, len(ts) + 1), [len(ts)]])
            ax.step(xs, ys, where="post", color=color_of(fam), ls=style, label=name)
        else:
            hist, _ = np.histogram(ts, bins=edges)
            ax.step(
                edges[:-1],
                hist / width,
                where="post",
                color=color_of(fam),
                ls=style,
                label=name,
            )
    ax.set_ylim(bottom=0)
    ax.set_xlim(t0, max(t1, t0 + 1e-3))
    ax.legend(
        fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False
    )
    return ax


def plot_types(capture: CaptureLike, *, ax: Axes | None = None, top: int = 20) -> Axes:
    """How many records of each type (and of each non-event kind), coloured by family.

    The ``top`` most frequent rows are shown, most frequent on top.
    """
    _, ev = rows_of(capture)
    ax = new_axes(ax, (7, 3.6))
    ax.set_title("Records by type")
    ax.set_xlabel("records")
    if not len(ev):
        note(ax, "no records in this capture")
        return ax
    counts = ev["label"].value_counts().iloc[:top][::-1]
    fams = main_family(ev)
    colors = [color_of(fams.get(str(k), "unknown")) for k in counts.index]
    names = [short(k) for k in counts.index]
    bars = ax.barh(range(len(names)), counts.to_numpy(), color=colors)
    ax.set_yticks(range(len(names)), names)
    ax.bar_label(bars, padding=2, fontsize="small")
    ax.margins(x=0.15)
    family_legend(ax, ev["family"], loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_interarrival(
    capture: CaptureLike, *, ax: Axes | None = None, bins: int = 40
) -> Axes:
    """A histogram of the time between consecutive records of a connection, stacked by
    the family of the later record; logarithmic bins when the gaps span decades."""
    _, rows = rows_of(capture)
    ev = rows[rows["t"].notna()]
    ax = new_axes(ax, (7, 3.2))
    ax.set_title("Inter-arrival times")
    ax.set_ylabel("records")
    ax.set_xlabel("seconds since the previous record")
    gaps = ev.groupby(["stream", "connection"], sort=False, observed=True)["t"].diff()
    ok = gaps.notna()
    gaps, fams = gaps[ok], ev["family"][ok]
    if not len(gaps):
        note(ax, "fewer than two timed records per connection")
        return ax
    lo, hi = float(gaps.min()), float(gaps.max())
    if hi <= 0:
        edges = np.linspace(0, 1e-3, bins + 1)
    elif lo > 0 and hi / lo > 100:
        edges = np.geomspace(lo, hi, bins + 1)
        ax.set_xscale("log")
    else:
        edges = np.linspace(0.0, hi, bins + 1)
    present = list(dict.fromkeys(fams))
    data = [gaps[fams == f].to_numpy(dtype=float) for f in present]
    ax.hist(
        data,
        bins=edges.tolist(),
        stacked=True,
        color=[color_of(f) for f in present],
        label=present,
    )
    ax.legend(
        title="family",
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )
    return ax
