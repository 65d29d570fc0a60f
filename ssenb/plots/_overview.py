"""One figure of a whole capture, and the ``capture.plot.<name>()`` namespace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import analysis
from ..patterns import dialect
from ..value import CaptureLike
from ._answer import plot_answer
from ._base import themed_figure_class
from ._connections import plot_connections
from ._events import plot_interarrival, plot_rate, plot_timeline, plot_types
from ._heartbeats import plot_heartbeats
from ._progress import plot_task_progress, task_progress_series

if TYPE_CHECKING:  # matplotlib loads when a plot is drawn, not at import
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PlotAccessor", "plot_overview"]


def plot_overview(
    capture: CaptureLike, *, figsize: tuple[float, float] = (10, 9)
) -> Figure:
    """A single figure of a capture, sized for a notebook column: timeline, records
    so far by type, connections, type mix, keep-alive intervals (or inter-arrival
    times when there are too few keep-alives) and, when the stream reports
    progress, the progress curves. For an LLM token stream the second panel is the
    answer growing over time, with its first token marked.

    The figure is not registered with pyplot, so it appears once where it is
    returned (the last line of a notebook cell) and nowhere else.

    Example:
        >>> ssenb.plots.plot_overview(capture)  # doctest: +SKIP
    """
    prep = analysis.prepare(capture)  # cached: every panel reads this one
    series = task_progress_series(prep)
    rows = 5 if len(series) else 4
    if rows == 5:
        figsize = (figsize[0], figsize[1] * 1.2)
    fig = _detached_figure(figsize)
    grid = fig.add_gridspec(rows, 2, height_ratios=[1.4, 1.0, 0.8, 1.0, 1.0][:rows])
    plot_timeline(prep, ax=fig.add_subplot(grid[0, :]))
    if _token_stream(prep):
        plot_answer(prep, ax=fig.add_subplot(grid[1, :]))
    else:
        plot_rate(prep, ax=fig.add_subplot(grid[1, :]))
    plot_connections(prep, ax=fig.add_subplot(grid[2, :]))
    plot_types(prep, ax=fig.add_subplot(grid[3, 0]))
    if (prep.events["family"] == "keepalive").sum() >= 2:
        plot_heartbeats(prep, ax=fig.add_subplot(grid[3, 1]))
    else:
        plot_interarrival(prep, ax=fig.add_subplot(grid[3, 1]))
    if rows == 5:
        plot_task_progress(series, ax=fig.add_subplot(grid[4, :]))
    title = "Capture overview"
    url = getattr(capture, "meta", {}).get("url") if hasattr(capture, "meta") else None
    if url:
        title += f": {url}"
    fig.suptitle(title if len(title) <= 90 else title[:89] + "…")
    return fig


def _token_stream(prep: Any) -> bool:
    """Whether the capture is an LLM token stream (its dialect says so)."""
    if not len(prep.events):
        return False
    try:
        return bool(dialect(prep.events.head(5000)).token_stream)
    except Exception:  # an odd frame: the generic overview
        return False


def _detached_figure(figsize: tuple[float, float]) -> Figure:
    """A figure made through pyplot, so that a notebook's backend (and its figure
    formatter) is in place, then closed at once: pyplot forgets it, so it is shown
    once, where it is returned, and never again at the end of a later cell."""
    import matplotlib.pyplot as plt

    fig = plt.figure(
        figsize=figsize, layout="constrained", FigureClass=themed_figure_class()
    )
    plt.close(fig)
    return fig


class PlotAccessor:
    """``capture.plot``: every plot of this module bound to one capture.

    Calling it draws :func:`plot_overview`; each method draws one plot and takes the
    same keyword arguments as the matching ``plot_*`` function.

    Example:
        >>> capture.plot.timeline()  # doctest: +SKIP
        >>> capture.plot()  # the overview figure  # doctest: +SKIP
    """

    def __init__(self, capture: CaptureLike) -> None:
        self._capture = capture

    def __call__(self, **kwargs: Any) -> Figure:
        return plot_overview(self._capture, **kwargs)

    def __repr__(self) -> str:
        names = ", ".join(n for n in dir(self) if not n.startswith("_"))
        return f"<capture.plot: {names}, or call it for the overview>"

    def overview(self, **kwargs: Any) -> Figure:
        """The overview figure (:func:`plot_overview`)."""
        return plot_overview(self._capture, **kwargs)

    def timeline(self, **kwargs: Any) -> Axes:
        """Every record at its arrival (:func:`plot_timeline`)."""
        return plot_timeline(self._capture, **kwargs)

    def rate(self, **kwargs: Any) -> Axes:
        """Records per second by type (:func:`plot_rate`)."""
        return plot_rate(self._capture, **kwargs)

    def types(self, **kwargs: Any) -> Axes:
        """Records by type (:func:`plot_types`)."""
        return plot_types(self._capture, **kwargs)

    def connections(self, **kwargs: Any) -> Axes:
        """The connections as a Gantt chart (:func:`plot_connections`)."""
        return plot_connections(self._capture, **kwargs)

    def heartbeats(self, **kwargs: Any) -> Axes:
        """Keep-alive intervals (:func:`plot_heartbeats`)."""
        return plot_heartbeats(self._capture, **kwargs)

    def task_progress(self, **kwargs: Any) -> Axes:
        """Progress curves of the tasks (:func:`plot_task_progress`)."""
        return plot_task_progress(self._capture, **kwargs)

    def progress(self, **kwargs: Any) -> Axes:
        """Deprecated: ``task_progress``."""
        import warnings

        warnings.warn(
            ".plot.progress() is now .plot.task_progress(); the old name goes away "
            "in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return plot_task_progress(self._capture, **kwargs)

    def interarrival(self, **kwargs: Any) -> Axes:
        """Inter-arrival histogram (:func:`plot_interarrival`)."""
        return plot_interarrival(self._capture, **kwargs)
