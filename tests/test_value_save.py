"""``Capture.save`` into a file object and ``ssenb.load`` from one: a capture's
bytes in memory (``io.BytesIO``) round-trip exactly as a file on disk does."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

import ssenb

FORMATS = ["jsonl", "jsonl.gz", "parquet", "har"]


@pytest.fixture(scope="module")
def cap() -> ssenb.Capture:
    """A real recording of the demo server: records of every kind, a reconnect."""
    with ssenb.demo_server(speed=1000) as srv:
        recorded = ssenb.capture(srv.url("twitter"), duration=30)
    assert len(recorded.connections) >= 2 and recorded.raw
    return recorded


def _same(a: ssenb.Capture, b: ssenb.Capture) -> None:
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.connections, b.connections)
    assert a.raw == b.raw


@pytest.mark.parametrize("fmt", FORMATS)
def test_save_to_bytesio_loads_back_as_the_file_does(
    cap: ssenb.Capture, fmt: str, tmp_path: Path
) -> None:
    buf = io.BytesIO()
    assert cap.save(buf, format=fmt) is None
    data = buf.getvalue()
    assert data
    from_memory = ssenb.load(io.BytesIO(data))
    on_disk = ssenb.load(cap.save(tmp_path / f"run.{fmt}"))
    assert (tmp_path / f"run.{fmt}").read_bytes()[:2] == data[:2]
    _same(from_memory, on_disk)
    if fmt != "har":  # HAR keeps what a HAR can hold, not every column
        _same(from_memory, cap)
    assert from_memory.meta["url"] == cap.meta["url"]


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "parquet"])
def test_load_reads_an_open_binary_file(
    cap: ssenb.Capture, fmt: str, tmp_path: Path
) -> None:
    path = cap.save(tmp_path / f"run.{fmt}")
    with open(path, "rb") as fh:
        _same(ssenb.load(fh), cap)


def test_save_format_overrides_the_suffix(cap: ssenb.Capture, tmp_path: Path) -> None:
    path = cap.save(tmp_path / "run.bin", format="parquet")
    assert path == tmp_path / "run.bin"
    assert path.read_bytes()[:4] == b"PAR1"
    _same(ssenb.load(path), cap)


def test_save_to_a_file_object_needs_a_format(cap: ssenb.Capture) -> None:
    with pytest.raises(ValueError, match="pass format= one of 'jsonl'"):
        cap.save(io.BytesIO())  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="format must be one of .* got 'csv'"):
        cap.save(io.BytesIO(), format="csv")


def test_text_file_objects_are_refused_with_the_fix(cap: ssenb.Capture) -> None:
    with pytest.raises(TypeError, match="use io.BytesIO rather than io.StringIO"):
        cap.save(io.StringIO(), format="jsonl")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="binary mode"):
        ssenb.load(io.StringIO("{}"))  # type: ignore[arg-type]


def test_load_of_bytes_that_are_no_capture_names_memory() -> None:
    with pytest.raises(ssenb.SSENBError, match="in-memory"):
        ssenb.load(io.BytesIO(b"hello, this is not a capture\n"))
