"""The JSON Lines capture format: writing it whole, and reading it back, repairing a
file whose recording was cut short.

Rules of this module:

- Line 1 is the header ``{"ssenb":"capture","schema":1,"meta":{...}}``.
- Every line that starts with ``{"ssenb":`` is a record line (connection row, raw
  chunk, categories, end); every other line is one events row (``_codec``).
- A file is complete when its last line is the end line. A file without one is a
  recording that was interrupted: everything up to the last complete line is read,
  and the notes say what was recovered and dropped.
- Problems are reported as ``CaptureFileError`` with the path and the line; no
  pyarrow or json exception leaves this module.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.json as pj

from ..errors import CaptureFileError
from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, KINDS
from . import _codec
from ._data import CaptureData, RawChunks, add_interrupted_connections, check_frames

__all__: list[str] = []

SCHEMA_VERSION = 1
RECORD = b'{"ssenb":'
_CONNECTION_PREFIX = '{"ssenb":"connection","row":'
_CHUNK_ROWS = 200_000
_EVENTS_ARROW = _codec.arrow_schema(EVENTS_SCHEMA)
_EVENT_CHECK = _codec.RowChecker(EVENTS_SCHEMA)
_CONNECTION_CHECK = _codec.RowChecker(CONNECTIONS_SCHEMA)
_SSE_STARTS = (b"data:", b"event:", b"id:", b"retry:", b":")
HEADER_EXAMPLE = '{"ssenb": "capture", "schema": 1, "meta": {...}}'
#: The longest line ``read_capture`` reads by default, in bytes. Events rows and raw
#: chunk lines of real captures stay far below it; a longer line is refused before it
#: is held in memory, so a foreign file cannot exhaust it.
MAX_LINE_SIZE = 128 * 2**20
#: How deeply the header's meta may nest (JSON objects and arrays).
MAX_DEPTH = 100
_BLOCK = 32 * 2**20  # bytes of lines parsed at once
_SKIP_HINT = (
    "ssenb.load(path, on_bad_lines='skip') (or read_capture(path, "
    "on_bad_lines='skip')) loads the file without the bad lines"
)


def loads(text: bytes | str) -> Any:
    """``json.loads``, with nesting too deep for Python as a ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(
            "JSON nested too deeply to read (more than about 1000 levels)"
        ) from None


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


# -- writing -------------------------------------------------------------------------


def header_line(meta: Mapping[str, Any]) -> bytes:
    """The header line of a capture with this meta."""
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a mapping, got {type(meta).__name__}")
    header = {"ssenb": "capture", "schema": SCHEMA_VERSION, "meta": dict(meta)}
    return (_codec.dumps(header) + "\n").encode()


def event_lines(events: pd.DataFrame) -> memoryview:
    """Events rows (in EVENTS_SCHEMA dtypes) as JSON Lines."""
    return _codec.encode_rows(events, EVENTS_SCHEMA)


def connection_lines(connections: pd.DataFrame) -> memoryview:
    """Connections rows (in CONNECTIONS_SCHEMA dtypes) as record lines."""
    return _codec.encode_rows(
        connections, CONNECTIONS_SCHEMA, prefix=_CONNECTION_PREFIX, suffix="}"
    )


def raw_line(stream: str, connection: int, elapsed: float, chunk: bytes) -> bytes:
    """One raw body chunk as a record line (bytes in base64)."""
    record = {
        "ssenb": "raw",
        "stream": stream,
        "connection": connection,
        "elapsed": elapsed,
        "bytes": base64.b64encode(chunk).decode("ascii"),
    }
    return (_codec.dumps(record) + "\n").encode()


def end_line(events: int, connections: int, raw: int) -> bytes:
    """The end line: the file is complete and holds these many rows."""
    record = {"ssenb": "end", "events": events, "connections": connections, "raw": raw}
    return (_codec.dumps(record) + "\n").encode()


def categories_of(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The categories of a frame's categorical columns, to restore them exactly."""
    return {
        name: [str(c) for c in frame[name].cat.categories]
        for name in frame.columns
        if isinstance(frame[name].dtype, pd.CategoricalDtype)
    }


def iter_capture_lines(
    meta: Mapping[str, Any],
    events: pd.DataFrame,
    connections: pd.DataFrame,
    raw: RawChunks,
) -> Iterator[bytes | memoryview]:
    """A whole capture as JSON Lines, in pieces (frames already coerced)."""
    yield header_line(meta)
    for start in range(0, len(events), _CHUNK_ROWS):
        yield event_lines(events.iloc[start : start + _CHUNK_ROWS])
    yield connection_lines(connections)
    chunks = 0
    for (stream, connection), pieces in raw.items():
        for elapsed, chunk in pieces:
            yield raw_line(stream, connection, elapsed, chunk)
            chunks += 1
    cats = {
        "ssenb": "categories",
        "events": categories_of(events),
        "connections": categories_of(connections),
    }
    yield (_codec.dumps(cats) + "\n").encode()
    yield end_line(len(events), len(connections), chunks)


# -- reading -------------------------------------------------------------------------


def _snippet(line: bytes | memoryview) -> str:
    text = bytes(line[:60])
    return repr(text) + ("..." if len(line) > 60 else "")


def parse_header(first: bytes, path: str) -> dict[str, Any]:
    """The meta of a header line, or a CaptureFileError saying what is wrong."""
    expected = f"expected an ssenb capture, whose first line is {HEADER_EXAMPLE}"
    try:
        header = loads(first)
    except ValueError as exc:
        header = None
        if _HEADER_START.match(first):
            raise CaptureFileError(
                f"{path}, line 1: the capture header cannot be read ({exc}); the "
                f"file is corrupt",
                path=path,
                line=1,
            ) from None
    if not isinstance(header, dict) or header.get("ssenb") != "capture":
        hint = ""
        if first.lstrip(b"\xef\xbb\xbf").startswith(_SSE_STARTS):
            hint = " It looks like a raw event stream: read it with "
            hint += "ssenb.frames.read_sse."
        raise CaptureFileError(
            f"{path}, line 1: not an ssenb capture file: {expected}, got "
            f"{_snippet(first)}.{hint}",
            path=path,
            line=1,
        )
    return check_header(header, path)


_COMPACT_START = b'{"ssenb":"capture","schema":'
_HEADER_START = re.compile(rb'\s*\{\s*"ssenb"\s*:\s*"capture"')


def check_header(header: dict[str, Any], path: str) -> dict[str, Any]:
    """The meta of a decoded header, after checking its schema version."""
    schema = header.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise CaptureFileError(
            f"{path}, line 1: the capture header has no valid schema version "
            f"(got {schema!r}); expected a positive integer",
            path=path,
            line=1,
        )
    if schema > SCHEMA_VERSION:
        raise CaptureFileError(
            f"{path} was written by a newer ssenb (capture schema {schema}); this "
            f"ssenb reads schema {SCHEMA_VERSION}. Upgrade ssenb to read it: "
            f"pip install --upgrade ssenb",
            path=path,
            line=1,
        )
    meta = header.get("meta", {})
    if not isinstance(meta, dict):
        raise CaptureFileError(
            f"{path}, line 1: the header's meta is a {type(meta).__name__}, expected "
            f"a JSON object",
            path=path,
            line=1,
        )
    if _too_deep(meta, MAX_DEPTH):
        raise CaptureFileError(
            f"{path}, line 1: the header's meta nests deeper than {MAX_DEPTH} levels; "
            f"ssenb writes flat metadata, so the file was made or changed by "
            f"something else",
            path=path,
            line=1,
        )
    return meta


class _Bad(Exception):
    """A line that is not what the format expects (internal)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


class _Records:
    """Accumulates the record lines (connections, raw chunks, categories, end)."""

    def __init__(self) -> None:
        self.connections: list[dict[str, Any]] = []
        self.raw: RawChunks = {}
        self.raw_count = 0
        self.categories: dict[str, dict[str, list[str]]] = {}
        self.end: dict[str, Any] | None = None
        self.end_line = 0
        self.end_offset = -1  # fast path: where the end line starts in the body
        self.unknown: set[str] = set()

    def add(self, text: bytes | memoryview, line: int) -> None:
        """Take one record line; raises _Bad when it is malformed."""
        try:
            record = loads(bytes(text))
        except ValueError as exc:
            raise _Bad(line, f"a record line that is not valid JSON ({exc})") from None
        if not isinstance(record, dict):
            raise _Bad(line, "a record line that is not a JSON object")
        if self.end is not None:
            raise _Bad(line, f"a line after the end line (line {self.end_line})")
        kind = record.get("ssenb")
        if kind == "connection":
            row = record.get("row")
            problem = _CONNECTION_CHECK.check(row)
            if problem:
                raise _Bad(line, f"a connections row with {problem}")
            self.connections.append(row)  # type: ignore[arg-type]
        elif kind == "raw":
            self._add_raw(record, line)
        elif kind == "categories":
            self.categories = _categories(record, line)
        elif kind == "end":
            self.end = record
            self.end_line = line
        elif kind == "capture":
            raise _Bad(line, "a second capture header (two files joined together?)")
        else:
            self.unknown.add(str(kind))

    def merge(self, other: _Records) -> None:
        """Take the record lines of a later block."""
        self.connections.extend(other.connections)
        for key, chunks in other.raw.items():
            self.raw.setdefault(key, []).extend(chunks)
        self.raw_count += other.raw_count
        if other.categories:
            self.categories = other.categories
        if other.end is not None:
            self.end, self.end_line = other.end, other.end_line
        self.unknown |= other.unknown

    def _add_raw(self, record: dict[str, Any], line: int) -> None:
        stream, conn = record.get("stream"), record.get("connection")
        elapsed, data = record.get("elapsed"), record.get("bytes")
        if not (
            isinstance(stream, str)
            and isinstance(conn, int)
            and (elapsed is None or isinstance(elapsed, int | float))
            and isinstance(data, str)
        ):
            raise _Bad(
                line,
                "a raw chunk record without string stream, integer connection, "
                "number elapsed and base64 bytes",
            )
        try:
            chunk = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _Bad(line, "a raw chunk whose bytes are not valid base64") from None
        seconds = float("nan") if elapsed is None else float(elapsed)
        self.raw.setdefault((stream, conn), []).append((seconds, chunk))
        self.raw_count += 1


def _categories(record: dict[str, Any], line: int) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for frame in ("events", "connections"):
        columns = record.get(frame, {})
        if not isinstance(columns, dict) or not all(
            isinstance(v, list) and all(isinstance(c, str) for c in v)
            for v in columns.values()
        ):
            raise _Bad(line, f"a categories record whose {frame!r} is malformed")
        out[frame] = columns
    return out


def _read_events_fast(data: Any) -> pa.Table | None:
    """The events lines parsed by pyarrow.json, or None if any of them is not a valid
    row (the slow path then finds which)."""
    if len(data) == 0:
        return _EVENTS_ARROW.empty_table()
    block = min(max(len(data) // 8, 1 << 20), 1 << 26)
    for size in (block, len(data) + 1):
        try:
            table = pj.read_json(
                pa.BufferReader(pa.py_buffer(data)),
                read_options=pj.ReadOptions(block_size=size),
                parse_options=pj.ParseOptions(
                    explicit_schema=_EVENTS_ARROW, unexpected_field_behavior="error"
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError) as exc:
            if "straddl" in str(exc) and size < len(data) + 1 and len(data) < 1 << 31:
                continue
            return None
        break
    else:
        return None
    for name, kind in _codec.kinds_of(EVENTS_SCHEMA).items():
        if kind == "int" and table.column(name).null_count:
            return None
    if not _codec.check_kinds(table):
        return None
    return table


def _split(
    data: bytes, start: int, end: int
) -> tuple[list[memoryview], list[tuple[int, memoryview]]]:
    """The events segments and the record lines (offset, text) of the lines in
    ``data[start:end]`` (which ends with a newline), without copying them."""
    view = memoryview(data)
    starts = [start] if data.startswith(RECORD, start, end) else []
    i = data.find(b"\n" + RECORD, start, end)
    while i >= 0:
        starts.append(i + 1)
        i = data.find(b"\n" + RECORD, i + 1, end)
    segments, records, prev = [], [], start
    for first in starts:
        last = data.index(b"\n", first, end)
        if first > prev:
            segments.append(view[prev:first])
        records.append((first, view[first:last]))
        prev = last + 1
    if prev < end:
        segments.append(view[prev:end])
    return segments, records


def _fast(data: bytes, start: int, end: int) -> tuple[pa.Table, _Records] | None:
    """One block of complete lines through pyarrow, or None when any line is not
    what the format expects (the slow path then names it)."""
    segments, lines = _split(data, start, end)
    records = _Records()
    try:
        for _offset, text in lines:
            records.add(text, 0)
    except _Bad:
        return None
    if records.end is not None:
        last_offset, last_text = lines[-1]
        if last_offset + len(last_text) + 1 < end:
            return None  # lines after the end line: the slow path names them
        records.end_offset = last_offset
    rows: Any = segments[0] if len(segments) == 1 else b"".join(segments)
    table = _read_events_fast(rows)
    if table is None:
        return None
    return table, records


class _Reader:
    """Reads a JSON Lines capture from chunks of bytes, a block of lines at a time,
    so memory holds one block and the frames, never the whole file."""

    def __init__(
        self, path: str, on_bad_lines: str, notes: list[str], max_line_size: int
    ) -> None:
        self.path = path
        self.on_bad_lines = on_bad_lines
        self.notes = notes
        self.max_line = max_line_size
        self.records = _Records()
        self.tables: list[pa.Table] = []
        self.rows = 0
        self.skipped: list[tuple[int, str]] = []

    # -- the stream of bytes --------------------------------------------------------

    def read(self, chunks: Iterable[bytes]) -> CaptureData:
        pieces: list[bytes] = []
        size = 0
        seen = 0  # newlines in the chunks taken so far
        first = 1  # the line number of the first line in ``pieces``
        tail = 0  # bytes after the last newline taken (an incomplete line)
        meta: dict[str, Any] | None = None
        checked = False
        chunks = iter(chunks)
        for chunk in chunks:
            if not chunk:
                continue
            newline = chunk.find(b"\n")
            if newline < 0:
                tail += len(chunk)
            else:
                if tail + newline > self.max_line:
                    self._too_long(seen + 1)
                tail = len(chunk) - chunk.rfind(b"\n") - 1
                seen += chunk.count(b"\n")
            if tail > self.max_line:
                self._too_long(seen + 1)
            pieces.append(chunk)
            size += len(chunk)
            if meta is None:
                if newline < 0:
                    if not checked and size >= 4096:
                        checked = True
                        head = b"".join(pieces)[:4096]
                        if not _HEADER_START.match(head) and not head.isspace():
                            parse_header(head, self.path)  # raises: not a capture
                    continue
                data = b"".join(pieces)
                end = data.find(b"\n")
                if not data[:end].strip():
                    self._blank_start(data[end:], chunks)
                meta = parse_header(data[:end], self.path)
                rest = data[end + 1 :]
                pieces, size, first = [rest], len(rest), 2
            elif size >= _BLOCK and newline >= 0:
                data = b"".join(pieces)
                cut = data.rfind(b"\n") + 1
                self._block(data[:cut], first)
                first = seen + 1
                pieces, size = [data[cut:]], len(data) - cut
        data = b"".join(pieces)
        if meta is None:
            meta = self._only_line(data)
            data = b""
        partial = False
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if rest.strip():
            if _complete_line(rest):
                data, cut = data + b"\n", len(data) + 1
            else:
                partial = True
                self.notes.append(
                    f"dropped a partial last line (line {seen + 1}, {len(rest)} "
                    f"bytes): the file was cut while it was written"
                )
        if cut:
            self._block(data[:cut], first)
        return self._finish(meta, partial)

    def _too_long(self, line: int) -> None:
        raise CaptureFileError(
            f"{self.path}, line {line}: a line longer than max_line_size="
            f"{self.max_line} bytes; ssenb's own lines (events rows, raw chunks) stay "
            f"far below it, so the file is not a capture or is damaged. If it really "
            f"is a capture with such long lines, pass a larger limit: "
            f"ssenb.load(path, max_line_size={self.max_line * 4}).",
            path=self.path,
            line=line,
            rows_recovered=self.rows,
        )

    def _blank_start(self, rest: bytes, chunks: Iterable[bytes]) -> None:
        """Line 1 is blank: an empty file (only blank lines), or not a capture."""
        empty = rest.isspace() or not rest
        if empty:
            empty = all(not c or c.isspace() for c in chunks)
        if empty:
            self._empty()
        parse_header(b"", self.path)  # raises: not a capture

    def _empty(self) -> None:
        raise CaptureFileError(
            f"{self.path} is empty; expected an ssenb capture, whose first line is "
            f"{HEADER_EXAMPLE} (was the recording stopped before it started?)",
            path=self.path,
            line=1,
        )

    def _only_line(self, data: bytes) -> dict[str, Any]:
        """The meta of a file of one line with no newline: a header alone, or a
        header cut short."""
        cut_gzip = any(n.startswith("the gzip") for n in self.notes)
        if not data.strip() and not cut_gzip:
            self._empty()
        start = data.lstrip()
        looks = _HEADER_START.match(data) or _COMPACT_START.startswith(start)
        if (looks or cut_gzip) and not _complete_line(data):
            why = f" ({self.notes[-1]})" if cut_gzip else ""
            raise CaptureFileError(
                f"{self.path}, line 1: the file ends inside its header line (after "
                f"{len(data)} bytes{why}): it was cut while it was written, before "
                f"any row; there is nothing to recover. Record the stream again.",
                path=self.path,
                line=1,
            )
        return parse_header(data, self.path)

    # -- blocks of complete lines ---------------------------------------------------

    def _block(self, data: bytes, first: int) -> None:
        """Take ``data`` (complete lines; ``first`` is the number of the first)."""
        if data.isspace():
            return
        fast = None if self.records.end is not None else _fast(data, 0, len(data))
        if fast is not None:
            table, records = fast
            if records.end is not None:
                records.end_line = first + data.count(b"\n", 0, records.end_offset)
            self.records.merge(records)
        else:
            table = self._slow(data, first)
        self.tables.append(table)
        self.rows += table.num_rows

    def _slow(self, data: bytes, first: int) -> pa.Table:
        """Line by line: the exact line of the first problem, or skip bad lines."""
        rows: list[dict[str, Any]] = []
        records = self.records
        lines = data.split(b"\n")
        lines.pop()  # data ends with a newline
        for number, line in enumerate(lines, start=first):
            if not line.strip():
                continue
            try:
                if line.startswith(RECORD):
                    records.add(line, number)
                    continue
                if records.end is not None:
                    raise _Bad(
                        number, f"a line after the end line (line {records.end_line})"
                    )
                try:
                    row = loads(line)
                except ValueError as exc:
                    raise _Bad(
                        number, f"a line that is not valid JSON ({exc})"
                    ) from None
                problem = _EVENT_CHECK.check(row)
                if problem is None and row.get("kind") not in KINDS:
                    problem = (
                        f"column 'kind': {row.get('kind')!r} is not one of {KINDS}"
                    )
                if problem:
                    raise _Bad(number, f"an events row with {problem}")
                rows.append(row)
            except _Bad as bad:
                if self.on_bad_lines == "error":
                    raise CaptureFileError(
                        f"{self.path}, line {bad.line}: {bad.problem}; expected an "
                        f"events row (a JSON object with the keys "
                        f"{', '.join(EVENTS_SCHEMA)}) or an ssenb record line. The "
                        f"{self.rows + len(rows)} events rows before it are intact: "
                        f"{_SKIP_HINT}.",
                        path=self.path,
                        line=bad.line,
                        rows_recovered=self.rows + len(rows),
                    ) from None
                self.skipped.append((bad.line, bad.problem))
        return _codec.rows_to_table(rows, EVENTS_SCHEMA)

    # -- the frames -----------------------------------------------------------------

    def _finish(self, meta: dict[str, Any], partial: bool) -> CaptureData:
        notes, records = self.notes, self.records
        if self.skipped:
            first_line, first_problem = self.skipped[0]
            notes.append(
                f"skipped {len(self.skipped)} bad line(s); the first, line "
                f"{first_line}, is {first_problem}"
            )
        table = (
            pa.concat_tables(self.tables)
            if self.tables
            else _EVENTS_ARROW.empty_table()
        )
        self.tables = []
        cats = records.categories
        events = _codec.table_to_frame(table, EVENTS_SCHEMA, cats.get("events"))
        del table
        connections = _codec.table_to_frame(
            _codec.rows_to_table(records.connections, CONNECTIONS_SCHEMA),
            CONNECTIONS_SCHEMA,
            cats.get("connections"),
        )
        if records.unknown:
            notes.append(
                f"ignored record lines of unknown kinds {sorted(records.unknown)} "
                f"(written by a newer ssenb?)"
            )
        rows_recovered = 0
        if records.end is None:
            rows_recovered = len(events)
            notes.insert(
                0,
                f"the recording did not finish (the file has no end line): recovered "
                f"{len(events)} events rows, {len(records.connections)} connections "
                f"rows and {records.raw_count} raw chunks",
            )
        else:
            _check_counts(records, len(events), self.path, self.on_bad_lines, notes)
            if partial:
                rows_recovered = len(events)
        events, connections = check_frames(events, connections)
        connections, added = add_interrupted_connections(
            events, connections, records.raw
        )
        notes.extend(added)
        return CaptureData(
            meta, events, connections, records.raw, rows_recovered, notes
        )


def _slow(
    body: bytes | memoryview, path: str, on_bad_lines: str, notes: list[str]
) -> tuple[pa.Table, _Records]:
    """The lines after the header read one by one (the path that names problems)."""
    reader = _Reader(path, on_bad_lines, notes, MAX_LINE_SIZE)
    data = bytes(body)
    table = reader._slow(data if data.endswith(b"\n") else data + b"\n", 2)
    return table, reader.records


def read_capture_stream(
    chunks: Iterable[bytes],
    path: str,
    *,
    on_bad_lines: str = "error",
    notes: list[str],
    max_line_size: int = MAX_LINE_SIZE,
) -> CaptureData:
    """Read a JSON Lines capture from chunks of bytes (see the module rules); memory
    holds one block of lines at a time besides the frames being built."""
    return _Reader(path, on_bad_lines, notes, max_line_size).read(chunks)


def read_capture_bytes(
    data: bytes, path: str, *, on_bad_lines: str = "error", notes: list[str]
) -> CaptureData:
    """Read a JSON Lines capture held in memory."""
    step = 1 << 20
    chunks = (data[i : i + step] for i in range(0, len(data), step))
    return read_capture_stream(chunks, path, on_bad_lines=on_bad_lines, notes=notes)


def _complete_line(tail: bytes) -> bool:
    try:
        return isinstance(loads(tail), dict)
    except ValueError:
        return False


def _check_counts(
    records: _Records,
    events: int,
    path: str,
    on_bad_lines: str,
    notes: list[str],
) -> None:
    end = records.end or {}
    found = {
        "events": events,
        "connections": len(records.connections),
        "raw": records.raw_count,
    }
    wrong = {k: (end.get(k), v) for k, v in found.items() if end.get(k) != v}
    if not wrong:
        return
    detail = ", ".join(
        f"{k}: {want} written, {got} read" for k, (want, got) in wrong.items()
    )
    if on_bad_lines == "error":
        raise CaptureFileError(
            f"{path}, line {records.end_line}: the end line's counts do not match the "
            f"file ({detail}); lines are missing or were added. {_SKIP_HINT}.",
            path=path,
            line=records.end_line,
            rows_recovered=events,
        )
    notes.append(f"the end line's counts do not match the file ({detail})")


def read_record_text(text: bytes, path: str, where: str) -> _Records:
    """Record lines kept elsewhere (Parquet metadata); problems name ``where``."""
    records = _Records()
    for number, line in enumerate(text.split(b"\n"), start=1):
        if not line:
            continue
        try:
            records.add(line, number)
        except _Bad as bad:
            raise CaptureFileError(
                f"{path}: {where}, line {number}: {bad.problem}",
                path=path,
                line=number,
            ) from None
    return records
