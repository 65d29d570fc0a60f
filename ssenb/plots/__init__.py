"""Matplotlib figures of a capture: ``plot_x(capture, *, ax=None) -> Axes``.

Every plot takes a Capture (or its events frame), draws on the ``ax`` it is given or on
a new figure, and returns the axes. Plots never call ``plt.show()`` and never change
``rcParams``. Colours are stable per family (``FAMILY_COLORS``) across every plot and
the live widgets. Times are stream seconds since the capture started.

Example:
    >>> import ssenb
    >>> ssenb.plots.plot_overview(capture)  # doctest: +SKIP
    >>> capture.plot.timeline()  # doctest: +SKIP
"""

from __future__ import annotations

from .._renamed import renamed
from ._base import FAMILY_COLORS, color_of
from ._connections import OUTCOME_COLORS, plot_connections
from ._events import plot_interarrival, plot_rate, plot_timeline, plot_types
from ._heartbeats import (
    ADVICE,
    PROXY_TIMEOUTS,
    broken_at_reconnects,
    heartbeat_intervals,
    plot_heartbeats,
    proxy_guides,
)
from ._llm import plot_llm_latency
from ._overview import PlotAccessor, plot_overview
from ._progress import plot_task_progress, task_progress_series

__all__ = [
    "ADVICE",
    "FAMILY_COLORS",
    "OUTCOME_COLORS",
    "PROXY_TIMEOUTS",
    "PlotAccessor",
    "broken_at_reconnects",
    "color_of",
    "heartbeat_intervals",
    "plot_connections",
    "plot_heartbeats",
    "plot_interarrival",
    "plot_llm_latency",
    "plot_overview",
    "plot_rate",
    "plot_task_progress",
    "plot_timeline",
    "plot_types",
    "proxy_guides",
    "task_progress_series",
]


#: Old names of this module: where each went (they warn for one release).
_RENAMED = {
    "plot_progress": "plot_task_progress",
    "progress_series": "task_progress_series",
}


_WHY = ' ("progress" alone is the progress bar option of capture)'

__getattr__ = renamed(__name__, globals(), _RENAMED, _WHY)
