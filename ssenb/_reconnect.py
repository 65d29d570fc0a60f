"""The reconnection policy of a capture: pure decisions, no I/O, no clock.

Rules of this module:

- It decides, the capture shells act: given how a connection ended, it says whether
  to connect again and how long to wait first. It never sleeps and never reads a clock;
  jitter comes from a ``random.Random`` the caller may seed.
- It follows the HTML standard where the standard speaks: wait the stream's ``retry``
  value (else a default) before reconnecting, send ``Last-Event-ID`` with the last
  event id (omitted when empty), and stop for good on HTTP 204.
- It adds what practice needs: exponential backoff with jitter, grown from the
  server's ``retry`` after consecutive short or failed connections, capped, and reset
  only after a healthy one (it lasted, or it moved the stream on); ``Retry-After``;
  the ``backoff_ms`` of an ``operational-disconnect`` event.
- Waits the *stream* asks for (``retry``, ``Retry-After``, ``backoff_ms``) are divided
  by the time scale the server announced (a server playing time compressed tenfold asks
  for ten times shorter real waits). The backoff is the client's own and is not scaled.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import NamedTuple

__all__ = [
    "Backoff",
    "Decision",
    "ReconnectPolicy",
    "Reconnector",
    "parse_retry_after",
    "parse_time_scale",
    "requested_backoff",
    "stream_headers",
]

#: Outcomes after which the stream is over whatever the policy says.
FINAL_OUTCOMES = frozenset(
    {
        "http-204",
        "stopped",
        "until",
        "max-events",
        "duration",
        "event-too-large",
        "not-started",
        "undecodable",
    }
)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff added to the wait after consecutive failed attempts.

    After the n-th failure in a row the extra wait is
    ``min(maximum, initial * factor ** (n - 1))``, multiplied by a random factor in
    ``[1 - jitter, 1]`` so that many clients do not reconnect in lockstep.
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ValueError(
                f"backoff times must not be negative, got initial={self.initial!r}, "
                f"maximum={self.maximum!r}"
            )
        if self.factor < 1:
            raise ValueError(f"backoff factor must be >= 1, got {self.factor!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter must be in [0, 1], got {self.jitter!r}")

    def grow(self, base: float, failures: int, rng: random.Random) -> float:
        """The wait after ``failures`` short or failed connections in a row, grown
        from the server's ``base`` wait (its ``retry``; at least ``initial``):
        ``min(maximum, max(base, initial) * factor ** (failures - 1))``, jittered.
        A server asking ``retry: 0`` and hanging up at once is not reconnected to in a
        tight loop."""
        if failures <= 0 or self.initial == 0:
            return 0.0
        start = max(base, self.initial)
        grown = min(self.maximum, start * self.factor ** min(failures - 1, 64))
        return grown * (1.0 - self.jitter * rng.random())

    def extra(self, failures: int, rng: random.Random) -> float:
        """The extra wait in seconds after ``failures`` failed attempts in a row."""
        if failures <= 0 or self.initial == 0:
            return 0.0
        base = min(self.maximum, self.initial * self.factor ** (failures - 1))
        return base * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True)
class ReconnectPolicy:
    """When and how a capture reconnects.

    Attributes:
        reconnect: reconnect at all after a connection ends.
        max_reconnects: the most reconnections per stream (``None``: no limit).
        max_failures: give up after this many failed attempts in a row (an attempt
            that brought no record counts as failed).
        default_retry: seconds to wait when the stream sent no ``retry`` field.
        backoff: the backoff added after consecutive failures.
        retry_statuses: HTTP statuses worth retrying (others, 4xx mostly, end the
            stream); 5xx and 429 by default.
        retry_not_event_stream: retry a 2xx response whose Content-Type is wrong.
    """

    reconnect: bool = True
    max_reconnects: int | None = None
    max_failures: int | None = 5
    default_retry: float = 3.0
    backoff: Backoff = field(default_factory=Backoff)
    retry_statuses: frozenset[int] = frozenset({429, *range(500, 600)})
    retry_not_event_stream: bool = False

    def __post_init__(self) -> None:
        if self.max_reconnects is not None and self.max_reconnects < 0:
            raise ValueError(
                f"max_reconnects must be >= 0 or None, got {self.max_reconnects!r}"
            )
        if self.max_failures is not None and self.max_failures < 1:
            raise ValueError(
                f"max_failures must be >= 1 or None, got {self.max_failures!r}"
            )
        if self.default_retry < 0:
            raise ValueError(
                f"default_retry must not be negative, got {self.default_retry!r}"
            )


class Decision(NamedTuple):
    """What to do after a connection ended: reconnect after ``delay`` seconds or stop.

    ``reason`` says why it stops (``""`` when it reconnects).
    """

    reconnect: bool
    delay: float
    reason: str


class Reconnector:
    """The reconnection state of one stream, fed how each attempt ended.

    Example:
        >>> r = Reconnector(ReconnectPolicy(default_retry=1.0), rng=random.Random(0))
        >>> r.end_attempt("eof", healthy=True, retry_ms=250).delay
        0.25
    """

    def __init__(
        self, policy: ReconnectPolicy, *, rng: random.Random | None = None
    ) -> None:
        self.policy = policy
        self.rng = rng or random.Random()
        self.attempts = 0
        """Attempts made so far."""
        self.failures = 0
        """Failed attempts in a row."""
        self.short = 0
        """Short or failed attempts in a row (they grow the backoff)."""
        self.retry_ms: int | None = None
        """The stream's ``retry`` value in force (ms), or ``None``."""

    def begin_attempt(self) -> int:
        """Count a new attempt; return its 1-based number."""
        self.attempts += 1
        return self.attempts

    def end_attempt(
        self,
        outcome: str,
        *,
        healthy: bool,
        status: int | None = None,
        retry_ms: int | None = None,
        requested: float | None = None,
        time_scale: float = 1.0,
        lasted: bool | None = None,
    ) -> Decision:
        """Decide what follows an attempt that ended with ``outcome``.

        Args:
            outcome: how it ended (``eof``, ``idle-timeout``, ``error``, ``http-204``,
                ``http-status``, ``not-event-stream``, ``stopped``, ...).
            healthy: it lasted or delivered new events (resets the backoff).
            status: the HTTP status, when a response came.
            retry_ms: the stream's latest ``retry`` value, when it sent one.
            requested: a wait the server asked for in stream seconds (``Retry-After``,
                ``backoff_ms``), before time scaling.
            time_scale: the time scale the server announced (1 = real time).
            lasted: it stayed open a while or moved the stream on (new event ids);
                only such a connection resets the backoff (default: ``healthy``).
        """
        p = self.policy
        if retry_ms is not None:
            self.retry_ms = retry_ms
        self.failures = 0 if healthy else self.failures + 1
        self.short = 0 if (healthy if lasted is None else lasted) else self.short + 1
        if outcome in FINAL_OUTCOMES:
            return Decision(False, 0.0, outcome)
        if outcome == "http-status" and status not in p.retry_statuses:
            return Decision(False, 0.0, f"http-{status}")
        if outcome == "not-event-stream" and not p.retry_not_event_stream:
            return Decision(False, 0.0, outcome)
        if not p.reconnect:
            return Decision(False, 0.0, "no-reconnect")
        if p.max_reconnects is not None and self.attempts > p.max_reconnects:
            return Decision(False, 0.0, "max-reconnects")
        if p.max_failures is not None and self.failures >= p.max_failures:
            return Decision(False, 0.0, "max-failures")
        # Every wait is decided in the stream's own time, then compressed by the
        # server's time scale: the stream's retry and Retry-After/backoff_ms, and the
        # client's own default retry and backoff alike. A capture of a time-compressed
        # server then behaves, in stream time, as a real client would.
        scale = time_scale if time_scale > 0 else 1.0
        base = self.retry_ms / 1000 if self.retry_ms is not None else p.default_retry
        delay = max(base, p.backoff.grow(base, self.short, self.rng))
        if requested is not None:
            delay = max(delay, requested)
        return Decision(True, delay / scale, "")


def stream_headers(last_event_id: str) -> dict[str, str]:
    """The headers an event-stream request sends: ``Accept``, ``Cache-Control``, and
    ``Last-Event-ID`` when there is one (the standard omits it when empty)."""
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return headers


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    ``now`` (epoch seconds) is needed for the date form; ``None`` when unreadable.

    Example:
        >>> parse_retry_after("7")
        7.0
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if now is None or when is None:
        return None
    return max(0.0, when.timestamp() - now)


#: The range a trusted time scale is clamped to: at most ten thousand times faster or
#: slower than real time.
TIME_SCALE_RANGE = (1e-4, 1e4)


def parse_time_scale(value: str | None) -> float:
    """The factor of an ``SSENB-Time-Scale`` header (1.0 when absent or invalid),
    clamped to ``TIME_SCALE_RANGE``."""
    if not value:
        return 1.0
    try:
        scale = float(value)
    except ValueError:
        return 1.0
    if not 0 < scale < float("inf"):
        return 1.0
    low, high = TIME_SCALE_RANGE
    return min(max(scale, low), high)


#: Event types whose JSON data may carry a ``backoff_ms`` the client should honour.
BACKOFF_EVENT_TYPES = frozenset({"operational-disconnect"})


def requested_backoff(event_type: str, data: str) -> float | None:
    """Seconds a server asks the client to wait, from an ``operational-disconnect``
    event's JSON ``backoff_ms`` (X/Twitter streams); ``None`` otherwise.

    Example:
        >>> requested_backoff("operational-disconnect", '{"backoff_ms": 5000}')
        5.0
    """
    if event_type not in BACKOFF_EVENT_TYPES:
        return None
    try:
        payload = json.loads(data)
    except ValueError:
        return None
    if isinstance(payload, dict) and "data" in payload and "backoff_ms" not in payload:
        payload = payload["data"]
    if not isinstance(payload, dict):
        return None
    ms = payload.get("backoff_ms")
    if isinstance(ms, bool) or not isinstance(ms, int | float) or ms < 0:
        return None
    return float(ms) / 1000
