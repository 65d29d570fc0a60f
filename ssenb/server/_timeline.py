"""The building blocks of a scenario: steps on a stream clock, and periodic timers.

Rules of this module:

- Pure: no sockets, no clock, no sleeping. Time is a number of stream seconds that the
  scenario advances itself; the app turns it into real waiting (divided by the speed).
- Every byte a scenario writes goes through ``encode_event`` (raw-byte oddities belong
  to ``faults.py``), except the blank ``\\r\\n`` keep-alive line, a block of its
  own and exactly what the catalogue describes.
- Randomness comes only from the ``random.Random`` the timeline was given, so a seed
  fixes the whole stream.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from ..parse import encode_event

__all__ = ["EPOCH", "Step", "Timeline", "comment_of", "dumps", "ping_json"]

#: Stream time 0 in payload timestamps: 2024-01-01T00:00:00Z (the catalogue's example).
EPOCH = 1704067200
_EPOCH_DT = datetime(2024, 1, 1, tzinfo=UTC)


class Step(NamedTuple):
    """One write of a scenario.

    Attributes:
        delay: stream seconds to wait before writing (not yet divided by the speed).
        data: the bytes to write (empty for a pure wait or a hang-up).
        events: how many events these bytes dispatch (keep-alive events included).
        id: the last event id these bytes set, or ``None``.
        keep: written on every connection, even a resumed one (a preamble such as
            ``retry`` or ``stream-start``).
        hangup: the scenario ends the connection here (a reconnecting client resumes).
    """

    delay: float
    data: bytes
    events: int = 0
    id: str | None = None
    keep: bool = False
    hangup: bool = False


def dumps(payload: Any) -> str:
    """Compact JSON, as most servers write it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


class _Timer:
    __slots__ = ("due", "interval", "make", "n")

    def __init__(
        self,
        due: float,
        interval: float | tuple[float, float],
        make: Callable[[Timeline, int], bytes],
    ) -> None:
        self.due = due
        self.interval = interval
        self.make = make
        self.n = 0


class Timeline:
    """A scenario's clock, id counter, limits and keep-alive timers.

    Scenario functions call ``send``/``event``/``comment`` with the delay since the
    previous write; due timers (heartbeats) are written first, at their own times.
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        events: int | None,
        duration: float | None,
        loop: bool,
        first_id: int = 1,
    ) -> None:
        self.rng = rng
        self.t = 0.0
        self.count = 0
        self.events_limit = events
        self.duration = duration
        self.loop = loop
        self._next_id = first_id
        self._timers: list[_Timer] = []
        self._pending = 0.0

    # -- limits ---------------------------------------------------------------------

    def more(self) -> bool:
        """Whether the body of the scenario goes on (always, when looping)."""
        if self.loop:
            return True
        if self.events_limit is not None and self.count >= self.events_limit:
            return False
        return not (self.duration is not None and self.t >= self.duration)

    def fraction(self) -> float:
        """How far through its limits the body is, 0..1 (0 when looping)."""
        parts = []
        if self.loop:
            return 0.0
        if self.events_limit:
            parts.append(self.count / self.events_limit)
        if self.duration:
            parts.append(self.t / self.duration)
        return min(max(parts, default=0.0), 1.0)

    # -- values ---------------------------------------------------------------------

    def jitter(self, base: float, frac: float = 0.1) -> float:
        """``base`` scaled by a seeded factor in ``1 ± frac``."""
        return base * (1.0 + self.rng.uniform(-frac, frac))

    def take_id(self) -> str:
        """The next event id ("1", "2", ...)."""
        value = str(self._next_id)
        self._next_id += 1
        return value

    def epoch(self, at: float | None = None) -> int:
        """Unix seconds at stream time ``at`` (now by default)."""
        return EPOCH + int(self.t if at is None else at)

    def epoch_ms(self, at: float | None = None) -> int:
        """Unix milliseconds at stream time ``at``."""
        return EPOCH * 1000 + round(1000 * (self.t if at is None else at))

    def iso(self, at: float | None = None) -> str:
        """ISO 8601 UTC timestamp (milliseconds, ``Z``) at stream time ``at``."""
        moment = _EPOCH_DT + timedelta(seconds=self.t if at is None else at)
        return (
            moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        )

    def hex(self, n: int) -> str:
        """``n`` seeded hex digits, for ids that look real."""
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    # -- timers ---------------------------------------------------------------------

    def every(
        self,
        interval: float | tuple[float, float],
        make: Callable[[Timeline, int], bytes],
        *,
        first: float | None = None,
    ) -> None:
        """Write ``make(timeline, n)`` every ``interval`` stream seconds (a (lo, hi)
        pair draws each interval uniformly), between the scenario's own writes."""
        timer = _Timer(0.0, interval, make)
        timer.due = self.t + (self._interval(timer) if first is None else first)
        self._timers.append(timer)

    def _interval(self, timer: _Timer) -> float:
        if isinstance(timer.interval, tuple):
            return self.rng.uniform(*timer.interval)
        return timer.interval

    # -- writes ---------------------------------------------------------------------

    def wait(self, delay: float) -> Iterator[Step]:
        """Advance the clock by ``delay``, writing the timers that fall due; the rest of
        the gap goes into the next write's delay."""
        target = self.t + max(delay, 0.0)
        while True:
            timer = min(self._timers, key=lambda tm: tm.due, default=None)
            if timer is None or timer.due > target:
                break
            self._pending += max(timer.due - self.t, 0.0)
            self.t = max(timer.due, self.t)
            timer.n += 1
            blob = timer.make(self, timer.n)
            yield self._write(blob, events=_count_events(blob))
            timer.due += self._interval(timer)
        self._pending += target - self.t
        self.t = target

    def _write(
        self,
        data: bytes,
        *,
        events: int = 0,
        id: str | None = None,
        keep: bool = False,
        hangup: bool = False,
    ) -> Step:
        step = Step(self._pending, data, events, id, keep, hangup)
        self._pending = 0.0
        return step

    def send(
        self,
        data: bytes,
        *,
        after: float = 0.0,
        events: int = 0,
        id: str | None = None,
        keep: bool = False,
        count: bool = True,
    ) -> Iterator[Step]:
        """Write ``data`` ``after`` stream seconds (due timers are written first)."""
        yield from self.wait(after)
        if count:
            self.count += events
        yield self._write(data, events=events, id=id, keep=keep)

    def event(
        self,
        payload: Any,
        *,
        after: float = 0.0,
        event: str | None = None,
        id: bool | str = False,
        retry: int | None = None,
        keep: bool = False,
        count: bool = True,
    ) -> Iterator[Step]:
        """Write one event; a dict or list payload is sent as compact JSON.

        ``id=True`` takes the next id; a string is used as it is. A payload that
        depends on the time should be built after ``yield from tl.wait(gap)``.
        """
        yield from self.wait(after)
        if id is True:
            ev_id: str | None = self.take_id()
        elif id is False:
            ev_id = None
        else:
            ev_id = id
        data = payload if isinstance(payload, str) else dumps(payload)
        blob = encode_event(data, event=event, id=ev_id, retry=retry)
        yield from self.send(blob, events=1, id=ev_id, keep=keep, count=count)

    def comment(self, text: str, *, after: float = 0.0) -> Iterator[Step]:
        """Write one comment block."""
        yield from self.send(encode_event(comment=text), after=after)

    def retry(
        self, ms: int, *, after: float = 0.0, keep: bool = False
    ) -> Iterator[Step]:
        """Write a ``retry`` line on its own."""
        yield from self.send(encode_event(retry=ms), after=after, keep=keep)

    def hangup(self, *, after: float = 0.0) -> Iterator[Step]:
        """End the connection here; a client that comes back resumes."""
        yield from self.wait(after)
        yield self._write(b"", hangup=True)


def _count_events(blob: bytes) -> int:
    """Events a timer's block dispatches: 1 when it has a data line, else 0."""
    return 1 if blob.startswith(b"data") or b"\ndata" in blob else 0


def ping_json(tl: Timeline, n: int) -> bytes:
    """``event: ping`` with ``{"timestamp": <unix seconds>}``."""
    return encode_event(dumps({"timestamp": tl.epoch()}), event="ping")


def comment_of(text: str) -> Callable[[Timeline, int], bytes]:
    """A timer that writes the comment ``: text``."""
    blob = encode_event(comment=text)
    return lambda tl, n: blob
