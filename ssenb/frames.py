"""The two frames of a capture, their schemas, and building them from parser columns.

Rules of this module:

- The schemas live here and nowhere else: ``EVENTS_SCHEMA`` (one row per record) and
  ``CONNECTIONS_SCHEMA`` (one row per connection attempt), column name to dtype.
- Frames are built from parser columns (``Columns``, or a ``RecordBatch``) straight
  into their dtypes; no object per record is made on the way.
- Dtypes behave the same under pandas 2.2 and 3: Arrow-backed strings with ``<NA>`` for
  missing, nullable integers where a value may be missing, UTC timestamps, categoricals
  for the few-valued columns.
"""

from __future__ import annotations

import ctypes
import functools
import io
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa

from ._bulk import KINDS, BulkParser, Columns
from .parse import RecordBatch

__all__ = [
    "ADDED_COLUMNS",
    "CONNECTIONS_SCHEMA",
    "EVENTS_SCHEMA",
    "KINDS",
    "assemble_events",
    "build_connections",
    "build_events",
    "coerce",
    "concat_consuming",
    "empty_connections",
    "empty_events",
    "events_of",
    "read_sse",
]

_STR = pd.StringDtype("pyarrow")
_TIME = pd.DatetimeTZDtype("ns", "UTC")

#: One row per record of every connection.
EVENTS_SCHEMA: dict[str, Any] = {
    "stream": "category",  # the stream's name ("" for a single stream)
    "connection": "int64",  # 1-based connection attempt of that stream
    "seq": "int64",  # 0-based record number within the stream, across connections
    "time": _TIME,  # wall-clock arrival (UTC); NaT when not recorded live
    "elapsed": "float64",  # seconds since capture start (monotonic); NaN when unknown
    "kind": pd.CategoricalDtype(list(KINDS)),
    "type": "category",  # event type ("message" default); see Record.type
    "data": _STR,
    "id": _STR,  # the id field of this block, <NA> when none
    "last_event_id": _STR,
    "retry": "Int64",  # ms, for retry records
    "size": "int64",  # bytes the record spans
    "offset": "int64",  # where it starts in its connection's body
}

#: One row per connection attempt.
CONNECTIONS_SCHEMA: dict[str, Any] = {
    "stream": "category",
    "connection": "int64",  # 1-based attempt number
    "url": _STR,  # redacted
    "method": _STR,
    "status": "Int64",  # HTTP status; <NA> when no response came
    "content_type": _STR,
    "last_event_id_sent": _STR,  # the Last-Event-ID header sent, <NA> when none
    "delay": "float64",  # seconds waited before this attempt (stream time)
    "t_request": _TIME,  # request sent
    "t_headers": _TIME,  # response headers received
    "t_first_byte": _TIME,  # first body byte
    "t_closed": _TIME,  # connection ended
    "start": "float64",  # elapsed seconds at request (monotonic, since capture start)
    "end": "float64",  # elapsed seconds at close
    "bytes": "int64",  # body bytes received
    "records": "int64",  # records parsed
    "events": "int64",  # of which dispatched events
    "outcome": "category",  # eof, idle-timeout, error, http-204, stopped, until, ...
    "error": _STR,  # the error message, <NA> when none
    "retry": "Int64",  # the server's retry value in force at the end (ms)
    "time_scale": "float64",  # SSENB-Time-Scale announced by the server (1 = real time)
    "discarded": "int64",  # bytes of an unterminated block dropped at the end
    # delivery evidence (added in schema 1 later: a frame without them reads as <NA>)
    "headers": _STR,  # the response headers as a JSON object (redacted), <NA>: unknown
    "reads": "Int64",  # network reads of the body, <NA> when not recorded
    "reads_cut": "Int64",  # of which ended inside a record (parsed as they came)
    # why ``delay`` was waited (added later: <NA> in older files): "first connection",
    # "retry 3000 ms", "backoff #2 from retry 0 ms", "Retry-After 30 s", ...
    "wait_reason": _STR,
}

#: Columns added to a schema after files were written without them: a frame or file
#: that lacks them gets <NA>.
ADDED_COLUMNS: frozenset[str] = frozenset(
    {"headers", "reads", "reads_cut", "wait_reason"}
)


def _empty(schema: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=dt) for name, dt in schema.items()})


def empty_events() -> pd.DataFrame:
    """An events frame with no rows and the right dtypes."""
    return _empty(EVENTS_SCHEMA)


def empty_connections() -> pd.DataFrame:
    """A connections frame with no rows and the right dtypes."""
    return _empty(CONNECTIONS_SCHEMA)


def events_of(obj: object) -> pd.DataFrame:
    """The events frame ``obj`` holds: a DataFrame is its own, anything else lends its
    ``.events`` DataFrame (a Capture does).

    The layers below the capture value (patterns) take frames through this, so that
    they accept a Capture without importing it.

    Raises:
        TypeError: ``obj`` is neither; the message names what was given.
    """
    if isinstance(obj, pd.DataFrame):
        return obj
    events = getattr(obj, "events", None)
    if isinstance(events, pd.DataFrame):
        return events
    raise TypeError(
        f"expected a Capture or an events DataFrame, got {type(obj).__name__}"
    )


def coerce(
    frame: pd.DataFrame, schema: Mapping[str, Any], *, what: str
) -> pd.DataFrame:
    """Return ``frame`` with exactly the schema's columns, in order, in their dtypes.

    Raises:
        ValueError: a column is missing, or a value cannot take its column's dtype.
    """
    missing = [c for c in schema if c not in frame.columns and c not in ADDED_COLUMNS]
    if missing:
        raise ValueError(
            f"the {what} frame lacks the columns {missing}; "
            f"it has {list(frame.columns)}"
        )
    out = {}
    for name, dtype in schema.items():
        if name not in frame.columns:
            out[name] = pd.Series([None] * len(frame), dtype=dtype)
            continue
        col = frame[name]
        try:
            if str(col.dtype) != str(dtype):
                if dtype is _TIME:
                    col = pd.to_datetime(col, utc=True).astype(_TIME)
                else:
                    col = col.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"column {name!r} of the {what} frame cannot be read as {dtype}: {exc}"
            ) from exc
        out[name] = col.reset_index(drop=True)
    return pd.DataFrame(out)


@functools.lru_cache(maxsize=256)
def _category_dtype(names: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of these names (made and checked once: a frame's
    fixed cost is mostly pandas checking its categories)."""
    return pd.CategoricalDtype(pd.Index(list(names), dtype=str))


def _categories(codes: np.ndarray, names: list[str]) -> Any:
    """Codes into ``names`` as a categorical of the names used, sorted."""
    if not len(codes):
        return pd.Categorical.from_codes(
            codes.astype("int8"), dtype=_category_dtype(())
        )
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    order = sorted(used.tolist(), key=names.__getitem__)
    lookup = np.zeros(len(names), dtype=np.int32)
    lookup[order] = np.arange(len(order), dtype=np.int32)
    dtype = _category_dtype(tuple(names[i] for i in order))
    return pd.Categorical.from_codes(lookup[codes], dtype=dtype)


def _text(values: pa.Array) -> Any:
    return pd.arrays.ArrowStringArray(values)


def _utc_times(time: Any, n: int) -> Any:
    """``n`` UTC timestamps: NaT for ``None``, one per row for a list, else repeated."""
    if time is None:
        stamps = np.full(n, np.datetime64("NaT", "ns"))
    elif pd.api.types.is_list_like(time):
        return pd.to_datetime(pd.Series(list(time)), utc=True).astype(_TIME).array
    else:
        stamp = pd.to_datetime(time, utc=True).as_unit("ns")
        stamps = np.full(n, stamp.value, dtype="int64").view("datetime64[ns]")
    return pd.DatetimeIndex(stamps).tz_localize("UTC").array


def build_events(
    batch: Columns | RecordBatch,
    *,
    stream: str = "",
    connection: int | Iterable[int] = 1,
    seq_start: int = 0,
    time: Any = None,
    elapsed: Any = None,
) -> pd.DataFrame:
    """Build the events frame from parser columns, with no per-record object.

    Text columns stay the Arrow arrays the parser made; codes become categoricals.

    Args:
        batch: the records, as ``Columns`` (or a ``RecordBatch``).
        stream: the stream's name.
        connection: the connection number of every row, or one per row.
        seq_start: the ``seq`` of the first row.
        time: arrival times (one per row, or one for all); NaT when ``None``.
        elapsed: seconds since capture start (one per row, or one for all).
    """
    cols = Columns.from_batch(batch) if isinstance(batch, RecordBatch) else batch
    n = len(cols)
    if isinstance(connection, int):
        conn: Any = np.full(n, connection, dtype="int64")
    else:
        conn = np.array(  # a copy: the frame keeps it (a caller's array stays theirs)
            connection if isinstance(connection, np.ndarray) else list(connection),
            dtype="int64",
        )
    if elapsed is None:
        el: Any = np.full(n, np.nan)
    elif isinstance(elapsed, int | float):
        el = np.full(n, float(elapsed))
    else:
        el = np.array(
            elapsed if isinstance(elapsed, np.ndarray) else list(elapsed),
            dtype="float64",
        )
    return assemble_events(
        cols,
        stream=pd.Categorical.from_codes(
            np.zeros(n, dtype="int8"), dtype=_category_dtype((stream,))
        ),
        connection=conn,
        seq=np.arange(seq_start, seq_start + n, dtype="int64"),
        time=_utc_times(time, n),
        elapsed=el,
    )


def assemble_events(
    cols: Columns,
    *,
    stream: Any,
    connection: np.ndarray,
    seq: np.ndarray,
    time: Any,
    elapsed: np.ndarray,
) -> pd.DataFrame:
    """The events frame from parser columns and the other columns, each already
    one value per row in its dtype (``build_events`` prepares them)."""
    n = len(cols)
    retry_values = np.zeros(n, dtype="int64")
    retry_values[cols.retry_at] = cols.retry_ms
    retry_mask = np.ones(n, dtype=bool)
    retry_mask[cols.retry_at] = False
    # copy=False: the columns are made for this frame; pandas would otherwise copy
    # them and merge the int64 ones into one block, holding each row twice at once
    return pd.DataFrame(
        {
            "stream": stream,
            "connection": connection,
            "seq": seq,
            "time": time,
            "elapsed": elapsed,
            "kind": pd.Categorical.from_codes(cols.kind, dtype=_category_dtype(KINDS)),
            "type": _categories(cols.type_codes, cols.type_names),
            "data": _text(cols.data),
            "id": _text(cols.id),
            "last_event_id": _text(cols.last_event_id),
            "retry": pd.arrays.IntegerArray(retry_values, retry_mask),
            "size": cols.size,
            "offset": cols.offset,
        },
        copy=False,
    )


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def _return_freed_pages() -> None:
    """Give the pages of freed memory back to the system where the C library can.

    The parts of a recording are freed a column at a time while the joined column,
    being large, takes fresh pages; glibc keeps the freed pages in its heap, so
    without this both would be resident at the peak (measured: 1 M short events
    held ~40 MB more)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def concat_consuming(pieces: list[Columns]) -> Columns:
    """One ``Columns`` of ``pieces`` (emptied), joined one column at a time: each
    column of the pieces is let go once it is copied, so a large recording is held
    about once and a column, not twice, while it becomes one."""
    if len(pieces) < 2:
        out = Columns.concat(pieces)
        pieces.clear()
        return out
    held = [
        {f: getattr(p, f) for f in ("kind", "data", "id", "last_event_id", "size")}
        | {"offset": p.offset, "codes": p.type_codes, "names": p.type_names}
        | {"retry_at": p.retry_at, "retry_ms": p.retry_ms}
        for p in pieces
    ]
    pieces.clear()
    _return_freed_pages()  # what the recording freed, before the joined columns come
    starts = np.cumsum([0] + [len(h["kind"]) for h in held[:-1]])
    names: dict[str, int] = {}
    for h in held:
        lookup = np.array(
            [names.setdefault(t, len(names)) for t in h["names"]] or [0],
            dtype=np.int32,
        )
        h["codes"] = lookup[h.pop("codes")]
    joined: dict[str, Any] = {
        "retry_at": np.concatenate(
            [h.pop("retry_at") + s for h, s in zip(held, starts, strict=True)]
        ),
        "retry_ms": np.concatenate([h.pop("retry_ms") for h in held]),
    }
    for name in ("data", "id", "last_event_id", "codes", "kind", "size", "offset"):
        parts = [h.pop(name) for h in held]
        joined[name] = (
            pa.concat_arrays(parts)
            if isinstance(parts[0], pa.Array)
            else np.concatenate(parts)
        )
        del parts
        _return_freed_pages()
    return Columns(
        kind=joined["kind"],
        type_codes=joined["codes"],
        type_names=list(names),
        data=joined["data"],
        id=joined["id"],
        last_event_id=joined["last_event_id"],
        retry_at=joined["retry_at"],
        retry_ms=joined["retry_ms"],
        offset=joined["offset"],
        size=joined["size"],
    )


def build_connections(
    rows: Iterable[Mapping[str, Any]], streams: Iterable[str]
) -> pd.DataFrame:
    """The connections frame from one mapping per attempt (``CONNECTIONS_SCHEMA``'s
    keys; times as UTC timestamps or ``None``), each column made in its dtype at
    once. ``streams`` are the categories of ``stream``, in order."""
    rows = list(rows)
    cols: dict[str, Any] = {}
    for name, dtype in CONNECTIONS_SCHEMA.items():
        values = [row.get(name) if name in ADDED_COLUMNS else row[name] for row in rows]
        if name == "stream":
            cols[name] = pd.Categorical(
                values, categories=pd.Index(list(streams), dtype=str)
            )
        elif dtype == "category":
            cols[name] = pd.Categorical(values)
        elif dtype is _TIME:
            cols[name] = pd.array(
                [pd.NaT if v is None else v for v in values], dtype=_TIME
            )
        else:
            cols[name] = pd.array(values, dtype=dtype)
    return pd.DataFrame(cols)


#: read_sse reads in regions of at least this size...
_SLICE = 1 << 20
#: ...of about this many lines where lines are longer, up to ``_SLICE_MAX`` bytes: a
#: region has a fixed cost (about as much as 3,000 lines), and takes memory by lines.
_LINES = 32768
_SLICE_MAX = 8 << 20
#: The line length is estimated from this many bytes of a read.
_SAMPLE = 16 << 10
#: While a larger region is gathered, a read whose first ``_PEEK`` bytes hold more
#: than ``_PEEK_ENDS`` line ends (short lines: keep-alives after payloads) ends it.
_PEEK = 256
_PEEK_ENDS = 4


def _region_size(chunk: bytes) -> int:
    """The size of a region whose lines are about as long as those at the start of
    ``chunk`` (CR and LF are each counted: a CRLF stream gets smaller regions)."""
    sample = min(len(chunk), _SAMPLE)
    ends = chunk.count(b"\n", 0, sample) + chunk.count(b"\r", 0, sample)
    return min(_SLICE_MAX, max(_SLICE, _LINES * sample // max(ends, 1)))


def _chunks_of(source: Any) -> Iterable[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), _SLICE):
            yield bytes(view[start : start + _SLICE])
    elif isinstance(source, str | os.PathLike):
        with open(source, "rb") as opened:
            yield from iter(lambda: opened.read(_SLICE), b"")
    elif isinstance(source, io.IOBase) or hasattr(source, "read"):
        fh: BinaryIO = source
        while chunk := fh.read(_SLICE):
            if isinstance(chunk, str):
                raise TypeError(
                    "read_sse() needs a binary file; open it with mode 'rb', not 'r'"
                )
            yield chunk
    elif isinstance(source, Iterable):
        for chunk in source:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(
                    f"read_sse() takes an iterable of bytes chunks, got a "
                    f"{type(chunk).__name__} chunk"
                )
            yield bytes(chunk)
    else:
        raise TypeError(
            f"read_sse() takes bytes, a path, a binary file or an iterable of bytes, "
            f"got {type(source).__name__}"
        )


def read_sse(source: Any, *, stream: str = "", **parser_options: Any) -> pd.DataFrame:
    """Read a raw event stream already on hand into the events frame, like ``read_csv``.

    ``source`` is bytes, a path, a binary file, or an iterable of bytes chunks. Rows
    carry no arrival time (``time`` is NaT). An unterminated last block is dropped, as a
    browser would drop it.

    Example:
        >>> read_sse(b"data: hi\\n\\n: ping\\n\\n")[["kind", "data"]].values.tolist()
        [['event', 'hi'], ['comment', 'ping']]
    """
    parser = BulkParser(**parser_options)
    parts: list[Columns] = []
    pending: list[bytes] = []
    held = 0
    size = _SLICE
    for chunk in _chunks_of(source):
        if (
            size > _SLICE
            and chunk.count(b"\n", 0, _PEEK) + chunk.count(b"\r", 0, _PEEK) > _PEEK_ENDS
        ):
            # lines turned short: what is gathered is read now, before this read
            parts += parser._feed_parts(b"".join(pending))
            pending.clear()
            held = 0
            size = _SLICE
        # small chunks (an iterable of reads) are read a region at a time
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            if size == _SLICE:  # once per region: is it to be larger?
                size = _region_size(chunk)
                if held < size:
                    continue
            parts += parser._feed_parts(b"".join(pending))
            pending.clear()
            held = 0
            size = _SLICE
    if pending:
        parts += parser._feed_parts(b"".join(pending))
    parts.append(parser.close())
    return build_events(Columns.concat(parts, copy_text=False), stream=stream)
