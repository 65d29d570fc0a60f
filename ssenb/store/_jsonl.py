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
from collections.abc import Iterator, Mapping
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
        header = json.loads(first)
    except (ValueError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("ssenb") != "capture":
        hint = ""
        if first.lstrip(b"\xef\xbb\xbf").startswith(_SSE_STARTS):
            hint = " It looks like a raw event stream: read it with ssenb.read_sse."
        raise CaptureFileError(
            f"{path}, line 1: not an ssenb capture file: {expected}, got "
            f"{_snippet(first)}.{hint}",
            path=path,
            line=1,
        )
    return check_header(header, path)


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
            record = json.loads(bytes(text))
        except (ValueError, UnicodeDecodeError) as exc:
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


def _line_number(data: bytes, offset: int) -> int:
    return 1 + data.count(b"\n", 0, offset)


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


def _slow(
    body: bytes | memoryview, path: str, on_bad_lines: str, notes: list[str]
) -> tuple[pa.Table, _Records]:
    """Line by line: the exact line of the first problem, or skip bad lines."""
    rows: list[dict[str, Any]] = []
    records = _Records()
    skipped: list[tuple[int, str]] = []
    lines = bytes(body).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=2):
        try:
            if line.startswith(RECORD):
                records.add(line, number)
                continue
            if records.end is not None:
                raise _Bad(
                    number, f"a line after the end line (line {records.end_line})"
                )
            try:
                row = json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                raise _Bad(number, f"a line that is not valid JSON ({exc})") from None
            problem = _EVENT_CHECK.check(row)
            if problem is None and row.get("kind") not in KINDS:
                problem = f"column 'kind': {row.get('kind')!r} is not one of {KINDS}"
            if problem:
                raise _Bad(number, f"an events row with {problem}")
            rows.append(row)
        except _Bad as bad:
            if on_bad_lines == "error":
                raise CaptureFileError(
                    f"{path}, line {bad.line}: {bad.problem}; expected an events row "
                    f"(a JSON object with the keys {', '.join(EVENTS_SCHEMA)}) or an "
                    f"ssenb record line. The {len(rows)} events rows before it are "
                    f"intact: read_capture(path, on_bad_lines='skip') loads the file "
                    f"without the bad lines.",
                    path=path,
                    line=bad.line,
                    rows_recovered=len(rows),
                ) from None
            skipped.append((bad.line, bad.problem))
    if skipped:
        first_line, first_problem = skipped[0]
        notes.append(
            f"skipped {len(skipped)} bad line(s); the first, line {first_line}, is "
            f"{first_problem}"
        )
    return _codec.rows_to_table(rows, EVENTS_SCHEMA), records


def read_capture_bytes(
    data: bytes, path: str, *, on_bad_lines: str = "error", notes: list[str]
) -> CaptureData:
    """Read a JSON Lines capture held in memory (see the module rules)."""
    if not data or (data[:4096].isspace() and data.isspace()):
        raise CaptureFileError(
            f"{path} is empty; expected an ssenb capture, whose first line is "
            f"{HEADER_EXAMPLE} (was the recording stopped before it started?)",
            path=path,
            line=1,
        )
    newline = data.find(b"\n")
    first = data if newline < 0 else data[:newline]
    meta = parse_header(first, path)
    start = end = len(data) if newline < 0 else newline + 1
    partial = False
    if start < len(data):
        end = data.rfind(b"\n") + 1
        tail = data[end:]
        if tail and _complete_line(tail):
            data, end = data + b"\n", len(data) + 1
        elif tail:
            partial = True
            notes.append(
                f"dropped a partial last line (line {_line_number(data, end)}, "
                f"{len(tail)} bytes): the file was cut while it was written"
            )
    fast = _fast(data, start, end)
    if fast is None:
        fast = _slow(memoryview(data)[start:end], path, on_bad_lines, notes)
    table, records = fast
    cats = records.categories
    events = _codec.table_to_frame(table, EVENTS_SCHEMA, cats.get("events"))
    connections = _codec.table_to_frame(
        _codec.rows_to_table(records.connections, CONNECTIONS_SCHEMA),
        CONNECTIONS_SCHEMA,
        cats.get("connections"),
    )
    if records.unknown:
        notes.append(
            f"ignored record lines of unknown kinds {sorted(records.unknown)} (written "
            f"by a newer ssenb?)"
        )
    rows_recovered = 0
    if records.end is None:
        rows_recovered = len(events)
        notes.insert(
            0,
            f"the recording did not finish (the file has no end line): recovered "
            f"{len(events)} events rows, {len(records.connections)} connections rows "
            f"and {records.raw_count} raw chunks",
        )
    else:
        _check_counts(records, len(events), data, path, on_bad_lines, notes)
        if partial:
            rows_recovered = len(events)
    events, connections = check_frames(events, connections)
    connections, added = add_interrupted_connections(events, connections, records.raw)
    notes.extend(added)
    return CaptureData(meta, events, connections, records.raw, rows_recovered, notes)


def _complete_line(tail: bytes) -> bool:
    try:
        return isinstance(json.loads(tail), dict)
    except (ValueError, UnicodeDecodeError):
        return False


def _check_counts(
    records: _Records,
    events: int,
    data: bytes,
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
    if records.end_offset >= 0:
        records.end_line = _line_number(data, records.end_offset)
    detail = ", ".join(
        f"{k}: {want} written, {got} read" for k, (want, got) in wrong.items()
    )
    if on_bad_lines == "error":
        raise CaptureFileError(
            f"{path}, line {records.end_line}: the end line's counts do not match the "
            f"file ({detail}); lines are missing or were added. "
            f"read_capture(path, on_bad_lines='skip') loads what is there.",
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
