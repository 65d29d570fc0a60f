"""Captures in memory: ``write_capture``/``read_capture`` on binary file objects give
the bytes and frames that files give, and a hostile blob gets the error a hostile
file gets, with the same limits."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_store import META, RAW, _raw_equal, tricky_connections, tricky_events

from ssenb.errors import CaptureFileError
from ssenb.frames import empty_connections
from ssenb.store import IN_MEMORY, read_capture, write_capture

FORMATS = ["jsonl", "jsonl.gz", "parquet", "har"]
# HAR takes its start time from meta (else the clock): fixed, for the same bytes
HAR_META = {**META, "started": "2026-01-01T00:00:00+00:00"}


class Pipe:
    """A binary stream that cannot seek (a socket, a pipe), counting its reads."""

    def __init__(self, data: bytes) -> None:
        self._fh = io.BytesIO(data)
        self.sizes: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        return self._fh.read(size)

    def seekable(self) -> bool:
        return False


def _same_data(a: Any, b: Any) -> None:
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.connections, b.connections)
    assert a.meta == b.meta
    assert _raw_equal(a.raw, b.raw)
    assert (a.rows_recovered, a.notes) == (b.rows_recovered, b.notes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bytes_round_trip_equals_file_round_trip(tmp_path: Path, fmt: str) -> None:
    events, connections = tricky_events(), tricky_connections()
    path = write_capture(tmp_path / f"c.{fmt}", HAR_META, events, connections, RAW)
    buf = io.BytesIO()
    assert write_capture(buf, HAR_META, events, connections, RAW, format=fmt) is None
    blob = buf.getvalue()
    assert blob == path.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))  # nothing written beside the file
    from_file = read_capture(path)
    for source in (io.BytesIO(blob), Pipe(blob)):
        _same_data(read_capture(source), from_file)  # type: ignore[arg-type]
    if fmt != "har":  # HAR keeps what a browser shows, the frames round-trip too
        pd.testing.assert_frame_equal(from_file.events, events)


def test_a_file_object_is_read_from_where_it_stands(tmp_path: Path) -> None:
    buf = io.BytesIO(b"prefix")
    buf.seek(0, io.SEEK_END)
    write_capture(buf, META, tricky_events(), tricky_connections(), format=".parquet")
    buf.seek(len(b"prefix"))
    data = read_capture(buf)
    pd.testing.assert_frame_equal(data.events, tricky_events())


def test_format_is_needed_for_a_file_object_and_must_be_known() -> None:
    events, connections = tricky_events(), empty_connections()
    with pytest.raises(ValueError, match="pass format= one of 'jsonl'"):
        write_capture(io.BytesIO(), {}, events, connections)
    with pytest.raises(ValueError, match="format must be one of .* got 'csv'"):
        write_capture(io.BytesIO(), {}, events, connections, format="csv")
    with pytest.raises(TypeError, match=r"io\.BytesIO\(data\)"):
        read_capture(b"data: x\n\n")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary mode"):
        read_capture(io.StringIO("data: x\n\n"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary mode"):
        write_capture(io.StringIO(), {}, events, connections, format="jsonl")  # type: ignore[call-overload]


def test_format_names_a_path_written_under_another_suffix(tmp_path: Path) -> None:
    path = write_capture(
        tmp_path / "c.bin", {}, tricky_events(), empty_connections(), format="jsonl.gz"
    )
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    pd.testing.assert_frame_equal(read_capture(path).events, tricky_events())


def test_reads_of_a_stream_are_bounded() -> None:
    """A small gzip bomb in memory is read a bounded piece at a time, never whole."""
    header = b'{"ssenb":"capture","schema":1,"meta":{"url":"http://h/s"}}\n'
    member = gzip.compress(b"\n" * (1 << 20), mtime=0)
    pipe = Pipe(gzip.compress(header, mtime=0) + member * 40)
    data = read_capture(pipe)  # type: ignore[arg-type]
    assert len(data.events) == 0 and data.meta == {"url": "http://h/s"}
    assert -1 not in pipe.sizes and max(pipe.sizes) <= 1 << 20


# -- hostile bytes: the same outcome in memory as in a file -------------------------


def _saved(tmp_path: Path, fmt: str) -> bytes:
    events = tricky_events()
    return write_capture(
        tmp_path / f"ok.{fmt}", META, events, tricky_connections(), RAW
    ).read_bytes()


def _lines(edit: Callable[[list[bytes]], None]) -> Callable[[Path], bytes]:
    def make(tmp_path: Path) -> bytes:
        lines = _saved(tmp_path, "jsonl").split(b"\n")
        edit(lines)
        return b"\n".join(lines)

    return make


def _parquet_without_data(tmp_path: Path) -> bytes:
    path = tmp_path / "p.parquet"
    path.write_bytes(_saved(tmp_path, "parquet"))
    table = pq.read_table(path)
    meta = table.schema.metadata
    table = table.remove_column(table.schema.get_field_index("data"))
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path.read_bytes()


def _parquet_foreign(tmp_path: Path) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2]}), buf)
    return buf.getvalue()


HOSTILE: dict[str, Callable[[Path], bytes]] = {
    "empty": lambda _: b"",
    "blank-lines": lambda _: b"\n\n  \n",
    "png": lambda _: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "raw-sse": lambda _: b"data: hi\n\n",
    "one-long-foreign-line": lambda _: b"x" * 100_000,
    "not-json-line": _lines(lambda ls: ls.__setitem__(3, b"not json")),
    "deep-row": _lines(lambda ls: ls.insert(2, b"[" * 50_000 + b"]" * 50_000)),
    "long-line": _lines(lambda ls: ls.insert(2, b'{"data":"' + b"x" * 9000 + b'"}')),
    "deep-header": lambda _: (
        b'{"ssenb":"capture","schema":1,"meta":'
        + b'{"a":' * 150
        + b"1"
        + b"}" * 151
        + b"\n"
    ),
    "newer-schema": lambda _: b'{"ssenb":"capture","schema":99,"meta":{}}\n',
    "wrong-end-counts": _lines(lambda ls: ls.pop(3)),
    "cut-mid-line": lambda t: _saved(t, "jsonl")[:-40],
    "cut-gzip": lambda t: _saved(t, "jsonl.gz")[:-30],
    "gzip-cut-in-header": lambda t: gzip.compress(_saved(t, "jsonl"))[:40],
    "corrupt-gzip": lambda t: _saved(t, "jsonl.gz")[:60] + b"\x00" * 50,
    "cut-parquet": lambda t: _saved(t, "parquet")[:-100],
    "parquet-missing-column": _parquet_without_data,
    "parquet-foreign": _parquet_foreign,
    "har-without-streams": lambda _: b'{"log": {"version": "1.2", "entries": []}}',
}


def _outcome(read: Callable[[], Any], name: str) -> tuple[str, Any]:
    try:
        data = read()
    except CaptureFileError as exc:
        return "error", str(exc).replace(name, "NAME")
    return "loaded", (data.events, data.connections, data.meta, data.notes)


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("how", ["bytesio", "pipe"])
def test_hostile_bytes_get_the_error_a_hostile_file_gets(
    tmp_path: Path, case: str, how: str
) -> None:
    blob = HOSTILE[case](tmp_path)
    path = tmp_path / "hostile.capture"
    path.write_bytes(blob)
    options = {"max_line_size": 4096} if case == "long-line" else {}
    kind, file_result = _outcome(lambda: read_capture(path, **options), str(path))
    source = io.BytesIO(blob) if how == "bytesio" else Pipe(blob)
    got_kind, got = _outcome(
        lambda: read_capture(source, **options),  # type: ignore[arg-type]
        IN_MEMORY,
    )
    assert got_kind == kind
    if kind == "error":
        assert got == file_result
        assert "NAME" in got  # the message names where the bytes came from
    else:
        for a, b in zip(got[:2], file_result[:2], strict=True):
            pd.testing.assert_frame_equal(a, b)
        assert got[2:] == file_result[2:]


def test_the_name_of_a_file_object_is_in_its_errors() -> None:
    blob = io.BytesIO(b"data: hi\n\n")
    blob.name = "<embedded capture>"  # type: ignore[misc]
    with pytest.raises(CaptureFileError, match="^<embedded capture>, line 1: not an"):
        read_capture(blob)
