"""How a stream says it is done: one list of end markers for classifier and capture.

Rules of this module:

- Pure data and two small functions: stdlib only, no clock, no I/O. ``patterns``
  builds its ``done`` pattern from these tuples and ``_session.py`` ends a capture on
  them, so the two can never disagree about what "done" means.
- Event types are compared in the catalogue's normal form (stripped, lowercase, ``_``
  and spaces as ``-``), also with a ``namespace:`` prefix removed.
- A compound type ends the stream when its *last* word is a done word and none of its
  words names a part of the work: ``job-complete``, ``message_stop`` and
  ``response.completed`` end it; ``content_block_stop``, ``step-complete`` and
  ``response.output_item.done`` do not (a part of the work finished, not the stream).
  Capture is stricter than the classifier here on purpose: a false end would stop a
  recording, a missed one only reconnects.
"""

from __future__ import annotations

import re

__all__ = [
    "DONE_DATA",
    "DONE_TYPES",
    "DONE_WORDS",
    "PART_WORDS",
    "end_marker",
    "normalise_type",
]

#: Event types that say the stream has finished on purpose.
DONE_TYPES: tuple[str, ...] = (
    "done",
    "complete",
    "completed",
    "end",
    "finish",
    "finished",
    "close",
)

#: Words that say it inside a compound type (``job-complete``, ``message_stop``).
DONE_WORDS: tuple[str, ...] = (
    "done",
    "complete",
    "completed",
    "finished",
    "stop",
    "end",
)

#: Whole ``data`` values (stripped, lowercase) of unnamed events that say it (OpenAI).
DONE_DATA: tuple[str, ...] = ("[done]",)

#: Words that name a part of a stream's work: with one of them, a done word says that
#: part finished, not the stream.
PART_WORDS: frozenset[str] = frozenset(
    {
        "step",
        "block",
        "chunk",
        "part",
        "item",
        "segment",
        "phase",
        "stage",
        "file",
        "tool",
        "output",
        "call",
        "arguments",
        "cell",
    }
)

_TYPES = frozenset(DONE_TYPES)
_WORDS = frozenset(DONE_WORDS)
_DATA = frozenset(DONE_DATA)
_SPLIT = re.compile(r"[-.:/]+")
_NORM = re.compile(r"[\s_]+")


def normalise_type(name: str) -> str:
    """An event type in the catalogue's form: ``"Keep_Alive"`` → ``"keep-alive"``."""
    return _NORM.sub("-", str(name).strip().lower())


def end_marker(event_type: str, data: str) -> str | None:
    """What marks the end of the stream in this event, or ``None``.

    Returns the data (``"[DONE]"``) for a data sentinel of an unnamed event, else the
    event type (``"message_stop"``).

    Example:
        >>> end_marker("message", "[DONE]"), end_marker("job-complete", "{}")
        ('[DONE]', 'job-complete')
        >>> end_marker("content_block_stop", "{}") is None
        True
    """
    if event_type in ("", "message"):
        if len(data) < 32 and data.strip().lower() in _DATA:
            return data.strip()
        return None
    norm = normalise_type(event_type)
    if norm in _TYPES or norm.rsplit(":", 1)[-1] in _TYPES:
        return event_type
    words = [w for w in _SPLIT.split(norm) if w]
    if words and words[-1] in _WORDS and not PART_WORDS.intersection(words):
        return event_type
    return None
