"""Capture files: exact round trips, crash recovery with a real kill -9, and clear
errors for files that are not captures. Every test writes and reads real files."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssenb.errors import CaptureFileError
from ssenb.frames import (
    CONNECTIONS_SCHEMA,
    EVENTS_SCHEMA,
    build_events,
    coerce,
    empty_connections,
    empty_events,
    read_sse,
)
from ssenb.parse import SSEParser
from ssenb.store import (
    SCHEMA_VERSION,
    CaptureLog,
    export_sse,
    import_sse,
    read_capture,
    timing_path,
    write_capture,
)

REPO = Path(__file__).resolve().parents[1]
FORMATS = [".jsonl", ".jsonl.gz", ".parquet"]

# Every kind of record, ids set / empty / absent, NUL and control characters,
# quotes and backslashes, multi-byte UTF-8 (split across chunks below), U+2028.
TRICKY = (
    b"retry: 1500\n\n"
    b": keep-alive \x01\x1f\x7f\n\n"
    b"\n"
    b'event: tick\nid: 7\ndata: {"n": 1, "s": "q\\"b\\\\"}\n\n'
    b"data: nul\x00here\x02\ndata: second line\n\n"
    b"id\ndata: empty id\n\n"
    b"event: \xe5\xa4\xa9\xe6\xb0\x97\n"
    b"data: caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8\n\n"
    b"data:\n\n"
    b"id: only-id\n\n"
    b"event: end\ndata: \\u0000 is not NUL\n\n"
)


def _batch(data: bytes, chunk: int = 7) -> Any:
    parser = SSEParser()
    batch = parser.feed_batch(b"")
    for i in range(0, len(data), chunk):
        batch.extend(parser.feed_batch(data[i : i + chunk]))
    batch.extend(parser.close_batch())
    return batch


def _concat(frames: list[pd.DataFrame], schema: dict[str, Any]) -> pd.DataFrame:
    cats = [n for n, d in schema.items() if str(d) == "category"]
    plain = [f.astype(dict.fromkeys(cats, object)) for f in frames]
    return coerce(pd.concat(plain, ignore_index=True), schema, what="test")


def tricky_events() -> pd.DataFrame:
    batch = _batch(TRICKY)
    n = len(batch)
    times = pd.to_datetime(
        [1_767_225_600_123_456_789 + i * 1_001 for i in range(n)], unit="ns", utc=True
    ).tolist()
    times[2] = pd.NaT
    elapsed = [0.1 * i for i in range(n)]
    elapsed[1:6] = [
        float("nan"),
        float("inf"),
        -float("inf"),
        5e-324,
        1.7976931348623157e308,
    ]
    a = build_events(batch, stream="", connection=1, time=times, elapsed=elapsed)
    b = build_events(
        _batch(b"data: x\n\ndata: \n\n", 1),
        stream='str\u00e9am "2"',
        connection=3,
        seq_start=100,
    )
    events = _concat([a, b], EVENTS_SCHEMA)
    events["type"] = events["type"].cat.add_categories(["never-seen"])
    return events


def connection_row(stream: str, connection: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "stream": stream,
        "connection": connection,
        "url": "http://127.0.0.1:8000/stream?q=\u00e9",
        "method": "GET",
        "status": 200,
        "content_type": "text/event-stream; charset=utf-8",
        "last_event_id_sent": None,
        "delay": 0.0,
        "t_request": pd.Timestamp("2026-01-01T00:00:00.000000001Z"),
        "t_headers": pd.Timestamp("2026-01-01T00:00:00.5Z"),
        "t_first_byte": pd.NaT,
        "t_closed": pd.Timestamp("2026-01-01T00:00:01.999999999Z"),
        "start": 0.0,
        "end": 2.0,
        "bytes": 123,
        "records": 10,
        "events": 6,
        "outcome": "eof",
        "error": None,
        "retry": 1500,
        "time_scale": 1.0,
        "discarded": 0,
    }
    row.update(values)
    return row


def tricky_connections() -> pd.DataFrame:
    rows = [
        connection_row("", 1),
        connection_row(
            'str\u00e9am "2"',
            3,
            status=None,
            last_event_id_sent="",
            error='boom\n\x00\ttab "quoted"',
            outcome="error",
            retry=None,
            delay=float("nan"),
            t_request=pd.NaT,
        ),
    ]
    return coerce(pd.DataFrame(rows), CONNECTIONS_SCHEMA, what="connections")


RAW = {
    ("", 1): [
        (0.0, TRICKY[:10]),
        (0.25, TRICKY[10:11]),
        (0.5, b""),
        (1.0, TRICKY[11:]),
    ],
    ('str\u00e9am "2"', 3): [(float("nan"), b"\x00\xff\xfe data: x\n\n")],
}
META = {
    "url": "http://127.0.0.1/x",
    "note": "caf\u00e9 \x00",
    "nested": {"a": [1, None]},
}


def _assert_same(data: Any, events: pd.DataFrame, connections: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(data.events, events)
    pd.testing.assert_frame_equal(data.connections, connections)


def _raw_equal(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    def norm(raw: dict[Any, Any]) -> dict[Any, Any]:
        return {k: [(repr(t), c) for t, c in v] for k, v in raw.items()}

    return norm(a) == norm(b)


# -- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_write_capture_round_trips_every_tricky_value(
    tmp_path: Path, suffix: str
) -> None:
    events, connections = tricky_events(), tricky_connections()
    path = write_capture(tmp_path / f"c{suffix}", META, events, connections, RAW)
    data = read_capture(path)
    _assert_same(data, events, connections)
    assert data.meta == META
    assert _raw_equal(data.raw, RAW)
    assert (data.rows_recovered, data.notes) == (0, [])
    # the two distinct "no id" values survive: '' and <NA>
    ids = data.events["id"]
    assert (ids == "").sum() == 1 and ids.isna().sum() == (events["id"].isna()).sum()
    assert list(data.events["type"].cat.categories) == list(
        events["type"].cat.categories
    )


@pytest.mark.parametrize("suffix", FORMATS)
def test_empty_capture_round_trips(tmp_path: Path, suffix: str) -> None:
    path = write_capture(
        tmp_path / f"e{suffix}", {}, empty_events(), empty_connections()
    )
    data = read_capture(path)
    _assert_same(data, empty_events(), empty_connections())
    assert (data.meta, data.raw, data.rows_recovered, data.notes) == ({}, {}, 0, [])


@pytest.mark.parametrize("suffix", FORMATS)
def test_real_streams_round_trip(tmp_path: Path, suffix: str) -> None:
    real = next(
        (
            p
            for p in (
                REPO.parent / "shared/data-real",
                REPO.parents[1] / "shared/data-real",
            )
            if p.is_dir()
        ),
        None,
    )
    if real is None:
        pytest.skip("shared/data-real is not present")
    frames = [
        read_sse(f, stream=f.stem).assign(connection=i + 1)
        for i, f in enumerate(sorted(real.glob("*.sse")))
    ]
    events = _concat(frames, EVENTS_SCHEMA)
    raw = {
        (f.stem, i + 1): [(0.0, f.read_bytes())]
        for i, f in enumerate(sorted(real.glob("*.sse")))
    }
    connections = coerce(
        pd.DataFrame([connection_row(s, c) for s, c in raw]),
        CONNECTIONS_SCHEMA,
        what="",
    )
    data = read_capture(
        write_capture(tmp_path / f"r{suffix}", {}, events, connections, raw)
    )
    _assert_same(data, events, connections)
    assert _raw_equal(data.raw, raw)


def test_jsonl_lines_are_plain_json_objects(tmp_path: Path) -> None:
    events = tricky_events()
    path = write_capture(tmp_path / "c.jsonl", META, events, tricky_connections(), RAW)
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert lines[0] == {"ssenb": "capture", "schema": SCHEMA_VERSION, "meta": META}
    rows = [x for x in lines if "ssenb" not in x]
    assert len(rows) == len(events)
    assert list(rows[0]) == list(EVENTS_SCHEMA)
    assert lines[-1] == {
        "ssenb": "end",
        "events": len(events),
        "connections": 2,
        "raw": 5,
    }


# -- the append log ------------------------------------------------------------------


def test_capture_log_round_trip_with_frames_of_different_categories(
    tmp_path: Path,
) -> None:
    a = build_events(_batch(TRICKY), stream="a", connection=1, elapsed=0.5)
    b = build_events(_batch(b"event: x\ndata: y\n\n"), stream="b", connection=2)
    path = tmp_path / "log.jsonl"
    with CaptureLog(path, META, flush_rows=3) as log:
        log.write_events(a)
        log.write_raw("a", 1, 0.5, TRICKY)
        log.write_connection(connection_row("a", 1))
        log.write_events(b)
        log.write_events(empty_events())
        log.write_connection(connection_row("b", 2, outcome="stopped"))
    assert log.closed
    data = read_capture(path)
    _assert_same(
        data,
        _concat([a, b], EVENTS_SCHEMA),
        _concat(
            [
                coerce(
                    pd.DataFrame([connection_row("a", 1)]), CONNECTIONS_SCHEMA, what=""
                ),
                coerce(
                    pd.DataFrame([connection_row("b", 2, outcome="stopped")]),
                    CONNECTIONS_SCHEMA,
                    what="",
                ),
            ],
            CONNECTIONS_SCHEMA,
        ),
    )
    assert data.raw == {("a", 1): [(0.5, TRICKY)]}
    assert (data.rows_recovered, data.notes, data.meta) == (0, [], META)


def test_capture_log_is_thread_safe(tmp_path: Path) -> None:
    path = tmp_path / "threads.jsonl"
    batch = _batch(b"".join(b"data: %d\n\n" % i for i in range(20)))

    def writer(log: CaptureLog, stream: str) -> None:
        for k in range(25):
            log.write_events(build_events(batch, stream=stream, seq_start=k * 20))
            if k % 5 == 0:
                log.flush()

    with CaptureLog(path, {}, flush_interval=0.01, flush_rows=50) as log:
        threads = [
            threading.Thread(target=writer, args=(log, f"s{i}")) for i in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    data = read_capture(path)
    assert data.notes[0].startswith("added 4 connections row(s)")
    for i in range(4):
        seqs = data.events.loc[data.events["stream"] == f"s{i}", "seq"]
        assert sorted(seqs) == list(range(500))


def test_capture_log_flushes_by_time_without_more_writes(tmp_path: Path) -> None:
    path = tmp_path / "idle.jsonl"
    log = CaptureLog(path, {}, flush_interval=0.02, flush_rows=10**6)
    try:
        log.write_events(build_events(_batch(b"data: idle\n\n")))
        deadline = time.monotonic() + 20
        while b"idle" not in path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        data = read_capture(path)  # read while the log is still open
        assert data.events["data"].tolist() == ["idle"]
        assert data.rows_recovered == 1
    finally:
        log.close()
    done = read_capture(path)
    assert done.rows_recovered == 0
    assert not any("did not finish" in n for n in done.notes)


def test_capture_log_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.jsonl"):
        CaptureLog(tmp_path / "x.parquet", {})
    with CaptureLog(tmp_path / "x.jsonl", {}) as log:
        with pytest.raises(ValueError, match="missing \\['url'"):
            row = connection_row("", 1)
            del row["url"]
            log.write_connection(row)
        with pytest.raises(ValueError, match="lacks the columns"):
            log.write_events(pd.DataFrame({"data": ["x"]}))
    with pytest.raises(ValueError, match="closed"):
        log.write_raw("", 1, 0.0, b"x")
    with pytest.raises(TypeError, match="JSON values"):
        CaptureLog(tmp_path / "y.jsonl", {"x": object()})


CHILD = r"""
import sys
from ssenb.parse import SSEParser
from ssenb.frames import build_events
from ssenb.store import CaptureLog

log = CaptureLog(sys.argv[1], {"child": True}, flush_interval=60, flush_rows=10**9)
parser = SSEParser()
seq = 0
while True:
    body = b"".join(b"id: %d\ndata: tick %d\n\n" % (i, i) for i in range(seq, seq + 50))
    batch = parser.feed_batch(body)
    frame = build_events(batch, stream="s", seq_start=seq, elapsed=0.0)
    log.write_events(frame)
    log.write_raw("s", 1, 0.0, body)
    log.flush()
    seq += len(frame)
    print(seq, flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_capture_log_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO,
    ) as child:
        try:
            assert child.stdout is not None
            flushed = 0
            for line in child.stdout:
                flushed = int(line)
                if flushed >= 1000:
                    break
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert flushed >= 1000
    data = read_capture(path)
    events = data.events
    assert len(events) >= flushed
    assert events["seq"].tolist() == list(range(len(events)))
    assert (events["data"] == "tick " + events["id"]).all()
    assert data.rows_recovered == len(events)
    assert "did not finish" in data.notes[0]
    assert f"recovered {len(events)} events rows" in data.notes[0]
    conn = data.connections
    assert conn["outcome"].tolist() == ["interrupted"]
    assert conn["records"].tolist() == [len(events)]
    # every raw chunk that was flushed came back byte-exact
    body = b"".join(chunk for _, chunk in data.raw[("s", 1)])
    assert read_sse(body)["data"].tolist()[: len(events)] == events["data"].tolist()


def test_a_file_cut_mid_line_loads_every_complete_line(tmp_path: Path) -> None:
    events = tricky_events()
    path = write_capture(tmp_path / "c.jsonl", META, events, tricky_connections())
    text = path.read_bytes()
    lines = text.split(b"\n")
    cut = len(b"\n".join(lines[:6])) + 1 + 20  # 20 bytes into line 7 (row 5)
    path.write_bytes(text[:cut])
    data = read_capture(path)
    pd.testing.assert_frame_equal(
        data.events, events.iloc[:5].reset_index(drop=True), check_categorical=False
    )
    assert data.rows_recovered == 5
    assert "recovered 5 events rows" in data.notes[0]
    assert any("partial last line (line 7" in n for n in data.notes)
    assert any("interrupted" in n for n in data.notes)


def test_a_cut_that_ends_exactly_at_a_line_end_keeps_that_line(tmp_path: Path) -> None:
    events = tricky_events()
    path = write_capture(tmp_path / "c.jsonl", {}, events, empty_connections())
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:4]))  # no newline after line 4
    data = read_capture(path)
    assert data.events["seq"].tolist() == [0, 1, 2]
    assert not any("partial" in n for n in data.notes)


def test_a_cut_gzip_file_loads_what_it_holds(tmp_path: Path) -> None:
    events = tricky_events()
    path = write_capture(tmp_path / "c.jsonl.gz", {}, events, empty_connections())
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) * 2 // 3])
    data = read_capture(path)
    assert data.events["seq"].tolist() == events["seq"].tolist()[: len(data.events)]
    assert any("gzip stream is cut short" in n for n in data.notes)


# -- files that are not captures -----------------------------------------------------


def _header(schema: int = 1) -> bytes:
    return (
        json.dumps({"ssenb": "capture", "schema": schema, "meta": {}}).encode() + b"\n"
    )


def _good_row(**values: Any) -> bytes:
    row = json.loads(
        write_capture_text(build_events(_batch(b"data: x\n\n"))).splitlines()[1]
    )
    row.update(values)
    return json.dumps(row).encode() + b"\n"


def write_capture_text(events: pd.DataFrame) -> str:
    from ssenb.store._jsonl import iter_capture_lines

    return b"".join(
        bytes(p) for p in iter_capture_lines({}, events, empty_connections(), {})
    ).decode()


GARBAGE = {
    "empty": (b"", 1, "is empty"),
    "blank-lines": (b"\n\n\n", 1, "is empty"),
    "csv": (b"a,b,c\n1,2,3\n", 1, "not an ssenb capture file"),
    "random-bytes": (random.Random(5).randbytes(3000), 1, "not an ssenb capture"),
    "json-array": (b"[1, 2, 3]\n", 1, "not an ssenb capture file"),
    "other-jsonl": (b'{"a": 1}\n{"a": 2}\n', 1, "not an ssenb capture file"),
    "no-schema": (b'{"ssenb": "capture", "meta": {}}\n', 1, "no valid schema"),
    "newer-schema": (_header(SCHEMA_VERSION + 1), 1, "Upgrade ssenb"),
    "meta-not-object": (b'{"ssenb":"capture","schema":1,"meta":[1]}\n', 1, "meta"),
    "bad-json-row": (
        _header() + _good_row() + b"{nope\n" + _good_row(),
        3,
        "not valid",
    ),
    "wrong-type": (_header() + _good_row(seq="1"), 2, "column 'seq'"),
    "missing-int": (_header() + _good_row() + _good_row(size=None), 3, "'size'"),
    "unknown-kind": (_header() + _good_row(kind="eventx"), 2, "'kind'"),
    "extra-key": (_header() + _good_row(extra=1), 2, "unexpected keys"),
    "second-header": (_header() + _good_row() + _header(), 3, "second capture header"),
    "bad-raw": (
        _header() + b'{"ssenb":"raw","stream":"","connection":1,'
        b'"elapsed":0,"bytes":"***"}\n',
        2,
        "base64",
    ),
    "bad-connection": (
        _header() + b'{"ssenb":"connection","row":{"stream":1}}\n',
        2,
        "connections row",
    ),
    "after-end": (
        _header()
        + b'{"ssenb":"end","events":0,"connections":0,"raw":0}\n'
        + _good_row(),
        3,
        "after the end line",
    ),
    "end-count": (
        _header() + _good_row() + b'{"ssenb":"end","events":2,'
        b'"connections":0,"raw":0}\n',
        3,
        "counts do not match",
    ),
    "gzip-of-csv": (gzip.compress(b"a,b\n1,2\n"), 1, "not an ssenb capture"),
    "raw-sse": (b": hi\n\ndata: x\n\n", 1, "read it with ssenb.frames.read_sse"),
    "bad-categories": (
        _header() + b'{"ssenb":"categories","events":{"type":[1]}}\n',
        2,
        "categories record",
    ),
}


@pytest.mark.parametrize("case", list(GARBAGE), ids=list(GARBAGE))
def test_foreign_or_corrupt_files_raise_capture_file_error(
    tmp_path: Path, case: str
) -> None:
    content, line, words = GARBAGE[case]
    path = tmp_path / "f.jsonl"
    path.write_bytes(content)
    with pytest.raises(CaptureFileError) as info:
        read_capture(path)
    error = info.value
    assert words in str(error)
    assert str(path) in str(error)
    assert (error.path, error.line) == (str(path), line)


def test_a_bad_line_error_counts_the_rows_before_it(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(_header() + _good_row() + _good_row() + b"garbage\n" + _good_row())
    with pytest.raises(CaptureFileError, match="line 4") as info:
        read_capture(path)
    assert info.value.rows_recovered == 2
    assert "on_bad_lines='skip'" in str(info.value)
    data = read_capture(path, on_bad_lines="skip")
    assert len(data.events) == 3
    assert any("skipped 1 bad line(s); the first, line 4" in n for n in data.notes)


def test_parquet_written_by_someone_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(path)
    with pytest.raises(CaptureFileError, match="not an ssenb capture.*columns: a"):
        read_capture(path)


def test_corrupt_parquet_is_refused(tmp_path: Path) -> None:
    good = write_capture(
        tmp_path / "c.parquet", {}, tricky_events(), empty_connections()
    )
    path = tmp_path / "bad.parquet"
    path.write_bytes(good.read_bytes()[:100] + b"\x00" * 50)
    with pytest.raises(CaptureFileError, match="not a readable Parquet file") as info:
        read_capture(path)
    assert info.value.path == str(path)


def test_newer_parquet_schema_says_upgrade(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = write_capture(
        tmp_path / "c.parquet", {}, empty_events(), empty_connections()
    )
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata)
    header = json.loads(metadata[b"ssenb"])
    header["schema"] = SCHEMA_VERSION + 1
    metadata[b"ssenb"] = json.dumps(header).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)
    with pytest.raises(CaptureFileError, match="newer ssenb.*Upgrade"):
        read_capture(path)


# -- writing ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_overwrite_false_refuses_an_existing_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c{suffix}"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_capture(path, {}, empty_events(), empty_connections(), overwrite=False)
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_capture_log_with_overwrite_false_refuses_an_existing_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        CaptureLog(path, {}, overwrite=False)
    assert path.read_bytes() == b"precious"
    with CaptureLog(path, {}):  # overwrite=True by default
        pass
    assert read_capture(path).events.empty


def test_write_capture_refuses_unknown_suffixes_and_bad_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.jsonl, \.jsonl\.gz, \.parquet"):
        write_capture(tmp_path / "c.csv", {}, empty_events(), empty_connections())
    with pytest.raises(ValueError, match="lacks the columns"):
        write_capture(
            tmp_path / "c.jsonl", {}, pd.DataFrame({"x": [1]}), empty_connections()
        )
    assert list(tmp_path.iterdir()) == []


# -- raw .sse export -------------------------------------------------------------------


def test_export_and_import_sse_are_byte_exact(tmp_path: Path) -> None:
    raw = {**RAW, ("a/b", 2): [(1.5, b"data: \xe2\x82"), (1.75, b"\xac\n\n")]}
    paths = export_sse(raw, tmp_path / "out", name="run")
    assert [p.name for p in paths] == [
        "run-1.sse",
        "run-a_b-2.sse",
        "run-str_am_2_-3.sse",
    ]
    keys = [("", 1), ("a/b", 2), ('str\u00e9am "2"', 3)]
    for path, key in zip(paths, keys, strict=True):
        assert timing_path(path).exists()
        assert path.read_bytes() == b"".join(c for _, c in raw[key])
        assert _raw_equal({key: import_sse(path)}, {key: raw[key]})
    assert read_sse(paths[1])["data"].tolist() == ["\u20ac"]


def test_import_sse_without_sidecar_and_with_a_wrong_one(tmp_path: Path) -> None:
    path = tmp_path / "plain.sse"
    path.write_bytes(b"data: x\n\n")
    assert import_sse(path) == [(0.0, b"data: x\n\n")]
    timing_path(path).write_text(
        json.dumps({"ssenb": "sse-timing", "elapsed": [0], "sizes": [3]})
    )
    with pytest.raises(
        CaptureFileError, match="describes 3 bytes but plain.sse holds 9"
    ):
        import_sse(path)
    timing_path(path).write_text("not json")
    with pytest.raises(CaptureFileError, match="not valid JSON"):
        import_sse(path)


def test_export_sse_of_a_capture_replays_to_the_same_events(tmp_path: Path) -> None:
    path = write_capture(
        tmp_path / "c.jsonl", {}, tricky_events(), tricky_connections(), RAW
    )
    data = read_capture(path)
    [first, _] = export_sse(data.raw, tmp_path)
    replay = read_sse(b"".join(chunk for _, chunk in import_sse(first)))
    original = data.events[data.events["connection"] == 1]
    assert replay["data"].tolist() == original["data"].tolist()
    assert replay["offset"].tolist() == original["offset"].tolist()


def test_numpy_meta_values_are_written_as_json(tmp_path: Path) -> None:
    meta = {"n": np.int64(3), "t": pd.Timestamp("2026-01-01", tz="UTC"), "p": tmp_path}
    path = write_capture(
        tmp_path / "m.jsonl", meta, empty_events(), empty_connections()
    )
    assert read_capture(path).meta == {
        "n": 3,
        "t": "2026-01-01T00:00:00+00:00",
        "p": str(tmp_path),
    }


def test__slow_path_reads_what_the_fast_path_reads(tmp_path: Path) -> None:
    from ssenb.store import _codec, _jsonl

    path = write_capture(
        tmp_path / "c.jsonl", META, tricky_events(), tricky_connections(), RAW
    )
    data = path.read_bytes()
    start = data.index(b"\n") + 1
    fast = _jsonl._fast(data, start, len(data))
    assert fast is not None
    slow = _jsonl._slow(data[start:], str(path), "error", [])
    for table, records in (fast, slow):
        events = _codec.table_to_frame(table, EVENTS_SCHEMA)
        pd.testing.assert_frame_equal(events, tricky_events(), check_categorical=False)
        assert len(records.connections) == 2 and records.raw_count == 5


def test_read_capture_refuses_an_unknown_on_bad_lines(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl", {}, empty_events(), empty_connections())
    with pytest.raises(ValueError, match="'error' or 'skip'"):
        read_capture(path, on_bad_lines="ignore")  # type: ignore[arg-type]


def test_corrupt_gzip_loads_the_readable_part_and_says_so(tmp_path: Path) -> None:
    events = tricky_events()
    path = write_capture(tmp_path / "c.jsonl.gz", {}, events, empty_connections())
    whole = bytearray(path.read_bytes())
    whole[len(whole) // 2 :] = bytes(len(whole) - len(whole) // 2)  # zeroed tail
    path.write_bytes(bytes(whole))
    data = read_capture(path)
    assert data.events["seq"].tolist() == events["seq"].tolist()[: len(data.events)]
    assert any("gzip" in n for n in data.notes)


def test_an_event_larger_than_a_parse_block_round_trips(tmp_path: Path) -> None:
    from ssenb.store import _jsonl

    big = b"data: " + b'x\\"' * 1_500_000 + b"\n\n"
    events = build_events(_batch(b"data: a\n\n" * 3 + big + b"data: b\n\n", 1 << 20))
    path = write_capture(tmp_path / "big.jsonl", {}, events, empty_connections())
    data = path.read_bytes()
    start = data.index(b"\n") + 1
    assert _jsonl._fast(data, start, len(data)) is not None  # not the slow path
    pd.testing.assert_frame_equal(read_capture(path).events, events)


FULL_DISK_CHILD = r"""
import resource, signal, sys
from ssenb.parse import SSEParser
from ssenb.frames import build_events
from ssenb.store import CaptureLog

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))
log = CaptureLog(sys.argv[1], {}, flush_interval=60)
batch = SSEParser().feed_batch(b"data: 0123456789\n\n" * 50)
try:
    for k in range(1000):
        log.write_events(build_events(batch, seq_start=k * 50))
        log.flush()
except OSError as exc:
    print("flush:", exc)
for call in (lambda: log.write_raw("", 1, 0.0, b"x"), log.close):
    try:
        call()
    except OSError as exc:
        print("later:", exc)
"""


@pytest.mark.skipif(
    sys.platform != "linux", reason="RLIMIT_FSIZE and EFBIG as on Linux"
)
def test_a_failing_disk_breaks_the_log_loudly_and_keeps_what_was_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "full.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CHILD, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    messages = proc.stdout.splitlines()
    assert messages[0].startswith("flush: [Errno 27] writing")
    assert f"{path} failed: File too large; the rows written before" in messages[0]
    assert [m.split(":")[0] for m in messages[1:]] == ["later", "later"]
    data = read_capture(path)
    assert 0 < len(data.events) < 50_000
    assert data.events["seq"].tolist() == list(range(len(data.events)))
    assert "did not finish" in data.notes[0]


def test_write_capture_gzip_is_reproducible(tmp_path: Path) -> None:
    # no file name or time in the gzip header: the same capture, the same bytes
    events = read_sse(b"data: a\n\n: ping\n\n")
    a, b = tmp_path / "one.jsonl.gz", tmp_path / "two.jsonl.gz"
    write_capture(a, {"url": "u"}, events, empty_connections())
    write_capture(b, {"url": "u"}, events, empty_connections())
    assert a.read_bytes() == b.read_bytes()
