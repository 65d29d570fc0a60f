"""Capture and files: recording to a path while capturing, save/load, and a real
kill -9 during a recording. These need ``ssenb.store``; they skip without it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _sse_script import Reply, serve, sse

import ssenb
from ssenb._reconnect import Backoff

store = pytest.importorskip("ssenb.store")
if not all(hasattr(store, n) for n in ("CaptureLog", "read_capture", "write_capture")):
    pytest.skip("ssenb.store lacks the capture file API", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
FAST = {"retry": 0.01, "backoff": Backoff(initial=0.0), "progress": False}


def ticking(n: int = 100_000, every: float = 0.005) -> Reply:
    return Reply([(every, sse(f"id: {i}\ndata: tick {i}")) for i in range(n)])


def same_rows(a: ssenb.Capture, b: ssenb.Capture) -> None:
    cols = ["stream", "connection", "seq", "kind", "type", "data", "id", "offset"]
    left = a.events[cols].astype(str).values.tolist()
    right = b.events[cols].astype(str).values.tolist()
    assert left == right
    assert (a.events["time"] == b.events["time"]).all()
    assert a.connections["outcome"].tolist() == b.connections["outcome"].tolist()


def test_capture_records_to_a_path_as_it_goes(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    replies = [Reply([sse(": hi", "id: 1\ndata: a")]), Reply([sse("id: 2\ndata: b")])]
    with serve({"/s": replies}) as (base, _):
        cap = ssenb.capture(
            base + "/s?token=SECRET1",
            headers={"Authorization": "Bearer SECRET2"},
            path=path,
            max_reconnects=1,
            **FAST,
        )
    loaded = ssenb.load(path)
    same_rows(cap, loaded)
    assert loaded.rows_recovered == 0
    assert loaded.raw == cap.raw
    text = path.read_bytes()
    assert b"SECRET1" not in text and b"SECRET2" not in text
    assert loaded.meta["url"] == cap.meta["url"]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".parquet"])
def test_capture_save_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    with serve(
        {"/s": [Reply([sse("event: x\nid: 1\ndata: é", ": c", "retry: 5")])]}
    ) as (
        base,
        _,
    ):
        cap = ssenb.capture(base + "/s", reconnect=False, progress=False)
    path = cap.save(tmp_path / f"cap{suffix}")
    loaded = ssenb.load(path)
    same_rows(cap, loaded)
    assert loaded.meta == cap.meta


def test_recorder_to_a_path_then_load(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with serve({"/s": [ticking()]}) as (base, _):
        rec = ssenb.Recorder(base + "/s", path=path, **FAST).start()
        deadline = time.monotonic() + 10
        while len(rec) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        cap = rec.stop()
    same_rows(cap, ssenb.load(path))
    import threading

    left = [t.name for t in threading.enumerate() if t.name.startswith("ssenb-")]
    assert left == []


def test_capture_killed_with_sigkill_leaves_a_file_load_reads(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    with serve({"/s": [ticking()]}) as (base, _):
        code = (
            "import ssenb; "
            f"ssenb.capture({base + '/s'!r}, path={str(path)!r}, progress=False)"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if path.exists() and path.read_bytes().count(b'"tick ') >= 50:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the recording wrote no rows in time")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    on_disk = path.read_bytes().count(b'"tick ')
    loaded = ssenb.load(path)
    events = loaded.events[loaded.events["kind"] == "event"]
    assert len(events) >= 50
    assert len(events) >= on_disk - 1  # at most the partial last line is lost
    assert events["data"].tolist() == [f"tick {i}" for i in range(len(events))]
    assert loaded.rows_recovered == len(loaded.events)
    assert loaded.meta["url"].endswith("/s")
