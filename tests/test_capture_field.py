"""Capture against servers that misbehave as servers in the field do, with defaults.

Every case runs ``tests/_misbehave.py`` (raw asyncio on 127.0.0.1) and calls capture
with its default options: deadlines on a busy stream, ``[DONE]`` then a hang-up,
``retry: 0`` with instant hang-ups, a foreign time-scale header, ``Retry-After`` far
beyond the deadline.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _misbehave import Misbehave, in_another_process, serve

import ssenb
from ssenb._endings import end_marker
from ssenb.capture import acapture_many
from ssenb.errors import NotAnEventStream
from ssenb.patterns import classify

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@pytest.fixture
def srv() -> Iterator[Misbehave]:
    with serve() as s:
        yield s


# -- 1. duration is a deadline -----------------------------------------------------


def _ended_in_time(cap: ssenb.Capture, duration: float) -> None:
    con = cap.connections
    assert len(con) >= 1
    assert con["outcome"].astype(str).iloc[-1] == "duration"
    assert float(con["end"].max()) <= duration + 0.5
    assert len(cap.events) > 1000  # it was busy


def test_capture_duration_is_a_deadline_on_a_busy_stream(srv: Misbehave) -> None:
    t0 = time.monotonic()
    cap = ssenb.capture(srv.base + "/flood", duration=1, progress=False)
    _ended_in_time(cap, 1.0)
    assert time.monotonic() - t0 < 20  # frames of a million rows take a while


def test_acapture_duration_is_a_deadline_on_a_busy_stream(srv: Misbehave) -> None:
    cap = asyncio.run(ssenb.acapture(srv.base + "/flood", duration=1, progress=False))
    _ended_in_time(cap, 1.0)


def test_capture_many_and_recorder_duration_is_a_deadline(srv: Misbehave) -> None:
    cap = ssenb.capture_many(
        {"a": srv.base + "/flood", "b": srv.base + "/hold?every=0.2"}, duration=1
    )
    assert float(cap.connections["end"].max()) <= 1.5
    assert set(cap.connections["outcome"].astype(str)) == {"duration"}
    rec = ssenb.Recorder(srv.base + "/flood", duration=1).start()
    assert rec.wait(15)
    _ended_in_time(rec.stop(), 1.0)


def test_cli_capture_duration_is_a_deadline(srv: Misbehave, tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ssenb", "capture", srv.base + "/hold?every=0.05"]
        + ["--duration", "1", "--no-progress", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 15
    cap = ssenb.load(out)
    assert cap.connections["outcome"].astype(str).tolist() == ["duration"]
    assert float(cap.connections["end"].max()) <= 1.5


# -- 2. a stream that says it is done is done ---------------------------------------


def test_capture_done_then_eof_ends_the_capture(srv: Misbehave) -> None:
    cap = ssenb.capture(srv.base + "/done?n=3", progress=False)
    assert srv.count["/done"] == 1
    assert cap.events["data"].iloc[-1] == "[DONE]"
    assert cap.connections["outcome"].astype(str).tolist() == ["eof"]
    assert cap.meta["ended"] == {"": "finished: [DONE]"}


@pytest.mark.parametrize(
    "etype", ["done", "complete", "job-complete", "message_stop", "response.completed"]
)
def test_capture_end_event_then_eof_ends_the_capture(
    srv: Misbehave, etype: str
) -> None:
    cap = ssenb.capture(srv.base + f"/end?type={etype}", progress=False)
    assert srv.count["/end"] == 1
    assert cap.meta["ended"] == {"": f"finished: {etype}"}


def test_capture_part_done_event_is_not_the_end(srv: Misbehave) -> None:
    url = srv.base + "/end?type=content_block_stop"
    cap = ssenb.capture(url, progress=False, max_reconnects=1, retry=0.01)
    assert srv.count["/end"] == 2
    assert len(cap.connections) == 2


def test_capture_until_none_reconnects_forever_as_the_standard_says(
    srv: Misbehave,
) -> None:
    url = srv.base + "/done?n=1"
    cap = ssenb.capture(url, until=None, max_reconnects=2, retry=0.01, progress=False)
    assert srv.count["/done"] == 3
    assert len(cap.connections) == 3


def test_end_markers_agree_with_the_classifier() -> None:
    types = ["done", "complete", "job-complete", "message_stop", "response.completed"]
    parts = ["content_block_stop", "step-complete", "response.output_item.done"]
    lines = [f"event: {t}\ndata: {{}}\n\n" for t in types + parts]
    ev = ssenb.frames.read_sse(("".join(lines) + "data: [DONE]\n\n").encode())
    pats = classify(ev)["pattern"].astype(str).tolist()
    pairs = zip(ev["type"], ev["data"], strict=True)
    ends = [end_marker(t, d) is not None for t, d in pairs]
    assert ends == [p == "done" for p in pats]
    assert ends == [True] * 5 + [False] * 3 + [True]


def test_post_is_not_sent_again_silently(srv: Misbehave) -> None:
    cap = ssenb.capture(
        srv.base + "/end?type=progress",
        method="POST",
        json={"q": 1},
        until=None,
        progress=False,
    )
    assert srv.count["/end"] == 1
    assert "not re-sending the POST" in cap.meta["ended"][""]


def test_livefeed_says_finished_done(srv: Misbehave) -> None:
    feed = ssenb.widgets.LiveFeed(srv.base + "/done?n=2", frontend="text")
    try:
        assert feed.wait(10)
    finally:
        feed.stop()
    assert "finished: [DONE]" in feed.text()
    assert srv.count["/done"] == 1


# -- 3. no reconnect storms ----------------------------------------------------------


def test_capture_retry0_instant_hangups_back_off(srv: Misbehave) -> None:
    cap = ssenb.capture(srv.base + "/retry0", duration=5, progress=False)
    assert srv.count["/retry0"] <= 15
    delays = cap.connections["delay"].tolist()
    assert delays[-1] > delays[1] > 0  # growing, from retry 0


def test_every_connection_says_why_it_waited_and_keeps_it_in_files(
    srv: Misbehave, tmp_path: Path
) -> None:
    cap = ssenb.capture(srv.base + "/retry0", duration=3, progress=False)
    why = cap.connections["wait_reason"].tolist()
    assert why[0] == "first connection"
    assert why[1] == "backoff #1 from retry 0 ms"
    assert why[-1] == f"backoff #{len(why) - 1} from retry 0 ms"
    for name in ("c.jsonl", "c.jsonl.gz", "c.parquet", "c.har"):
        back = ssenb.load(cap.save(tmp_path / name))
        assert back.connections["wait_reason"].tolist() == why, name
    table = ssenb.analysis.reconnects(cap).tables["connections"]
    assert table["next_wait_reason"].tolist()[:-1] == why[1:]
    # a frame from before the column loads, the reason unknown
    old = ssenb.Capture(
        cap.events, cap.connections.drop(columns=["wait_reason"]), cap.meta
    )
    back = ssenb.load(old.save(tmp_path / "old.parquet"))
    assert back.connections["wait_reason"].isna().all()


def test_a_retry_after_wait_says_so(srv: Misbehave) -> None:
    with pytest.raises(NotAnEventStream) as info:
        ssenb.capture(
            srv.base + "/busy?after=1",
            duration=3,
            max_failures=2,
            retry=0.1,  # below the Retry-After, so that is what is waited
            progress=False,
        )
    cap = info.value.capture  # type: ignore[attr-defined]
    why = cap.connections["wait_reason"].tolist()
    assert why == ["first connection", "Retry-After 1 s"]


# -- 4. the time scale is trusted only where it is ours -----------------------------


def test_capture_ignores_a_foreign_time_scale(srv: Misbehave) -> None:
    cap = ssenb.capture(srv.base + "/scale?s=1e9", duration=3, progress=False)
    assert srv.count["/scale"] <= 3  # 3 s retry at real time
    assert set(cap.connections["time_scale"]) == {1.0}
    assert cap.meta["time_scale"] == 1.0


def test_capture_trusts_our_demo_server_and_clamps() -> None:
    with ssenb.demo_server(speed=100) as demo:
        cap = ssenb.capture(demo.url("openai", events=3), progress=False)
    assert cap.meta["time_scale"] == 100.0
    assert ssenb._reconnect.parse_time_scale("1e9") == 1e4


# -- 5. waits are bounded ------------------------------------------------------------


def test_retry_after_past_the_deadline_ends_at_once(srv: Misbehave) -> None:
    t0 = time.monotonic()
    with pytest.raises(NotAnEventStream, match="Retry-After: 3600") as info:
        ssenb.capture(srv.base + "/busy", duration=30, progress=False)
    assert time.monotonic() - t0 < 5
    cap = info.value.capture  # type: ignore[attr-defined]
    assert srv.count["/busy"] == 1
    assert cap.meta["ended"][""].startswith("duration: the next connection was due")
    assert cap.connections["outcome"].astype(str).tolist() == ["http-status"]


def test_retry_after_is_capped(srv: Misbehave) -> None:
    with pytest.raises(NotAnEventStream) as info:
        ssenb.capture(
            srv.base + "/busy?after=999999999",
            duration=4,
            max_retry_after=0.2,
            max_failures=3,
            backoff=0.1,
            retry=0.1,
            progress=False,
        )
    cap = info.value.capture  # type: ignore[attr-defined]
    assert srv.count["/busy"] == 3
    assert float(cap.connections["delay"].max()) < 3.0
    assert json.dumps(cap.meta["ended"])


# -- 6. credentials never cross origins ----------------------------------------------

SECRETS = {
    "Authorization": "Bearer sk-secret-1",
    "Proxy-Authorization": "Basic c2VjcmV0",
    "Cookie": "session=secret-2",
    "X-Api-Key": "secret-3",
    "api-key": "secret-4",
    "x-goog-api-key": "secret-5",
    "X-Tenant-Token": "secret-6",
    "X-Mine": "secret-7",
}


def _echoed(cap: ssenb.Capture) -> dict[str, str]:
    got: dict[str, str] = json.loads(cap.events["data"].iloc[0])
    return got


def test_redirect_to_another_origin_drops_every_credential(srv: Misbehave) -> None:
    with serve() as other:
        url = srv.base + "/redirect?to=" + other.base + "/echo"
        cap = ssenb.capture(
            url, headers=SECRETS, strip_headers=["X-Mine"], max_reconnects=0
        )
        got = _echoed(cap)
        assert other.count["/echo"] == 1
    assert not [h for h in SECRETS if h.lower() in got], got
    assert "secret" not in json.dumps(got)
    assert got["accept"] == "text/event-stream"
    # the connection row shows the redirect chain
    first, last = cap.connections["url"].iloc[0].split(" -> ")
    assert first.startswith(srv.base + "/redirect?to=") and last == other.base + "/echo"


def test_redirect_chain_is_redacted(srv: Misbehave) -> None:
    url = srv.base + "/redirect?to=/echo%3Fapi_key%3Dsecret-10&token=secret-11"
    cap = ssenb.capture(url, max_reconnects=0)
    first, last = cap.connections["url"].iloc[0].split(" -> ")
    assert "secret-11" not in first
    assert last == srv.base + "/echo?api_key=[redacted]"


def test_redirect_to_the_same_origin_keeps_credentials(srv: Misbehave) -> None:
    url = srv.base + "/redirect?to=/echo"
    cap = asyncio.run(ssenb.acapture(url, headers=SECRETS, max_reconnects=0))
    got = _echoed(cap)
    assert got["x-api-key"] == "secret-3" and got["authorization"].endswith("-1")
    assert cap.connections["url"].iloc[0].endswith(" -> " + srv.base + "/echo")


def test_redirect_off_stops_at_the_redirect(srv: Misbehave) -> None:
    url = srv.base + "/redirect?to=/echo"
    with pytest.raises(NotAnEventStream, match="HTTP 302"):
        ssenb.capture(url, follow_redirects=False)
    assert srv.count["/echo"] == 0


def test_client_default_headers_do_not_cross_origins(srv: Misbehave) -> None:
    with serve() as other:
        url = srv.base + "/redirect?to=" + other.base + "/echo"
        opts = {"headers": {"X-Api-Key": "secret-8"}, "auth": ("u", "secret-9")}
        cap = ssenb.capture_many({"a": url}, httpx_options=opts, max_reconnects=0)
    got = _echoed(cap)
    assert "x-api-key" not in got and "authorization" not in got


# -- 7. a thousand streams at once ----------------------------------------------------


@pytest.fixture
def far_server() -> Iterator[str]:
    """The misbehaving server in a process of its own (many streams need its CPU)."""
    with in_another_process() as base:
        yield base


@pytest.mark.slow
def test_capture_many_a_thousand_streams_every_one_delivers(far_server: str) -> None:
    streams = {f"s{i}": f"{far_server}/hold?every=0.5" for i in range(1000)}
    t0 = time.monotonic()
    cap = ssenb.capture_many(streams, duration=8)
    assert time.monotonic() - t0 < 30  # the target is 20 s on a quiet machine
    ev = cap.events
    per = ev.loc[ev["kind"] == "event", "stream"].astype(str).value_counts()
    con = cap.connections
    assert len(per) == 1000, (con["outcome"].value_counts(), con["error"].iloc[0])
    assert per.min() >= 1
    assert set(cap.connections["outcome"].astype(str)) == {"duration"}


def test_capture_many_concurrency_queues_the_rest_visibly(srv: Misbehave) -> None:
    streams = {f"s{i}": srv.base + "/done?n=2" for i in range(6)}
    cap = ssenb.capture_many(streams, concurrency=2)
    assert srv.count["/done"] == 6  # each sent once, two at a time
    assert set(cap.meta["ended"].values()) == {"finished: [DONE]"}
    rec = ssenb.Recorder(
        {f"h{i}": srv.base + "/hold?every=0.2" for i in range(3)},
        concurrency=1,
        duration=1,
    ).start()
    time.sleep(0.5)
    states = [s["state"] for s in rec.stats()["streams"].values()]
    assert states.count("queued") == 2
    assert rec.wait(10)
    con = rec.stop().connections
    never = con[con["outcome"].astype(str) == "not-started"]
    assert len(never) == 2
    assert never["error"].str.contains("never connected: queued").all()


def test_a_client_pool_too_small_is_a_clear_error(srv: Misbehave) -> None:
    import httpx

    async def go() -> None:
        limits = httpx.Limits(max_connections=2)
        async with httpx.AsyncClient(limits=limits) as client:
            streams = {f"s{i}": srv.base + "/done" for i in range(5)}
            await acapture_many(streams, client=client)

    with pytest.raises(ValueError, match="at most 2 connections"):
        asyncio.run(go())


# -- 9. crash safety ------------------------------------------------------------------


def test_sigkill_loses_at_most_the_last_100_ms(srv: Misbehave, tmp_path: Path) -> None:
    import os
    import random
    import signal

    rng = random.Random()
    for run in range(5):
        path = tmp_path / f"kill{run}.jsonl"
        code = (
            "import ssenb, sys; "
            "ssenb.capture(sys.argv[1], path=sys.argv[2], progress=False)"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code, srv.base + "/hold?every=0.005", str(path)],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        try:
            deadline = time.monotonic() + 20
            while (not path.exists() or path.stat().st_size < 2000) and (
                time.monotonic() < deadline
            ):
                time.sleep(0.05)
            time.sleep(rng.uniform(0.1, 0.6))  # a random point of the recording
            killed = time.time()
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(10)
        cap = ssenb.load(path)
        assert cap.rows_recovered  # it was cut, and read back
        last = cap.events["time"].max().timestamp()
        # records are steady (one per 5 ms): the file holds every one that arrived
        # more than 100 ms before the kill
        assert killed - last < 0.1, (run, killed - last)


# -- 10. friendly edges ---------------------------------------------------------------


def test_recorder_starts_when_made_and_its_repr_shows_its_state(
    srv: Misbehave,
) -> None:
    rec = ssenb.Recorder(srv.base + "/done?n=2")
    assert rec.wait(10)
    assert srv.count["/done"] == 1
    assert repr(rec).startswith("<Recorder done: 3 events over 1 connection(s)")
    assert "finished: [DONE]" in repr(rec)
    assert rec.start() is rec  # started once; start() again does nothing
    assert len(rec.stop().events) == 3
    later = ssenb.Recorder(srv.base + "/done?n=2", autostart=False)
    assert "not started" in repr(later)
    assert srv.count["/done"] == 1
    later.start()
    assert later.wait(10) and srv.count["/done"] == 2
    later.stop()


def test_retries_against_a_dead_server_show_progress(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nobody listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ssenb.errors.StreamError, match="Connection refused"):
        ssenb.capture(f"http://127.0.0.1:{port}/", progress=True, max_failures=2)
    err = capsys.readouterr().err
    assert "connection 1 error (ConnectError" in err
    assert "retrying in" in err and "max-failures" in err
    assert "(backoff #1 from default retry 3 s)" in err


@pytest.mark.parametrize("enc", ["br", "zstd", "compress"])
def test_an_undecodable_content_encoding_fails_the_connection_clearly(
    srv: Misbehave, enc: str
) -> None:
    import httpx._decoders

    if enc in httpx._decoders.SUPPORTED_DECODERS:
        pytest.skip(f"this httpx decodes {enc}")
    with pytest.raises(ssenb.errors.StreamError, match=f"Content-Encoding: {enc}") as e:
        ssenb.capture(srv.base + f"/encoded?enc={enc}")
    cap = e.value.capture  # type: ignore[attr-defined]
    assert cap.connections["outcome"].astype(str).tolist() == ["undecodable"]
    assert len(cap.events) == 0 and srv.count["/encoded"] == 1


# -- 8. flat memory -------------------------------------------------------------------


def test_recording_to_a_path_keeps_memory_flat(far_server: str, tmp_path: Path) -> None:
    """Half a million short events recorded to a path, measured in a subprocess:
    the records are in the file, not also in memory (it grew ~200 MB before)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import bench_memory
    finally:
        sys.path.remove(str(ROOT / "bench"))
    got = bench_memory.measure(
        far_server + "/flood", 500_000, str(tmp_path / "m.jsonl")
    )
    cap = ssenb.load(tmp_path / "m.jsonl")
    assert got["peak"] - got["before"] < 80, str(got)
    assert (cap.events["kind"] == "event").sum() == 500_000
    assert cap.events["seq"].is_monotonic_increasing
