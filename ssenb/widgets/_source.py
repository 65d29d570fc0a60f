"""Turning what a live view is given (a URL or a recorder) into a source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..capture import Recorder
from ._state import Source

__all__ = ["resolve_source"]


def resolve_source(obj: Any, options: dict[str, Any]) -> tuple[Source, bool]:
    """``(source, owned)``: a recorder as given, or a new ``Recorder`` for a URL (or a
    mapping of stream names to URLs).

    Raises:
        TypeError: ``obj`` is neither, or capture options came with a recorder.
    """
    if hasattr(obj, "records_since") and hasattr(obj, "stats"):
        if options:
            raise TypeError(
                f"capture options {sorted(options)} go to the Recorder, not to the "
                f"view: pass them when you make the Recorder, or give the view a URL"
            )
        return obj, False
    if isinstance(obj, str) or type(obj).__name__ == "URL":
        return Recorder(str(obj), autostart=False, **options), True
    if isinstance(obj, Mapping):  # several named streams, as for capture_many
        return Recorder(dict(obj), autostart=False, **options), True
    raise TypeError(
        f"a live view takes a URL, a mapping of names to URLs or an ssenb.Recorder, "
        f"got {type(obj).__name__}"
    )
