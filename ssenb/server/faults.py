"""Faults: query parameters that make any scenario (or a replay) misbehave on purpose.

Rules of this module:

- Pure: ``Faults.apply`` wraps an iterator of ``Step`` and returns another; ``head``
  says what status and headers to answer with. No sockets, no clock.
- Raw-byte faults (CR-only or CRLF line endings, a BOM, invalid UTF-8) write bytes
  directly: the encoder could not write them, which is the point.
- Every fault is listed in ``FAULTS`` with one line of help; the index page shows it.
- Durations are stream seconds, like every delay of a scenario (divided by the speed
  when played); ``Retry-After`` keeps its real-world value.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ._timeline import Step

__all__ = [
    "BAD_UTF8_EVENT",
    "FAULTS",
    "Faults",
    "GZIP_FLUSH",
    "Head",
    "MAX_BIG",
    "big_event",
]

#: The event the ``bad_utf8`` fault inserts: ``\xc3\x28`` is a cut two-byte
#: sequence and ``\xff`` never occurs in UTF-8; a decoder reads ``caf\ufffd( \ufffd``.
BAD_UTF8_EVENT = b"event: bad-utf8\ndata: caf\xc3\x28 \xff\n\n"

#: The largest ``big`` event (64 MiB: four times the parser's default limit).
MAX_BIG = 64 * 1024 * 1024

_NEWLINES = re.compile(rb"\r\n|\r|\n")
_NEWLINE_FORMS = {"lf": b"\n", "cr": b"\r", "crlf": b"\r\n"}
_STATUS_TEXT = {
    204: b"",
    400: b"bad request\n",
    401: b"unauthorized\n",
    403: b"forbidden\n",
    404: b"not found\n",
    429: b"too many requests\n",
    500: b"internal server error\n",
    502: b"bad gateway\n",
    503: b"service unavailable\n",
}

#: Every fault: query parameter -> one line of help.
FAULTS: dict[str, str] = {
    "hangup": "N: hang up cleanly right after the N-th event (0: before any byte)",
    "cut": "N: after N events, send the first half of the next event's block, then "
    "hang up mid-event",
    "stall": "S: go silent for S seconds after the at-th event",
    "at": "N: where stall, big and bad_utf8 happen: after the N-th event (default 1)",
    "status": "CODE: answer 204, 400, 401, 403, 404, 429, 500, 502 or 503 instead of "
    "the stream",
    "retry_after": "S: the Retry-After header (seconds) of a status answer (default 5 "
    "for 429 and 503)",
    "content_type": "TYPE: send the stream under this Content-Type (e.g. text/html)",
    "newline": "lf | cr | crlf: write every line ending this way",
    "bom": "1: start the body with a UTF-8 byte-order mark (EF BB BF)",
    "bytewise": "1: write the body one byte per write",
    "bad_utf8": "1: insert after the at-th event the block "
    "b'event: bad-utf8\\ndata: caf\\xc3\\x28 \\xff\\n\\n' (invalid UTF-8)",
    "big": "BYTES: insert after the at-th event an 'event: big' block of exactly "
    "BYTES bytes",
    "trickle": "BPS: let the bytes out at most BPS bytes per second, in pieces",
    "times": "N: the faults apply to the first N requests of this exact URL only; "
    "later ones play clean (default: every request)",
    "buffer": "BYTES: play an nginx with proxy buffering in between: hold the bytes "
    "until BYTES (e.g. 4096 or 8192) are in, then pass them on at once (Server: nginx)",
    "gzip": "1: play a gzip middleware (Content-Encoding: gzip) that flushes only "
    "every 32 KiB of stream",
    "idle_cut": "S: play a CDN that closes a stream silent for S seconds (Cloudflare: "
    "100), e.g. with stall=150",
}

#: How much of the stream the ``gzip`` fault holds before it flushes (a gzip
#: middleware's buffer).
GZIP_FLUSH = 32 * 1024


@dataclass(frozen=True)
class Head:
    """How to answer: the status, headers to add, and a body for non-stream answers
    (``None``: play the stream)."""

    status: int
    headers: dict[str, str]
    body: bytes | None


def big_event(size: int) -> bytes:
    """An ``event: big`` block of exactly ``size`` bytes (19 at the least)."""
    frame = len(b"event: big\ndata: \n\n")
    return b"event: big\ndata: " + b"x" * max(size - frame, 0) + b"\n\n"


@dataclass(frozen=True)
class Faults:
    """The faults of one request, read from its query parameters."""

    hangup: int | None = None
    cut: int | None = None
    stall: float | None = None
    at: int = 1
    status: int | None = None
    retry_after: int | None = None
    content_type: str | None = None
    newline: str | None = None
    bom: bool = False
    bytewise: bool = False
    bad_utf8: bool = False
    big: int | None = None
    trickle: float | None = None
    times: int | None = None
    buffer: int | None = None
    gzip: bool = False
    idle_cut: float | None = None

    @classmethod
    def split(cls, query: Mapping[str, str]) -> tuple[Faults, dict[str, str]]:
        """Take the fault parameters out of ``query``; return them and the rest.

        Raises:
            ValueError: a fault parameter with a value it cannot take.
        """
        values: dict[str, Any] = {}
        rest: dict[str, str] = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, text in query.items():
            if name not in FAULTS:
                rest[name] = text
                continue
            values[name] = _read(name, text, str(types[name]))
        faults = cls(**values)
        faults._check()
        return faults, rest

    def _check(self) -> None:
        if self.status is not None and self.status not in _STATUS_TEXT:
            raise ValueError(
                f"fault status={self.status} is not one of "
                f"{', '.join(map(str, _STATUS_TEXT))}"
            )
        if self.newline is not None and self.newline not in _NEWLINE_FORMS:
            raise ValueError(
                f"fault newline takes lf, cr or crlf, got {self.newline!r}"
            )
        if self.trickle is not None and not self.trickle > 0:
            raise ValueError(
                f"fault trickle takes bytes per second > 0, got {self.trickle}"
            )
        if self.buffer is not None and not self.buffer > 0:
            raise ValueError(
                f"fault buffer takes a size in bytes > 0, got {self.buffer}"
            )
        if self.idle_cut is not None and not self.idle_cut > 0:
            raise ValueError(f"fault idle_cut takes seconds > 0, got {self.idle_cut}")

    def __bool__(self) -> bool:
        return self != Faults()

    def head(self) -> Head:
        """The status and headers to answer with; a body when no stream is played."""
        if self.status is None:
            headers = (
                {} if self.content_type is None else {"content-type": self.content_type}
            )
            if self.buffer is not None:
                headers["server"] = "nginx"
            if self.gzip:
                headers["content-encoding"] = "gzip"
                headers["vary"] = "Accept-Encoding"
            if self.idle_cut is not None:
                headers["via"] = "1.1 cdn (ssenb demo)"
            return Head(200, headers, None)
        headers = {}
        retry_after = self.retry_after
        if retry_after is None and self.status in (429, 503):
            retry_after = 5
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        if self.status != 204:
            headers["content-type"] = self.content_type or "text/plain; charset=utf-8"
        return Head(self.status, headers, _STATUS_TEXT[self.status])

    def apply(self, steps: Iterable[Step]) -> Iterator[Step]:
        """The steps with the faults applied (still in stream time)."""
        out: Iterator[Step] = self._events(iter(steps))
        if self.newline is not None:
            out = _renewline(out, _NEWLINE_FORMS[self.newline])
        if self.bom:
            out = _bom(out)
        if self.idle_cut is not None:
            out = _idle_cut(out, self.idle_cut)
        if self.buffer is not None:
            out = _held(out, self.buffer)
        if self.gzip:
            out = _gzipped(out)
        if self.trickle is not None:
            out = _trickle(out, self.trickle)
        if self.bytewise:
            out = _bytewise(out)
        return out

    def _events(self, steps: Iterator[Step]) -> Iterator[Step]:
        if self.hangup == 0:
            return
        n = 0
        fired = self.at == 0
        if fired:
            yield from self._inserts()
        for step in steps:
            if step.hangup:
                yield step
                return
            if self.cut is not None and n >= self.cut and step.events:
                half = max(len(step.data) // 2, 1)
                yield step._replace(data=step.data[:half], events=0, id=None)
                return
            yield step
            n += step.events
            if not fired and n >= self.at:
                fired = True
                yield from self._inserts()
            if self.hangup is not None and n >= self.hangup:
                return

    def _inserts(self) -> Iterator[Step]:
        if self.stall:
            yield Step(self.stall, b"")
        if self.big is not None:
            yield Step(0.0, big_event(self.big), events=1)
        if self.bad_utf8:
            yield Step(0.0, BAD_UTF8_EVENT, events=1)


def _read(name: str, text: str, kind: str) -> Any:
    """A fault value from its query text, by its annotated type."""
    try:
        if "bool" in kind:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if "int" in kind:
            value: Any = int(text)
        elif "float" in kind:
            value = float(text)
        else:
            return text
    except ValueError:
        raise ValueError(f"fault {name}: {FAULTS[name]}; got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"fault {name} must be a finite number >= 0, got {text!r}")
    if name == "big" and value > MAX_BIG:
        raise ValueError(f"fault big takes at most {MAX_BIG} bytes, got {text}")
    return value


def _renewline(steps: Iterator[Step], newline: bytes) -> Iterator[Step]:
    for step in steps:
        yield step._replace(data=_NEWLINES.sub(newline, step.data))


def _bom(steps: Iterator[Step]) -> Iterator[Step]:
    done = False
    for step in steps:
        if not done and step.data:
            done = True
            step = step._replace(data=b"\xef\xbb\xbf" + step.data)
        yield step


def _trickle(steps: Iterator[Step], rate: float) -> Iterator[Step]:
    piece = max(int(rate / 10), 1)
    for step in steps:
        data = step.data
        if len(data) <= piece:
            yield step
            continue
        delay = step.delay
        for i in range(0, len(data), piece):
            chunk = data[i : i + piece]
            yield step._replace(delay=delay, data=chunk)
            delay = len(chunk) / rate


def _bytewise(steps: Iterator[Step]) -> Iterator[Step]:
    for step in steps:
        delay = step.delay
        for i in range(len(step.data)):
            yield step._replace(delay=delay, data=step.data[i : i + 1])
            delay = 0.0
        if not step.data:
            yield step


def _idle_cut(steps: Iterator[Step], limit: float) -> Iterator[Step]:
    """Hang up once the stream has been silent for ``limit`` seconds, as a CDN or
    load balancer with an idle timeout does."""
    silent = 0.0
    for step in steps:
        if step.hangup:
            yield step
            return
        if silent + step.delay >= limit:
            yield Step(limit - silent, b"")
            yield Step(0.0, b"", hangup=True)
            return
        silent = 0.0 if step.data else silent + step.delay
        yield step


def _held(steps: Iterator[Step], size: int) -> Iterator[Step]:
    """Pass bytes on only in pieces of ``size`` (and the rest at the end), each when
    the write that filled it comes: a buffering proxy between server and client."""
    held = b""
    delay = 0.0
    events = 0
    for step in steps:
        delay += step.delay
        if step.hangup:
            break
        held += step.data
        events += step.events
        while len(held) >= size:
            yield Step(delay, held[:size], events=events)
            held, delay, events = held[size:], 0.0, 0
    if held or delay:
        yield Step(delay, held, events=events)
    yield Step(0.0, b"", hangup=True)


def _gzipped(steps: Iterator[Step]) -> Iterator[Step]:
    """Gzip the stream and let the compressed bytes out only every ``GZIP_FLUSH``
    bytes of stream (and at the end), as a compression middleware that is never
    told to flush."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    pending = 0
    out = b""
    delay = 0.0
    events = 0
    for step in steps:
        delay += step.delay
        if step.hangup:
            break
        out += packer.compress(step.data)
        pending += len(step.data)
        events += step.events
        if pending >= GZIP_FLUSH:
            yield Step(delay, out + packer.flush(zlib.Z_SYNC_FLUSH), events=events)
            out, pending, delay, events = b"", 0, 0.0, 0
    yield Step(delay, out + packer.flush(zlib.Z_FINISH), events=events)
    yield Step(0.0, b"", hangup=True)
