"""Records as array columns, read a region of whole blocks at a time: the columnar
reader.

``read_sse``, capture and ``SSEParser.feed`` (for large feeds) read through it; it
gives the same records as the reference parser (``SSEParser``'s line-by-line
algorithm): same kinds, values, spans and last event IDs, in any chunking.

Rules of this module:

- A region is complete lines from a block boundary up to the last blank line in the
  bytes on hand; in a flood of comment or retry lines with no blank line, up to the
  last such line whose record is complete (a line that is not blank follows it). A
  region is read with array operations, with no Python object per line or record,
  whatever its line ends: LF, CRLF, lone CR, any mix (a CR that is the last byte on
  hand waits for the next one). A byte order mark, fields without the space, NUL in
  an id, retry values of any length are read as arrays too.
- The reference parser reads what a region cannot hold: the bytes before the first
  block boundary of a feed and after the last one (it keeps the open block), feeds
  smaller than ``MIN_REGION``, a block with a value that is not UTF-8 (with at least
  ``_REFERENCE_RUN`` bytes after it, so that many such blocks cost no array set-up
  each), and a record over ``max_event_size`` (the reference raises where it should).
  The two hand over at block boundaries only.
- Line values are cut out of the region without copying it: the region is one Arrow
  binary array whose elements tile it (gap, value, gap, value, ...), and each column
  is one ``take`` from it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import parse as _parse
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


_new = tuple.__new__


def _empties(n: int) -> pa.Array:
    """``n`` empty strings."""
    zeros = pa.py_buffer(np.zeros(n + 1, dtype=np.int64))
    return pa.LargeStringArray.from_buffers(n, zeros, pa.py_buffer(b""))


_KIND_OBJECTS = np.array(KINDS, dtype=object)


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
    def concat(cls, parts: Iterable[Columns], *, copy_text: bool = True) -> Columns:
        """One ``Columns`` of several, in order (type names are merged).

        With ``copy_text=False`` the text columns are ``pa.ChunkedArray`` of the parts'
        arrays, not copied into one: for a frame built from them at once (pandas keeps
        Arrow strings chunked), not for ``records()`` or ``batch()``."""
        parts = [p for p in parts if len(p)]
        join: Any = pa.concat_arrays if copy_text else pa.chunked_array
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
            data=join([p.data for p in parts]),
            id=join([p.id for p in parts]),
            last_event_id=join([p.last_event_id for p in parts]),
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
        """The same records as ``Record`` objects (one Python object per record)."""
        n = len(self)
        kinds = _KIND_OBJECTS[self.kind].tolist()
        types = np.array(self.type_names, dtype=object)[self.type_codes].tolist()
        ids: Iterable[str | None] = (
            repeat(None, n) if self.id.null_count == n else self.id.to_pylist()
        )
        retries: Iterable[int | None] = (
            self.retries() if len(self.retry_at) else repeat(None, n)
        )
        rows = zip(
            kinds,
            types,
            self.data.to_pylist(),
            ids,
            self.last_event_id.to_pylist(),
            retries,
            self.offset.tolist(),
            self.size.tolist(),
            strict=False,
        )
        # Records hold only strings and numbers, no cycles: the collector has nothing
        # to find in them, and running it while they pile up costs more than the
        # building itself.
        paused = gc.isenabled()
        gc.disable()
        try:
            return list(map(_new, repeat(Record), rows))
        finally:
            if paused:
                gc.enable()

    def batch(self) -> RecordBatch:
        """The same records as a ``RecordBatch``."""
        out = RecordBatch()
        self.extend_batch(out)
        return out

    def extend_batch(self, batch: RecordBatch) -> None:
        """Append these records to ``batch``, column by column."""
        n = len(self)
        batch.kind += _KIND_OBJECTS[self.kind].tolist()
        batch.type += np.array(self.type_names, dtype=object)[self.type_codes].tolist()
        batch.data += self.data.to_pylist()
        batch.id += self.id.to_pylist()
        batch.last_event_id += self.last_event_id.to_pylist()
        batch.retry += self.retries() if len(self.retry_at) else repeat(None, n)
        batch.offset += self.offset.tolist()
        batch.size += self.size.tolist()

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

# (class, the field's name): a line is that field when it is the name alone or the
# name and a colon.
_NAMES = [
    (_L_DATA, b"data"),
    (_L_EVENT, b"event"),
    (_L_ID, b"id"),
    (_L_RETRY, b"retry"),
]
# The same, looked up by a line's first byte (the names start with different bytes):
# the name's bytes as a little-endian word, the mask of its length, its length, its
# class, and whether the name alone, with no colon, is that field (an empty ``retry``
# is not valid). A byte that starts no name has a word its mask never gives.
_BY_FIRST = {name[0]: (code, name) for code, name in _NAMES}
_NAME_WORD = np.ones(256, dtype=np.uint64)
_NAME_MASK = np.zeros(256, dtype=np.uint64)
_NAME_LEN = np.zeros(256, dtype=np.int64)
_NAME_CODE = np.full(256, _L_OTHER, dtype=np.int8)
_NAME_BARE = np.zeros(256, dtype=bool)
for _byte, (_code, _name) in _BY_FIRST.items():
    _NAME_WORD[_byte] = int.from_bytes(_name, "little")
    _NAME_MASK[_byte] = (1 << (8 * len(_name))) - 1
    _NAME_LEN[_byte] = len(_name)
    _NAME_CODE[_byte] = _code
    _NAME_BARE[_byte] = _code != _L_RETRY
# At least this many bytes of reference parsing follow a block it must read (invalid
# UTF-8): a stream with many such blocks does not pay the array set-up for each one.
_REFERENCE_RUN = 8 * 1024
# Lines shorter than this many bytes on average have their first words read from an
# aligned copy of the region (``_words``).
_WORD_COPY = 128
# Retry values up to this many digits are read as arrays; longer ones one by one.
_DIGITS = 18


# Line ends are found with ``bytes.find`` (memchr) while they are sparse, at most one
# per this many bytes on average; past that, by comparing every byte at once.
_SPARSE = 16384


def _positions(buf: bytes, pos: int, byte: bytes) -> np.ndarray | None:
    """Where ``byte`` is in ``buf[pos:]`` (positions from ``pos``), found one
    ``find`` each, which skips long values (large payloads) at memory speed; ``None``
    once they turn out dense (finding them one by one would cost more than one
    comparison of every byte)."""
    budget = (len(buf) - pos) // _SPARSE + 1
    found: list[int] = []
    find = buf.find
    i = find(byte, pos)
    while i >= 0:
        if len(found) == budget:
            return None
        found.append(i)
        i = find(byte, i + 1)
    return np.array(found, dtype=np.int64) - pos


def _line_ends(
    raw: np.ndarray, has_cr: bool, buf: bytes, pos: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(e, t)``: where each complete line's line end starts and where it ends
    (``raw`` is ``buf[pos:]``).

    A line end is LF, CRLF or a CR not followed by LF. A CR that is the last byte
    ends no line yet: the next byte may be the LF of a CRLF.
    """
    lf = _positions(buf, pos, b"\n")
    if not has_cr:
        if lf is None:
            lf = np.flatnonzero(raw == 10)
        return lf, lf + 1
    n = len(raw)
    cr = _positions(buf, pos, b"\r") if lf is not None else None
    if lf is None or cr is None:
        # dense
        head = buf[pos : pos + 4096]
        if head.count(b"\r\n") == head.count(b"\n") == head.count(b"\r"):
            # it starts CRLF throughout: if it is, one LF pass and a CR count tell
            lf = np.flatnonzero(raw == 10)
            if len(lf) and lf[0] > 0 and bool((raw[lf - 1] == 13).all()):
                crs = int(np.count_nonzero(raw == 13)) - int(raw[n - 1] == 13)
                if crs == len(lf):
                    return lf - 1, lf + 1
        # every CR and LF in one pass over the bytes
        e = np.flatnonzero((raw == 10) | (raw == 13))
        if len(e) and e[-1] == n - 1 and raw[n - 1] == 13:
            e = e[:-1]  # the last byte: it may be the first half of a CRLF
        c = raw[e]
        if not (c == 10).any():
            return e, e + 1  # CR only
        first, second = c[0::2], c[1::2]
        if (
            len(e) % 2 == 0
            and bool((first == 13).all())
            and bool((second == 10).all())
            and bool((e[1::2] - e[0::2] == 1).all())
        ):
            return e[0::2].copy(), e[1::2] + 1  # CRLF throughout
    else:
        if len(cr) and cr[-1] == n - 1:
            cr = cr[:-1]  # the last byte: it may be the first half of a CRLF
        # CRLF throughout (every LF after a CR, as many CRs as LFs): the line ends
        # are known from the LFs alone
        k = len(cr)
        if k == len(lf) and (not k or (lf[0] > 0 and bool((raw[lf - 1] == 13).all()))):
            return lf - 1, lf + 1
        e = np.sort(np.concatenate([lf, cr]))
        c = raw[e]
    pair = (c[:-1] == 13) & (c[1:] == 10) & (e[1:] == e[:-1] + 1)
    keep = np.ones(len(e), dtype=bool)
    keep[1:] = ~pair
    tl = np.ones(len(e), dtype=np.int64)
    tl[:-1] += pair
    e = e[keep]
    tl = tl[keep]
    if len(e) and e[-1] == n - 1 and raw[n - 1] == 13:
        e = e[:-1]  # the last byte: it may be the first half of a CRLF
        tl = tl[:-1]
    return e, e + tl


def _words(raw: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The first 8 bytes of each line (from ``s``), as little-endian words (zero
    past the end).

    Short lines: each word from the two aligned words of a copy that it straddles
    (two gathers and shifts, for every line at once). Long lines: the 8 bytes at
    each line start, picked from the bytes themselves (no copy of a large region).
    """
    m = len(raw)
    if m < _WORD_COPY * len(s):
        aligned = np.zeros(m // 8 + 3, dtype="<u8")
        aligned.view(np.uint8)[:m] = raw
        q = s >> 3
        bits = (s & 7).astype(np.uint64) << np.uint64(3)
        # the high word shifted in two steps: a shift by 64 (no straddle) is none
        high = (aligned[q + 1] << np.uint64(1)) << (np.uint64(63) - bits)
        return (aligned[q] >> bits) | high  # type: ignore[no-any-return]
    w = np.zeros(len(s), dtype=np.uint64)
    inside = s <= m - 8
    if m >= 8:
        win = np.lib.stride_tricks.as_strided(
            raw, shape=(m - 7, 8), strides=(1, 1), writeable=False
        )
        w[inside] = win[s[inside]].view("<u8").ravel()
    for i in np.flatnonzero(~inside).tolist():
        w[i] = int.from_bytes(raw[int(s[i]) :].tobytes(), "little")
    return w


def _text(values: pa.Array, ascii: bool) -> pa.Array:
    """Binary values as strings: checked to be UTF-8 (``pa.ArrowInvalid`` if not),
    or taken as they are when they come from ASCII bytes (no second pass)."""
    if not ascii:
        return values.cast(_STRING)
    validity, offsets, blob = values.buffers()
    return pa.LargeStringArray.from_buffers(
        len(values), offsets, blob, validity, values.null_count, values.offset
    )


def _retry_values(
    raw: np.ndarray, vs: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which of these values are all digits (a valid ``retry``), and their values."""
    n = len(vs)
    length = e - vs
    good = length > 0
    value = np.zeros(n, dtype=np.int64)
    short = length <= _DIGITS
    width = int(length[short].max()) if short.any() else 0
    if width:
        col = np.arange(width)
        inside = col < length[:, None]
        d = raw[np.minimum(vs[:, None] + col, len(raw) - 1)].astype(np.int64) - 48
        digit = (d >= 0) & (d <= 9)
        good &= (digit | ~inside).all(axis=1)
        d = np.where(inside, d, 0)
        for j in range(width):
            value = np.where(inside[:, j], value * 10 + d[:, j], value)
    for i in np.flatnonzero(~short).tolist():
        text = raw[int(vs[i]) : int(e[i])].tobytes()
        good[i] = text.isdigit()
        value[i] = int(text) if good[i] else 0
    return good, value


class _Region:
    """The complete lines from a block boundary, classed, and how far they can be read
    (``cut``): to the end of the last blank line, or in a flood of comment or retry
    lines with no blank line, to the end of the last one whose record is complete."""

    def __init__(self, buf: bytes, pos: int, lead: int) -> None:
        self.mv = memoryview(buf)[pos:]
        raw = np.frombuffer(self.mv, dtype=np.uint8)
        self.raw = raw
        self.lead = lead  # bytes before ``pos`` that belong to the first record (BOM)
        self.ascii = buf.isascii()  # its values need no UTF-8 check
        e, t = _line_ends(raw, buf.find(b"\r", pos) >= 0, buf, pos)
        n = len(e)
        s = np.empty(n, dtype=np.int64)
        if n:
            s[0] = 0
            s[1:] = t[:-1]
        self.e, self.t, self.s = e, t, s
        self.blank = blank = e == s
        self.cut = 0
        self.bounds = t[blank]  # where blocks end
        if not n:
            return
        self._classify(buf.find(b"\0", pos) >= 0)
        blank_at = np.flatnonzero(blank)
        last = int(blank_at[-1]) if len(blank_at) else -1
        self.cut = int(t[last]) if last >= 0 else 0
        # A comment or retry line, with no field line before it in its block, ends
        # its record once a line that is not blank follows it.
        fields = np.flatnonzero(self.cls[last + 1 :] >= _L_DATA)
        first_field = last + 1 + int(fields[0]) if len(fields) else n
        j = min(first_field - 1, n - 2)
        if j > last:
            self.cut = int(t[j])
            self.bounds = np.append(self.bounds, self.cut)

    def _classify(self, has_nul: bool) -> None:
        """Each line's class and where its value starts (``cls``, ``vs``), and the
        values of the valid retry lines (``retry_lines``, ``retry_values``)."""
        raw, e, s, blank = self.raw, self.e, self.s, self.blank
        w = _words(raw, s)
        length = e - s
        # the field each line names, by its first byte: a hit is the name followed
        # by a colon, or the name alone
        first = (w & np.uint64(0xFF)).astype(np.intp)
        k = _NAME_LEN[first]
        named = (w & _NAME_MASK[first]) == _NAME_WORD[first]
        colon = ((w >> (k.astype(np.uint64) << np.uint64(3))) & np.uint64(0xFF)) == 58
        hit = named & (colon | ((length == k) & _NAME_BARE[first]))
        cls = np.where(hit, _NAME_CODE[first], np.int8(_L_OTHER))
        plen = np.where(hit, k + 1, 0)
        comment = (first == 58) & ~blank
        cls[comment] = _L_COMMENT
        plen[comment] = 1
        cls[blank] = _L_BLANK
        # value spans [vs, e): after "name:" and one optional space; empty for "name"
        vs = np.minimum(s + plen, e)
        vs += (raw[np.minimum(vs, len(raw) - 1)] == 32) & (vs < e)
        if has_nul:
            # an id with a NUL is a field the block ignores
            nul = np.flatnonzero(raw[: int(self.t[-1])] == 0)
            line = np.searchsorted(self.t, nul, side="right")
            cls[line[cls[line] == _L_ID]] = _L_OTHER
        retry_lines = np.flatnonzero(cls == _L_RETRY)
        values: np.ndarray = np.zeros(0, dtype=np.int64)
        if len(retry_lines):
            good, got = _retry_values(raw, vs[retry_lines], e[retry_lines])
            cls[retry_lines[~good]] = _L_OTHER  # an invalid retry is a field, ignored
            values = got[good]
            retry_lines = retry_lines[good]
        self.cls, self.vs = cls, vs
        self.retry_lines, self.retry_values = retry_lines, values

    def block_bounds(self, at: int) -> tuple[int, int]:
        """Start and end of the block holding byte ``at``."""
        ends = self.bounds
        i = int(np.searchsorted(ends, at, side="right"))
        return (int(ends[i - 1]) if i else 0), int(ends[min(i, len(ends) - 1)])

    def boundary_after(self, at: int) -> int:
        """The first block boundary at or after ``at`` (the readable end at most)."""
        ends = self.bounds
        i = int(np.searchsorted(ends, at, side="left"))
        return int(ends[i]) if i < len(ends) else self.cut


def _read_lines(
    reg: _Region, stop: int, base: int, lid: str
) -> tuple[Columns, str, int | None, int]:
    """The records of the region's lines up to byte ``stop`` (a block boundary), its
    first byte at stream offset ``base``. Also the last event ID and retry value after
    them, and the size of the largest record. Raises ``pa.ArrowInvalid`` on a value
    that is not UTF-8."""
    n = int(np.searchsorted(reg.t, stop, side="right"))
    if not n:
        return Columns.empty(), lid, None, 0
    raw = reg.raw
    e, vs = reg.e[:n], reg.vs[:n]
    blank = reg.blank[:n]
    cls = reg.cls[:n]
    nr = int(np.searchsorted(reg.retry_lines, n))
    retry_values = reg.retry_values[:nr]

    blank_at = np.flatnonzero(blank)
    # blocks end at blank lines; comment and retry lines after the last one (a flood)
    # make a block of their own
    nblocks = len(blank_at) + (not blank[-1])
    block = np.cumsum(blank) - blank
    is_field = cls >= _L_DATA
    is_cr = (cls == _L_COMMENT) | (cls == _L_RETRY)
    # A comment/retry line directly followed by the blank line of a block with no
    # field line before it takes that blank line.
    fields_seen: np.ndarray = np.cumsum(is_field) - is_field
    block_first = np.empty(nblocks, dtype=np.int64)
    block_first[0] = 0
    block_first[1:] = (blank_at + 1)[: nblocks - 1]
    before: np.ndarray = fields_seen - fields_seen[block_first][block]
    next_blank = np.zeros(n, dtype=bool)
    next_blank[:-1] = blank[1:]
    takes = is_cr & next_blank & (before == 0)
    taken = np.zeros(n, dtype=bool)
    taken[1:] = takes[:-1]
    owner = is_cr | (blank & ~taken)  # the line that ends each record
    rec_line = np.flatnonzero(owner)
    nrec = len(rec_line)
    t = reg.t[:n]
    ends = np.where(takes[rec_line], t[np.minimum(rec_line + 1, n - 1)], t[rec_line])
    starts = np.empty(nrec, dtype=np.int64)
    starts[0] = -reg.lead
    starts[1:] = ends[:-1]
    sizes = ends - starts

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
    end_all = len(raw)
    bounds = np.empty(2 * nval + 3, dtype=np.int64)
    bounds[0] = 0
    bounds[1 : 2 * nval + 1 : 2] = vs[valued]
    bounds[2 : 2 * nval + 2 : 2] = e[valued]
    bounds[-2:] = end_all
    tile = pa.LargeBinaryArray.from_buffers(
        _BINARY, len(bounds) - 1, [None, pa.py_buffer(bounds), pa.py_buffer(reg.mv)]
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

    # data: one take, or a join where an event has several data lines
    data_el = np.full(nrec, empty_el, dtype=np.int64)
    comments = kind == _COMMENT
    data_el[comments] = tile_of_line[rec_line[comments]]
    if len(data_lines) and int(data_count.max()) > 1:
        owner_of = np.concatenate(
            [block_rec[block[data_lines]], np.flatnonzero(kind != _EVENT)]
        )
        elements = np.concatenate([tile_of_line[data_lines], data_el[kind != _EVENT]])
        order = np.argsort(owner_of, kind="stable")
        counts = np.bincount(owner_of, minlength=nrec)
        offsets = np.zeros(nrec + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        lists = pa.LargeListArray.from_arrays(
            pa.array(offsets), tile.take(pa.array(elements[order]))
        )
        data = _text(pc.binary_join(lists, _NL), reg.ascii)
    else:
        events = kind == _EVENT
        data_el[events] = last_per_block(data_lines)[block[rec_line[events]]]
        if nval:
            data = _text(tile.take(pa.array(data_el)), reg.ascii)
        else:  # no value at all (a flood of retry lines, keep-alive blank lines)
            data = _empties(nrec)

    # id: the block's last id line; the last event ID carries it forward
    block_id = last_per_block(np.flatnonzero(cls == _L_ID))
    id_el = np.full(nrec, -1, dtype=np.int64)
    id_el[blank_owned] = block_id[block[rec_line[blank_owned]]]
    has_id = id_el >= 0
    if has_id.any():
        ids = _text(tile.take(pa.array(id_el, mask=~has_id)), reg.ascii)
    else:
        ids = pa.nulls(nrec, _STRING)
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
    type_codes = (kind == _EVENT).astype(np.int32)
    if len(named):
        values = _text(tile.take(pa.array(ev_el[named])), reg.ascii)
        encoded = values.dictionary_encode()
        found = encoded.dictionary.to_pylist()
        at = encoded.indices.to_numpy(zero_copy_only=False)
        # an empty event field: "message" for an event, "" for a blank record
        index = {"": 0, "message": 1}
        for t in found:
            index.setdefault(t, len(index))
        as_event = np.array([index[t] if t else 1 for t in found], dtype=np.int32)
        as_blank = np.array([index[t] for t in found], dtype=np.int32)
        names = list(index)
        codes = np.where(kind[named] == _EVENT, as_event[at], as_blank[at])
        type_codes[named] = codes

    cols = Columns(
        kind=kind,
        type_codes=type_codes,
        type_names=names,
        data=data,
        id=ids,
        last_event_id=lids,
        retry_at=np.flatnonzero(kind == _RETRY),
        retry_ms=retry_values,
        offset=starts + base,
        size=sizes,
    )
    retry = int(retry_values[-1]) if len(retry_values) else None
    return cols, lid, retry, int(sizes.max())


# -- one feed: the reference up to a block boundary, regions, the reference after ------


def _first_boundary(data: bytes) -> int:
    """Where the first blank line that closes a block in ``data`` ends (its line end
    known whole), or -1. Two line-end bytes in a row, other than CRLF, are a line end
    and a blank line."""
    n = len(data)
    window = 4096  # the first boundary is near: look there first
    while True:
        stop = min(n, window)
        found = [
            i
            for i in (data.find(p, 0, stop) for p in (b"\n\n", b"\n\r", b"\r\r"))
            if i >= 0
        ]
        for i in sorted(found):
            q = i + 1  # the blank line's line end
            if data[q] == 10:
                return q + 1
            if q + 1 < n:
                return q + 2 if data[q + 1] == 10 else q + 1
        if stop == n:
            return -1
        window *= 8


def _line_end(data: bytes, i: int) -> int:
    """Where the line end at ``data[i]`` ends, or -1 when that is not known yet (a
    CR at the end: the next byte may be the LF of a CRLF)."""
    if data[i] == 10:
        return i + 1
    if i + 1 < len(data):
        return i + 2 if data[i + 1] == 10 else i + 1
    return -1


def _head(ref: SSEParser, data: bytes, pieces: list[Piece]) -> int:
    """Let the reference parser read the start of ``data`` until it is at a block
    boundary; return where in ``data`` that is, or -1 when it read it all."""
    pos = 0
    pend = ref._pend
    if pend is not None and not (ref._parts or ref._fields):
        # a comment or retry line waits for the next line (a flood of them)
        lf, cr = data.find(b"\n"), data.find(b"\r")
        i = min(lf, cr) if lf >= 0 and cr >= 0 else max(lf, cr)
        end = _line_end(data, i) if i >= 0 else -1
        if end >= 0:
            pieces.append(ref._feed_reference(data[:end], whole=True))
            if ref._at_boundary():
                return end
            pend = ref._pend
            if (
                end < len(data)
                and pend is not None
                and not (ref._parts or ref._fields or ref._chunks)
                and pend[3] - ref._span <= ref.max_event_size
            ):
                if data[end] not in (10, 13):
                    out: list[Record] = []
                    ref._emit_pending(out)  # a line follows: its record is whole
                    pieces.append(out)
                    return end
                after = _line_end(data, end)  # a blank line: the record takes it
                if after >= 0:
                    pieces.append(ref._feed_reference(data[end:after], whole=True))
                    return after
            pos = end
    rest = data[pos:] if pos else data
    cut = _first_boundary(rest)
    if cut < 0:
        pieces.append(ref._feed_reference(rest))
        return -1
    pieces.append(ref._feed_reference(rest[:cut], whole=True))
    if not ref._at_boundary():
        pieces.append(ref._feed_reference(rest[cut:]))
        return -1
    return pos + cut


Piece = list[Record] | Columns


def read_feed(ref: SSEParser, data: bytes) -> list[Piece]:
    """The records of one feed of ``ref``'s stream, in order: lists of ``Record`` where
    the reference parser read, ``Columns`` where the regions were read as arrays.

    On ``EventTooLarge`` (raised by the reference parser, at its offset), the pieces
    read before it in this feed are on the exception as ``pieces``.
    """
    pieces: list[Piece] = []
    try:
        _read_feed(ref, data, pieces)
    except EventTooLarge as exc:
        got = exc.records
        exc.pieces = [*pieces, got if isinstance(got, list) else got.records()]  # type: ignore[attr-defined]
        raise
    return pieces


def _read_feed(ref: SSEParser, data: bytes, pieces: list[Piece]) -> None:
    pos = 0
    if not ref._at_boundary():
        pos = _head(ref, data, pieces)
        if pos < 0:
            return
    lead = 0
    if not ref._bom_done:
        if len(data) - pos < 3:
            pieces.append(ref._feed_reference(data[pos:]))
            return
        ref._bom_done = True
        if data.startswith(b"\xef\xbb\xbf", pos):
            lead = 3
            pos += 3
    base = ref._base + lead  # stream offset of data[pos]
    start = pos  # the bytes from here on are read through ``reg``
    reg = _Region(data, pos, lead)
    if not reg.cut:
        # no whole block: the reference reads it all (and holds the open block)
        if lead:
            ref._bom_done = False
        pieces.append(ref._feed_reference(data[pos - lead :]))
        return
    lid = ref.last_event_id
    retry: int | None = None
    while True:
        bad: tuple[int, int] | None = None
        stop = reg.cut
        while True:
            try:
                cols, new_lid, new_retry, most = _read_lines(reg, stop, base, lid)
            except pa.ArrowInvalid:
                # a value that is not UTF-8: the reference reads its block
                first = 0
                try:
                    reg.mv[:stop].tobytes().decode()
                except UnicodeDecodeError as err:
                    first = err.start
                a, b = reg.block_bounds(first)
                bad = (a, reg.boundary_after(max(b, a + _REFERENCE_RUN)))
                stop = a
                continue
            if most > ref.max_event_size:
                # a record over the limit: the reference raises where it should
                over = int(np.flatnonzero(cols.size > ref.max_event_size)[0])
                a = reg.block_bounds(int(cols.offset[over] - base))[0]
                bad = (a, reg.cut)
                stop = a
                continue
            break
        if len(cols):
            pieces.append(cols)
            lid = new_lid
            if new_retry is not None:
                retry = new_retry
        if bad is None:
            ref._resume_at(base + stop, lid, retry)
            start += stop
            break
        a, b = bad
        if a == 0 and reg.lead:
            ref._bom_done = False  # the reference reads the byte order mark
            head = data[start - reg.lead : start + b]
            pieces.append(ref._feed_reference(head, whole=True))
        else:
            ref._resume_at(base + a, lid, retry)
            pieces.append(ref._feed_reference(data[start + a : start + b], whole=True))
        lid = ref.last_event_id
        retry = None
        base += b
        start += b
        if b >= reg.cut:
            break
        reg = _Region(data, start, 0)  # the rest, as a region of its own
    rest = data[start:]
    if rest:
        pieces.append(ref._feed_reference(rest))


_parse._columnar = read_feed


#: Feeds smaller than this are read by the reference parser alone: below it, the
#: fixed cost of the array operations is more than the records they read.
MIN_REGION = 16 * 1024


class BulkParser:
    """Incremental reader with ``SSEParser``'s records, as ``Columns``.

    A feed of at least ``min_region`` bytes is read a region of whole blocks at a time
    with array operations (any line ends); the reference parser reads up to the first
    block boundary, after the last one, any block it must read itself (a value that is
    not UTF-8, a record over ``max_event_size``), and every smaller feed. Feeding the
    same bytes in any chunking gives the same records.

    Example:
        >>> p = BulkParser(min_region=0)
        >>> p.feed(b"data: a\\r\\n\\r\\n: ping\\n\\ndata: b").data.to_pylist()
        ['a', 'ping']
    """

    def __init__(
        self,
        *,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        last_event_id: str = "",
        min_region: int = MIN_REGION,
    ) -> None:
        self._ref = SSEParser(
            max_event_size=max_event_size, last_event_id=last_event_id
        )
        self.max_event_size = max_event_size
        self.min_region = min_region

    @property
    def retry(self) -> int | None:
        """The last valid ``retry`` value seen, in milliseconds."""
        return self._ref.retry

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID: what a reconnect sends as ``Last-Event-ID``."""
        return self._ref.last_event_id

    @property
    def buffered(self) -> int:
        """Bytes received that belong to no record yet (the trailing block)."""
        return self._ref.buffered

    def feed(self, data: bytes | list[bytes]) -> Columns:
        """Parse more bytes (one chunk, or a list of chunks read back to back);
        return the records they complete.

        Raises:
            EventTooLarge: a record passed ``max_event_size``; ``.records`` holds the
                records completed before it in this call, as ``Columns``.
        """
        return Columns.concat(self._feed_parts(data))

    def _feed_parts(self, data: bytes | list[bytes]) -> list[Columns]:
        """``feed``, its records in several ``Columns`` (joined by the caller, once)."""
        if isinstance(data, list):
            data = data[0] if len(data) == 1 else b"".join(data)
        ref = self._ref
        if len(data) < self.min_region or not ref._usable(data):
            try:
                return _columns([ref._feed_reference(data)])
            except EventTooLarge as exc:
                exc.records = Columns.concat(_columns([exc.records]))
                raise
        try:
            return _columns(read_feed(ref, bytes(data)))
        except EventTooLarge as exc:
            exc.records = Columns.concat(_columns(exc.pieces))  # type: ignore[attr-defined]
            raise

    def close(self) -> Columns:
        """End of stream: the last records; an unclosed block is discarded."""
        try:
            return Columns.concat(_columns([self._ref.close()]))
        except EventTooLarge as exc:
            exc.records = Columns.concat(_columns([exc.records]))
            raise


def _columns(pieces: list[Piece]) -> list[Columns]:
    """The pieces of a feed as ``Columns``."""
    parts: list[Columns] = []
    for p in pieces:
        if isinstance(p, list):
            if p:
                parts.append(Columns.from_batch(RecordBatch._of(p)))
        elif len(p):
            parts.append(p)
    return parts
