"""Replay: the writes of recorded connections, played again by the app.

Rules of this module:

- Pure: no files, no frames, no clock. The caller hands in what the recorded server
  wrote, as ``(delay, bytes)`` pairs in stream time: ``ssenb.store.timeline`` makes
  them from a capture, a frame, raw bytes or a file. Per stream, each recorded
  connection becomes a ``RecordedConnection`` of ``Step``s that the app plays like a
  scenario's, faults included.
- Accepted: a ``Replay``; the ``{stream: [(number, status, content_type,
  writes), ...]}`` of ``store.timeline``; or one connection's ``[(delay, bytes),
  ...]``.
- The parser counts the events and the last id of each write (faults such as
  ``cut=`` and ``hangup=`` count events).
- For one release, ``load_recording`` also takes what it took before (a capture, a
  frame, raw bytes, a path) with a ``DeprecationWarning``: the package root hands it
  ``store.timeline`` for that, so this package never imports the store.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._renamed import renamed
from ..parse import SSEParser
from ._timeline import Step

__all__ = ["RecordedConnection", "Replay", "Writes", "load_recording"]

_SSE = "text/event-stream"

#: One connection's writes: (stream seconds since the previous write, bytes).
Writes = Sequence[tuple[float, bytes]]


@dataclass
class RecordedConnection:
    """One recorded connection: how it was answered, and its writes in stream time."""

    number: int
    status: int = 200
    content_type: str = _SSE
    steps: list[Step] = field(default_factory=list)

    @classmethod
    def of_writes(
        cls,
        writes: Iterable[tuple[float, bytes]],
        *,
        number: int = 1,
        status: int = 200,
        content_type: str = _SSE,
    ) -> RecordedConnection:
        """A connection from its ``(delay, bytes)`` writes; the parser counts each
        write's events and last id.

        Raises:
            TypeError: a write that is not a (number, bytes) pair.
        """
        parser = SSEParser()
        steps = []
        for i, write in enumerate(writes):
            delay, data = _write(write, i, number)
            records = parser.feed(data)
            events = sum(r.kind == "event" for r in records)
            ids = [r.id for r in records if r.id is not None]
            steps.append(Step(delay, data, events, ids[-1] if ids else None))
        return cls(number, status=status, content_type=content_type, steps=steps)

    @property
    def events(self) -> int:
        """How many events the connection dispatched."""
        return sum(s.events for s in self.steps)


def _write(write: Any, i: int, number: int) -> tuple[float, bytes]:
    try:
        delay, data = write
        delay = float(delay)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError
    except (TypeError, ValueError):
        raise TypeError(
            f"write {i} of recorded connection {number} is not a (delay seconds, "
            f"bytes) pair: {write!r:.80}"
        ) from None
    if not (delay >= 0 and math.isfinite(delay)):
        raise ValueError(
            f"write {i} of recorded connection {number} waits {delay!r} seconds; "
            f"delays are finite and >= 0"
        )
    return delay, bytes(data)


@dataclass
class Replay:
    """A recording ready to replay: stream name -> its connections, in order.

    (Named ``Recording`` before; that name kept meaning the live recording inside
    ``capture`` too.)
    """

    streams: dict[str, list[RecordedConnection]]
    source: str = "a capture"

    @property
    def default_stream(self) -> str:
        """The stream served when a request names none (the first one)."""
        return next(iter(self.streams), "")

    def describe(self) -> str:
        """One line for the index page."""
        parts = [
            f"{name or 'the stream'}: {len(conns)} connection(s), "
            f"{sum(c.events for c in conns)} events"
            for name, conns in self.streams.items()
        ]
        return f"{self.source} ({'; '.join(parts) or 'empty'})"


def load_recording(source: Any, *, name: str = "a recording") -> Replay:
    """What the app replays, from the writes the caller hands in (see the module
    rules); ``name`` is what the index page calls it.

    Example:
        >>> load_recording([(0.0, b"data: hi\\n\\n"), (1.0, b"data: bye\\n\\n")])
        ... # doctest: +SKIP

    Raises:
        TypeError: a source that is not writes (nor, for one release, a recording
            ``ssenb.store.timeline`` reads).
    """
    if isinstance(source, Replay):
        return source
    if isinstance(source, Mapping):
        return Replay(
            {str(stream): _turns(stream, turns) for stream, turns in source.items()},
            source=name,
        )
    if isinstance(source, list | tuple) and all(
        isinstance(w, tuple) and len(w) == 2 for w in source
    ):
        return Replay({"": [RecordedConnection.of_writes(source)]}, source=name)
    return _old_recording(source)


def _turns(stream: Any, turns: Any) -> list[RecordedConnection]:
    out = []
    for turn in turns:
        try:
            number, status, content_type, writes = turn
        except (TypeError, ValueError):
            raise TypeError(
                f"stream {stream!r}: each recorded connection is (number, status, "
                f"content_type, writes), as ssenb.store.timeline gives; got "
                f"{turn!r:.80}"
            ) from None
        out.append(
            RecordedConnection.of_writes(
                writes,
                number=int(number),
                status=int(status),
                content_type=str(content_type),
            )
        )
    return out


# -- what load_recording took before, for one release --------------------------------

_reader: list[Callable[[Any], Mapping[str, Any]]] = []


def _read_old_recordings_with(reader: Callable[[Any], Mapping[str, Any]]) -> None:
    """Set how a capture, a frame, raw bytes or a path become writes, for the old
    calls; the package root passes ``ssenb.store.timeline``."""
    _reader[:] = [reader]


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside this package (the user's call)."""
    here = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == here:
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def _old_recording(source: Any) -> Replay:
    known = isinstance(source, str | os.PathLike | bytes | bytearray | memoryview)
    known = known or hasattr(source, "events") or hasattr(source, "columns")
    if not known or not _reader:
        raise TypeError(
            f"replay takes (delay, bytes) writes, ssenb.store.timeline(...) of an "
            f"events frame, a capture, raw bytes or a path, or a Replay; got "
            f"{type(source).__name__}"
        )
    warnings.warn(
        f"the server now takes the recording's writes: pass "
        f"ssenb.store.timeline({type(source).__name__.lower()}), or use "
        f"ssenb.demo_server(replay=...), which reads any recording; giving "
        f"ssenb.server the {type(source).__name__} itself goes away in the next "
        f"release",
        DeprecationWarning,
        stacklevel=_caller_level(),
    )
    name = str(source) if isinstance(source, str | os.PathLike) else None
    if name is None:
        name = "raw bytes" if isinstance(source, bytes) else type(source).__name__
    return load_recording(_reader[0](source), name=name)


def _old_names(name: str) -> Any:
    if name == "UNTIMED_GAP":
        warnings.warn(
            "ssenb.server.replay.UNTIMED_GAP is now ssenb.store.UNTIMED_GAP (the "
            "store spaces untimed records); the old name goes away in the next "
            "release",
            DeprecationWarning,
            stacklevel=2,
        )
        return 0.05
    return _renamed_names(name)


_renamed_names = renamed(__name__, globals(), {"Recording": "Replay"})

#: Old names of this module (they warn for one release).
__getattr__ = _old_names
