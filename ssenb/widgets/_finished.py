"""What the Explorer reads: a finished capture, or what stands for one.

The views take the Capture only as a type (the layers table): they never load a file
through ``ssenb.value``. A path stands for a capture all the same
(``ssenb.value.CaptureLike``): ``ssenb._watch`` hands this module
``ssenb.value.as_capture`` when ssenb is imported, so a view given a path loads it by
the one rule every entry point follows, without importing ``value``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # the capture only as a type (the layers table)
    from ..value import CaptureLike

__all__ = ["finished_capture"]

_resolver: list[Callable[[Any], Any]] = []


def _resolve_captures_with(resolver: Callable[[Any], Any]) -> None:
    """Set what turns a path into a Capture (``ssenb._watch`` passes
    ``ssenb.value.as_capture``)."""
    _resolver[:] = [resolver]


def finished_capture(obj: CaptureLike, view: str) -> Any:
    """``obj`` as a view of a finished capture reads it: a Capture, an events frame
    or anything with an ``.events`` frame as it is; a path (anything else) through
    ``as_capture``, whose errors say what was wrong, prefixed with the ``view``.

    Raises:
        TypeError: ``obj`` stands for no capture (a URL, a list, ...).
        FileNotFoundError: a path that names no file.
        CaptureFileError: a file that is not a capture.
    """
    if isinstance(getattr(obj, "events", obj), pd.DataFrame):
        return obj
    if not _resolver:  # ssenb's import hands it over; only a broken install lacks it
        raise TypeError(
            f"{view} takes a Capture or an events frame, got {type(obj).__name__}"
        )
    try:
        return _resolver[0](obj)
    except TypeError as exc:
        raise TypeError(f"{view}: {exc}") from None
