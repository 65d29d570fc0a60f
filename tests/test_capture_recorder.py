"""Background recording (Recorder) and many streams at once (capture_many)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from _sse_script import Reply, serve, sse

import ssenb
from ssenb._reconnect import Backoff
from ssenb.capture import acapture_many

FAST = {"retry": 0.01, "backoff": Backoff(initial=0.0)}


def ssenb_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ssenb-rec")]


def ticking(n: int = 10_000, every: float = 0.01) -> Reply:
    return Reply([(every, sse(f"id: {i}\ndata: {i}")) for i in range(n)])


def wait_for(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_recorder_snapshots_while_recording_and_stops_cleanly() -> None:
    with serve({"/s": [ticking()]}) as (base, _):
        rec = ssenb.Recorder(base + "/s", **FAST)
        rec.start()
        assert rec.running
        wait_for(lambda: len(rec) >= 5)
        snap = rec.capture
        assert len(snap.events) >= 5
        assert snap.events["seq"].tolist() == list(range(len(snap.events)))
        stats = rec.stats()
        assert stats["streams"][""]["state"] == "open"
        assert stats["streams"][""]["connection"] == 1
        assert stats["streams"][""]["last_type"] == "message"
        wait_for(lambda: len(rec) > len(snap.events))
        cap = rec.stop()
    assert not rec.running
    assert ssenb_threads() == []
    assert len(cap.events) > len(snap.events)
    assert (
        cap.events["data"].tolist()[: len(snap.events)] == snap.events["data"].tolist()
    )
    assert cap.connections["outcome"].tolist() == ["stopped"]


def test_recorder_records_since_a_cursor_gives_each_row_once() -> None:
    with serve({"/s": [ticking()]}) as (base, _):
        with ssenb.Recorder(base + "/s", **FAST) as rec:
            seen: list[str] = []
            cursor = 0
            v0 = rec.version
            while len(seen) < 20:
                new = rec.records_since(cursor)
                if len(new):
                    assert new.index[0] == cursor
                    cursor = int(new.index[-1]) + 1
                    seen += new["data"].tolist()
                time.sleep(0.02)
            assert rec.version > v0
        final = rec.capture
    assert seen == final.events["data"].tolist()[: len(seen)]
    assert len(rec.records_since(10**9)) == 0


def test_recorder_stop_reraises_a_background_error() -> None:
    rec = ssenb.Recorder("ftp://127.0.0.1/s", **FAST)
    rec.start()
    wait_for(lambda: not rec.running)
    with pytest.raises(ValueError, match="ftp"):
        rec.stop()
    assert ssenb_threads() == []


def test_recorder_wait_returns_when_a_stop_condition_is_met() -> None:
    with serve({"/s": [ticking(every=0.0)]}) as (base, _):
        rec = ssenb.Recorder(base + "/s", max_events=50, **FAST).start()
        assert rec.wait(20)
        cap = rec.stop()
    assert (cap.events["kind"] == "event").sum() == 50
    assert cap.connections["outcome"].tolist() == ["max-events"]


def test_recorder_stop_before_any_connection_is_clean() -> None:
    with serve({"/s": [ticking()]}) as (base, _):
        rec = ssenb.Recorder(base + "/s", **FAST).start()
        cap = rec.stop()
    assert ssenb_threads() == []
    assert set(cap.connections["outcome"].astype(str)) <= {"stopped"}


def test_recorder_runs_beside_a_running_event_loop() -> None:
    """As in a notebook: the kernel's loop runs; the Recorder uses its own thread."""

    async def cell() -> ssenb.Capture:
        rec = ssenb.Recorder(base + "/s", **FAST).start()
        while len(rec) < 5:
            await asyncio.sleep(0.01)
        return rec.stop()

    with serve({"/s": [ticking()]}) as (base, _):
        cap = asyncio.run(cell())
    assert len(cap.events) >= 5
    assert ssenb_threads() == []


def test_recorder_refuses_a_client() -> None:
    with pytest.raises(TypeError, match="httpx_options"):
        ssenb.Recorder("http://127.0.0.1:1/", client=object())


def test_capture_many_records_each_stream_with_its_name() -> None:
    routes = {
        "/a": [Reply([sse("id: a1\ndata: x", "data: [DONE]")], hang=True)],
        "/b": [
            Reply([sse("event: tick\ndata: 1", "event: done\ndata: {}")], hang=True)
        ],
        "/c": [Reply([sse(": c-only")])],
    }
    with serve(routes) as (base, app):
        cap = ssenb.capture_many(
            {
                "alpha": base + "/a",
                "beta": {"url": base + "/b", "method": "POST", "json": {"q": 1}},
                "gamma": base + "/c",
            },
            until="[DONE]",
            max_reconnects=0,
            duration=1.5,
            **FAST,
        )
    ev = cap.events
    assert list(ev["stream"].cat.categories) == ["alpha", "beta", "gamma"]
    by = dict(list(ev.groupby("stream", observed=True)))
    assert by["alpha"]["data"].tolist() == ["x", "[DONE]"]
    assert by["beta"]["type"].astype(str).tolist() == ["tick", "done"]
    assert by["gamma"]["kind"].tolist() == ["comment"]
    for g in by.values():
        assert g["seq"].tolist() == list(range(len(g)))
    con = cap.connections.set_index("stream")
    assert con.loc["alpha", "outcome"] == "until"
    assert con.loc["beta", "outcome"] == "duration"  # "[DONE]" never came
    assert con.loc["gamma", "outcome"] == "eof"
    assert [r.method for r in app.of("/b")] == ["POST"]
    assert set(cap.meta["streams"]) == {"alpha", "beta", "gamma"}

    # one stream's capture: its rows, connections, raw bytes and meta
    beta = cap.select("beta")
    assert beta.streams == ["beta"] and beta.meta["url"] == base + "/b"
    assert list(beta.events["stream"].cat.categories) == ["beta"]
    assert list(beta.events["type"].cat.categories) == ["done", "tick"]
    assert beta.events["data"].tolist() == by["beta"]["data"].tolist()
    assert beta.connections["outcome"].astype(str).tolist() == ["duration"]
    assert {k[0] for k in beta.raw} == {"beta"}
    two = cap.select("gamma", "alpha")  # in the capture's order
    assert two.streams == ["alpha", "gamma"] and len(two.events) == 3
    with pytest.raises(ValueError, match="alpha"):
        cap.select("delta")


def test_acapture_many_max_events_is_a_total() -> None:
    async def main() -> ssenb.Capture:
        return await acapture_many(
            {"a": base + "/s", "b": base + "/s"}, max_events=30, **FAST
        )

    with serve({"/s": [ticking(every=0.005)]}) as (base, _):
        cap = asyncio.run(main())
    assert (cap.events["kind"] == "event").sum() == 30
    outcomes = sorted(cap.connections["outcome"].astype(str))
    assert outcomes == ["max-events", "max-events"]
    assert set(cap.events["stream"].astype(str)) == {"a", "b"}


def test_capture_many_rejects_a_bad_mapping() -> None:
    with pytest.raises(ValueError, match="unknown request keys"):
        ssenb.capture_many({"a": {"url": "http://127.0.0.1:1/", "verb": "GET"}})
    with pytest.raises(TypeError, match="mapping"):
        ssenb.capture_many([])  # type: ignore[arg-type]


def test_recorder_stats_show_the_last_error_while_it_retries() -> None:
    err = Reply([b"down"], status=503, content_type="text/plain")
    with serve({"/s": [err, err, ticking()]}) as (base, _):
        with ssenb.Recorder(base + "/s", **FAST) as rec:
            wait_for(lambda: len(rec) >= 3)
            stats = rec.stats()["streams"][""]
            assert rec.connections["status"].tolist() == [503, 503]
        assert stats["connection"] == 3
        assert "503" in stats["last_error"]
    assert rec.capture.connections["status"].tolist() == [503, 503, 200]


def test_acapture_cancelled_propagates_and_leaves_no_task() -> None:
    async def main() -> None:
        task = asyncio.ensure_future(ssenb.acapture(base + "/s", **FAST))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        kept = info.value.capture  # type: ignore[attr-defined]
        assert kept.events["data"].tolist() == ["a"]
        assert kept.connections["outcome"].tolist() == ["stopped"]
        await asyncio.sleep(0)
        assert {
            t for t in asyncio.all_tasks() if t is not asyncio.current_task()
        } == set()

    with serve({"/s": [Reply([sse("data: a")], hang=True)]}) as (base, _):
        asyncio.run(main())
