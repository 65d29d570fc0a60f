"""The Parquet capture format: one file, the events table in its columns, the rest in
its key-value metadata.

Rules of this module:

- The file's columns are the events frame (``EVENTS_SCHEMA``), so any Parquet reader
  (``pandas.read_parquet``, DuckDB, Polars) sees the events as they are.
- The key-value metadata holds ``ssenb`` (the header: schema version, meta and the
  categories of both frames), ``ssenb.connections`` (the connections rows) and
  ``ssenb.raw`` (the raw chunks), the last two as the JSON Lines record lines of the
  ``.jsonl`` format.
- Raw bytes live in the footer, which Parquet readers load whole: a capture with very
  many raw bytes is better kept as ``.jsonl`` or exported with ``export_sse``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import CaptureFileError
from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, KINDS
from . import _codec
from ._data import CaptureData, RawChunks, add_interrupted_connections, check_frames
from ._jsonl import (
    SCHEMA_VERSION,
    categories_of,
    check_header,
    connection_lines,
    loads,
    raw_line,
    read_record_text,
)

__all__: list[str] = []

_LIMIT = 2**31 - 1  # footer limits: the metadata may hold many raw bytes


def write_parquet(
    path: Path | BinaryIO,
    meta: Mapping[str, Any],
    events: pd.DataFrame,
    connections: pd.DataFrame,
    raw: RawChunks,
) -> None:
    """Write a capture (frames already coerced) as one Parquet file (a path or a
    binary file object)."""
    header = {
        "ssenb": "capture",
        "schema": SCHEMA_VERSION,
        "meta": dict(meta),
        "categories": {
            "events": categories_of(events),
            "connections": categories_of(connections),
        },
    }
    raw_text = b"".join(
        raw_line(stream, connection, elapsed, chunk)
        for (stream, connection), chunks in raw.items()
        for elapsed, chunk in chunks
    )
    table = pa.Table.from_pandas(events, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[b"ssenb"] = _codec.dumps(header).encode()
    metadata[b"ssenb.connections"] = bytes(connection_lines(connections))
    metadata[b"ssenb.raw"] = raw_text
    pq.write_table(table.replace_schema_metadata(metadata), path)


_WANT = {
    "cat": "strings",
    "str": "strings",
    "int": "integers",
    "Int": "integers",
    "float": "numbers",
    "time": "timestamps",
}
_AFTER = (
    "The file was written or changed by something other than ssenb: fix that column "
    "(e.g. with pandas) and save the capture again with Capture.save, or record the "
    "stream anew."
)


def _fits(kind: str, arrow: pa.DataType) -> bool:
    if pa.types.is_dictionary(arrow):
        arrow = arrow.value_type
    if pa.types.is_null(arrow):
        return kind != "int"
    if kind in ("cat", "str"):
        return bool(pa.types.is_string(arrow) or pa.types.is_large_string(arrow))
    if kind in ("int", "Int"):
        return bool(pa.types.is_integer(arrow))
    if kind == "float":
        return bool(pa.types.is_floating(arrow) or pa.types.is_integer(arrow))
    return bool(pa.types.is_timestamp(arrow))


def check_columns(schema: pa.Schema, name: str) -> None:
    """Raise CaptureFileError naming the first events column missing from the file
    or holding values of the wrong type."""
    missing = [c for c in EVENTS_SCHEMA if c not in schema.names]
    if missing:
        raise CaptureFileError(
            f"{name}: the events column(s) {', '.join(map(repr, missing))} are "
            f"missing; an ssenb capture has the columns {', '.join(EVENTS_SCHEMA)}. "
            f"{_AFTER}",
            path=name,
        )
    for column, kind in _codec.kinds_of(EVENTS_SCHEMA).items():
        found = schema.field(column).type
        if not _fits(kind, found):
            raise CaptureFileError(
                f"{name}: column {column!r} holds {found} values; an ssenb capture's "
                f"{column!r} holds {_WANT[kind]}. {_AFTER}",
                path=name,
            )


def check_values(table: pa.Table, name: str) -> None:
    """Raise CaptureFileError when ``kind`` holds a value outside KINDS, or a column
    that is never missing has nulls."""
    kind = table.column("kind")
    if pa.types.is_dictionary(kind.type):
        kind = kind.cast(kind.type.value_type)
    found = set(pc.unique(kind).to_pylist())
    wrong = sorted(str(v) for v in found - set(KINDS))
    if wrong:
        raise CaptureFileError(
            f"{name}: column 'kind' holds {', '.join(map(repr, wrong[:5]))}; an "
            f"ssenb capture's 'kind' is one of {', '.join(KINDS)}. {_AFTER}",
            path=name,
        )
    for column, kind_of in _codec.kinds_of(EVENTS_SCHEMA).items():
        if kind_of == "int" and table.column(column).null_count:
            raise CaptureFileError(
                f"{name}: column {column!r} has missing values; in an ssenb capture "
                f"it is never missing. {_AFTER}",
                path=name,
            )


def read_parquet(path: Path | BinaryIO, name: str, notes: list[str]) -> CaptureData:
    """Read a Parquet capture (a path or a seekable binary file object; ``name`` for
    errors); a foreign or corrupt file raises CaptureFileError."""
    try:
        handle = pq.ParquetFile(
            path, thrift_string_size_limit=_LIMIT, thrift_container_size_limit=_LIMIT
        )
        metadata = handle.schema_arrow.metadata or {}
    except (pa.ArrowException, OSError) as exc:
        raise CaptureFileError(
            f"{name} is not a readable Parquet file ({exc}); expected a capture "
            f"written by ssenb's write_capture",
            path=name,
        ) from None
    if b"ssenb" not in metadata:
        raise CaptureFileError(
            f"{name} is a Parquet file but not an ssenb capture: its metadata has no "
            f"'ssenb' key (columns: {', '.join(handle.schema_arrow.names[:12])}). "
            f"Read it with pandas.read_parquet instead.",
            path=name,
        )
    try:
        header = loads(metadata[b"ssenb"])
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise CaptureFileError(
            f"{name}: the 'ssenb' metadata is not a JSON object; the file is corrupt",
            path=name,
        )
    meta = check_header(header, name)
    categories = header.get("categories") or {}
    check_columns(handle.schema_arrow, name)
    try:
        table = handle.read()
        check_values(table, name)
        events = _codec.table_to_frame(table, EVENTS_SCHEMA, categories.get("events"))
    except (pa.ArrowException, OSError, KeyError, ValueError, TypeError) as exc:
        raise CaptureFileError(
            f"{name}: the events columns cannot be read as an ssenb events frame "
            f"({type(exc).__name__}: {exc}); expected the columns "
            f"{', '.join(EVENTS_SCHEMA)}",
            path=name,
        ) from None
    records = read_record_text(
        metadata.get(b"ssenb.connections", b""), name, "metadata 'ssenb.connections'"
    )
    raw = read_record_text(
        metadata.get(b"ssenb.raw", b""), name, "metadata 'ssenb.raw'"
    )
    connections = _codec.table_to_frame(
        _codec.rows_to_table(records.connections, CONNECTIONS_SCHEMA),
        CONNECTIONS_SCHEMA,
        categories.get("connections"),
    )
    events, connections = check_frames(events, connections)
    connections, added = add_interrupted_connections(events, connections, raw.raw)
    notes.extend(added)
    return CaptureData(meta, events, connections, raw.raw, 0, notes)
