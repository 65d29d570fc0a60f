"""Records one at a time (``iter_records``, ``aiter_records``) from real servers on
127.0.0.1: the demo server and ``tests/_misbehave.py``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from _misbehave import Misbehave, serve

import ssenb
from ssenb._iter import QUEUE, AsyncRecordStream, RecordStream
from ssenb.errors import NotAnEventStream
from ssenb.parse import Record
from ssenb.server.scenarios import play


@pytest.fixture
def srv() -> Iterator[Misbehave]:
    with serve() as s:
        yield s


def _closed_soon(srv: Misbehave, within: float = 5.0) -> bool:
    """Whether the server saw every connection close (it notices at its next write)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        if srv.open == 0:
            return True
        time.sleep(0.02)
    return False


# -- defaults -------------------------------------------------------------------------


def test_defaults_hand_out_every_record_then_end_with_the_stream() -> None:
    with ssenb.demo_server() as demo:
        it = ssenb.iter_records(demo.url("openai"))
        got = []
        times = []
        for rec in it:
            got.append(rec)
            times.append(it.elapsed)
            assert it.connection == 1
        cap = ssenb.capture(demo.url("openai"), progress=False)
    assert all(isinstance(r, Record) for r in got)
    # the same records capture keeps, in order, and nothing after [DONE]
    assert [r.data for r in got] == cap.events["data"].tolist()
    assert got[-1].data == "[DONE]"
    assert it.ended.startswith("finished")
    assert times == sorted(times) and times[0] > 0  # stream seconds, growing
    assert it.connections["outcome"].astype(str).tolist() == ["eof"]


def test_done_then_eof_ends_without_reconnecting(srv: Misbehave) -> None:
    data = [r.data for r in ssenb.iter_records(srv.base + "/done?n=3")]
    assert data[-1] == "[DONE]" and len(data) == 4
    assert srv.count["/done"] == 1


def test_until_and_max_events_stop_as_capture_does(srv: Misbehave) -> None:
    kinds = [r.kind for r in ssenb.iter_records(srv.base + "/flood", max_events=5)]
    assert kinds == ["event"] * 5
    it = ssenb.iter_records(srv.base + "/end?type=progress", until="progress")
    assert [r.type for r in it] == ["progress"]
    assert it.ended == "until"


def test_reconnects_carry_on_and_say_which_connection(srv: Misbehave) -> None:
    it = ssenb.iter_records(srv.base + "/retry0", max_reconnects=2, backoff=0.01)
    seen = [(it.connection, r.data) for r in it if r.kind == "event"]
    assert seen == [(1, "once"), (2, "once"), (3, "once")]
    assert len(it.connections) == 3


# -- stops ----------------------------------------------------------------------------


def test_duration_is_a_deadline_on_a_busy_stream(srv: Misbehave) -> None:
    t0 = time.monotonic()
    it = ssenb.iter_records(srv.base + "/flood", duration=1)
    n = sum(1 for _ in it)
    assert n > 1000  # it was busy
    assert time.monotonic() - t0 < 10  # the deadline ended it, not the stream
    assert it.connections["outcome"].astype(str).tolist() == ["duration"]
    assert it.elapsed <= 1.5


def test_break_closes_the_connection(srv: Misbehave) -> None:
    for i, _ in enumerate(ssenb.iter_records(srv.base + "/hold?every=0.02")):
        if i == 2:
            break
    assert _closed_soon(srv)
    assert srv.count["/hold"] == 1


def test_close_and_with_close_the_connection(srv: Misbehave) -> None:
    with ssenb.iter_records(srv.base + "/hold?every=0.02") as it:
        assert next(it).data == "tick 0"
    assert _closed_soon(srv)
    assert it.connections["outcome"].astype(str).tolist() == ["stopped"]
    assert list(it) == []  # a closed iterator is exhausted


def test_a_slow_reader_holds_the_socket_back(srv: Misbehave) -> None:
    # nothing handed out is kept, and a reader that does not keep up stops the
    # reading (the queue stays short) instead of the memory growing
    with ssenb.iter_records(srv.base + "/flood") as it:
        assert isinstance(it, RecordStream)
        next(it)
        time.sleep(0.5)
        rows = it._rec.rows
        time.sleep(0.5)
        assert it._rec.rows == rows
        assert len(it._feed.items) <= QUEUE
        assert len(it._rec.parts) <= 1
        assert not it._rec.raw
        for _ in range(rows):  # read it all: the recording goes on
            next(it)
        assert it._rec.rows > rows


# -- failures and options -------------------------------------------------------------


def test_a_stream_that_fails_at_once_raises_clearly(srv: Misbehave) -> None:
    with pytest.raises(NotAnEventStream, match="HTTP 404"):
        list(ssenb.iter_records(srv.base + "/nope"))


def test_retry_after_past_the_deadline_ends_at_once(srv: Misbehave) -> None:
    t0 = time.monotonic()
    with pytest.raises(NotAnEventStream, match="Retry-After: 3600"):
        list(ssenb.iter_records(srv.base + "/busy", duration=30))
    assert time.monotonic() - t0 < 5
    assert srv.count["/busy"] == 1


def test_time_scale_only_from_servers_this_process_started(srv: Misbehave) -> None:
    it = ssenb.iter_records(srv.base + "/scale?s=1e9", max_events=1)
    assert [r.data for r in it] == ["x"]
    assert it.elapsed < 5  # a foreign time scale is not applied
    with ssenb.demo_server(speed=100) as demo:
        it = ssenb.iter_records(demo.url("openai", events=3, seed=0))
        last = [it.elapsed for _ in it][-1]
    assert it.connections["time_scale"].tolist() == [100.0]
    # stream seconds: the scenario's own delays, not the 1/100 of them that pass
    # on the wall clock (connection setup only adds to it)
    written = sum(delay for delay, _ in play("openai", seed=0, events=3))
    assert last >= 0.95 * written


def test_redirect_to_another_origin_drops_credentials(srv: Misbehave) -> None:
    secrets = {"Authorization": "Bearer sk-secret-1", "X-Api-Key": "secret-3"}
    with serve() as other:
        url = srv.base + "/redirect?to=" + other.base + "/echo"
        it = ssenb.iter_records(url, headers=secrets, max_reconnects=0)
        got = [r.data for r in it]
    assert "secret" not in got[0]
    assert json.loads(got[0])["accept"] == "text/event-stream"


def test_options_that_keep_records_are_refused() -> None:
    with pytest.raises(ValueError, match="capture"):
        ssenb.iter_records("http://127.0.0.1:9/", path="x.jsonl")
    with pytest.raises(TypeError, match="unknown capture option"):
        ssenb.iter_records("http://127.0.0.1:9/", max_event=3)
    with pytest.raises(TypeError, match="one URL"):
        ssenb.iter_records({"a": "http://127.0.0.1:9/"})  # type: ignore[arg-type]


# -- the async twin -------------------------------------------------------------------


def test_aiter_records_defaults_and_done(srv: Misbehave) -> None:
    async def main() -> list[str]:
        return [r.data async for r in ssenb.aiter_records(srv.base + "/done?n=3")]

    data = asyncio.run(main())
    assert data[-1] == "[DONE]" and len(data) == 4
    assert srv.count["/done"] == 1


def test_aiter_records_deadline_on_a_busy_stream(srv: Misbehave) -> None:
    async def main() -> tuple[int, AsyncRecordStream]:
        it = ssenb.aiter_records(srv.base + "/flood", duration=1)
        n = 0
        async for _ in it:
            n += 1
        return n, it

    n, it = asyncio.run(asyncio.wait_for(main(), 20))
    assert n > 1000
    assert it.connections["outcome"].astype(str).tolist() == ["duration"]


def test_aiter_records_aclose_and_break_close_the_connection(srv: Misbehave) -> None:
    async def with_block() -> str:
        async with ssenb.aiter_records(srv.base + "/hold?every=0.02") as it:
            rec = await it.__anext__()
        await asyncio.sleep(0.2)  # the server notices at its next write
        assert srv.open == 0
        return rec.data

    async def with_break() -> None:
        async for rec in ssenb.aiter_records(srv.base + "/hold?every=0.02"):
            assert rec.data == "tick 0"
            break
        for _ in range(100):
            await asyncio.sleep(0.02)  # the loop runs the cancellation
            if srv.open == 0:
                return
        raise AssertionError("the connection outlived the loop")

    assert asyncio.run(with_block()) == "tick 0"
    asyncio.run(with_break())
    assert srv.count["/hold"] == 2
