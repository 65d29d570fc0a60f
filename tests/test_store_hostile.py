"""Capture files ssenb did not write: each hostile file, made here, gets its own clear
``CaptureFileError`` (or loads), never a RecursionError, MemoryError or a silent NaN."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ssenb
from ssenb.errors import CaptureFileError
from ssenb.frames import build_events, empty_connections
from ssenb.parse import SSEParser
from ssenb.store import MAX_LINE_SIZE, read_capture, write_capture

ROOT = Path(__file__).resolve().parent.parent
HEADER = b'{"ssenb":"capture","schema":1,"meta":{"url":"http://h/s"}}\n'


def _events(n: int = 5) -> pd.DataFrame:
    body = b"".join(b"event: t\ndata: %d\n\n" % i for i in range(n))
    batch = SSEParser().feed_batch(body)
    times = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        range(len(batch.kind)), unit="ms"
    )
    return build_events(
        batch, stream="s", connection=1, time=times, elapsed=[0.0] * len(times)
    )


def _saved(tmp_path: Path, name: str) -> Path:
    return write_capture(
        tmp_path / name, {"url": "http://h/s"}, _events(), empty_connections()
    )


# -- sizes -------------------------------------------------------------------------


def test_a_line_longer_than_the_limit_is_named(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    lines = _saved(tmp_path, "ok.jsonl").read_bytes().split(b"\n")
    lines.insert(3, b'{"data":"' + b"x" * 5000 + b'"}')
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(CaptureFileError, match=r"line 4: a line longer than") as err:
        read_capture(path, max_line_size=4096)
    assert err.value.line == 4
    assert "max_line_size=16384" in str(err.value)
    # the limit is an option: a larger one reads on to the real problem
    with pytest.raises(CaptureFileError, match="line 4: an events row with"):
        ssenb.load(path, max_line_size=8192)


def test_a_long_line_with_no_end_is_refused_before_it_is_held(tmp_path: Path) -> None:
    path = tmp_path / "noend.jsonl.gz"
    path.write_bytes(gzip.compress(HEADER + b"[" * 300_000))
    with pytest.raises(CaptureFileError, match=r"line 2: a line longer than"):
        read_capture(path, max_line_size=100_000)


def test_the_default_line_limit_is_documented() -> None:
    assert MAX_LINE_SIZE == 128 * 2**20
    assert "128 MiB" in (ssenb.load.__doc__ or "")
    with pytest.raises(ValueError, match="max_line_size"):
        read_capture("x.jsonl", max_line_size=0)


def _bomb(path: Path, gib: int) -> None:
    """A real header, then ``gib`` GiB of newlines, gzipped to a few MB (64 MiB
    members repeated: one deflate pass instead of ``gib`` * 16)."""
    member = gzip.compress(b"\n" * (64 << 20), compresslevel=9, mtime=0)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(HEADER, mtime=0))
        for _ in range(gib * 16):
            fh.write(member)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_gzip_bomb_loads_inside_2_gib(tmp_path: Path) -> None:
    """4 GiB of newlines behind a real header, read under a 2 GiB address-space
    limit in a child process: it loads (no rows), or fails with a CaptureFileError;
    never a MemoryError."""
    path = tmp_path / "bomb.jsonl.gz"
    _bomb(path, 4)
    assert path.stat().st_size < 8 << 20
    script = textwrap.dedent(
        f"""
        import resource, sys
        import ssenb
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        try:
            cap = ssenb.load({str(path)!r})
        except ssenb.errors.CaptureFileError as exc:
            print("error", exc)
        else:
            print("loaded", len(cap.events), cap.notes)
        # VmHWM is this program's own peak: ru_maxrss would also count the pages it
        # shared with the test process between fork and exec
        with open("/proc/self/status") as fh:
            hwm = next(int(v.split()[1]) for v in fh if v.startswith("VmHWM:"))
        print("peak_mib", hwm // 1024)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=550,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "MemoryError" not in run.stderr
    assert run.stdout.startswith("loaded 0 "), run.stdout
    peak = int(run.stdout.split("peak_mib")[1])
    assert peak < 2048


def test_a_small_bomb_loads_with_bounded_reads(tmp_path: Path) -> None:
    """The streamed reader takes gzip members one after another and blank lines."""
    path = tmp_path / "b.jsonl.gz"
    member = gzip.compress(b"\n" * (1 << 20), mtime=0)
    path.write_bytes(gzip.compress(HEADER, mtime=0) + member * 40)
    cap = ssenb.load(path)
    assert len(cap.events) == 0 and cap.meta == {"url": "http://h/s"}


# -- structure ---------------------------------------------------------------------


def test_deep_nesting_in_a_row_is_a_bad_line(tmp_path: Path) -> None:
    path = _saved(tmp_path, "deep.jsonl")
    lines = path.read_bytes().split(b"\n")
    lines.insert(2, b"[" * 100_000 + b"]" * 100_000)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(CaptureFileError, match="line 3: .*nested too deeply") as err:
        ssenb.load(path)
    assert "on_bad_lines='skip'" in str(err.value)
    assert "ssenb.load(path" in str(err.value)
    cap = ssenb.load(path, on_bad_lines="skip")
    assert len(cap.events) == 5
    assert any("skipped 1 bad line" in n for n in cap.notes)


def test_deep_nesting_in_a_record_line_is_a_bad_line(tmp_path: Path) -> None:
    path = _saved(tmp_path, "deep.jsonl")
    lines = path.read_bytes().split(b"\n")
    lines.insert(2, b'{"ssenb":"raw","x":' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(CaptureFileError, match="line 3: .*nested too deeply"):
        ssenb.load(path)


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        pytest.param(150, "header.s meta nests deeper than 100", id="over-limit"),
        pytest.param(100_000, "capture header cannot be read .*too deeply", id="huge"),
    ],
)
def test_deep_nesting_in_the_header(tmp_path: Path, depth: int, message: str) -> None:
    path = tmp_path / "deep.jsonl"
    meta = b'{"a":' * depth + b"1" + b"}" * depth
    path.write_bytes(b'{"ssenb":"capture","schema":1,"meta":' + meta + b"}\n")
    with pytest.raises(CaptureFileError, match=f"line 1: the {message}"):
        ssenb.load(path)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
@pytest.mark.parametrize("cut", [1, 20, 50])
def test_a_file_cut_inside_its_header(tmp_path: Path, suffix: str, cut: int) -> None:
    whole = _saved(tmp_path, "whole.jsonl").read_bytes()
    path = tmp_path / f"cut{suffix}"
    head = whole[:cut]
    path.write_bytes(gzip.compress(head) if suffix.endswith("gz") else head)
    with pytest.raises(CaptureFileError, match="ends inside its header line") as err:
        ssenb.load(path)
    assert f"after {cut} bytes" in str(err.value)
    assert "not an ssenb capture" not in str(err.value)


def test_a_gzip_cut_inside_its_header(tmp_path: Path) -> None:
    whole = gzip.compress(_saved(tmp_path, "whole.jsonl").read_bytes())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[:40])
    with pytest.raises(CaptureFileError, match="ends inside its header line"):
        ssenb.load(path)


def test_a_bad_line_mid_file_points_to_ssenb_load(tmp_path: Path) -> None:
    path = _saved(tmp_path, "bad.jsonl")
    lines = path.read_bytes().split(b"\n")
    lines[3] = b"not json"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(CaptureFileError, match="line 4: a line that is not valid"):
        ssenb.load(path)
    cap = ssenb.load(path, on_bad_lines="skip")
    assert len(cap.events) == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "is empty", id="empty"),
        pytest.param(b"\n\n  \n", "is empty", id="blank-lines"),
        pytest.param(
            b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not an ssenb", id="png"
        ),
        pytest.param(
            b"data: hi\n\n", "read it with ssenb.frames.read_sse", id="raw-sse"
        ),
        pytest.param(b"x" * 100_000, "not an ssenb", id="one-long-foreign-line"),
    ],
)
def test_foreign_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(content)
    with pytest.raises(CaptureFileError, match=message):
        ssenb.load(path)


def test_blocks_keep_line_numbers_and_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in tiny blocks, a capture gives the same frames, and a bad line far
    into the file is named by its number."""
    from ssenb.store import _jsonl

    events = _events(300)
    path = write_capture(tmp_path / "c.jsonl", {}, events, empty_connections())
    monkeypatch.setattr(_jsonl, "_BLOCK", 2000)
    back = read_capture(path)
    pd.testing.assert_frame_equal(back.events, events, check_categorical=False)
    lines = path.read_bytes().split(b"\n")
    lines[250] = b'{"nope": 1}'
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(CaptureFileError, match="line 251: an events row") as err:
        read_capture(path, max_line_size=600)
    assert err.value.rows_recovered == 249


# -- Parquet -----------------------------------------------------------------------


def _rewrite(path: Path, column: str, values: pa.Array | None) -> None:
    table = pq.read_table(path)
    metadata = table.schema.metadata
    index = table.schema.get_field_index(column)
    if values is None:
        table = table.remove_column(index)
    else:
        table = table.set_column(index, column, values)
    pq.write_table(table.replace_schema_metadata(metadata), path)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        pytest.param(
            "kind",
            pa.array([1, 2, 3, 4, 5]),
            r"column 'kind' holds int64 values",
            id="kind-ints",
        ),
        pytest.param(
            "time",
            pa.array(["a"] * 5),
            r"column 'time' holds string values; .* timestamps",
            id="time-strings",
        ),
        pytest.param(
            "size",
            pa.array(["1"] * 5),
            r"column 'size' holds string",
            id="size-strings",
        ),
        pytest.param(
            "kind",
            pa.array(["event", "x", "event", "event", "y"]),
            r"column 'kind' holds 'x', 'y'",
            id="kind-unknown",
        ),
        pytest.param("data", None, r"column\(s\) 'data' are missing", id="missing"),
        pytest.param(
            "offset",
            pa.array([1, None, 3, 4, 5], pa.int64()),
            r"column 'offset' has missing values",
            id="null-ints",
        ),
    ],
)
def test_parquet_with_wrong_columns(
    tmp_path: Path, column: str, values: pa.Array | None, message: str
) -> None:
    path = _saved(tmp_path, "c.parquet")
    _rewrite(path, column, values)
    with pytest.raises(CaptureFileError, match=message) as err:
        ssenb.load(path)
    assert "Capture.save" in str(err.value)


def test_blank_lines_between_rows_are_ignored(tmp_path: Path) -> None:
    path = _saved(tmp_path, "blank.jsonl")
    lines = path.read_bytes().split(b"\n")
    lines[2:2] = [b"", b"   ", b"\t"]
    path.write_bytes(b"\n".join(lines))
    cap = ssenb.load(path)
    pd.testing.assert_frame_equal(cap.events, _events(), check_categorical=False)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".parquet"])
def test_a_file_cut_anywhere_loads_or_says_why(tmp_path: Path, suffix: str) -> None:
    """Every cut of a capture: what was written loads (with notes), or a
    CaptureFileError; never another exception."""
    whole = _saved(tmp_path, f"whole{suffix}").read_bytes()
    path = tmp_path / f"cut{suffix}"
    step = max(1, len(whole) // 150)
    outcomes = set()
    for cut in range(0, len(whole), step):
        path.write_bytes(whole[:cut])
        try:
            cap = ssenb.load(path)
        except CaptureFileError as exc:
            assert str(path) in str(exc)
            outcomes.add("error")
        else:
            assert len(cap.events) <= 5
            outcomes.add("loaded")
    assert "error" in outcomes
    if suffix != ".parquet":  # a cut Parquet file has no footer: nothing loads
        assert "loaded" in outcomes
