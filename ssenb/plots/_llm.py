"""LLM request latency: the distribution of each metric over the requests of a
capture, with its p50, p90 and p99 marked."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import analysis
from ..value import CaptureLike
from ._base import new_axes, note

if TYPE_CHECKING:  # matplotlib loads when a plot is drawn, not at import
    from matplotlib.axes import Axes

__all__ = ["plot_llm_latency"]

_LABELS = {
    "ttft": "time to first token",
    "ttfat": "time to first answer token",
    "itl": "inter-token latency",
    "tpot": "time per output token",
    "e2e": "end-to-end latency",
    "tokens_per_s": "output tokens/s",
}
_QUANTILES = (
    ("p50", "#1f77b4", "-"),
    ("p90", "#ff7f0e", "--"),
    ("p99", "#d62728", ":"),
)


def _values(result: Any, metric: str) -> np.ndarray:
    """The per-request values of ``metric`` (vllm's ITL: every gap, as it pools)."""
    pct = result.tables["percentiles"]
    over = pct.loc[pct["metric"] == metric, "over"]
    if len(over) and over.iloc[0] == "gaps":
        v = result.tables["gaps"]["gap"].to_numpy(dtype=float)
    else:
        v = result.tables["requests"][metric].to_numpy(dtype=float)
    out: np.ndarray = v[~np.isnan(v)]
    return out


def plot_llm_latency(
    capture: CaptureLike | analysis.Result,
    *,
    metrics: Sequence[str] = ("ttft", "ttfat", "itl", "tpot", "e2e"),
    definition: str = "vllm",
    ax: Axes | None = None,
) -> Axes:
    """How each latency metric is spread over the requests: one row per metric, a
    box with every request as a dot, and the p50 / p90 / p99 the summary gives.

    Takes a capture (``llm`` runs with ``definition``) or the result of
    ``ssenb.analysis.llm``. Times are stream seconds (on a log scale when the
    metrics differ by more than 20x); pass
    ``metrics=["tokens_per_s"]`` for the throughput, which has its own unit.

    Raises:
        ValueError: an unknown metric.
    """
    bad = [m for m in metrics if m not in _LABELS]
    if bad:
        raise ValueError(f"unknown metric(s) {bad}; choose from {list(_LABELS)}")
    tables: Any = getattr(capture, "tables", None)  # an llm() result's
    result: Any = (
        capture
        if isinstance(tables, dict) and "requests" in tables
        else analysis.llm(capture, definition=definition)
    )
    ax = new_axes(ax, (8, 0.7 * len(metrics) + 1.6))
    requests: pd.DataFrame = result.tables["requests"]
    used = str(requests["definition"].iloc[0]) if len(requests) else definition
    ax.set_title(f"LLM latency over {len(requests)} request(s) ({used} definitions)")
    rows = [(m, _values(result, m)) for m in metrics]
    rows = [(m, v) for m, v in rows if len(v)]
    if not rows:
        note(ax, "no LLM requests with timings in this capture")
        return ax
    pos = np.arange(len(rows))[::-1]
    # matplotlib 3.10 renamed vert=False to orientation="horizontal"
    sideways: dict[str, Any] = (
        {"orientation": "horizontal"}
        if "orientation" in inspect.signature(ax.boxplot).parameters
        else {"vert": False}
    )
    ax.boxplot(
        [v for _, v in rows],
        positions=pos,
        **sideways,
        widths=0.5,
        showfliers=False,
        medianprops={"color": "#1f77b4"},
    )
    rng = np.random.default_rng(0)
    for y, (_, v) in zip(pos, rows, strict=True):
        ax.scatter(
            v,
            y + rng.uniform(-0.18, 0.18, len(v)),
            s=8,
            alpha=0.45,
            color="#555555",
            zorder=3,
        )
        for q, (_, color, style) in zip((50, 90, 99), _QUANTILES, strict=True):
            x = float(np.percentile(v, q))
            ax.vlines(x, y - 0.32, y + 0.32, color=color, ls=style, lw=1.5, zorder=4)
    for name, color, style in _QUANTILES:
        ax.plot([], [], color=color, ls=style, label=name)
    ax.set_yticks(pos, [_LABELS[m] for m, _ in rows])
    unit = "tokens/s" if all(m == "tokens_per_s" for m, _ in rows) else "stream s"
    every = np.concatenate([v for _, v in rows])
    if every.min() > 0 and every.max() / every.min() > 20:
        # per-token gaps and whole requests differ by orders of magnitude
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        unit += ", log scale"
    ax.set_xlabel(unit)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax
