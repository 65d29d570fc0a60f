"""The pattern catalogue of SSE conventions, and classifying the rows of a capture.

The standard defines four fields (``data``, ``event``, ``id``, ``retry``) and comments;
everything else servers do (pings, heartbeats, ``[DONE]``, progress, error events) is
convention. This package holds those conventions as data and applies them to frames.

It takes frames (or anything with an ``.events`` frame, through
``ssenb.frames.events_of``) and sits below the capture value, whose repr names the
dialect. Its parts:

- ``_catalog``: the data. :class:`Pattern` (a family and a name, plus match rules) and
  :class:`Dialect` (a known system and the clues that give it away). Users add their own
  with :func:`register_pattern` and :func:`register_dialect`; theirs win over ours.
- ``_classify``: :func:`classify` is vectorised: event types are matched once per
  category, comment texts once per distinct text, and data rules run as Arrow string
  kernels on the rows that are still unclassified. No Python runs per row.
- ``_dialect``: :func:`dialect` weighs each dialect's clues on a sample of the rows.
- Families: ``keepalive``, ``control``, ``state``, ``progress``, ``error``,
  ``metadata``, ``auth``, ``data`` (ordinary payload) and ``unknown`` (a row with no
  kind).

Example:
    >>> import ssenb
    >>> raw = b"event: ping\\ndata: {}\\n\\n: keep-alive\\n\\ndata: [DONE]\\n\\n"
    >>> ev = ssenb.frames.read_sse(raw)
    >>> classify(ev)[["family", "pattern"]].values.tolist()
    [['keepalive', 'ping'], ['keepalive', 'keep-alive'], ['control', 'done']]
"""

from __future__ import annotations

from .._renamed import renamed

# the private names (``x as x``) stay in place for code that saves and restores the
# registries and empties the compiled cache, and for the LLM analysis's vendor guess
from ._catalog import (
    DIALECTS,
    FAMILIES,
    FAMILY_DESCRIPTIONS,
    PATTERNS,
    Clue,
    Dialect,
    Pattern,
    catalog,
    normalise_type,
    register_dialect,
    register_pattern,
)
from ._catalog import _compiled as _compiled
from ._catalog import _registered_dialects as _registered_dialects
from ._catalog import _registered_patterns as _registered_patterns
from ._classify import classify
from ._dialect import DialectResult, dialect
from ._dialect import _vendor as _vendor

__all__ = [
    "Clue",
    "DIALECTS",
    "Dialect",
    "DialectResult",
    "FAMILIES",
    "FAMILY_DESCRIPTIONS",
    "PATTERNS",
    "Pattern",
    "catalog",
    "classify",
    "dialect",
    "normalise_type",
    "register_dialect",
    "register_pattern",
]

#: Old (British) spellings of public names: they warn for one release.
_RENAMED = {"catalogue": "catalog"}


__getattr__ = renamed(__name__, globals(), _RENAMED)
