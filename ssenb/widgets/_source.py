"""What a live view reads: the ``Recorder`` (or any ``Source``) its caller passes in.

The views sit below ``capture`` and never import it. ``ssenb.watch(url)`` builds the
``Recorder`` and hands it in. A view still takes a URL (or a mapping of names to URLs)
as it always did: ``ssenb._watch`` hands this module the maker of a ``Recorder`` when
ssenb is imported, so a view that is given a URL asks that maker, without knowing
``capture``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._state import Source

__all__ = ["is_source", "resolve_source"]

_maker: list[Callable[..., Source]] = []


def _record_urls_with(maker: Callable[..., Source]) -> None:
    """Set the maker of a Recorder for a URL (``ssenb._watch`` passes
    ``ssenb.Recorder``)."""
    _maker[:] = [maker]


def is_source(obj: Any) -> bool:
    """Whether ``obj`` is what a live view reads (a ``Recorder``, a ``Proxy``)."""
    return hasattr(obj, "records_since") and hasattr(obj, "stats")


def resolve_source(obj: Any, options: dict[str, Any]) -> tuple[Source, bool]:
    """``(source, owned)``: a recorder as given, or the Recorder of a URL (or of a
    mapping of stream names to URLs) made with ``options``, owned by the view.

    Raises:
        TypeError: ``obj`` is neither, or capture options came with a recorder.
    """
    if is_source(obj):
        if options:
            raise TypeError(
                f"capture options {sorted(options)} go to the Recorder, not to the "
                f"view: pass them when you make the Recorder, or give the view a URL"
            )
        return obj, False
    is_url = isinstance(obj, str) or type(obj).__name__ == "URL"
    if (is_url or isinstance(obj, Mapping)) and _maker:
        target = str(obj) if is_url else dict(obj)
        return _maker[0](target, autostart=False, **options), True
    hint = ""
    if hasattr(obj, "events"):
        hint = "; a finished capture is browsed with ssenb.Explorer(capture)"
    raise TypeError(
        f"a live view takes a URL, a mapping of names to URLs or an ssenb.Recorder, "
        f"got {type(obj).__name__}{hint}"
    )
