"""Live chart figures: matplotlib ``Figure`` objects rendered to PNG bytes.

No pyplot: each render builds a new ``Figure`` on the Agg canvas, under one lock
(matplotlib is not thread-safe), and returns PNG bytes for an ``ipywidgets.Image``.
"""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

import numpy as np

from ..plots import ADVICE, broken_at_reconnects, color_of, proxy_guides
from ._state import ChartState
from ._views import cut as short

if TYPE_CHECKING:  # matplotlib loads with the first chart, not at import
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["CHART_CLASS", "MPL_LOCK", "chart_figure", "chart_png"]

#: The CSS class of every chart image: the themed stylesheet in ``ssenb._html``
#: turns it dark in a dark JupyterLab theme.
CHART_CLASS = "ssenb-chart"

#: Every live figure is drawn under this lock.
MPL_LOCK = threading.Lock()
_STYLES = ("-", "--", ":", "-.")


def chart_png(state: ChartState, *, top: int = 6, dpi: int = 80) -> bytes:
    """Records so far by type, the type mix and keep-alive intervals, as PNG bytes,
    all in stream seconds. A panel with nothing to draw says so in one line."""
    with MPL_LOCK:
        fig = chart_figure(state, top=top, dpi=dpi, locked=True)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def chart_figure(
    state: ChartState, *, top: int = 6, dpi: int = 80, locked: bool = False
) -> Figure:
    """The live chart as a matplotlib ``Figure`` (what :func:`chart_png` saves)."""
    if not locked:
        with MPL_LOCK:
            return chart_figure(state, top=top, dpi=dpi, locked=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with state.lock:
        times = {k: list(v) for k, v in state.times.items()}
        by_label = dict(state.by_label)
        family_of = dict(state.family_of)
        beats = list(state.beats)
        latest, window, scale = state.latest, state.window, state.scale
    # A fixed layout: a layout engine would double the cost of each redraw.
    fig = Figure(figsize=(10, 3.4), dpi=dpi)
    FigureCanvasAgg(fig)
    ax_rate, ax_mix, ax_beats = fig.subplots(
        1, 3, gridspec_kw={"width_ratios": [2.2, 1.0, 1.9]}
    )
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.34, top=0.9, wspace=0.42)
    _so_far(ax_rate, times, by_label, family_of, latest, window, top, scale)
    _mix(ax_mix, by_label, family_of, top)
    _beats(ax_beats, beats, scale)
    return fig


def note(ax: Axes, text: str) -> None:
    """An empty panel as one line of text: no frame, ticks or grid around nothing."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            color="#808080", fontstyle="italic")  # fmt: skip


def _time_label(scale: float) -> str:
    if abs(scale - 1.0) > 1e-9:
        return f"stream s (played {scale:g}x faster)"
    return "seconds since start"


def _so_far(
    ax: Axes,
    times: dict[str, list[float]],
    by_label: dict[str, int],
    family_of: dict[str, str],
    latest: float,
    window: float | None,
    top: int,
    scale: float = 1.0,
) -> None:
    title = "Records so far by type"
    if window is not None:
        title += f", last {window:g} s"
    ax.set_title(title, fontsize="medium")
    if not times:
        note(ax, "waiting for records")
        return
    start = 0.0 if window is None else max(0.0, latest - window)
    labels = [k for k, _ in sorted(by_label.items(), key=lambda kv: -kv[1])[:top]]
    used: dict[str, int] = {}
    for label in labels:
        kept = np.sort(np.asarray(times.get(label, []), dtype=float))
        if not len(kept):
            continue
        total = by_label.get(label, len(kept))
        # the kept times are the latest: count up to the total so far
        ys = np.arange(total - len(kept) + 1, total + 1)
        before = total - len(kept)
        inside = kept >= start
        xs = np.concatenate([[start], kept[inside], [latest]])
        below = before + int((~inside).sum())
        ys = np.concatenate([[below], ys[inside], [total]])
        fam = family_of.get(label, "unknown")
        style = _STYLES[used.get(fam, 0) % len(_STYLES)]
        used[fam] = used.get(fam, 0) + 1
        ax.step(xs, ys, where="post", color=color_of(fam), ls=style,
                label=short(label, 18))  # fmt: skip
    ax.set_xlim(start, max(latest, start + 1e-3))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_time_label(scale), fontsize="small")
    ax.set_ylabel("records", fontsize="small")
    ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=3, frameon=False)  # fmt: skip


def _mix(
    ax: Axes, by_label: dict[str, int], family_of: dict[str, str], top: int
) -> None:
    ax.set_title("Records by type", fontsize="medium")
    if not by_label:
        note(ax, "no records yet")
        return
    items = sorted(by_label.items(), key=lambda kv: -kv[1])[:top][::-1]
    names = [short(k, 16) for k, _ in items]
    counts = [v for _, v in items]
    colors = [color_of(family_of.get(k, "unknown")) for k, _ in items]
    bars = ax.barh(range(len(names)), counts, color=colors)
    ax.set_yticks(range(len(names)), names, fontsize="x-small")
    ax.bar_label(bars, padding=2, fontsize="x-small")
    ax.margins(x=0.25)


def _beats(
    ax: Axes, beats: list[tuple[float, float, tuple[str, int]]], scale: float = 1.0
) -> None:
    ax.set_title("Keep-alive intervals", fontsize="medium")
    if not beats:
        note(ax, "no keep-alive intervals yet")
        return
    at = np.asarray([b[0] for b in beats], dtype=float)
    iv = np.asarray([b[1] for b in beats], dtype=float)
    xs, ys = broken_at_reconnects(at, iv, [b[2] for b in beats])
    ax.plot(xs, ys, marker="o", ms=3, lw=1, color=color_of("keepalive"),
            label="interval")  # fmt: skip
    if float(iv.max()) >= ADVICE[0] * 0.5:
        proxy_guides(ax)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_time_label(scale), fontsize="small")
    ax.set_ylabel("s since the previous one", fontsize="small")
    ax.legend(fontsize="x-small", loc="upper right", bbox_to_anchor=(1.0, -0.2),
              ncol=2, frameon=False)  # fmt: skip
