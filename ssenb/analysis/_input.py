"""What every analysis starts from: a Capture or a bare events frame, made uniform.

Rules:

- A Capture is duck-typed: ``.events``, ``.connections`` and ``.meta``. A bare events
  frame has no connections; they are inferred from its ``connection`` column.
- Times are stream times: measured seconds × the time scale of the row's connection
  (a server that plays 100x faster than real time announces ``time_scale`` 100). Every
  duration, interval and rate an analysis gives is in these seconds.
- Classification runs once per capture: :func:`prepare` is cached per capture, and
  analyses given a :class:`Prepared` reuse it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from ._prepare import Prepared, prepared

__all__ = ["Prepared", "per_stream", "prepare"]

_F = TypeVar("_F", bound=Callable[..., Any])


def per_stream(func: _F) -> _F:
    """Let an analysis take a dataset of captures too: given an object with
    ``_ssenb_per_stream`` (``ssenb.dataset.Dataset``), hand it the analysis to run
    on each of its streams; anything else goes to ``func`` as it is."""

    @functools.wraps(func)
    def wrapper(capture: Any, *args: Any, **kwargs: Any) -> Any:
        run = getattr(type(capture), "_ssenb_per_stream", None)
        if run is not None:
            return run(capture, func, *args, **kwargs)
        return func(capture, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def prepare(obj: Any, *, time_scale: float | None = None) -> Prepared:
    """A :class:`Prepared` from a Capture, an events frame, or a Prepared (returned).

    Computed once per capture: a second call with the same capture (the same events
    and connections objects) returns the same, read-only, value (see ``_prepare``).
    """
    if isinstance(obj, Prepared):
        return obj
    if isinstance(obj, pd.DataFrame):
        events, connections, meta = obj, None, dict(obj.attrs.get("ssenb_meta", {}))
    elif hasattr(obj, "events") and isinstance(obj.events, pd.DataFrame):
        events = obj.events
        connections = getattr(obj, "connections", None)
        meta = dict(getattr(obj, "meta", None) or {})
        if connections is not None and not isinstance(connections, pd.DataFrame):
            connections = None
    else:
        raise TypeError(
            f"expected a Capture or an events DataFrame, got {type(obj).__name__}"
        )
    return prepared(events, connections, meta, time_scale)
