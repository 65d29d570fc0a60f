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

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import CaptureFileError
from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA
from . import _codec
from ._data import CaptureData, RawChunks, add_interrupted_connections, check_frames
from ._jsonl import (
    SCHEMA_VERSION,
    categories_of,
    check_header,
    connection_lines,
    raw_line,
    read_record_text,
)

__all__: list[str] = []

_LIMIT = 2**31 - 1  # footer limits: the metadata may hold many raw bytes


def write_parquet(
    path: Path,
    meta: Mapping[str, Any],
    events: pd.DataFrame,
    connections: pd.DataFrame,
    raw: RawChunks,
) -> None:
    """Write a capture (frames already coerced) as one Parquet file."""
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


def read_parquet(path: Path, notes: list[str]) -> CaptureData:
    """Read a Parquet capture; a foreign or corrupt file raises CaptureFileError."""
    name = str(path)
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
        header = json.loads(metadata[b"ssenb"])
    except (ValueError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict):
        raise CaptureFileError(
            f"{name}: the 'ssenb' metadata is not a JSON object; the file is corrupt",
            path=name,
        )
    meta = check_header(header, name)
    categories = header.get("categories") or {}
    try:
        table = handle.read()
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
