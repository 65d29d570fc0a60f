"""What a capture does between the socket and the frames, written once for both shells.

Rules of this module:

- No socket and no sleeping: the sync and async shells in ``capture.py`` own the I/O
  and call in here with each response, each body chunk and each ending.
- One clock: arrival times come from ``time.perf_counter_ns`` and are turned into wall
  time from a single (wall, monotonic) pair taken at start, so ``time`` and ``elapsed``
  always agree and a wall-clock jump cannot reorder rows.
- No object per record: what the parser gives for each read (``Columns``) is kept as
  a part with its stream,
  connection and arrival times; frames are built from the parts only when asked
  (``Recording.events_frame``).
- Reads that come back to back are parsed together: a shell passes ``more=True`` when
  more bytes are already waiting on the socket, and the chunks are held (up to
  ``COALESCE`` bytes) and parsed as one region. Each record keeps the arrival time of
  the chunk that held its last byte.
- Everything shared with other threads (a live snapshot, the crash-safe log) is
  touched under ``Recording.lock``.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from . import _local, _reconnect
from ._bulk import BulkParser, Columns
from ._endings import end_marker
from .errors import EventTooLarge, NotAnEventStream, SSENBError, StreamError
from .frames import (
    assemble_events,
    build_connections,
    concat_consuming,
    empty_connections,
)
from .parse import Record
from .redact import (
    REDACTED,
    is_sensitive_header,
    redact_headers,
    redact_mapping,
    redact_url,
)

__all__: list[str] = []

_TIME = pd.DatetimeTZDtype("ns", "UTC")
#: How much of a failed response's body an error message quotes.
_PREFIX = 512
#: The most bytes held back to parse together while more are waiting on the socket.
#: A region's parse makes temporaries of a row each: 1 MiB regions keep that under
#: 30 MB (4 MiB ones raised the recording's peak by ~100 MB per million short events)
#: and parse as fast (1 M short events: 0.30 s CPU against 0.32 s).
COALESCE = 1 << 20
#: Small reads are merged into one part up to this many rows.
_PART_ROWS = 256
#: Recording to a path keeps only this many of the newest rows in memory (for live
#: views); the rest are in the file.
TAIL_ROWS = 20_000
#: Recording to a path parses in smaller regions: each region's rows stay in memory
#: until the file has them, so this bounds what a fast stream keeps (about 40 MB per
#: million short events measured, against 250 MB with the whole recording kept).
PATH_COALESCE = 256 << 10
#: A connection open this long (stream seconds) resets the backoff, as does one whose
#: events moved the stream on (a new event id).
HEALTHY_AFTER = 1.0
#: Content codings the HTTP client decodes (``capture`` sets httpx's own list).
DECODABLE = frozenset({"identity", "gzip", "deflate"})
#: The default of ``until``: the stream's own end marker, then the server hanging up.
AUTO = "auto"
#: How a connection may end after the stream said it was done, for that to end it.
_ENDINGS = frozenset({"eof", "error", "idle-timeout", "timeout"})

Parsed = Columns


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("ssenb")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


@dataclass
class Options:
    """Every capture option, checked once (the public functions document them)."""

    method: str = "GET"
    json: Any = None
    content: bytes | str | None = None
    headers: Mapping[str, str] | None = None
    params: Any = None
    client: Any = None
    httpx_options: Mapping[str, Any] | None = None
    connect_timeout: float | None = 10.0
    read_timeout: float | None = None
    idle_timeout: float | None = None
    max_events: int | None = None
    duration: float | None = None
    until: str | Callable[[Record], bool] | None = AUTO
    reconnect: bool | None = None
    max_reconnects: int | None = None
    max_failures: int | None = 5
    retry: float = 3.0
    backoff: _reconnect.Backoff = field(default_factory=_reconnect.Backoff)
    retry_statuses: Any = None
    follow_redirects: bool = True
    last_event_id: str = ""
    path: Any = None
    progress: bool | None = None
    keep_raw: bool = True
    redact: bool = True
    max_event_size: int | None = None
    seed: int | None = None
    trust_time_scale: bool | None = None
    strip_headers: Any = ()
    concurrency: int | None = None
    max_redirects: int = 20
    max_retry_after: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("max_events", "concurrency"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive int or None, got {v!r}")
        for name in (
            "duration",
            "connect_timeout",
            "read_timeout",
            "idle_timeout",
            "max_retry_after",
        ):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int | float) or v <= 0):
                raise ValueError(f"{name} must be a positive number (s), got {v!r}")
        if self.until is not None and not (
            isinstance(self.until, str) or callable(self.until)
        ):
            raise TypeError(
                f"until must be a string (an event type, or '[DONE]' for a data "
                f"sentinel) or a function of a Record, got {type(self.until).__name__}"
            )
        if isinstance(self.backoff, int | float):
            self.backoff = _reconnect.Backoff(initial=float(self.backoff))
        elif self.backoff is None:
            self.backoff = _reconnect.Backoff(initial=0.0)
        elif not isinstance(self.backoff, _reconnect.Backoff):
            raise TypeError(
                f"backoff must be seconds, None or an ssenb backoff policy, got "
                f"{type(self.backoff).__name__}"
            )
        if isinstance(self.strip_headers, str):
            self.strip_headers = (self.strip_headers,)
        self.strip_headers = tuple(str(h) for h in self.strip_headers or ())
        self.method = self.method.upper()
        if self.json is not None and self.content is not None:
            raise ValueError("pass either json= or content=, not both")

    def policy(self) -> _reconnect.ReconnectPolicy:
        extra: dict[str, Any] = {}
        if self.retry_statuses is not None:
            extra["retry_statuses"] = frozenset(self.retry_statuses)
        return _reconnect.ReconnectPolicy(
            reconnect=self.reconnect is not False,
            max_reconnects=self.max_reconnects,
            max_failures=self.max_failures,
            default_retry=self.retry,
            backoff=self.backoff,
            **extra,
        )

    def read_limit(self) -> float | None:
        """The per-read timeout: the idle timeout when it is shorter."""
        limits = [t for t in (self.read_timeout, self.idle_timeout) if t is not None]
        return min(limits) if limits else None

    def describe(self) -> dict[str, Any]:
        """The options as JSON-friendly values, secrets redacted, for ``meta``."""
        until: Any = self.until
        if callable(until):
            until = f"<function {getattr(until, '__name__', type(until).__name__)}>"
        body: Any = self.json
        content = self.content
        out = {
            "method": self.method,
            "json": redact_mapping(body) if self.redact else body,
            "content_bytes": None if content is None else len(content),
            "params": _params_text(self.params, self.redact),
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "idle_timeout": self.idle_timeout,
            "max_events": self.max_events,
            "duration": self.duration,
            "until": until,
            "reconnect": self.reconnect,
            "max_reconnects": self.max_reconnects,
            "max_failures": self.max_failures,
            "retry": self.retry,
            "backoff": {
                "initial": self.backoff.initial,
                "factor": self.backoff.factor,
                "maximum": self.backoff.maximum,
                "jitter": self.backoff.jitter,
            },
            "follow_redirects": self.follow_redirects,
            "last_event_id": self.last_event_id or None,
            "path": None if self.path is None else str(self.path),
            "keep_raw": self.keep_raw,
            "redact": self.redact,
            "max_event_size": self.max_event_size,
            "trust_time_scale": self.trust_time_scale,
            "max_retry_after": self.max_retry_after,
            "strip_headers": [str(h) for h in self.strip_headers],
            "concurrency": self.concurrency,
        }
        return out


def _params_text(params: Any, redact: bool) -> Any:
    if params is None:
        return None
    if isinstance(params, Mapping):
        items = list(params.items())
    elif isinstance(params, str):
        return redact_url("?" + params)[1:] if redact else params
    else:
        items = list(params)
    out = [[str(k), str(v)] for k, v in items]
    if redact:
        from .redact import REDACTED, is_sensitive_param

        out = [[k, REDACTED if is_sensitive_param(k) else v] for k, v in out]
    return out


@dataclass
class Target:
    """One stream to capture: its name and request."""

    name: str
    url: str
    method: str
    headers: dict[str, str]
    params: Any
    json: Any
    content: Any


def targets_of(spec: Any, opts: Options, *, name: str = "") -> Target:
    """A ``Target`` from a URL or a ``{"url": ..., "method": ..., ...}`` mapping."""
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"url", "method", "headers", "params", "json", "content"}
        if unknown:
            raise ValueError(
                f"stream {name!r}: unknown request keys {sorted(unknown)}; use url, "
                f"method, headers, params, json, content"
            )
        if "url" not in spec:
            raise ValueError(f"stream {name!r}: the request mapping needs a 'url'")
        headers = {**(opts.headers or {}), **(spec.get("headers") or {})}
        return Target(
            name=name,
            url=str(spec["url"]),
            method=str(spec.get("method", opts.method)).upper(),
            headers=dict(headers),
            params=spec.get("params", opts.params),
            json=spec.get("json", opts.json),
            content=spec.get("content", opts.content),
        )
    if not isinstance(spec, str) and not hasattr(spec, "scheme"):
        raise TypeError(
            f"a stream is a URL or a request mapping, got {type(spec).__name__}"
        )
    return Target(
        name=name,
        url=str(spec),
        method=opts.method,
        headers=dict(opts.headers or {}),
        params=opts.params,
        json=opts.json,
        content=opts.content,
    )


def _match_until(until: Any) -> Callable[[Parsed], int]:
    """A function giving the index of the first record meeting ``until`` (or -1)."""
    if until is None:
        return lambda batch: -1
    if callable(until):

        def by_call(batch: Parsed) -> int:
            for i, rec in enumerate(batch.records()):
                if until(rec):
                    return i
            return -1

        return by_call
    text = str(until)
    column = "data" if text.startswith("[") and text.endswith("]") else "type"

    def by_value(batch: Parsed) -> int:
        return batch.first_event(**{column: text})

    return by_value


def _n_events(batch: Parsed) -> int:
    return batch.events()


def _nth_event(batch: Parsed, n: int) -> int:
    """The index of the ``n``-th event (1-based) of ``batch``."""
    return int(np.flatnonzero(batch.kind == 0)[n - 1])


def _last_type(batch: Parsed) -> str | None:
    return batch.last_event_type()


def _last_event(batch: Parsed) -> tuple[str, str]:
    """(type, data) of the last event of ``batch`` (which holds one)."""
    i = int(np.flatnonzero(batch.kind == 0)[-1])
    name = batch.type_names[batch.type_codes[i]]
    if name in ("", "message") and batch.size[i] > 64:
        return name, ""  # too long to be a sentinel
    return name, batch.data[i].as_py() or ""


def _types_and_data(batch: Parsed, wanted: str) -> list[tuple[str, str]]:
    """(type, data) of the records of type ``wanted``."""
    if wanted not in batch.type_names:
        return []
    codes = [i for i, t in enumerate(batch.type_names) if t == wanted]
    at = np.flatnonzero(np.isin(batch.type_codes, codes))
    return [(wanted, batch.data[int(i)].as_py()) for i in at]


def _cut(batch: Parsed, start: int, stop: int) -> Parsed:
    return batch.slice(start, stop)


class _Part:
    """The records of one read (or of several small ones) and where they belong."""

    __slots__ = ("cols", "code", "connection", "seq0", "t_ns")

    def __init__(
        self, cols: Parsed, code: int, connection: int, seq0: int, t_ns: Any
    ) -> None:
        self.cols = cols
        self.code = code
        self.connection = connection
        self.seq0 = seq0
        self.t_ns = t_ns  # a numpy array of arrival times


@dataclass
class Attempt:
    """One connection attempt while it runs; becomes a row of ``connections``."""

    stream: Stream
    number: int
    delay: float
    headers: dict[str, str]
    wait_reason: str  # why ``delay`` was waited
    t_request: int
    parser: BulkParser
    status: int | None = None
    content_type: str | None = None
    url: str | None = None
    chain: list[str] = field(default_factory=list)  # the URLs before redirects
    t_headers: int | None = None
    t_first_byte: int | None = None
    t_closed: int | None = None
    bytes: int = 0
    records: int = 0
    events: int = 0
    time_scale: float = 1.0
    retry_after: float | None = None
    requested: float | None = None
    outcome: str | None = None
    error: str | None = None
    id_at_start: str = ""
    end_marker: str | None = None  # the last event said the stream is done
    resp_headers: str | None = None  # JSON object, redacted: delivery evidence
    reads: int = 0
    reads_cut: int = 0  # reads parsed as they came that ended inside a record
    pending: list[bytes] = field(default_factory=list)  # chunks not parsed yet
    pending_len: int = 0
    # (body bytes received up to the end of a chunk, its arrival time), for the
    # chunks whose bytes may still end a record
    marks: list[tuple[int, int]] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.outcome is not None


class Stream:
    """The state of one stream across its connections."""

    def __init__(self, rec: Recording, target: Target, code: int) -> None:
        self.rec = rec
        self.target = target
        self.name = target.name
        self.code = code
        opts = rec.opts
        rng = random.Random(opts.seed) if opts.seed is not None else None
        self.reconnector = _reconnect.Reconnector(opts.policy(), rng=rng)
        self.decision = _reconnect.Decision(True, 0.0, "")
        given = [v for k, v in target.headers.items() if k.lower() == "last-event-id"]
        self.last_event_id = opts.last_event_id or (given[0] if given else "")
        self.time_scale = 1.0
        self.seq = 0
        self.events = 0
        self.records = 0
        self.bytes = 0
        self.state = "connecting"
        self.last_type = ""
        self.last_error: str | None = None
        self.error: SSENBError | None = None
        self.attempt: Attempt | None = None
        self.ended = ""  # why the stream is over, once it is
        self.why_wait = ""  # why the next connection waits what it waits
        self.auto_end = opts.until == AUTO
        self.until = _match_until(None if self.auto_end else opts.until)

    # -- one attempt ---------------------------------------------------------------

    def begin(self, delay: float) -> Attempt:
        """Start an attempt after waiting ``delay`` real seconds: the request headers
        to send, the clock started.

        The row's ``delay`` is in stream time: the real wait times the time scale the
        server announced (the same number when it announced none).
        """
        number = self.reconnector.begin_attempt()
        headers = _merge_headers(
            _reconnect.stream_headers(self.last_event_id), self.target.headers
        )
        opts = self.rec.opts
        parser_opts: dict[str, Any] = {"last_event_id": self.last_event_id}
        if opts.max_event_size is not None:
            parser_opts["max_event_size"] = opts.max_event_size
        att = Attempt(
            stream=self,
            number=number,
            delay=delay * self.time_scale,
            headers=headers,
            wait_reason=self.why_wait or "first connection",
            t_request=time.perf_counter_ns(),
            parser=BulkParser(**parser_opts),
            id_at_start=self.last_event_id,
        )
        self.attempt = att
        self.state = "connecting"
        return att

    def on_response(
        self,
        att: Attempt,
        status: int,
        headers: Mapping[str, str],
        url: Any,
        decodable: frozenset[str] = DECODABLE,
    ) -> str | None:
        """Record the response head; return a failing outcome, or ``None`` when it is
        an event stream to read."""
        att.t_headers = time.perf_counter_ns()
        att.status = status
        att.url = str(url)
        ctype = headers.get("content-type", "")
        att.content_type = ctype
        att.resp_headers = headers_json(headers, self.rec.opts.redact)
        if "ssenb-time-scale" in headers and self.trusts_time_scale(att.url):
            att.time_scale = _reconnect.parse_time_scale(headers["ssenb-time-scale"])
            self.time_scale = att.time_scale
            self.rec.time_scale = att.time_scale
        if status == 429 or status >= 500:  # where Retry-After means "come back"
            asked = _reconnect.parse_retry_after(
                headers.get("retry-after"), now=time.time()
            )
            if asked is not None:
                att.retry_after = min(asked, self.rec.opts.max_retry_after)
        if status == 204:
            return "http-204"
        if not 200 <= status < 300:
            return "http-status"
        if ctype.split(";")[0].strip().lower() != "text/event-stream":
            return "not-event-stream"
        coding = headers.get("content-encoding", "")
        unknown = [
            c
            for c in (c.strip().lower() for c in coding.split(","))
            if c and c not in decodable
        ]
        if unknown:
            att.error = (
                f"the server sent Content-Encoding: {coding}, which this client cannot "
                f"decode ({', '.join(unknown)}); the body was not read as text. "
                f"Install the decoder httpx uses (pip install brotli for br, "
                f"zstandard for zstd), or ask the server for an uncompressed stream"
            )
            self.error = StreamError(att.error)
            return "undecodable"
        self.state = "open"
        return None

    def trusts_time_scale(self, url: str) -> bool:
        """Whether a time scale this server announces is honoured: only for servers
        this process started (``demo_server``, replay), unless the user says."""
        trust = self.rec.opts.trust_time_scale
        if trust is not None:
            return bool(trust)
        return _local.is_ours(url) and _local.is_ours(self.target.url)

    def failed_response(self, att: Attempt, outcome: str, body: bytes) -> None:
        """Keep a clear error for a response that is not a readable event stream."""
        if outcome in ("http-204", "undecodable"):
            return
        ctype = att.content_type or ""
        shown = body[:_PREFIX]
        url = redact_url(att.url or self.target.url) if self.rec.opts.redact else None
        if outcome == "http-status":
            # the Retry-After asked for stays in the connections row (analysis reads it)
            asked = (
                f", Retry-After: {att.retry_after:g}"
                if att.retry_after is not None
                else ""
            )
            message = (
                f"HTTP {att.status} from {url or att.url} (Content-Type {ctype!r}, "
                f"first bytes {shown[:120]!r}{asked})"
            )
        else:
            message = (
                f"expected Content-Type text/event-stream, got {ctype!r} "
                f"(status {att.status}, first bytes {shown[:120]!r}) from "
                f"{url or att.url}: the URL may point to a web page or an API that "
                f"does not stream"
            )
        att.error = message
        self.error = NotAnEventStream(
            message, status=att.status or 0, content_type=ctype, body=shown
        )

    def on_chunk(self, att: Attempt, chunk: bytes, more: bool = False) -> str | None:
        """Take a body chunk as it arrived; return a stop reason, or ``None``.

        With ``more`` (more bytes are already waiting), the chunk is held and parsed
        with the next ones, up to ``COALESCE`` bytes.
        """
        t = time.perf_counter_ns()
        if att.t_first_byte is None:
            att.t_first_byte = t
        att.bytes += len(chunk)
        self.bytes += len(chunk)
        rec = self.rec
        if rec.opts.keep_raw:
            rec.add_raw(self, att, t, chunk)
        att.pending.append(chunk)
        att.pending_len += len(chunk)
        att.marks.append((att.bytes, t))
        att.reads += 1
        if more and att.pending_len < rec.coalesce:
            return None
        reason = self.flush(att)
        if not more and att.parser.buffered:
            att.reads_cut += 1
        return reason

    def flush(self, att: Attempt, check: bool = True) -> str | None:
        """Parse the chunks held back; return a stop reason, or ``None``."""
        if not att.pending:
            return None
        data = list(att.pending)
        att.pending.clear()
        att.pending_len = 0
        try:
            got = att.parser.feed(data)
        except EventTooLarge as exc:
            if exc.records is not None and len(exc.records):
                self.rec.add(self, att, exc.records, self._times(att, exc.records))
            att.error = str(exc)
            self.error = exc
            return "event-too-large"
        if not len(got):
            return None
        return self.rec.add(self, att, got, self._times(att, got), check=check)

    def finish(self, att: Attempt) -> str | None:
        """The body ended: read what was held back and end the attempt (``eof``, or
        the stop met in those last reads, which is returned)."""
        reason = self.flush(att)
        self.end(att, reason or "eof")
        return reason

    def _times(self, att: Attempt, got: Any) -> Any:
        """Arrival times of records: that of the chunk holding each one's last byte."""
        marks = att.marks
        if len(marks) == 1:
            return marks[0][1]
        ends = np.add(got.offset, got.size)
        last = int(ends[-1])
        bounds = np.array([m[0] for m in marks], dtype=np.int64)
        at = np.minimum(np.searchsorted(bounds, ends, side="left"), len(marks) - 1)
        times = np.array([m[1] for m in marks], dtype=np.int64)[at]
        keep = bisect.bisect_left(bounds.tolist(), last + 1)
        del marks[: min(keep, len(marks) - 1)]
        return times

    def end(self, att: Attempt, outcome: str, error: str | None = None) -> None:
        """Close an attempt once: last records, its ``connections`` row, the decision
        about the next one."""
        if att.closed:
            return
        if outcome == "stopped":
            self.flush(att, check=False)  # what arrived is kept
        elif outcome not in ("max-events", "until", "event-too-large"):
            # what arrived before the end is read; a stop met in it is the outcome
            reason = self.flush(att)
            if reason is not None:
                outcome = reason
        att.pending.clear()
        att.pending_len = 0
        att.outcome = outcome
        if error is not None and att.error is None:
            att.error = error
        if att.error is not None:
            self.last_error = att.error
        discarded = att.parser.buffered
        if outcome not in ("max-events", "until", "event-too-large", "stopped"):
            try:
                tail = att.parser.close()
            except (EventTooLarge, ValueError):
                tail = Columns.empty()
            if len(tail):
                self.rec.add(self, att, tail, time.perf_counter_ns(), check=False)
        att.t_closed = time.perf_counter_ns()
        self.last_event_id = att.parser.last_event_id
        retry = att.parser.retry
        requested = att.requested
        if att.retry_after is not None:
            requested = max(requested or 0.0, att.retry_after)
        if requested is not None:
            requested = min(requested, self.rec.opts.max_retry_after)
        t_end = att.t_closed
        lasted = (t_end - att.t_request) / 1e9 * att.time_scale >= HEALTHY_AFTER
        moved = att.events > 0 and self.last_event_id not in ("", att.id_at_start)
        self.decision = self.reconnector.end_attempt(
            outcome,
            healthy=att.records > 0,
            status=att.status,
            retry_ms=retry,
            requested=requested,
            time_scale=att.time_scale,
            lasted=(lasted and att.records > 0) or moved,
        )
        if self.decision.reconnect:
            stop = self._over(att, outcome)
            if stop:
                self.decision = _reconnect.Decision(False, 0.0, stop)
        if not self.decision.reconnect:
            self.ended = self.decision.reason
        else:
            self.why_wait = self._why(requested, att)
        if self.rec.on_end is not None:
            self.rec.on_end(self, att)
        if att.records:
            self.error = None
        self.state = "waiting" if self.decision.reconnect else "done"
        self.rec.add_connection(att, discarded)

    def not_started(self, why: str, where: str) -> None:
        """A row for a stream that never got a connection: it was ``where`` when
        the capture ended (``why``)."""
        att = self.begin(0.0)
        att.error = f"never connected: {where} when the capture ended ({why})"
        self.end(att, "not-started")

    def _why(self, requested: float | None, att: Attempt) -> str:
        """Why the next connection waits what it waits, in stream time (the
        ``wait_reason`` column, stats, progress line)."""
        r = self.reconnector
        scale = att.time_scale if att.time_scale > 0 else 1.0
        if requested is not None and requested >= self.decision.delay * scale * 0.999:
            if att.retry_after is not None and att.retry_after >= requested:
                return f"Retry-After {requested:g} s"
            return f"the server asked for {requested:g} s (backoff_ms)"
        if r.retry_ms is not None:
            base = f"retry {r.retry_ms} ms"
        else:
            base = f"default retry {self.rec.opts.retry:g} s"
        if r.short:
            return f"backoff #{r.short} from {base}"
        return base

    def _over(self, att: Attempt, outcome: str) -> str:
        """Why the stream is over though the policy would reconnect (or ``""``): it
        said it was done, or re-sending would repeat a request that is not a GET."""
        if self.auto_end and att.end_marker is not None and outcome in _ENDINGS:
            return f"finished: {att.end_marker}"
        ok = att.status is not None and 200 <= att.status < 300
        t = self.target
        sends = t.method != "GET" or t.json is not None or t.content is not None
        if ok and self.rec.opts.reconnect is None and sends:
            return (
                f"not re-sending the {self.target.method} (the server answered it); "
                f"pass reconnect=True to send it again"
            )
        return ""

    def fail(self, att: Attempt, exc: BaseException, outcome: str = "error") -> None:
        """End an attempt that raised (a transport error, a timeout)."""
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self.rec.opts.redact:
            message = _scrub(message, self.target.url)
        err = StreamError(
            f"the connection to {self.shown_url()} failed: {message}"
            if outcome == "error"
            else f"{outcome} on {self.shown_url()}: {message}"
        )
        err.__cause__ = exc
        self.error = err
        self.end(att, outcome, message)

    def shown_url(self) -> str:
        return redact_url(self.target.url) if self.rec.opts.redact else self.target.url

    def stats(self) -> dict[str, Any]:
        att = self.attempt
        return {
            "connection": att.number if att is not None else 0,
            "state": self.state,
            "events": self.events,
            "records": self.records,
            "bytes": self.bytes,
            "last_type": self.last_type,
            "last_error": self.last_error,
            "ended": self.ended,
            "waiting": self.why_wait if self.state == "waiting" else "",
        }


def _merge_headers(
    ours: Mapping[str, str], theirs: Mapping[str, str]
) -> dict[str, str]:
    """The request headers: the caller's win (compared case-insensitively), except
    ``Last-Event-ID``, which the reconnection owns (a caller's value is where it
    starts)."""
    out = dict(ours)
    lower = {k.lower(): k for k in out}
    for name, value in theirs.items():
        key = name.lower()
        if key == "last-event-id":
            continue
        if key in lower:
            del out[lower[key]]
        out[name] = value
    return out


def _shown_chain(urls: list[str], redact: bool) -> str:
    """The URL of a connection, or its redirect chain ``a -> b``, redacted."""
    return " -> ".join(redact_url(u) if redact else u for u in urls)


#: Headers that never follow a redirect to another origin, whatever their name says.
_CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})


def cross_origin_drop(name: str, extra: Any = ()) -> bool:
    """Whether a request header must not follow a redirect to another origin: the
    credentials, every header the redaction rules call secret (``X-Api-Key``,
    ``api-key``, ``x-goog-api-key``...), and the ones the user names."""
    low = name.lower()
    return (
        low in _CREDENTIALS
        or is_sensitive_header(name)
        or low in {str(e).lower() for e in extra}
    )


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs have the same scheme, host and port."""
    return _local.origin(a) == _local.origin(b)


def redirect_method(method: str, status: int) -> str:
    """The method of the request a redirect asks for (what browsers and httpx do)."""
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method


def headers_json(headers: Any, redact: bool = True) -> str:
    """Response headers as a JSON object (repeated names joined by ``, ``), redacted
    unless told otherwise: what delivery diagnostics read."""
    items = (
        headers.multi_items() if hasattr(headers, "multi_items") else headers.items()
    )
    out: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        shown = REDACTED if redact and is_sensitive_header(key) else str(value)
        out[key] = f"{out[key]}, {shown}" if key in out else shown
    return json.dumps(out, ensure_ascii=False)


def _scrub(message: str, url: str) -> str:
    """Error text with the raw URL (it may hold a token) replaced by its redaction."""
    return message.replace(url, redact_url(url)) if url else message


class Recording:
    """The columns, connection rows and raw bytes of a capture as it runs."""

    def __init__(self, targets: list[Target], opts: Options) -> None:
        self.opts = opts
        self.lock = threading.RLock()
        self.wall0 = time.time_ns()
        self.mono0 = time.perf_counter_ns()
        self.started = datetime.fromtimestamp(self.wall0 / 1e9, UTC)
        self.time_scale = 1.0
        self.names = [t.name for t in targets]
        self.streams = [Stream(self, t, i) for i, t in enumerate(targets)]
        self.parts: list[_Part] = []
        self.ends: list[int] = []  # rows up to the end of each part
        self.base = 0  # rows dropped from memory (recording to a path: in the file)
        self.coalesce = COALESCE if opts.path is None else PATH_COALESCE
        self.rows = 0
        self.conn_rows: list[dict[str, Any]] = []
        self.raw: dict[tuple[str, int], list[tuple[float, bytes]]] = {}
        self.events = 0
        self.version = 0
        self.stop_reason: str | None = None
        self.on_add: Callable[[Stream, Attempt, int, str], None] | None = None
        self.on_end: Callable[[Stream, Attempt], None] | None = None
        #: Given each read's records as they are appended (``iter_records``).
        self.on_records: Callable[[Stream, Attempt, Parsed, Any], None] | None = None
        #: Awaited by the async shell after each chunk: lets a slow reader of
        #: ``on_records`` hold the socket back instead of queueing without bound.
        self.pace: Callable[[], Awaitable[None]] | None = None
        self.log: Any = None
        self.control: Any = None  # set by the async shell: stops its tasks
        self._logged = 0
        self._log_last = time.monotonic()
        self.deadline = self._deadline()

    def _deadline(self) -> float | None:
        """When ``duration`` ends, on ``time.monotonic()``: one deadline for the
        whole capture, whatever the data rate."""
        duration = self.opts.duration
        return None if duration is None else time.monotonic() + duration

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def restart_clock(self) -> None:
        """Start the clock now (before anything is recorded): ``elapsed`` counts
        from the first request, not from setting up the client."""
        with self.lock:
            if self.rows or self.conn_rows:
                raise RuntimeError("the recording already started")
            self.wall0 = time.time_ns()
            self.mono0 = time.perf_counter_ns()
            self.started = datetime.fromtimestamp(self.wall0 / 1e9, UTC)
            self.deadline = self._deadline()

    # -- appending (called by the shells' thread) ----------------------------------

    def add_raw(self, stream: Stream, att: Attempt, t: int, chunk: bytes) -> None:
        el = (t - self.mono0) / 1e9
        with self.lock:
            if self.log is not None:  # on disk only: memory stays flat
                self.log.write_raw(stream.name, att.number, el, chunk)
            else:
                self.raw.setdefault((stream.name, att.number), []).append((el, chunk))

    def add(
        self,
        stream: Stream,
        att: Attempt,
        batch: Parsed,
        t: Any,
        check: bool = True,
    ) -> str | None:
        """Append the records of a read (arrival time ``t``: one, or one per record);
        return a stop reason when one is met."""
        reason = None
        n_events = _n_events(batch)
        stop = -1
        if check:
            hit = stream.until(batch)
            if hit >= 0:
                stop, reason = hit + 1, "until"
        limit = self.opts.max_events
        if limit is not None and n_events and self.events + n_events >= limit:
            # a total over every stream, also for what a stop keeps (check=False)
            room = limit - self.events  # another stream may have taken it all
            end = _nth_event(batch, room) + 1 if room > 0 else _nth_event(batch, 1)
            if stop < 0 or end < stop:
                stop = end
                if check:
                    reason = "max-events"
        if stop >= 0:
            batch = _cut(batch, 0, stop)
            if not isinstance(t, int):
                t = t[:stop]
            n_events = _n_events(batch)
        if check and n_events:
            for ty, data in _types_and_data(batch, "operational-disconnect"):
                wait = _reconnect.requested_backoff(ty, data)
                if wait is not None:
                    att.requested = wait
        k = len(batch)
        if not k:
            return reason
        last_type = stream.last_type
        if n_events:
            last_type = _last_type(batch) or last_type
            if stream.auto_end:
                att.end_marker = end_marker(*_last_event(batch))
        with self.lock:
            self._append(stream, att, batch, t, k)
            stream.seq += k
            stream.records += k
            stream.events += n_events
            stream.last_type = last_type
            att.records += k
            att.events += n_events
            self.events += n_events
            self.version += 1
            if self.log is not None:
                now = time.monotonic()
                if now - self._log_last >= 0.05 or self.rows - self._logged > 5000:
                    self.flush_log()
        if self.on_records is not None:
            self.on_records(stream, att, batch, t)
        if self.on_add is not None:
            self.on_add(stream, att, n_events, last_type)
        return reason

    def _append(
        self, stream: Stream, att: Attempt, batch: Parsed, t: Any, k: int
    ) -> None:
        """One part more, or a few rows more on the last part (caller holds the
        lock). ``rows`` goes last: it says how many rows are complete, should a
        KeyboardInterrupt land in between."""
        last = self.parts[-1] if self.parts else None
        times = np.full(k, t, dtype=np.int64) if isinstance(t, int) else t
        if (
            last is not None
            and last.code == stream.code
            and last.connection == att.number
            and len(last.cols) < _PART_ROWS
        ):
            last.cols = Columns.concat([last.cols, batch])
            last.t_ns = np.concatenate([last.t_ns, times])
            self.ends[-1] += k
        else:
            self.parts.append(_Part(batch, stream.code, att.number, stream.seq, times))
            self.ends.append(self.rows + k)
        self.rows += k

    def realign(self) -> None:
        """Make the parts agree with ``rows`` after a KeyboardInterrupt cut an
        append short."""
        with self.lock:
            while self.ends and self.ends[-1] > self.rows:
                part = self.parts[-1]
                start = self.ends[-2] if len(self.ends) > 1 else self.base
                keep = self.rows - start
                if keep <= 0:
                    self.parts.pop()
                    self.ends.pop()
                    continue
                part.cols = _cut(part.cols, 0, keep)
                part.t_ns = part.t_ns[:keep]
                self.ends[-1] = self.rows
            if len(self.ends) > len(self.parts):
                del self.ends[len(self.parts) :]
            while len(self.parts) > len(self.ends):
                self.parts.pop()

    def add_connection(self, att: Attempt, discarded: int) -> None:
        st = att.stream
        row = {
            "stream": st.name,
            "connection": att.number,
            "url": _shown_chain(
                [*att.chain, att.url or st.target.url], self.opts.redact
            ),
            "method": st.target.method,
            "status": att.status,
            "content_type": att.content_type,
            "last_event_id_sent": att.headers.get("Last-Event-ID"),
            "delay": float(att.delay),
            "t_request": self._wall(att.t_request),
            "t_headers": self._wall(att.t_headers),
            "t_first_byte": self._wall(att.t_first_byte),
            "t_closed": self._wall(att.t_closed),
            "start": (att.t_request - self.mono0) / 1e9,
            "end": ((att.t_closed or att.t_request) - self.mono0) / 1e9,
            "bytes": att.bytes,
            "records": att.records,
            "events": att.events,
            "outcome": att.outcome,
            "error": att.error,
            "retry": att.parser.retry
            if att.parser.retry is not None
            else st.reconnector.retry_ms,
            "time_scale": att.time_scale,
            "discarded": discarded,
            "headers": att.resp_headers,
            "reads": att.reads,
            "reads_cut": att.reads_cut,
            "wait_reason": att.wait_reason,
        }
        with self.lock:
            self.conn_rows.append(row)
            self.version += 1
            if self.log is not None:
                self.flush_log()
                self.log.write_connection(_jsonable(row))
                self.log.flush()

    def _wall(self, t: int | None) -> pd.Timestamp | None:
        if t is None:
            return None
        return pd.Timestamp(self.wall0 + (t - self.mono0), unit="ns", tz="UTC")

    # -- the crash-safe log ----------------------------------------------------------

    def flush_log(self) -> None:
        """Write the rows not yet in the log (caller holds the lock)."""
        if self.log is None:
            return
        n = self.rows
        if n > self._logged:
            self.log.write_events(self.events_frame(self._logged, n))
            self._logged = n
        self.log.flush()
        self._log_last = time.monotonic()
        self._drop_logged()

    def _drop_logged(self) -> None:
        """Forget the parts that are in the file and older than the tail a live view
        reads (caller holds the lock)."""
        keep_from = min(self._logged, self.rows - TAIL_ROWS)
        k = 0
        while k < len(self.parts) - 1 and self.ends[k] <= keep_from:
            k += 1
        if k:
            self.base = self.ends[k - 1]
            del self.parts[:k]
            del self.ends[:k]

    # -- reading (any thread) ---------------------------------------------------------

    def records_since(self, n: int) -> pd.DataFrame:
        """The events rows after the first ``n``, indexed by their row number: what
        a live view polls."""
        with self.lock:
            stop = self.rows
            return self.events_frame(min(max(n, 0), stop), stop)

    def live_stats(self, running: bool) -> dict[str, Any]:
        """The live state of a recording: totals, the time scale and, per stream,
        its ``Stream.stats()``."""
        with self.lock:
            streams = {st.name: st.stats() for st in self.streams}
            rows = self.rows
        return {
            "running": running,
            "elapsed": (time.perf_counter_ns() - self.mono0) / 1e9,
            "records": rows,
            "events": self.events,
            "time_scale": self.time_scale,
            "connections": sum(s["connection"] for s in streams.values()),
            "streams": streams,
        }

    def events_frame(
        self, start: int = 0, stop: int | None = None, *, release: bool = False
    ) -> pd.DataFrame:
        """Rows ``start:stop`` as the events frame.

        With ``release`` (the recording is over and nothing reads it again), the
        parts are let go column by column as they are joined, and the frame is made
        from the joined columns without another copy: the peak holds the rows about
        once and a column, not twice.
        """
        pieces: list[Parsed] = []
        codes: list[int] = []
        conns: list[int] = []
        seq0s: list[int] = []
        times: list[Any] = []
        with self.lock:
            stop = self.rows if stop is None else min(stop, self.rows)
            start = min(max(start, self.base), stop)
            i = bisect.bisect_right(self.ends, start)
            while i < len(self.parts) and start < stop:
                part = self.parts[i]
                p0 = self.ends[i - 1] if i else self.base
                a, b = start - p0, min(stop, self.ends[i]) - p0
                pieces.append(_cut(part.cols, a, b))
                codes.append(part.code)
                conns.append(part.connection)
                seq0s.append(part.seq0 + a)
                times.append(part.t_ns[a:b])
                start += b - a
                i += 1
            if release:  # the pieces now hold the only references to the rows
                self.parts, self.ends, self.base = [], [], self.rows
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        n_rows = int(lengths.sum())
        # per-row columns made once each from one value per piece, without
        # temporaries of a row each: seq as the running sum of its steps (1 within
        # a piece, a jump where a piece starts)
        seq = np.ones(n_rows, dtype=np.int64)
        if n_rows:
            seq_first = np.array(seq0s, dtype=np.int64)
            at = np.cumsum(lengths) - lengths
            seq[at[1:]] = seq_first[1:] - (seq_first[:-1] + lengths[:-1] - 1)
            seq[0] = seq_first[0]
            np.cumsum(seq, out=seq)
        small = np.int8 if len(self.names) < 128 else np.int32
        stream = pd.Categorical.from_codes(
            np.repeat(np.array(codes, dtype=small), lengths),
            categories=pd.Index(self.names, dtype=str),
        )
        connection = np.repeat(np.array(conns, dtype=np.int64), lengths)
        t_ns = (
            np.concatenate(times).astype(np.int64, copy=False)
            if times
            else np.zeros(0, dtype=np.int64)
        )
        times.clear()
        t_ns -= self.mono0
        elapsed = t_ns / 1e9
        t_ns += self.wall0
        wall = pd.DatetimeIndex(t_ns.view("datetime64[ns]")).tz_localize("UTC").array
        del t_ns
        if release:
            cols = concat_consuming(pieces)
        else:
            cols = Columns.concat(pieces)
            if len(pieces) == 1:  # a view of a part still recording: the frame's own
                cols = dataclasses.replace(
                    cols,
                    kind=cols.kind.copy(),
                    size=cols.size.copy(),
                    offset=cols.offset.copy(),
                )
        frame = assemble_events(
            cols,
            stream=stream,
            connection=connection,
            seq=seq,
            time=wall,
            elapsed=elapsed,
        )
        first = stop - n_rows
        if first:
            frame.index = pd.RangeIndex(first, stop)
        return frame

    def connections_frame(self) -> pd.DataFrame:
        with self.lock:
            rows = list(self.conn_rows)
        if not rows:
            return empty_connections()
        return build_connections(rows, self.names)

    def raw_copy(self) -> dict[tuple[str, int], list[tuple[float, bytes]]]:
        with self.lock:
            return {k: list(v) for k, v in self.raw.items()}

    def meta(self) -> dict[str, Any]:
        opts = self.opts
        first = self.streams[0].target

        def url(u: str) -> str:
            return redact_url(u) if opts.redact else u

        headers = _merge_headers(_reconnect.stream_headers(""), first.headers)
        return {
            "url": url(first.url),
            "method": first.method,
            "request_headers": redact_headers(headers) if opts.redact else headers,
            "started": self.started.isoformat().replace("+00:00", "Z"),
            "options": opts.describe(),
            "ssenb_version": _version(),
            "streams": {s.name: url(s.target.url) for s in self.streams},
            "time_scale": self.time_scale,
            "ended": {s.name: s.ended for s in self.streams if s.ended},
        }


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, pd.Timestamp):
            out[k] = v.isoformat()
        else:
            out[k] = v
    json.dumps(out)  # fail here, not in the log, if a value is not JSON
    return out
