"""Live views of a stream in a notebook, and an explorer of a finished capture.

Rules of this package (measured on ipykernel 6.31/7.4, JupyterLab 4, Notebook 7):

- Recording runs on the recorder's own thread, never as a task on the kernel's loop.
- Widgets change only in a throttled renderer: default 4 redraws/s, at most 10 (charts
  1/s, at most 2), from the latest state, with ``hold_sync``; one update per event
  would overrun the notebook server's message rate limit and be dropped silently. A
  renderer spends at most a quarter of the time drawing, so slow charts slow down
  rather than stall the kernel.
- Nothing writes through ``with out:`` or ``display_id`` from a thread; live charts are
  matplotlib ``Figure`` objects rendered to PNG into an ``Image`` widget.
- ``stop()`` draws the final state from the calling cell and re-raises an error of the
  recording; errors show beside what was already shown, which stays.
- Core ipywidgets only (they work offline in VS Code); ipykernel >= 7.1.
- Outside a kernel (terminal IPython, a script) the same calls show text.
"""

from __future__ import annotations

from typing import Any

from ._explorer import Explorer
from ._feed import LiveFeed
from ._livechart import CHART_MAX_RATE, LiveChart
from ._render import DEFAULT_RATE, MAX_RATE

__all__ = [
    "CHART_MAX_RATE",
    "DEFAULT_RATE",
    "Explorer",
    "LiveChart",
    "LiveFeed",
    "MAX_RATE",
    "watch",
]


def watch(url_or_recorder: Any, **options: Any) -> LiveFeed:
    """Show a recording live: the feed with its chart below, in one line.

    Give it a ``Recorder`` (``ssenb.watch(url)`` makes one for a URL and calls
    this); a URL works too, as for :class:`LiveFeed`. Takes the options of
    :class:`LiveFeed` (and of ``ssenb.capture`` with a URL); ``stop()`` on the
    result returns the ``Capture``.

    Example:
        >>> feed = ssenb.watch(url, duration=30)  # doctest: +SKIP
        >>> feed  # shows it; later: capture = feed.stop()
    """
    options.setdefault("chart", True)
    return LiveFeed(url_or_recorder, **options)
