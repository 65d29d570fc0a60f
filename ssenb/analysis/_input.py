"""What every analysis starts from: a Capture or a bare events frame, made uniform.

Rules:

- What stands for a capture is decided by :func:`ssenb.value.as_capture` alone. A bare
  events frame has no connections; they are inferred from its ``connection`` column.
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

from ..value import CaptureLike, as_capture
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


def prepare(
    obj: CaptureLike | Prepared, *, time_scale: float | None = None
) -> Prepared:
    """A :class:`Prepared` from what :func:`ssenb.value.as_capture` takes, or a
    Prepared (returned).

    Computed once per capture: a second call with the same capture (the same events
    and connections objects) returns the same, read-only, value (see ``_prepare``).
    """
    if isinstance(obj, Prepared):
        return obj
    cap = as_capture(obj)
    events, meta = cap.events, dict(cap.meta)
    # a bare frame has no connections: they are inferred from its rows
    connections = None if isinstance(obj, pd.DataFrame) else cap.connections
    return prepared(events, connections, meta, time_scale)
