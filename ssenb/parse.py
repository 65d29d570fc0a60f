"""The WHATWG event-stream parser: bytes in, records out.

Rules of this module:

- No I/O, no clock, no third-party imports. The caller owns the socket and the time.
- It follows "Interpreting an event stream" of the HTML standard exactly: the ``event``
  records are exactly the events a browser's ``EventSource`` dispatches.
- It also keeps what a browser hides: ``comment`` lines, valid ``retry`` lines, and
  ``blank`` blocks that dispatched nothing (keep-alive blank lines, id-only blocks).
- Every byte of the stream belongs to one record or to the trailing incomplete block. A
  record's span runs from the end of the previous record to the end of the line that
  completed it; a comment or retry line that is directly followed by the blank line
  closing a block made only of such lines takes that blank line too (so ``: ping\\n\\n``
  is one record).
- Feeding the same bytes in any chunking gives the same records, offsets included. A CR
  at the very end of the data fed so far is held until the next byte shows whether it is
  a CRLF, and a comment or retry line waits for the next line to see whether it takes
  it.
- Memory is bounded by ``max_event_size``; no byte is scanned more than a constant
  number of times.
- Two parsers, one result: ``_general`` is the standard's line-by-line algorithm, the
  reference, and reads anything; a feed of ``COLUMNAR_MIN`` bytes or more is read by
  the columnar reader of ``ssenb._bulk`` (array operations over whole blocks, any line
  ends), which hands it back here for what it does not read. Both give the same
  records (``tests/test_parse_bulk.py``, ``tests/test_bulk.py``). Within the
  reference, a run of blocks that are one ``data:`` line each, or a flood of comment
  or retry lines, is read with one split and its records built in one pass instead of
  a step per line (``_runs``; ``tests/test_parse_runs.py`` holds it equal to the step
  per line).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable
from itertools import accumulate, islice, repeat
from operator import add, sub
from typing import Any, Literal, NamedTuple, cast

from .errors import EventTooLarge

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "Record",
    "RecordBatch",
    "SSEParser",
    "encode_event",
    "encode_records",
    "parse_bytes",
]

#: Default bound on the bytes of one record (16 MiB).
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

Kind = Literal["event", "comment", "retry", "blank"]

_BOM = b"\xef\xbb\xbf"
_NEWLINES = re.compile(r"\r\n|\r|\n")

# Regions of at least this many bytes are read a run of one shape at a time
# (``SSEParser._runs``); ``_RUNS`` off reads every line one by one (the tests compare).
_RUN_MIN = 256
_RUNS = True
_TEXT = {b"\n": "\n", b"\r": "\r", b"\r\n": "\r\n"}
# the line-end characters, as bytes and as str
_ENDS = ((b"\n", b"\r"), ("\n", "\r"))
# the blocks of one line read as runs: events of one data line, comments
_SINGLE = (b"data: ", b": ")
# the fields a run of blocks may have: name -> (prefix as bytes, as str)
_RUN_FIELDS = {
    "data": (b"data: ", "data: "),
    "event": (b"event: ", "event: "),
    "id": (b"id: ", "id: "),
}

#: Feeds of at least this many bytes are read by the columnar reader (``ssenb._bulk``)
#: when it is loaded: below it, its fixed cost is more than the records it reads.
COLUMNAR_MIN = 64 * 1024
# The columnar reader of a large feed, set by ``ssenb._bulk`` when it is imported (this
# module imports nothing outside the standard library): ``(parser, data) -> pieces``,
# each a list of ``Record`` or columns with ``records()`` and ``extend_batch(batch)``;
# on ``EventTooLarge`` the pieces read before it are its ``pieces``.
_columnar: Callable[[SSEParser, bytes], list[Any]] | None = None


class Record(NamedTuple):
    """One record of an event stream. Immutable; do not subclass.

    Attributes:
        kind: ``"event"`` (dispatched, as ``EventSource`` would), ``"comment"`` (a line
            starting with ``:``), ``"retry"`` (a valid ``retry:`` line), or ``"blank"``
            (a block that dispatched nothing: a keep-alive blank line, an id-only
            block).
        type: the event type (``"message"`` when unset) for events; for a blank record
            the block's ``event`` field if it had one; ``""`` otherwise.
        data: event data; for a comment its text after ``:`` with one leading space
            removed; ``""`` for retry and blank records.
        id: the ``id`` field set in this block, or ``None``.
        last_event_id: the stream's last event ID after this record (what
            ``EventSource`` reports as ``lastEventId``, and what a reconnect sends as
            ``Last-Event-ID``).
        retry: the reconnection time in milliseconds for a retry record, else ``None``.
        offset: where the record's bytes start in the stream.
        size: how many bytes it spans.
    """

    kind: Kind
    type: str
    data: str
    id: str | None
    last_event_id: str
    retry: int | None
    offset: int
    size: int

    def __repr__(self) -> str:
        parts = [f"kind={self.kind!r}"]
        if self.type:
            parts.append(f"type={self.type!r}")
        if self.data or self.kind == "event":
            parts.append(f"data={self.data!r}")
        if self.id is not None:
            parts.append(f"id={self.id!r}")
        if self.last_event_id:
            parts.append(f"last_event_id={self.last_event_id!r}")
        if self.retry is not None:
            parts.append(f"retry={self.retry!r}")
        parts.append(f"offset={self.offset}, size={self.size}")
        return f"Record({', '.join(parts)})"


_new = tuple.__new__
_FIELDS = Record._fields


class RecordBatch:
    """Records as columns: one list per ``Record`` field, built without a per-record
    object.

    This is the path from bytes to a DataFrame. ``len(batch)`` is the number of records;
    ``batch.records()`` turns it back into ``Record`` objects.
    """

    __slots__ = _FIELDS

    kind: list[str]
    type: list[str]
    data: list[str]
    id: list[str | None]
    last_event_id: list[str]
    retry: list[int | None]
    offset: list[int]
    size: list[int]

    def __init__(self) -> None:
        self.kind = []
        self.type = []
        self.data = []
        self.id = []
        self.last_event_id = []
        self.retry = []
        self.offset = []
        self.size = []

    def __len__(self) -> int:
        return len(self.kind)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordBatch):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _FIELDS)

    def __repr__(self) -> str:
        return f"<RecordBatch of {len(self)} records>"

    def columns(self) -> dict[str, list]:  # type: ignore[type-arg]
        """The columns as a dict, field name to list."""
        return {name: getattr(self, name) for name in _FIELDS}

    def records(self) -> list[Record]:
        """The same records as ``Record`` objects."""
        cols = [getattr(self, n) for n in _FIELDS]
        return [_new(Record, row) for row in zip(*cols, strict=True)]

    def extend(self, other: RecordBatch) -> None:
        """Append another batch's records to this one."""
        for name in _FIELDS:
            getattr(self, name).extend(getattr(other, name))

    @staticmethod
    def _records(pieces: list[Any]) -> list[Record]:
        """The records of the columnar reader's pieces, as ``Record`` objects."""
        out: list[Record] = []
        for p in pieces:
            out += p if isinstance(p, list) else p.records()
        return out

    @classmethod
    def _batch(cls, pieces: list[Any]) -> RecordBatch:
        """The records of the columnar reader's pieces, as one batch."""
        out = cls()
        for p in pieces:
            if isinstance(p, list):
                out._extend_rows(p)
            else:
                p.extend_batch(out)
        return out

    @classmethod
    def _of(cls, rows: list[Record]) -> RecordBatch:
        """The batch of these records."""
        out = cls()
        out._extend_rows(rows)
        return out

    def _extend_rows(self, rows: list[Record]) -> None:
        if rows:
            for col, values in zip(
                (getattr(self, n) for n in _FIELDS),
                zip(*rows, strict=True),
                strict=True,
            ):
                col.extend(values)


class SSEParser:
    """Incremental, sans-I/O parser of a ``text/event-stream`` body.

    Feed it the bytes as they arrive; it returns the records completed so far. Call
    ``close()`` at the end of the stream. One parser reads one connection's body.

    Args:
        max_event_size: the most bytes one record may span before ``EventTooLarge`` is
            raised.
        last_event_id: the last event ID carried over from an earlier connection.

    Example:
        >>> p = SSEParser()
        >>> [r.data for r in p.feed(b"data: hello\\n\\n: ping\\n\\n")]
        ['hello', 'ping']
    """

    def __init__(
        self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE, last_event_id: str = ""
    ) -> None:
        if max_event_size <= 0:
            raise ValueError(f"max_event_size must be positive, got {max_event_size!r}")
        self.max_event_size = max_event_size
        self.retry: int | None = None
        """The last valid ``retry`` value seen, in milliseconds."""
        self._lid = last_event_id  # the last event ID string
        self._lid_buf = last_event_id  # the last event ID buffer
        self._chunks: list[bytes] = []  # unprocessed bytes (an incomplete line)
        self._held = 0  # their total length
        self._base = 0  # stream offset of the first unprocessed byte
        self._span = 0  # stream offset where the next record starts
        self._bom_done = False
        self._whole = False  # the data fed ends with a whole line end
        self._closed = False
        self._failed: EventTooLarge | None = None
        # the block being read
        self._parts: list[bytes] = []
        self._etype = b""
        self._bid: str | None = None
        self._fields = False  # the block has a line that is not a comment or retry
        self._pend: tuple[str, str, int | None, int] | None = (
            None  # comment/retry waiting
        )

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID: what a reconnect sends as ``Last-Event-ID``."""
        return self._lid

    @property
    def buffered(self) -> int:
        """Bytes received that belong to no record yet (the trailing block)."""
        return self._base + self._held - self._span

    # -- public API -------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Record]:
        """Parse more bytes; return the records they complete.

        Raises:
            EventTooLarge: a record passed ``max_event_size``; ``.records`` holds the
                records completed before it in this call.
        """
        if len(data) >= COLUMNAR_MIN and _columnar is not None and self._usable(data):
            return self._by_columns(data, RecordBatch._records)  # type: ignore[return-value]
        out: list[Record] = []
        self._run(data, False, out)
        return out

    def close(self) -> list[Record]:
        """End of stream: return the last records; an unclosed block is discarded."""
        out: list[Record] = []
        self._run(b"", True, out)
        return out

    def feed_batch(self, data: bytes) -> RecordBatch:
        """The records of ``feed``, as columns (``RecordBatch``): no object per
        record where the columnar reader read them."""
        if len(data) >= COLUMNAR_MIN and _columnar is not None and self._usable(data):
            return self._by_columns(data, RecordBatch._batch)  # type: ignore[return-value]
        try:
            records = self.feed(data)
        except EventTooLarge as exc:
            exc.records = RecordBatch._of(exc.records)
            raise
        return RecordBatch._of(records)

    def close_batch(self) -> RecordBatch:
        """The records of ``close``, as columns."""
        return RecordBatch._of(self.close())

    # -- for the columnar reader ------------------------------------------------------

    def _by_columns(
        self, data: bytes, join: Callable[[list[Any]], list[Record] | RecordBatch]
    ) -> list[Record] | RecordBatch:
        """A large feed read by the columnar reader, its pieces joined by ``join``."""
        assert _columnar is not None
        try:
            pieces = _columnar(self, bytes(data))
        except EventTooLarge as exc:
            exc.records = join(exc.pieces)  # type: ignore[attr-defined]
            raise
        return join(pieces)

    def _usable(self, data: object) -> bool:
        """Whether ``feed`` may hand ``data`` to the columnar reader (errors are the
        reference's to raise)."""
        return (
            self._failed is None
            and not self._closed
            and isinstance(data, bytes | bytearray | memoryview)
        )

    def _feed_reference(self, data: bytes, whole: bool = False) -> list[Record]:
        """``feed`` by the standard's line-by-line algorithm alone. With ``whole``,
        ``data`` ends with a whole line end (a CR at its end is no CRLF's first half:
        the caller has seen the byte after it)."""
        out: list[Record] = []
        self._whole = whole
        try:
            self._run(data, False, out)
        finally:
            self._whole = False
        return out

    def _at_boundary(self) -> bool:
        """Whether the stream read so far ends at a block boundary, with nothing held
        (the columnar reader may go on from here)."""
        return (
            not self._chunks
            and not self._parts
            and not self._fields
            and self._pend is None
            and self._span == self._base
            and not self._etype
            and self._bid is None
        )

    def _resume_at(
        self, offset: int, last_event_id: str, retry: int | None = None
    ) -> None:
        """Go on at stream offset ``offset``, a block boundary that the columnar reader
        read up to (no byte order mark is looked for there)."""
        self._base = self._span = offset
        self._bom_done = True
        self._lid = self._lid_buf = last_event_id
        if retry is not None:
            self.retry = retry

    # -- the engine -------------------------------------------------------------------

    def _run(self, data: bytes, final: bool, out: list[Record]) -> None:
        if self._failed is not None:
            raise EventTooLarge(limit=self._failed.limit, offset=self._failed.offset)
        if self._closed:
            raise ValueError("this SSEParser is closed; start a new one per connection")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"SSEParser.feed() takes bytes, got {type(data).__name__}")
        # Records hold only strings and numbers, no cycles: running the collector
        # while they pile up finds nothing and costs more than the parsing.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._step(bytes(data), final, out)
        except EventTooLarge as exc:
            exc.records = out
            self._failed = exc
            raise
        finally:
            if paused:
                gc.enable()
        if final:
            self._closed = True

    def _step(self, data: bytes, final: bool, out: list[Record]) -> None:
        chunks = self._chunks
        if not final and not data:
            return
        held_cr = bool(chunks) and chunks[-1].endswith(b"\r")
        if not final and not held_cr and b"\n" not in data and b"\r" not in data:
            # No line ends: just keep the bytes. No rescanning of what was held.
            chunks.append(data)
            self._held += len(data)
            self._check_size(out)
            return
        chunks.append(data)
        buf = b"".join(chunks)
        chunks.clear()
        self._held = 0
        pos = 0
        if not self._bom_done:
            if len(buf) < 3 and _BOM.startswith(buf) and not final:
                chunks.append(buf)
                self._held = len(buf)
                return
            self._bom_done = True
            if buf.startswith(_BOM):
                pos = 3
        # The complete lines end at the last line end, unless that is a CR at the very
        # end of what we have (it may be the first half of a CRLF).
        lf = buf.rfind(b"\n")
        end = max(lf, buf.rfind(b"\r", lf + 1)) + 1
        if end == len(buf) and not final and buf[-1] == 13 and not self._whole:
            end = max(lf, buf.rfind(b"\r", lf + 1, end - 1)) + 1
        if end > pos:
            self._lines(buf, pos, end, out)
        rest = buf[max(end, pos) :]
        self._base += max(end, pos)
        if final:
            self._base += len(rest)
            if self._pend is not None:
                self._emit_pending(out)
        elif rest:
            chunks.append(rest)
            self._held = len(rest)
        if not final:
            self._check_size(out)

    def _check_size(self, out: list[Record]) -> None:
        start = self._span if self._pend is None else self._pend[3]
        if self._base + self._held - start > self.max_event_size:
            if self._pend is not None:
                if self._pend[3] - self._span > self.max_event_size:
                    # the waiting comment/retry line is itself too large
                    raise EventTooLarge(limit=self.max_event_size, offset=self._span)
                self._emit_pending(out)
            raise EventTooLarge(limit=self.max_event_size, offset=start)

    def _emit_pending(self, out: list[Record]) -> None:
        kind, text, retry, end = self._pend  # type: ignore[misc]
        self._pend = None
        out.append(
            _new(
                Record,
                (kind, "", text, None, self._lid, retry, self._span, end - self._span),
            )
        )
        self._span = end

    def _lines(self, buf: bytes, pos: int, end: int, out: list[Record]) -> None:
        """Process the complete lines in ``buf[pos:end]``: runs of one shape at a time
        where there are some, else one by one."""
        region = buf[pos:end] if pos or end != len(buf) else buf
        if _RUNS and len(region) >= _RUN_MIN:
            # the line end of the runs: each run checks that its lines have no other
            if b"\r" not in region:
                nl = b"\n"
            elif b"\n" not in region:
                nl = b"\r"
            else:
                nl = b"\r\n"
            self._runs(region, nl, self._base + pos, out)
        else:
            self._one_by_one(region, self._base + pos, out)

    def _one_by_one(self, region: bytes, base: int, out: list[Record]) -> None:
        """Complete lines, any line ends, read one by one."""
        if not region:
            return
        if b"\r" not in region:
            lines = region.split(b"\n")
            lines.pop()  # the region ends with a line end
            self._general(lines, repeat(1), base, out)
            return
        crs = region.count(b"\r")
        if crs == region.count(b"\n"):
            lines = region.split(b"\r\n")
            if len(lines) == crs + 1:  # every CR and every LF in a CRLF
                lines.pop()
                self._general(lines, repeat(2), base, out)
                return
        if b"\n" not in region:
            lines = region.split(b"\r")
            lines.pop()
            self._general(lines, repeat(1), base, out)
            return
        # line ends of every kind: ``splitlines`` cuts at exactly LF, CR and CRLF in
        # bytes; each line end's length is what keeping it adds
        lines = region.splitlines()
        ended = region.splitlines(True)
        self._general(lines, map(sub, map(len, ended), map(len, lines)), base, out)

    def _runs(self, region: bytes, nl: bytes, base: int, out: list[Record]) -> None:
        """Complete lines: the blocks between the first and the last blank line read
        as one run when they all have one shape (one ``data: `` line each, ended by
        ``nl``), and a flood of comment or retry lines with no blank line read as one
        run; the rest one by one. Same records as ``_general``."""
        k = len(nl)
        start = 0
        if self._parts or self._fields:
            # an open block: one by one up to its blank line (the search starts at the
            # first line end: a long value is scanned for one byte, not two)
            first = region.find(nl[:1])
            start = region.find(nl + nl, max(first, 0))
            if start < 0:
                self._one_by_one(region, base, out)
                return
            if start == first and (k == 1 or region.find(b"\n", 0, first) < 0):
                # one line, then the blank line (the end of a long value): no copy
                # of the line but its own
                self._general([region[:first], b""], repeat(k), base, out)
            else:
                self._one_by_one(region[: start + 2 * k], base, out)
            start += 2 * k
            if self._parts or self._fields or self._pend is not None:
                self._one_by_one(region[start:], base + start, out)
                return
        last = region.rfind(nl + nl, start)
        if last < 0:
            # no blank line after ``start`` (but maybe a first one): maybe a flood
            if region.startswith(nl, start) or not self._flood(
                region, start, nl, base, out
            ):
                self._one_by_one(region[start:], base + start, out)
            return
        stop = last + 2 * k
        single = self._single_line(region, start, nl, _SINGLE)
        if self._pend is not None:
            stop = start
        elif single:
            self._singles(region, start, stop, single, nl, base, out, _SINGLE)
        elif not self._block_run(region, start, stop, nl, base, out):
            # blocks of several shapes: from the first block that is a data line
            # alone, if there is one
            first = region.find(nl + nl + b"data: ", start, stop)
            if first >= 0 and self._single_line(region, first + 2 * k, nl, _SINGLE):
                first += 2 * k
                self._one_by_one(region[start:first], base + start, out)
                self._singles(region, first, stop, b"data: ", nl, base, out, _SINGLE)
            else:
                stop = start
        self._one_by_one(region[stop:], base + stop, out)

    @staticmethod
    def _single_line(
        region: bytes, at: int, nl: bytes, prefixes: tuple[bytes, ...]
    ) -> bytes:
        """The prefix of the block at ``region[at]`` when it is one line starting with
        one of ``prefixes``, else ``b""``."""
        for prefix in prefixes:
            if region.startswith(prefix, at) and region.startswith(
                nl + nl, region.find(nl[:1], at)
            ):
                return prefix
        return b""

    def _singles(
        self,
        region: bytes,
        start: int,
        stop: int,
        prefix: bytes,
        nl: bytes,
        base: int,
        out: list[Record],
        others: tuple[bytes, ...],
    ) -> None:
        """Blocks ``region[start:stop]``, from a block boundary, the first one a line
        starting with ``prefix`` alone (a ``data: `` line, a ``: `` comment): the
        stretches of such blocks read as runs; between them, blocks of the other
        single-line shapes in ``others`` as runs too, the rest one by one."""
        k = len(nl)
        body = region[start + len(prefix) : stop - 2 * k]
        ascii_ = body.isascii()
        values: list[Any] = (
            body.decode("ascii").split(_TEXT[nl] * 2 + prefix.decode())
            if ascii_
            else body.split(nl + nl + prefix)
        )
        cr, lf = _ENDS[ascii_]
        flat = values[0][:0].join(values)
        if cr in flat or lf in flat:
            # blocks of other shapes: a value with a line end holds them
            odd = [i for i, v in enumerate(values) if cr in v or lf in v]
        else:
            odd = []
        if len(odd) * 4 > len(values):
            # mostly other shapes: runs too short to pay for themselves
            self._one_by_one(region[start:stop], base + start, out)
            return
        others = tuple(p for p in others if p != prefix)
        pos = start  # where the next stretch starts in ``region``
        at = 0  # its first value
        for i in [*odd, len(values)]:
            if i > at:
                pos = self._stretch(
                    region, pos, values[at:i], prefix, ascii_, nl, base, out
                )
            if i < len(values):
                # the block with a line end in its value, then blocks of other
                # shapes up to the next block of this run
                end = pos + len(prefix) + len(values[i]) + 2 * k
                first = region.find(nl + nl, pos) + 2 * k
                self._one_by_one(region[pos:first], base + pos, out)
                if first < end:
                    other = self._single_line(region, first, nl, others)
                    if other:
                        self._singles(region, first, end, other, nl, base, out, ())
                    else:
                        self._one_by_one(region[first:end], base + first, out)
                pos = end
            at = i + 1

    def _stretch(
        self,
        region: bytes,
        pos: int,
        values: list[Any],
        prefix: bytes,
        ascii_: bool,
        nl: bytes,
        base: int,
        out: list[Record],
    ) -> int:
        """Add the records of blocks that are one line each starting with ``prefix``
        (events of ``data: `` lines, comments of ``: `` lines; their values), from
        ``region[pos]``; return where they end."""
        k = len(nl)
        sizes: list[int] = list(map(add, map(len, values), repeat(len(prefix) + 2 * k)))
        end: int = pos + sum(sizes)
        span = self._span
        sizes[0] += base + pos - span  # a byte order mark before the first line
        texts = values
        if not ascii_:
            try:
                texts = list(map(bytes.decode, values))
            except UnicodeDecodeError:
                texts = []
        if not texts or max(sizes) > self.max_event_size:
            # not UTF-8, or too large: the line-by-line reading (raises where it should)
            self._one_by_one(region[pos:end], base + pos, out)
            return end
        offsets = list(accumulate(sizes, initial=span))
        lid = self._lid = self._lid_buf
        event = prefix == b"data: "
        out += map(
            _new,
            repeat(Record),
            zip(
                repeat("event" if event else "comment"),
                repeat("message" if event else ""),
                texts,
                repeat(None),
                repeat(lid),
                repeat(None),
                offsets,
                sizes,
            ),
        )
        self._span = offsets[-1]
        return end

    def _block_run(
        self,
        region: bytes,
        start: int,
        stop: int,
        nl: bytes,
        base: int,
        out: list[Record],
    ) -> bool:
        """Blocks ``region[start:stop]``, from a block boundary: when every block has
        the lines of the first one (one ``data: `` line, at most one ``event: `` and
        one ``id: `` line, in one order), add their events and return True."""
        k = len(nl)
        body = region[start : stop - 2 * k]
        text = body.isascii()
        # the ASCII region as one str: its values need no decoding one by one
        sep: Any = _TEXT[nl] if text else nl
        lines: list[Any] = (body.decode("ascii") if text else body).split(sep)
        try:
            period = lines.index(sep[:0]) + 1
        except ValueError:
            period = len(lines) + 1
        if period > 4 or (len(lines) + 1) % period or any(lines[period - 1 :: period]):
            return False
        flat: Any = sep[:0].join(lines)
        if any(c in flat for c in _ENDS[text]):
            return False  # some other line end inside
        columns: dict[str, list[Any]] = {}
        sizes: Iterable[int] = repeat(period * k)
        for j in range(period - 1):
            column = lines[j::period]
            first = column[0]
            name = next(
                (f for f in _RUN_FIELDS if first.startswith(_RUN_FIELDS[f][text])), ""
            )
            if not name or name in columns:
                return False
            prefix = _RUN_FIELDS[name][text]
            values = (sep + sep.join(column)).split(sep + prefix)
            if len(values) != len(column) + 1:
                return False  # a line of some other field
            del values[0]
            sizes = map(add, sizes, map(len, column))
            if not text:
                try:
                    values = list(map(bytes.decode, values))
                except UnicodeDecodeError:
                    return False
            columns[name] = values
        data = columns.get("data")
        if data is None:
            return False
        types = columns.get("event")
        if types is not None and "" in types:
            return False  # an empty event field: "message"
        ids = columns.get("id")
        if ids is not None and "\0" in "".join(ids):
            return False  # an id with NUL is ignored
        sizes = list(sizes)
        span = self._span
        sizes[0] += base + start - span  # a byte order mark before the first line
        if max(sizes) > self.max_event_size:
            return False  # the line-by-line reading raises where it should
        offsets = list(accumulate(sizes, initial=span))
        if ids is None:
            lid = self._lid = self._lid_buf
            lids: Iterable[str] = repeat(lid)
        else:
            lids = ids
            self._lid = self._lid_buf = ids[-1]
        out += map(
            _new,
            repeat(Record),
            zip(
                repeat("event"),
                repeat("message") if types is None else types,
                data,
                repeat(None) if ids is None else ids,
                lids,
                repeat(None),
                offsets,
                sizes,
            ),
        )
        self._span = offsets[-1]
        return True

    def _flood(
        self, region: bytes, start: int, nl: bytes, base: int, out: list[Record]
    ) -> bool:
        """Lines ``region[start:]``, none blank, no field before them in their block:
        when they are all ``: `` comments or all ``retry: `` lines with a valid value,
        add their records (the last one waits for the next line) and return True."""
        k = len(nl)
        if region.startswith(b": ", start):
            prefix, kind = b": ", "comment"
        elif region.startswith(b"retry: ", start):
            prefix, kind = b"retry: ", "retry"
        else:
            return False
        if not region.endswith(nl):
            return False
        body = region[start + len(prefix) : len(region) - k]
        values: list[Any]
        ends: tuple[Any, Any]
        if body.isascii():
            # one str for all the values: ASCII lengths are byte lengths
            values = body.decode("ascii").split(_TEXT[nl] + prefix.decode())
            joined: Any = "".join(values)
            ends = _ENDS[1]
        else:
            values = body.split(nl + prefix)
            joined = b"".join(values)
            ends = _ENDS[0]
        if ends[0] in joined or ends[1] in joined:
            return False  # a line of some other shape
        m = len(prefix) + k
        sizes = list(map(add, map(len, values), repeat(m)))
        retries: Iterable[int | None]
        if kind == "retry":
            if not joined.isdigit() or not all(values):
                return False
            # a flood repeats a few values: each distinct one is converted once
            known: dict[Any, int] = {v: int(v) for v in set(cast("list[str]", values))}
            retries = list(map(known.__getitem__, values))
            texts: Iterable[str] = repeat("")
        else:
            if isinstance(joined, str):
                texts = cast("list[str]", values)
            else:
                try:
                    texts = [v.decode() for v in cast("list[bytes]", values)]
                except UnicodeDecodeError:
                    return False
            retries = repeat(None)
        pend = self._pend
        span = self._span if pend is None else pend[3]
        sizes[0] += base + start - span  # a byte order mark before the first line
        limit = self.max_event_size
        # the sizes add up to the region's bytes: when those are within the limit,
        # so is each
        if (len(region) - start + sizes[0] - len(values[0]) - m > limit) and max(
            sizes
        ) > limit:
            return False  # the line-by-line reading raises where it should
        if pend is not None and pend[3] - self._span > limit:
            return False
        if pend is not None:
            self._emit_pending(out)
        offsets = list(accumulate(sizes, initial=span))
        lid = self._lid
        out += map(
            _new,
            repeat(Record),
            zip(
                repeat(kind),
                repeat(""),
                texts,
                repeat(None),
                repeat(lid),
                retries,
                offsets,
                islice(sizes, len(sizes) - 1),
            ),
        )
        last_text = texts[-1] if kind == "comment" else ""  # type: ignore[index]
        last_retry = retries[-1] if kind == "retry" else None  # type: ignore[index]
        if last_retry is not None:
            self.retry = last_retry
        self._span = offsets[-2]
        self._pend = (kind, last_text, last_retry, offsets[-1])
        return True

    def _general(
        self, lines: list[bytes], tlens: Iterable[int], base: int, out: list[Record]
    ) -> None:
        """The standard's line-by-line algorithm. ``tlens`` are the line-end lengths."""
        append = out.append
        limit = self.max_event_size
        parts = self._parts
        etype = self._etype
        bid = self._bid
        fields = self._fields
        pend = self._pend
        span = self._span
        lid = self._lid
        lid_buf = self._lid_buf
        end = base
        try:
            for line, tl in zip(lines, tlens, strict=False):
                end += len(line) + tl
                if pend is not None:
                    # A comment/retry line waits for the next line: the blank line that
                    # closes a block made only of such lines joins it.
                    merge = not line and not fields
                    stop = end if merge else pend[3]
                    if merge:
                        lid = lid_buf
                    if stop - span > limit:
                        raise EventTooLarge(limit=limit, offset=span)
                    append(
                        _new(
                            Record,
                            (
                                pend[0],
                                "",
                                pend[1],
                                None,
                                lid,
                                pend[2],
                                span,
                                stop - span,
                            ),
                        )
                    )
                    span = stop
                    pend = None
                    if merge:
                        etype = b""
                        continue
                if not line:
                    lid = lid_buf
                    if end - span > limit:
                        raise EventTooLarge(limit=limit, offset=span)
                    if parts:
                        append(
                            _new(
                                Record,
                                (
                                    "event",
                                    etype.decode("utf-8", "replace")
                                    if etype
                                    else "message",
                                    (
                                        parts[0]
                                        if len(parts) == 1
                                        else b"\n".join(parts)
                                    ).decode("utf-8", "replace"),
                                    bid,
                                    lid,
                                    None,
                                    span,
                                    end - span,
                                ),
                            )
                        )
                        parts.clear()
                    else:
                        append(
                            _new(
                                Record,
                                (
                                    "blank",
                                    etype.decode("utf-8", "replace"),
                                    "",
                                    bid,
                                    lid,
                                    None,
                                    span,
                                    end - span,
                                ),
                            )
                        )
                    span = end
                    etype = b""
                    bid = None
                    fields = False
                    continue
                if line[:6] == b"data: ":  # the most common line, read directly
                    parts.append(line[6:])
                    fields = True
                    continue
                # "name:value", "name: value" or "name" alone (an empty value)
                name, _, value = line.partition(b":")
                if not name:  # a comment
                    if end - span > limit:  # too large already, in any chunking
                        raise EventTooLarge(limit=limit, offset=span)
                    if value[:1] == b" ":
                        value = value[1:]
                    pend = ("comment", value.decode("utf-8", "replace"), None, end)
                    continue
                if value[:1] == b" ":
                    value = value[1:]
                if name == b"event":
                    etype = value
                elif name == b"id":
                    if b"\0" not in value:
                        lid_buf = bid = value.decode("utf-8", "replace")
                elif name == b"data":
                    parts.append(value)
                elif name == b"retry" and value.isdigit():
                    if end - span > limit:  # too large already, in any chunking
                        raise EventTooLarge(limit=limit, offset=span)
                    self.retry = int(value)
                    pend = ("retry", "", self.retry, end)
                    continue
                fields = True
        finally:
            self._etype = etype
            self._bid = bid
            self._fields = fields
            self._pend = pend
            self._span = span
            self._lid = lid
            self._lid_buf = lid_buf


def parse_bytes(data: bytes, **options: int | str) -> list[Record]:
    """Parse a whole stream held in memory: ``feed`` then ``close``.

    Example:
        >>> [r.kind for r in parse_bytes(b": hi\\n\\ndata: x\\n\\n")]
        ['comment', 'event']
    """
    parser = SSEParser(**options)  # type: ignore[arg-type]
    return parser.feed(data) + parser.close()


def _check_line_value(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"{name} must not contain CR or LF, got {value!r}")


def encode_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
    newline: str = "\n",
) -> bytes:
    """Write one block of an event stream as bytes, closed by a blank line.

    Comment lines come first, then ``retry``, ``event``, ``id`` and the ``data`` lines
    (one per line of ``data``; CR and CRLF in it become line breaks, as a browser would
    read them). With no argument it writes a bare blank line, a keep-alive.

    Example:
        >>> encode_event("hi", event="greeting", id="1")
        b'event: greeting\\nid: 1\\ndata: hi\\n\\n'
    """
    if newline not in ("\n", "\r\n", "\r"):
        raise ValueError(f"newline must be '\\n', '\\r\\n' or '\\r', got {newline!r}")
    lines: list[str] = []
    if comment is not None:
        lines.extend(f": {line}" if line else ":" for line in _NEWLINES.split(comment))
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"retry must be a non-negative int (ms), got {retry!r}")
        lines.append(f"retry: {retry}")
    if event is not None:
        _check_line_value("event", event)
        lines.append(f"event: {event}")
    if id is not None:
        _check_line_value("id", id)
        if "\0" in id:
            raise ValueError(
                f"id must not contain NUL (browsers ignore it), got {id!r}"
            )
        lines.append(f"id: {id}")
    if data is not None:
        lines.extend(f"data: {line}" for line in _NEWLINES.split(data))
    lines.append("")
    return (newline.join(lines) + newline).encode("utf-8")


def encode_records(records: Iterable[Record], *, newline: str = "\n") -> bytes:
    """Write records back to wire bytes; parsing the result gives the same records back
    (offsets aside).
    """
    return b"".join(_encode_one(r, newline) for r in records)


def _encode_one(r: Record, newline: str) -> bytes:
    if r.kind == "event":
        return encode_event(
            r.data,
            event=None if r.type == "message" else r.type,
            id=r.id,
            newline=newline,
        )
    if r.kind == "comment":
        return encode_event(comment=r.data, newline=newline)
    if r.kind == "retry":
        return encode_event(retry=r.retry, newline=newline)
    return encode_event(event=r.type or None, id=r.id, newline=newline)
