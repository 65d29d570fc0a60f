"""``ssenb.watch``: record a stream and show it live, the Recorder made here.

The live views (``ssenb.widgets``) sit below ``capture`` and read whatever ``Source``
they are given; this module, above both, makes the ``Recorder`` of a URL and passes
it in. It also hands the views the maker of a Recorder, so that
``ssenb.widgets.LiveFeed(url)`` keeps working without the views importing capture,
and ``as_capture``, so that ``ssenb.Explorer(path)`` loads the file without the views
importing ``value`` (they take the Capture only as a type).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from . import widgets
from .capture import Recorder
from .value import as_capture
from .widgets import _finished, _source

__all__ = ["watch"]

_source._record_urls_with(Recorder)
_finished._resolve_captures_with(as_capture)

#: The options a LiveFeed takes itself; the rest are ``ssenb.capture``'s.
_VIEW_OPTIONS = frozenset(
    name
    for name, p in inspect.signature(widgets.LiveFeed).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
)


def watch(url_or_recorder: Any, **options: Any) -> widgets.LiveFeed:
    """Record a stream and show it live: the feed with its chart below, in one line.

    Takes the options of :class:`ssenb.widgets.LiveFeed` (``rate``, ``rows``,
    ``keep``, ``chart``, ``frontend``, ``autostart``) and of ``ssenb.capture``
    (``duration``, ``until``, ``reconnect``, ...), which go to the ``Recorder`` made
    for a URL (or a mapping of stream names to URLs). Give a ``Recorder`` (or a
    ``Proxy``) instead to watch one you made. ``stop()`` on the result returns the
    ``Capture``.

    Raises:
        TypeError: capture options came with a recorder, or the first argument is
            neither a URL, a mapping of names to URLs nor a recorder.

    Example:
        >>> feed = ssenb.watch(url, duration=30)  # doctest: +SKIP
        >>> feed  # shows it; later: capture = feed.stop()
    """
    if _source.is_source(url_or_recorder):
        return widgets.watch(url_or_recorder, **options)  # capture options: refused
    is_url = isinstance(url_or_recorder, str) or type(url_or_recorder).__name__ == "URL"
    if not (is_url or isinstance(url_or_recorder, Mapping)):
        raise TypeError(
            f"watch takes a URL, a mapping of names to URLs or an ssenb.Recorder, "
            f"got {type(url_or_recorder).__name__}"
        )
    view = {k: v for k, v in options.items() if k in _VIEW_OPTIONS}
    capture_options = {k: v for k, v in options.items() if k not in _VIEW_OPTIONS}
    target = str(url_or_recorder) if is_url else dict(url_or_recorder)
    recorder = Recorder(target, autostart=False, **capture_options)
    return widgets.watch(recorder, **view)
