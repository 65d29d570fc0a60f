"""Records as array columns, read a region of whole blocks at a time.

The path from bytes to a frame when there are many records: ``read_sse`` and capture
read through ``BulkParser``, which gives the same records as ``SSEParser`` (same
kinds, values, spans and last event IDs, in any chunking) as numpy and Arrow columns.

Rules of this module:

- A region is bytes that end at a block boundary (a line end followed by a blank
  line, ``\\n\\n``). A region with LF line ends only, no NUL, valid UTF-8 values and
  no record over ``max_event_size`` is read with array operations: no Python object
  per line or record. Any other region, a feed smaller than ``min_region`` (a few
  records read faster one by one), and a stream while it sends CRs go through
  ``SSEParser``, which is the reference.
- Line values are cut out of the region without copying it: the region is one Arrow
  binary array whose elements tile it (gap, value, gap, value, ...), and each column
  is one ``take`` from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import EventTooLarge
from .parse import DEFAULT_MAX_EVENT_SIZE, Record, RecordBatch, SSEParser

__all__ = ["KINDS", "BulkParser", "Columns"]

#: The record kinds; ``Columns.kind`` holds codes into this tuple.
KINDS = ("event", "comment", "retry", "blank")
_EVENT, _COMMENT, _RETRY, _BLANK = range(4)
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}

_STRING = pa.large_string()
_BINARY = pa.large_binary()
_NL = pa.scalar(b"\n", _BINARY)


def _strings(values: Sequence[str | None]) -> pa.Array:
    return pa.array(values, type=_STRING)


@dataclass(slots=True)
class Columns:
    """Records as columns: numpy for numbers and codes, Arrow for text.

    ``kind`` holds codes into ``KINDS``; ``type_codes`` codes into ``type_names``;
    ``retry_at`` are the positions of the retry records and ``retry_ms`` their values.
    """

    kind: np.ndarray
    type_codes: np.ndarray
    type_names: list[str]
    data: pa.Array
    id: pa.Array
    last_event_id: pa.Array
    retry_at: np.ndarray
    retry_ms: np.ndarray
    offset: np.ndarray
    size: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    @classmethod
    def empty(cls) -> Columns:
        """No records."""
        return cls.from_batch(RecordBatch())

    @classmethod
    def from_batch(cls, batch: RecordBatch) -> Columns:
        """The columns of a ``RecordBatch`` (the reference parser's output)."""
        names: dict[str, int] = {}
        codes = [names.setdefault(t, len(names)) for t in batch.type]
        retry_at = [i for i, r in enumerate(batch.retry) if r is not None]
        return cls(
            kind=np.array([_KIND_CODE[k] for k in batch.kind], dtype=np.int8),
            type_codes=np.array(codes, dtype=np.int32),
            type_names=list(names),
            data=_strings(batch.data),
            id=_strings(batch.id),
            last_event_id=_strings(batch.last_event_id),
            retry_at=np.array(retry_at, dtype=np.int64),
            retry_ms=np.array([batch.retry[i] for i in retry_at], dtype=np.int64),
            offset=np.array(batch.offset, dtype=np.int64),
            size=np.array(batch.size, dtype=np.int64),
        )

    @classmethod
    def concat(cls, parts: Iterable[Columns | RecordBatch]) -> Columns:
        """One ``Columns`` of several, in order (type names are merged); a run of
        ``RecordBatch`` parts is joined before it is converted."""
        merged: list[Columns] = []
        run: RecordBatch | None = None
        for p in parts:
            if not len(p):
                continue
            if isinstance(p, RecordBatch):
                if run is None:
                    run = RecordBatch()
                run.extend(p)
                continue
            if run is not None:
                merged.append(cls.from_batch(run))
                run = None
            merged.append(p)
        if run is not None:
            merged.append(cls.from_batch(run))
        parts = merged
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        names: dict[str, int] = {}
        codes = []
        for p in parts:
            lookup = np.array(
                [names.setdefault(t, len(names)) for t in p.type_names] or [0],
                dtype=np.int32,
            )
            codes.append(lookup[p.type_codes])
        starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
        return cls(
            kind=np.concatenate([p.kind for p in parts]),
            type_codes=np.concatenate(codes),
            type_names=list(names),
            data=pa.concat_arrays([p.data for p in parts]),
            id=pa.concat_arrays([p.id for p in parts]),
            last_event_id=pa.concat_arrays([p.last_event_id for p in parts]),
            retry_at=np.concatenate(
                [p.retry_at + s for p, s in zip(parts, starts, strict=True)]
            ),
            retry_ms=np.concatenate([p.retry_ms for p in parts]),
            offset=np.concatenate([p.offset for p in parts]),
            size=np.concatenate([p.size for p in parts]),
        )

    def slice(self, start: int, stop: int) -> Columns:
        """Records ``start:stop``."""
        keep = (self.retry_at >= start) & (self.retry_at < stop)
        return Columns(
            kind=self.kind[start:stop],
            type_codes=self.type_codes[start:stop],
            type_names=self.type_names,
            data=self.data[start:stop],
            id=self.id[start:stop],
            last_event_id=self.last_event_id[start:stop],
            retry_at=self.retry_at[keep] - start,
            retry_ms=self.retry_ms[keep],
            offset=self.offset[start:stop],
            size=self.size[start:stop],
        )

    def head(self, stop: int) -> Columns:
        """The first ``stop`` records."""
        return self.slice(0, stop)

    def types(self) -> list[str]:
        """The ``type`` of every record, as a list."""
        names = self.type_names
        return [names[c] for c in self.type_codes.tolist()]

    def retries(self) -> list[int | None]:
        """The ``retry`` of every record (``None`` but for retry records)."""
        out: list[int | None] = [None] * len(self)
        for i, v in zip(self.retry_at.tolist(), self.retry_ms.tolist(), strict=True):
            out[i] = v
        return out

    def records(self) -> list[Record]:
        """The same records as ``Record`` objects (slow; for callers that need them)."""
        cols = (
            [KINDS[k] for k in self.kind.tolist()],
            self.types(),
            self.data.to_pylist(),
            self.id.to_pylist(),
            self.last_event_id.to_pylist(),
            self.retries(),
            self.offset.tolist(),
            self.size.tolist(),
        )
        return [Record._make(row) for row in zip(*cols, strict=True)]

    def batch(self) -> RecordBatch:
        """The same records as a ``RecordBatch``."""
        out = RecordBatch()
        out._extend_rows(self.records())
        return out

    def events(self) -> int:
        """How many records are dispatched events."""
        return int(np.count_nonzero(self.kind == _EVENT))

    def first_event(self, type: str | None = None, data: str | None = None) -> int:
        """The index of the first event of this type, or with this data; -1 when
        there is none."""
        hit = self.kind == _EVENT
        if type is not None:
            codes = [i for i, t in enumerate(self.type_names) if t == type]
            hit &= np.isin(self.type_codes, codes)
        if data is not None:
            same = pc.fill_null(pc.equal(self.data, data), False)
            hit &= same.to_numpy(zero_copy_only=False)
        at = np.flatnonzero(hit)
        return int(at[0]) if len(at) else -1

    def last_event_type(self) -> str | None:
        """The type of the last event, ``None`` when there is none."""
        at = np.flatnonzero(self.kind == _EVENT)
        return self.type_names[self.type_codes[at[-1]]] if len(at) else None


# -- reading one region ----------------------------------------------------------------

# Line classes, from the first bytes of a line.
_L_BLANK, _L_COMMENT, _L_RETRY, _L_DATA, _L_EVENT, _L_ID, _L_OTHER = range(7)


def _word(prefix: bytes) -> tuple[int, int]:
    """(mask, value) to test that a line starts with ``prefix`` (up to 8 bytes)."""
    return (1 << (8 * len(prefix))) - 1, int.from_bytes(prefix, "little")


# (class, length of name and colon, the two spellings: "name:..." and "name" alone)
_FIELDS = [
    (_L_DATA, 5, _word(b"data:"), _word(b"data\n")),
    (_L_EVENT, 6, _word(b"event:"), _word(b"event\n")),
    (_L_ID, 3, _word(b"id:"), _word(b"id\n")),
    (_L_RETRY, 6, _word(b"retry:"), None),
]


def _read_region(
    buf: bytes, stop: int, base: int, lid: str, limit: int
) -> tuple[Columns, str, int | None] | None:
    """The records of ``buf[:stop]`` (whole blocks, LF line ends, no CR), or ``None``
    when the region needs the reference parser (a NUL, invalid UTF-8, a record over
    ``limit``). Also returns the last event ID and the last retry value after it.
    The region is read where it lies in ``buf``, not copied out of it."""
    if buf.find(b"\0", 0, stop) >= 0:
        return None
    size_buf = stop
    raw = np.frombuffer(buf, dtype=np.uint8, count=stop)
    e = np.flatnonzero(raw == 10)  # where each line ends
    n = len(e)
    s = np.empty(n, dtype=np.int64)
    s[0] = 0
    s[1:] = e[:-1] + 1
    # the first 8 bytes of every line, as one little-endian word
    pad = np.zeros(size_buf + 8, dtype=np.uint8)
    pad[:size_buf] = raw
    windows = np.lib.stride_tricks.as_strided(
        pad, shape=(size_buf + 1, 8), strides=(1, 1)
    )
    w = windows[s].view("<u8").ravel()
    cls = np.full(n, _L_OTHER, dtype=np.int8)
    plen = np.zeros(n, dtype=np.int64)
    for code, length, (m1, v1), exact in _FIELDS:
        hit = (w & m1) == v1
        if exact is not None:
            hit |= (w & exact[0]) == exact[1]
        cls[hit] = code
        plen[hit] = length
    comment = (w & 0xFF) == 58
    cls[comment] = _L_COMMENT
    plen[comment] = 1
    blank = e == s
    cls[blank] = _L_BLANK
    # value spans [vs, e): after "name:" and one optional space; empty for "name"
    vs = np.minimum(s + plen, e)
    vs += (pad[vs] == 32) & (vs < e)

    retry_lines = np.flatnonzero(cls == _L_RETRY)
    retry_values: list[int] = []
    if len(retry_lines):
        good = []
        for i, a, b in zip(
            retry_lines.tolist(),
            vs[retry_lines].tolist(),
            e[retry_lines].tolist(),
            strict=True,
        ):
            value = buf[a:b]
            if value.isdigit():
                good.append(i)
                retry_values.append(int(value))
            else:
                cls[i] = _L_OTHER  # an invalid retry line is a field the block ignores
        retry_lines = np.array(good, dtype=np.int64)

    # blocks: each ends at a blank line (the region ends with one)
    blank_at = np.flatnonzero(blank)
    nblocks = len(blank_at)
    block = np.cumsum(blank) - blank
    is_field = cls >= _L_DATA
    is_cr = (cls == _L_COMMENT) | (cls == _L_RETRY)
    # A comment/retry line directly followed by the blank line of a block with no
    # field line before it takes that blank line.
    fields_seen: np.ndarray = np.cumsum(is_field) - is_field
    block_first = np.empty(nblocks, dtype=np.int64)
    block_first[0] = 0
    block_first[1:] = blank_at[:-1] + 1
    before: np.ndarray = fields_seen - fields_seen[block_first][block]
    next_blank = np.zeros(n, dtype=bool)
    next_blank[:-1] = blank[1:]
    takes = is_cr & next_blank & (before == 0)
    taken = np.zeros(n, dtype=bool)
    taken[1:] = takes[:-1]
    owner = is_cr | (blank & ~taken)  # the line that ends each record
    rec_line = np.flatnonzero(owner)
    nrec = len(rec_line)
    ends = e[rec_line] + 1 + takes[rec_line]
    starts = np.empty(nrec, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1]
    sizes = ends - starts
    if nrec and int(sizes.max()) > limit:
        return None

    # record index of each line's record: block lines belong to their blank's record
    rec_of_line = np.cumsum(owner) - 1
    block_rec = rec_of_line[blank_at]  # (a taken blank's block has no field lines)
    line_cls = cls[rec_line]
    data_lines = np.flatnonzero(cls == _L_DATA)
    data_count = np.bincount(block[data_lines], minlength=nblocks)
    kind = np.full(nrec, _BLANK, dtype=np.int8)
    kind[line_cls == _L_COMMENT] = _COMMENT
    kind[line_cls == _L_RETRY] = _RETRY
    blank_owned = line_cls == _L_BLANK
    has_data = np.zeros(nrec, dtype=bool)
    has_data[blank_owned] = data_count[block[rec_line[blank_owned]]] > 0
    kind[has_data] = _EVENT

    # The tile: the values of data, comment, event and id lines, then an empty one.
    valued = np.flatnonzero(
        (cls == _L_DATA) | (cls == _L_COMMENT) | (cls == _L_EVENT) | (cls == _L_ID)
    )
    nval = len(valued)
    bounds = np.empty(2 * nval + 3, dtype=np.int64)
    bounds[0] = 0
    bounds[1 : 2 * nval + 1 : 2] = vs[valued]
    bounds[2 : 2 * nval + 2 : 2] = e[valued]
    bounds[-2:] = size_buf
    tile = pa.LargeBinaryArray.from_buffers(
        _BINARY, len(bounds) - 1, [None, pa.py_buffer(bounds), pa.py_buffer(buf)]
    )
    empty_el = 2 * nval + 1
    tile_of_line = np.full(n, empty_el, dtype=np.int64)
    tile_of_line[valued] = 2 * np.arange(nval, dtype=np.int64) + 1

    def last_per_block(lines: np.ndarray) -> np.ndarray:
        """The tile element of the last such line of each block (-1 when none)."""
        out = np.full(nblocks, -1, dtype=np.int64)
        if len(lines):
            b = block[lines]
            last = np.ones(len(lines), dtype=bool)
            last[:-1] = b[1:] != b[:-1]
            out[b[last]] = tile_of_line[lines[last]]
        return out

    try:
        # data: one take, or a join where an event has several data lines
        data_el = np.full(nrec, empty_el, dtype=np.int64)
        data_el[kind == _COMMENT] = tile_of_line[rec_line[kind == _COMMENT]]
        if len(data_lines) and int(data_count.max()) > 1:
            owner_of = np.concatenate(
                [block_rec[block[data_lines]], np.flatnonzero(kind != _EVENT)]
            )
            elements = np.concatenate(
                [tile_of_line[data_lines], data_el[kind != _EVENT]]
            )
            order = np.argsort(owner_of, kind="stable")
            counts = np.bincount(owner_of, minlength=nrec)
            offsets = np.zeros(nrec + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            lists = pa.LargeListArray.from_arrays(
                pa.array(offsets), tile.take(pa.array(elements[order]))
            )
            data = pc.binary_join(lists, _NL).cast(_STRING)
        else:
            events = kind == _EVENT
            data_el[events] = last_per_block(data_lines)[block[rec_line[events]]]
            data = tile.take(pa.array(data_el)).cast(_STRING)

        # id: the block's last id line; the last event ID carries it forward
        block_id = last_per_block(np.flatnonzero(cls == _L_ID))
        id_el = np.full(nrec, -1, dtype=np.int64)
        id_el[blank_owned] = block_id[block[rec_line[blank_owned]]]
        has_id = id_el >= 0
        ids = tile.take(pa.array(id_el, mask=~has_id)).cast(_STRING)
        setters = np.flatnonzero(has_id)
        if len(setters):
            known = pa.concat_arrays([_strings([lid]), ids.take(pa.array(setters))])
            lids = known.take(pa.array(np.cumsum(has_id)))
            lid = known[-1].as_py()
        else:
            lids = pa.repeat(pa.scalar(lid, _STRING), nrec)

        # type: the block's last event line; "message" for an event without one
        block_ev = last_per_block(np.flatnonzero(cls == _L_EVENT))
        ev_el = np.full(nrec, -1, dtype=np.int64)
        ev_el[blank_owned] = block_ev[block[rec_line[blank_owned]]]
        named = np.flatnonzero(ev_el >= 0)
        names = ["", "message"]
        type_codes = np.where(kind == _EVENT, 1, 0).astype(np.int32)
        if len(named):
            values = tile.take(pa.array(ev_el[named])).cast(_STRING)
            encoded = values.dictionary_encode()
            found = encoded.dictionary.to_pylist()
            at = encoded.indices.to_numpy(zero_copy_only=False)
            # an empty event field: "message" for an event, "" for a blank record
            first = len(names)
            as_event = np.array(
                [1 if t == "" else first + i for i, t in enumerate(found)]
            )
            as_blank = np.array(
                [0 if t == "" else first + i for i, t in enumerate(found)]
            )
            names += found
            codes = np.where(kind[named] == _EVENT, as_event[at], as_blank[at])
            type_codes[named] = codes
    except pa.ArrowInvalid:
        return None  # not UTF-8: the reference parser replaces what is wrong

    retry_at = np.flatnonzero(kind == _RETRY)
    cols = Columns(
        kind=kind,
        type_codes=type_codes,
        type_names=names,
        data=data,
        id=ids,
        last_event_id=lids,
        retry_at=retry_at,
        retry_ms=np.array(retry_values, dtype=np.int64),
        offset=starts + base,
        size=sizes,
    )
    return cols, lid, (retry_values[-1] if retry_values else None)


# -- the incremental reader ---------------------------------------------------------


def _has_boundary(held: list[bytes], chunks: list[bytes]) -> bool:
    """Whether a block boundary (``\\n\\n``) ends in ``chunks``, read after ``held``."""
    prev = held[-1][-1:] if held else b""
    for c in chunks:
        if not c:
            continue
        if (prev == b"\n" and c[0] == 10) or b"\n\n" in c:
            return True
        prev = c[-1:]
    return False


#: Feeds smaller than this go through ``SSEParser`` as they are: below it, the fixed
#: cost of the array operations is more than the records they read.
MIN_REGION = 32 * 1024


class BulkParser:
    """Incremental reader with ``SSEParser``'s records, as columns.

    A feed of at least ``min_region`` bytes is read a region of whole blocks at a
    time (see the module's rules) and comes back as ``Columns``; the bytes of the
    block still open are held until it closes. A smaller feed, and any stream while
    it sends CRs, goes through ``SSEParser`` and comes back as its ``RecordBatch``
    (cheaper for a few records). ``Columns.concat`` takes both. Feeding the same
    bytes in any chunking gives the same records.

    Example:
        >>> p = BulkParser(min_region=0)
        >>> p.feed(b"data: a\n\n: ping\n\ndata: b").data.to_pylist()
        ['a', 'ping']
    """

    def __init__(
        self,
        *,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        last_event_id: str = "",
        min_region: int = MIN_REGION,
    ) -> None:
        if max_event_size <= 0:
            raise ValueError(f"max_event_size must be positive, got {max_event_size!r}")
        self.max_event_size = max_event_size
        self.min_region = min_region
        self.retry: int | None = None
        """The last valid ``retry`` value seen, in milliseconds."""
        self._lid = last_event_id
        self._held: list[bytes] = []
        self._held_len = 0
        self._base = 0  # stream offset of the first held byte (or of the slow parser)
        self._slow: SSEParser | None = None  # the reference parser, while it reads
        self._slow_fed = 0  # bytes fed to it
        self._pending = b""  # held bytes it has yet to read
        self._closed = False
        self._failed = False

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID: what a reconnect sends as ``Last-Event-ID``."""
        return self._slow.last_event_id if self._slow is not None else self._lid

    @property
    def buffered(self) -> int:
        """Bytes received that belong to no record yet (the trailing block)."""
        if self._slow is not None:
            return self._slow.buffered
        return self._held_len

    def feed(self, data: bytes | list[bytes]) -> Columns | RecordBatch:
        """Parse more bytes (one chunk, or a list of chunks read back to back);
        return the records they complete.

        Raises:
            EventTooLarge: a record passed ``max_event_size``; ``.records`` holds the
                records completed before it in this call, as ``Columns``.
        """
        if self._closed:
            raise ValueError("this BulkParser is closed; make one per connection")
        if self._failed:
            raise EventTooLarge(limit=self.max_event_size, offset=self._base)
        if not isinstance(data, bytes | bytearray | memoryview | list):
            raise TypeError(f"feed() takes bytes, got {type(data).__name__}")
        try:
            return self._feed(data if isinstance(data, list) else [bytes(data)])
        except EventTooLarge as exc:
            self._fail(exc)
            raise

    def _fail(self, exc: EventTooLarge) -> None:
        self._failed = True
        if isinstance(exc.records, RecordBatch):
            exc.records = Columns.from_batch(exc.records)

    def close(self) -> Columns | RecordBatch:
        """End of stream: the last records; an unclosed block is discarded."""
        if self._closed:
            raise ValueError("this BulkParser is closed; make one per connection")
        if self._failed:
            raise EventTooLarge(limit=self.max_event_size, offset=self._base)
        self._closed = True
        if self._slow is None:
            if not self._held:
                return RecordBatch()
            self._start_slow()
        slow = self._slow
        assert slow is not None
        try:
            batch = self._slow_feed(b"")
            batch.extend(slow.close_batch())
        except EventTooLarge as exc:
            self._fail(exc)
            raise
        self._take_state(slow)
        return batch

    # -- inside -----------------------------------------------------------------------

    def _feed(self, chunks: list[bytes]) -> Columns | RecordBatch:
        chunks = [c for c in chunks if c]
        size = sum(map(len, chunks))
        if not size:
            return RecordBatch()
        small = self._held_len + size < self.min_region
        has_cr = any(b"\r" in c for c in chunks)
        if self._slow is not None or small or has_cr:
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if self._slow is None:
                self._start_slow()
            elif not (small or has_cr):
                # a large feed: the reference parser reads up to the first block
                # boundary, the regions take over from there
                cut = data.find(b"\n\n") + 2
                if cut >= 2:
                    head = self._slow_feed(data[:cut])
                    head.extend(self._slow.close_batch())
                    self._end_slow()
                    rest = data[cut:]
                    return Columns.concat([head, self._feed([rest])]) if rest else head
            return self._slow_feed(data)
        if not _has_boundary(self._held, chunks):
            self._held += chunks
            self._held_len += size
            if self._held_len > self.max_event_size:
                self._start_slow()  # it raises where the reference parser does
                return self._slow_feed(b"")
            return RecordBatch()
        held = self._held_len
        if held or len(chunks) > 1:
            data = b"".join([*self._held, *chunks])
            self._held.clear()
            self._held_len = 0
        else:
            data = chunks[0]
        cut = data.rfind(b"\n\n", max(held - 1, 0)) + 2
        out = self._region(data, cut)
        rest = data[cut:]
        if rest:
            self._held.append(rest)
            self._held_len = len(rest)
            if self._held_len > self.max_event_size:
                self._start_slow()
                try:
                    more = self._slow_feed(b"")
                except EventTooLarge as exc:
                    got: Any = exc.records
                    exc.records = Columns.concat([out, got])
                    raise
                return Columns.concat([out, more])
        return out

    def _region(self, buf: bytes, stop: int) -> Columns | RecordBatch:
        """The records of the region ``buf[:stop]``."""
        base = self._base
        self._base += stop
        if base or not buf.startswith(b"\xef\xbb\xbf"):
            got = _read_region(buf, stop, base, self._lid, self.max_event_size)
            if got is not None:
                cols, self._lid, retry = got
                if retry is not None:
                    self.retry = retry
                return cols
        region = buf[:stop] if stop < len(buf) else buf
        # the reference parser, for this region alone (it ends at a block boundary)
        parser = self._reference(base)
        batch = parser.feed_batch(region)
        batch.extend(parser.close_batch())
        self._take_state(parser)
        return batch

    def _reference(self, offset: int) -> SSEParser:
        """A reference parser that goes on from here, at stream offset ``offset``."""
        parser = SSEParser(max_event_size=self.max_event_size, last_event_id=self._lid)
        parser._resume_at(offset)
        return parser

    def _take_state(self, parser: SSEParser) -> None:
        """Go on from where the reference parser got to."""
        self._lid = parser.last_event_id
        if parser.retry is not None:
            self.retry = parser.retry

    def _start_slow(self) -> None:
        """Hand the stream to the reference parser, starting with the held bytes."""
        self._slow = self._reference(self._base)
        self._slow_fed = 0
        if self._held:
            held = b"".join(self._held)
            self._held.clear()
            self._held_len = 0
            self._pending = held
        else:
            self._pending = b""

    def _slow_feed(self, data: bytes) -> RecordBatch:
        slow = self._slow
        assert slow is not None
        if self._pending:
            data = self._pending + data
            self._pending = b""
        batch = slow.feed_batch(data) if data else RecordBatch()
        self._slow_fed += len(data)
        if slow.retry is not None:
            self.retry = slow.retry
        return batch

    def _end_slow(self) -> None:
        """The reference parser is at a block boundary: back to regions."""
        slow = self._slow
        assert slow is not None
        self._take_state(slow)
        self._base += self._slow_fed
        self._slow = None
