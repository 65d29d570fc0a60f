"""Live chart figures: matplotlib ``Figure`` objects rendered to PNG bytes.

No pyplot: each render builds a new ``Figure`` on the Agg canvas, under one lock
(matplotlib is not thread-safe), and returns PNG bytes for an ``ipywidgets.Image``.
"""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

import numpy as np

from ..plots import ADVICE, PROXY_TIMEOUTS, color_of
from ._state import ChartState

if TYPE_CHECKING:  # matplotlib loads with the first chart, not at import
    from matplotlib.axes import Axes

__all__ = ["MPL_LOCK", "chart_png"]

#: Every live figure is drawn under this lock.
MPL_LOCK = threading.Lock()
_STYLES = ("-", "--", ":", "-.")


def chart_png(state: ChartState, *, top: int = 6, dpi: int = 72) -> bytes:
    """Rolling rate by type, type mix and keep-alive intervals, as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with state.lock:
        bins = {s: dict(c) for s, c in state.bins.items()}
        by_label = dict(state.by_label)
        family_of = dict(state.family_of)
        beats = list(state.beats)
        latest, window, scale = state.latest, state.window, state.scale
    with MPL_LOCK:
        # A fixed layout: a layout engine would double the cost of each redraw.
        fig = Figure(figsize=(12, 3.2), dpi=dpi)
        FigureCanvasAgg(fig)
        ax_rate, ax_mix, ax_beats = fig.subplots(
            1, 3, gridspec_kw={"width_ratios": [2.2, 1.3, 1.5]}
        )
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.16, top=0.9, wspace=0.28)
        _rate(ax_rate, bins, by_label, family_of, latest, window, top, scale)
        _mix(ax_mix, by_label, family_of, top)
        _beats(ax_beats, beats, scale)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def _rate(
    ax: Axes,
    bins: dict[int, dict[str, int]],
    by_label: dict[str, int],
    family_of: dict[str, str],
    latest: float,
    window: float,
    top: int,
    scale: float = 1.0,
) -> None:
    ax.set_title(f"Rate by type, last {window:g} s")
    ax.set_xlabel(
        "seconds since start" if scale == 1 else f"real seconds (stream x{scale:g})"
    )
    ax.set_ylabel("records/s")
    if not bins:
        ax.text(0.5, 0.5, "waiting for records", transform=ax.transAxes,
                ha="center", color="#666")  # fmt: skip
        return
    # Whole seconds only: the second in progress would read as a sudden drop.
    end = int(latest) - 1
    start = max(min(bins), end - int(window) + 1)
    if end < start:
        ax.text(0.5, 0.5, "waiting for a whole second", transform=ax.transAxes,
                ha="center", color="#666")  # fmt: skip
        return
    xs = np.arange(start, end + 2)
    labels = [k for k, _ in sorted(by_label.items(), key=lambda kv: -kv[1])[:top]]
    used: dict[str, int] = {}
    for label in labels:
        ys = [bins.get(int(x), {}).get(label, 0) for x in xs[:-1]]
        fam = family_of.get(label, "unknown")
        style = _STYLES[used.get(fam, 0) % len(_STYLES)]
        used[fam] = used.get(fam, 0) + 1
        ax.step(xs, [*ys, ys[-1]], where="post", color=color_of(fam), ls=style,
                label=label[:20])  # fmt: skip
    ax.set_xlim(start, end + 1)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="x-small", loc="upper left")


def _mix(
    ax: Axes, by_label: dict[str, int], family_of: dict[str, str], top: int
) -> None:
    ax.set_title("Records by type")
    if not by_label:
        ax.text(0.5, 0.5, "no records yet", transform=ax.transAxes,
                ha="center", color="#666")  # fmt: skip
        return
    items = sorted(by_label.items(), key=lambda kv: -kv[1])[:top][::-1]
    names = [k[:20] for k, _ in items]
    counts = [v for _, v in items]
    colors = [color_of(family_of.get(k, "unknown")) for k, _ in items]
    bars = ax.barh(names, counts, color=colors)
    ax.bar_label(bars, padding=2, fontsize="x-small")
    ax.margins(x=0.2)


def _beats(ax: Axes, beats: list[tuple[float, float]], scale: float = 1.0) -> None:
    ax.set_title("Keep-alive intervals")
    stream = "" if scale == 1 else "stream "
    ax.set_xlabel(f"{stream}seconds since start")
    ax.set_ylabel(f"{stream}s since previous")
    if not beats:
        ax.text(0.5, 0.5, "no keep-alive intervals yet", transform=ax.transAxes,
                ha="center", color="#666")  # fmt: skip
        return
    at = [b[0] for b in beats]
    iv = [b[1] for b in beats]
    ax.plot(at, iv, marker="o", ms=3, lw=1, color=color_of("keepalive"))
    if max(iv) >= ADVICE[0] * 0.5:
        ax.axhspan(*ADVICE, color="#55a868", alpha=0.15, lw=0)
        for value in sorted(set(PROXY_TIMEOUTS.values())):
            ax.axhline(value, color="#c44e52", ls="--", lw=1)
    ax.set_ylim(bottom=0)
