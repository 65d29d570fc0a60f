"""Keep-alive intervals against the 30-60 s advice and common proxy idle timeouts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import analysis
from ..analysis import PROXY_TIMEOUTS
from ..value import CaptureLike
from ._base import color_of, new_axes, note

if TYPE_CHECKING:  # matplotlib loads when a plot is drawn, not at import
    from matplotlib.axes import Axes

__all__ = [
    "ADVICE",
    "PROXY_STYLES",
    "PROXY_TIMEOUTS",
    "broken_at_reconnects",
    "heartbeat_intervals",
    "plot_heartbeats",
    "proxy_guides",
]

#: The catalogue's advice: a heartbeat every 30-60 s.
ADVICE = (30.0, 60.0)


def heartbeat_intervals(capture: CaptureLike) -> pd.DataFrame:
    """One row per keep-alive, from ``ssenb.analysis.heartbeats``: ``stream``,
    ``connection``, ``seq``, ``t`` (stream seconds), ``kind``, ``pattern``,
    ``interval`` (seconds since the previous keep-alive of its connection; NaN for
    the first) and ``declared``."""
    beats: pd.DataFrame = analysis.heartbeats(analysis.prepare(capture)).beats
    return beats


def _beats(obj: Any) -> tuple[pd.DataFrame, str]:
    if isinstance(obj, pd.DataFrame) and {"t", "interval"} <= set(obj.columns):
        return obj, "stream time (s)"
    beats = getattr(obj, "tables", {}).get("beats")  # a heartbeats() result
    if isinstance(beats, pd.DataFrame):
        return beats, "stream time (s)"
    prep = analysis.prepare(obj)
    return heartbeat_intervals(prep), prep.time_label


#: One style per proxy idle timeout: two lines never look alike.
PROXY_STYLES = (("#c44e52", "--"), ("#8172b3", ":"), ("#937860", "-."))


def proxy_guides(ax: Axes, horizontal: bool = True) -> None:
    """The advised 30-60 s band and one distinct line per proxy idle timeout (the
    same guides in the live chart and in :func:`plot_heartbeats`)."""
    span = ax.axhspan if horizontal else ax.axvspan
    line = ax.axhline if horizontal else ax.axvline
    span(*ADVICE, color="#55a868", alpha=0.18, lw=0, label="advised 30-60 s")
    seen: dict[float, list[str]] = {}
    for name, value in PROXY_TIMEOUTS.items():
        seen.setdefault(value, []).append(name.split(" ")[0])
    for i, (value, names) in enumerate(sorted(seen.items())):
        color, ls = PROXY_STYLES[i % len(PROXY_STYLES)]
        line(
            value,
            color=color,
            ls=ls,
            lw=1.3,
            label=f"{' / '.join(names)} cut ({value:g} s)",
        )


def broken_at_reconnects(
    t: np.ndarray, interval: np.ndarray, keys: list[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """``t`` and ``interval`` with a NaN between connections, so a line drawn
    through them breaks at each reconnect instead of joining two connections."""
    xs: list[float] = []
    ys: list[float] = []
    for i, (x, y) in enumerate(zip(t, interval, strict=True)):
        if i and keys[i] != keys[i - 1]:
            xs.append(np.nan)
            ys.append(np.nan)
        xs.append(float(x))
        ys.append(float(y))
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


_guides = proxy_guides


def plot_heartbeats(
    capture: CaptureLike | analysis.Result,
    *,
    ax: Axes | None = None,
    kind: str = "series",
) -> Axes:
    """Keep-alive intervals over time (``kind="series"``) or as a histogram
    (``kind="hist"``), with the advised 30-60 s band and the idle timeouts of common
    proxies (``PROXY_TIMEOUTS``) as dashed lines.

    Takes a capture, an events frame, or a table with ``t`` and ``interval`` columns
    (such as an analysis result's ``beats``).
    """
    if kind not in ("series", "hist"):
        raise ValueError(f"kind must be 'series' or 'hist', got {kind!r}")
    beats, time_label = _beats(capture)
    iv = beats.dropna(subset=["interval"])
    ax = new_axes(ax, (7.5, 3.2))
    ax.set_title("Keep-alive intervals")
    if not len(iv):
        note(ax, "no keep-alive intervals (fewer than two keep-alives per connection)")
        return ax
    color = color_of("keepalive")
    if kind == "series":
        # one line per stream: a line joining streams would zigzag between servers
        streams = iv.groupby("stream", sort=False) if "stream" in iv else [("", iv)]
        several = "stream" in iv and iv["stream"].nunique() > 1
        for i, (name, part) in enumerate(streams):
            conns = (
                part["connection"].tolist() if "connection" in part else [0] * len(part)
            )
            xs, ys = broken_at_reconnects(
                part["t"].to_numpy(dtype=float),
                part["interval"].to_numpy(dtype=float),
                conns,
            )
            ax.plot(
                xs,
                ys,
                marker="o",
                ms=3,
                lw=1,
                color=f"C{i % 10}" if several else color,
                label=str(name) if several else "interval",
            )
        ax.set_xlabel(time_label)
        ax.set_ylabel("s since the previous one")
        _guides(ax, horizontal=True)
        top = max(float(iv["interval"].max()), max(PROXY_TIMEOUTS.values())) * 1.1
        ax.set_ylim(0, top)
    else:
        values = iv["interval"].to_numpy(dtype=float)
        hi = max(float(values.max()), 1e-3)
        ax.hist(values, bins=np.linspace(0, hi * 1.05, 30).tolist(), color=color)
        ax.set_xlabel("seconds since previous keep-alive")
        ax.set_ylabel("keep-alives")
        if hi * 1.05 >= ADVICE[0]:
            _guides(ax, horizontal=False)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
        )
    return ax
