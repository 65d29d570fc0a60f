"""Replay: a recording served again over real HTTP gives back the same records, with
their timing, connection by connection. ``ssenb.store.timeline`` turns a recording
into ``(delay, bytes)`` writes; the server plays writes; ``ssenb.demo_server`` joins
the two."""

from __future__ import annotations

import io
import itertools
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
import pytest
from _streams import connections as connections_frame

from ssenb import demo_server
from ssenb.frames import build_events
from ssenb.parse import RecordBatch, SSEParser, parse_bytes
from ssenb.server import demo_server as plain_server
from ssenb.server.faults import Faults
from ssenb.server.replay import Replay, load_recording
from ssenb.server.scenarios import scenario_bytes, steps
from ssenb.store import UNTIMED_GAP, timeline


def replayed(source: Any) -> Replay:
    """What the server replays of a recording."""
    return load_recording(timeline(source))


def recorded(
    name: str, *, connection: int = 1, t0: float = 0.0, **params: Any
) -> pd.DataFrame:
    """An events frame of one connection to a scenario, timed as a client receiving
    its writes (stream time, time scale 1) would have recorded it."""
    parser = SSEParser(last_event_id=params.get("last_event_id") or "")
    batch = RecordBatch()
    elapsed: list[float] = []
    t = t0
    for step in steps(name, **params):
        if step.hangup:
            break
        t += step.delay
        got = parser.feed_batch(step.data)
        batch.extend(got)
        elapsed += [t] * len(got)
    got = parser.close_batch()
    batch.extend(got)
    elapsed += [t] * len(got)
    return build_events(batch, connection=connection, elapsed=elapsed)


def capture(url: str, **headers: str) -> tuple[int, list[tuple[float, Any]]]:
    """Status and (arrival time since the request, record) of one connection."""
    out: list[tuple[float, Any]] = []
    start = time.monotonic()
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        parser = SSEParser()
        for chunk in response.iter_raw():
            now = time.monotonic() - start
            out += [(now, r) for r in parser.feed(chunk)]
        out += [(time.monotonic() - start, r) for r in parser.close()]
    return response.status_code, out


def same(record: Any) -> tuple[Any, ...]:
    """What a replay must give back, ``<NA>`` of a frame row read as ``None``."""
    fields = (record.kind, record.type, record.data, record.id, record.retry)
    return tuple(None if v is None or v is pd.NA else v for v in fields)


def test_replay_round_trip_gives_the_same_records_and_timing() -> None:
    first = recorded("twitter", duration=40)
    last_id = first["last_event_id"].iloc[-1]
    second = recorded(
        "twitter", duration=40, last_event_id=last_id, connection=2, t0=30.0
    )
    frame = pd.concat([first, second], ignore_index=True)
    speed = 100
    with demo_server(replay=frame, speed=speed) as srv:
        assert "replay" in srv.scenarios
        for number, part in ((1, first), (2, second)):
            status, got = capture(srv.url("replay"))
            assert status == 200
            rows = list(part.itertuples())
            assert [same(r) for _, r in got] == [same(r) for r in rows]
            kinds = {r.kind for r in rows}
            assert {"event", "comment", "blank", "retry"} <= kinds or number == 2
            # Timing, from the request: the first record is played at once, each
            # later one no earlier than recorded (a server never writes early), and
            # not much later.
            e_first = rows[0].elapsed
            for (t, _), row in zip(got, rows, strict=True):
                expected = (row.elapsed - e_first) / speed
                assert expected <= t <= expected + 0.5
        # Every recorded connection was played: 204, then it starts again.
        assert httpx.get(srv.url("replay")).status_code == 204
        status, again = capture(srv.url("replay"))
        assert [same(r) for _, r in again] == [same(r) for r in first.itertuples()]


def test_replay_of_a_capture_uses_raw_bytes_statuses_and_order() -> None:
    # Connection 1 ended mid-event (a cut), 2 was a 503, 3 a short clean stream.
    cut = list(Faults(cut=4).apply(steps("control")))
    t = 0.0
    chunks = []
    for step in cut:
        t += step.delay
        chunks.append((t, step.data))
    raw_one = b"".join(c for _, c in chunks)
    third = scenario_bytes("shopify", duration=3)
    events = pd.concat(
        [
            recorded("control", connection=1),
            recorded("shopify", duration=3, connection=3, t0=80.0),
        ],
        ignore_index=True,
    )
    connections = connections_frame(
        [
            {"connection": 1, "start": 0.0, "end": t},
            {"connection": 2, "status": 503, "content_type": "text/plain", "start": t},
            {"connection": 3, "start": 80.0, "end": 85.0},
        ]
    )
    cap = SimpleNamespace(
        events=events, connections=connections, raw={("", 1): chunks}, meta={}
    )
    rec = replayed(cap)
    assert [c.number for c in rec.streams[""]] == [1, 2, 3]
    with demo_server(replay=cap, speed=1000) as srv:
        assert httpx.get(srv.url("replay", status=500)).status_code == 500
        one = httpx.get(srv.url("replay"))
        assert one.content == raw_one  # byte for byte, the partial block included
        assert one.headers["ssenb-replay-connection"] == "1"
        two = httpx.get(srv.url("replay"))
        assert two.status_code == 503
        three = httpx.get(srv.url("replay"))
        assert three.status_code == 200
        assert [same(r) for r in parse_bytes(three.content)] == [
            same(r) for r in parse_bytes(third)
        ]
        assert httpx.get(srv.url("replay")).status_code == 204
        # A chosen connection, and faults on a replay.
        chosen = httpx.get(srv.url("replay", connection=3, hangup=2))
        assert [r.kind for r in parse_bytes(chosen.content)].count("event") == 2
        assert httpx.get(srv.url("replay", connection=9)).status_code == 404


def test_replay_applies_the_recorded_time_scale() -> None:
    # Recorded from a server playing 100x: 0.01 s of wall time was 1 s of stream time.
    events = recorded("openai", events=3)
    wall = events.assign(elapsed=events["elapsed"] / 100)
    connections = connections_frame(
        [
            {
                "connection": 1,
                "start": 0.0,
                "end": float(wall["elapsed"].max()),
                "time_scale": 100.0,
            }
        ]
    )
    rec = replayed(SimpleNamespace(events=wall, connections=connections))
    delays = [s.delay for s in rec.streams[""][0].steps]
    expected = [s.delay for s in steps("openai", events=3)]
    assert delays == pytest.approx(expected, abs=1e-9)


def test_replay_of_several_streams() -> None:
    a = recorded("openai", events=2).assign(stream="a")
    b = recorded("shopify", duration=2).assign(stream="b")
    frame = pd.concat([a, b], ignore_index=True)
    with demo_server(replay=frame, speed=1000) as srv:
        first = httpx.get(srv.url("replay"))
        assert parse_bytes(first.content)[-1].data == "[DONE]"
        other = httpx.get(srv.url("replay", stream="b"))
        assert parse_bytes(other.content)[0].type == "stream-start"
        missing = httpx.get(srv.url("replay", stream="c"))
        assert missing.status_code == 404 and "'a'" in missing.text


RAW = (
    b": hello\n\nretry: 3000\n\nevent: greeting\nid: 1\ndata: hi\n\n"
    b"\r\ndata: caf\xc3\xa9\r\n\r\ndata: unfinished"
)


def test_replay_of_a_raw_file_is_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "stream.sse"
    path.write_bytes(RAW)
    rec = replayed(path)
    conn = rec.streams[""][0]
    assert b"".join(s.data for s in conn.steps) == RAW
    assert {s.delay for s in conn.steps} == {UNTIMED_GAP}
    with demo_server(replay=str(path), speed=1000) as srv:
        response = httpx.get(srv.url("replay"))
        assert response.content == RAW
        with httpx.stream("GET", srv.url("replay", connection=1)) as streamed:
            chunks = list(streamed.iter_raw())
        assert len(chunks) >= 5  # one write per record, the tail last
    with demo_server(replay=RAW, speed=1000) as srv:
        assert httpx.get(srv.url("replay")).content == RAW


def test_replay_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="replay takes an events frame"):
        timeline(42)
    with pytest.raises(ValueError, match="lacks the columns"):
        timeline(pd.DataFrame({"kind": ["event"]}))
    with pytest.raises(FileNotFoundError):
        timeline(tmp_path / "nothing.sse")
    with pytest.raises(TypeError, match=r"replay takes \(delay, bytes\) writes"):
        load_recording(42)
    with pytest.raises(TypeError, match="write 1 of recorded connection 1 is not"):
        load_recording([(0.0, b"data: a\n\n"), (1.0, "text")])
    with pytest.raises(ValueError, match="waits -1.0 seconds"):
        load_recording([(-1.0, b"data: a\n\n")])
    with pytest.raises(TypeError, match="each recorded connection is"):
        load_recording({"": [(0.0, b"x")]})
    with pytest.raises(TypeError, match="replay takes an events frame"):
        demo_server(replay=42)


def test_the_server_plays_writes_its_caller_hands_in() -> None:
    writes = [(0.0, b": hi\n\n"), (0.2, b"id: 1\ndata: a\n\n"), (0.3, b"data: b\n\nda")]
    with plain_server(replay=writes, speed=1000) as srv:
        assert httpx.get(srv.url("replay")).content == b"".join(c for _, c in writes)
        # the parser counted the events of each write: a hangup fault after one
        cut = httpx.get(srv.url("replay", connection=1, hangup=1)).content
        assert [r.data for r in parse_bytes(cut) if r.kind == "event"] == ["a"]
    conn = load_recording(writes).streams[""][0]
    assert [(s.delay, s.events, s.id) for s in conn.steps] == [
        (0.0, 0, None),
        (0.2, 1, "1"),
        (0.3, 1, None),
    ]
    turns = {"s": [(4, 503, "text/plain", []), (5, 200, "text/event-stream", writes)]}
    with plain_server(replay=turns, speed=1000) as srv:
        first = httpx.get(srv.url("replay"))
        assert (first.status_code, first.headers["ssenb-replay-connection"]) == (
            503,
            "4",
        )
        assert httpx.get(srv.url("replay")).content.startswith(b": hi")


def test_the_old_call_with_a_recording_warns_and_still_works(tmp_path: Path) -> None:
    frame = recorded("openai", events=2)
    with pytest.warns(DeprecationWarning, match=r"ssenb\.store\.timeline\(dataframe\)"):
        srv = plain_server(replay=frame, speed=1000)
    with srv:
        old = httpx.get(srv.url("replay")).content
    with demo_server(replay=frame, speed=1000) as srv:
        assert httpx.get(srv.url("replay")).content == old
    with pytest.warns(DeprecationWarning, match="ssenb.store.timeline"):
        rec = load_recording(RAW)
    assert rec.describe().startswith("raw bytes")
    import ssenb.server.replay as module

    with pytest.warns(DeprecationWarning, match="ssenb.store.UNTIMED_GAP"):
        assert module.UNTIMED_GAP == UNTIMED_GAP


def test_the_old_call_warns_at_the_line_that_made_it() -> None:
    with pytest.warns(DeprecationWarning) as got:
        load_recording(RAW)
    assert got[0].filename == __file__


def test_untimed_records_play_evenly() -> None:
    frame = recorded("openai", events=2).assign(elapsed=float("nan"))
    conn = replayed(frame).streams[""][0]
    assert {s.delay for s in conn.steps} == {UNTIMED_GAP}
    assert list(itertools.accumulate(s.events for s in conn.steps))[-1] == 4


def _store() -> Any:
    store = pytest.importorskip("ssenb.store", reason="ssenb.store is not built yet")
    if not hasattr(store, "export_sse"):  # pragma: no cover
        pytest.skip("ssenb.store has no export_sse yet")
    return store


def test_replay_of_an_exported_sse_file_keeps_its_timing(tmp_path: Path) -> None:
    store = _store()
    chunks = [(0.0, b": hi\n\n"), (0.5, b"data: a\n\n"), (1.5, b"data: b\n\nda")]
    [path] = store.export_sse({("", 1): chunks}, tmp_path, name="t")
    conn = replayed(path).streams[""][0]
    assert [s.data for s in conn.steps] == [c for _, c in chunks]
    assert [s.delay for s in conn.steps] == pytest.approx([0.0, 0.5, 1.0])


def test_replay_of_a_saved_capture_file(tmp_path: Path) -> None:
    store = _store()
    events = recorded("control", duration=10)
    connections = connections_frame(
        [{"connection": 1, "start": 0.0, "end": float(events["elapsed"].max())}]
    )
    path = store.write_capture(tmp_path / "run.jsonl", {}, events, connections)
    with demo_server(replay=path, speed=1000) as srv:
        body = httpx.get(srv.url("replay")).content
    assert [same(r) for r in parse_bytes(body)] == [
        same(r) for r in events.itertuples()
    ]
    # the same capture held in memory gives the same writes
    assert timeline(io.BytesIO(path.read_bytes())) == timeline(path)


def _records_by_connection(cap: Any) -> list[list[tuple[Any, ...]]]:
    frame = cap.events
    return [
        [same(r) for r in part.itertuples()]
        for _, part in frame.groupby("connection", sort=True)
    ]


def test_capture_of_a_replay_of_a_capture_is_the_same(tmp_path: Path) -> None:
    import ssenb

    with demo_server(speed=200) as srv:
        original = ssenb.capture(srv.url("twitter", duration=60), progress=False)
    statuses = original.connections["status"].tolist()
    assert statuses[:2] == [200, 200] and statuses[-1] == 204  # resumed, then done
    path = original.save(tmp_path / "twitter.jsonl")
    for source in (original, path):
        with demo_server(replay=source, speed=200) as srv:
            again = ssenb.capture(srv.url("replay"), progress=False)
        assert _records_by_connection(again) == _records_by_connection(original)
        assert again.connections["status"].tolist() == statuses
