"""The demo server over real HTTP on 127.0.0.1: scenarios, faults, resume, stopping."""

from __future__ import annotations

import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import ssenb
from ssenb.errors import EventTooLarge
from ssenb.parse import Record, SSEParser, parse_bytes
from ssenb.server import DemoServer, create_app, demo_server
from ssenb.server._thread import serve_in_thread
from ssenb.server.faults import BAD_UTF8_EVENT, FAULTS, big_event
from ssenb.server.scenarios import SCENARIOS, scenario_bytes, steps

SPEED = 1000


@pytest.fixture(scope="module")
def srv() -> Iterator[DemoServer]:
    with demo_server(speed=SPEED) as server:
        yield server


def get(url: str, **headers: str) -> tuple[httpx.Response, bytes, list[bytes]]:
    """The response, its whole body and the chunks as they came."""
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        chunks = list(response.iter_raw())
    return response, b"".join(chunks), chunks


def follow(srv: DemoServer, url: str, limit: int = 20) -> list[list[Record]]:
    """Records per connection of a client that reconnects with Last-Event-ID until
    the server answers 204."""
    connections: list[list[Record]] = []
    last = ""
    for _ in range(limit):
        headers = {"Last-Event-ID": last} if last else {}
        response, body, _ = get(url, **headers)
        if response.status_code == 204:
            return connections
        assert response.status_code == 200
        parser = SSEParser(last_event_id=last)
        records = parser.feed(body) + parser.close()
        connections.append(records)
        last = parser.last_event_id
    raise AssertionError(f"still reconnecting after {limit} connections")


def test_demo_server_is_exported_and_lists_scenarios(srv: DemoServer) -> None:
    # ssenb.demo_server is this one, reading any recording for /replay first
    top, here = inspect.signature(ssenb.demo_server), inspect.signature(demo_server)
    assert top.parameters == here.parameters
    assert srv.base_url.startswith("http://127.0.0.1:")
    assert srv.scenarios == list(SCENARIOS)
    assert srv.url("openai", events=5, loop=False) == (
        f"{srv.base_url}/openai?events=5&loop=0"
    )
    with pytest.raises(ValueError, match="plays no 'nope'"):
        srv.url("nope")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_over_http_is_the_scenario_bytes(srv: DemoServer, name: str) -> None:
    response, body, _ = get(srv.url(name, speed=4000))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["ssenb-time-scale"] == "4000"
    assert response.headers["cache-control"] == "no-cache"
    assert body == scenario_bytes(name)
    assert [r.kind for r in parse_bytes(body)].count("event") >= 5


def test_payloads_keep_real_world_values_whatever_the_speed(srv: DemoServer) -> None:
    slow, slow_body, _ = get(srv.url("keepalive", speed=500, duration=100))
    fast, fast_body, _ = get(srv.url("keepalive", speed=5000, duration=100))
    assert slow.headers["ssenb-time-scale"] == "500"
    assert fast.headers["ssenb-time-scale"] == "5000"
    assert slow_body == fast_body
    assert b'"interval":30000' in fast_body


def test_head_answers_headers_without_playing(srv: DemoServer) -> None:
    response = httpx.head(srv.url("keepalive", loop=1), timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["ssenb-time-scale"] == str(SPEED)


def test_post_streams_like_an_llm_api_and_its_body_must_be_json(
    srv: DemoServer,
) -> None:
    url = srv.url("openai")
    _, got, _ = get(url)
    chat = {"model": "demo", "stream": True, "messages": [{"role": "user"}]}
    with httpx.stream("POST", url, json=chat, timeout=10) as response:
        body = response.read()
    assert response.status_code == 200 and body == got
    bad = httpx.post(
        url, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and "not JSON" in bad.text
    cap = ssenb.capture(
        url, method="POST", json=chat, until="[DONE]", progress=False, reconnect=False
    )
    assert cap.events["data"].iloc[-1] == "[DONE]"
    assert cap.meta["method"] == "POST"


def test_nginx_sends_its_proxy_header(srv: DemoServer) -> None:
    response, body, _ = get(srv.url("nginx", duration=30))
    assert response.headers["x-accel-buffering"] == "no"
    assert b": keep-alive\n\n" in body


def test_index_lists_scenarios_params_and_faults(srv: DemoServer) -> None:
    page = httpx.get(srv.base_url + "/", headers={"accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    for name in [*SCENARIOS, *FAULTS]:
        assert name in page.text
    listing = httpx.get(srv.base_url + "/", headers={"accept": "application/json"})
    cat = listing.json()
    assert [s["name"] for s in cat["scenarios"]] == list(SCENARIOS)
    twitter = next(s for s in cat["scenarios"] if s["name"] == "twitter")
    assert twitter["params"]["backoff_ms"]["default"] == 5000
    assert set(cat["faults"]) == set(FAULTS)
    assert cat["time_scale"] == SPEED


def test_bad_requests_say_what_is_valid(srv: DemoServer) -> None:
    missing = httpx.get(srv.base_url + "/nope")
    assert missing.status_code == 404 and "openai" in missing.text
    bad = httpx.get(srv.url("openai", evnts=3))
    assert bad.status_code == 400 and "takes events, duration, loop" in bad.text
    bad = httpx.get(srv.url("openai", status=418))
    assert bad.status_code == 400 and "status=418" in bad.text
    bad = httpx.get(srv.url("openai", speed=0))
    assert bad.status_code == 400 and "speed" in bad.text
    bad = httpx.get(srv.url("openai", hangup="x"))
    assert bad.status_code == 400 and "hangup" in bad.text
    assert httpx.get(srv.base_url + "/replay").status_code == 404


# -- resume ---------------------------------------------------------------------------


def test_twitter_client_that_comes_back_resumes(srv: DemoServer) -> None:
    conns = follow(srv, srv.url("twitter", speed=5000))
    assert len(conns) == 2
    first, second = conns
    assert [r for r in first if r.kind == "event"][-1].type == "operational-disconnect"
    ids = [r.id for c in conns for r in c if r.id is not None]
    assert len(ids) == len(set(ids)) and ids == sorted(ids, key=int)
    assert second[0].kind != "event" or second[0].type == "message"


@pytest.mark.parametrize("name", ["control", "shopify", "auth", "analytics"])
def test_resume_after_hangups_has_no_gap_and_no_duplicate(
    srv: DemoServer, name: str
) -> None:
    clean = [r.id for r in parse_bytes(scenario_bytes(name)) if r.id is not None]
    conns = follow(srv, srv.url(name, hangup=6, speed=5000), limit=60)
    assert len(conns) > 2
    ids = [r.id for c in conns for r in c if r.id is not None]
    assert ids == clean


def test_progress_resumes_at_the_last_checkpoint(srv: DemoServer) -> None:
    conns = follow(srv, srv.url("progress", total=30, checkpoint_every=5, hangup=9))
    marks = [r.id for c in conns for r in c if r.type == "checkpoint"]
    assert marks == ["5", "10", "15", "20", "25", "30"]
    for before, after in zip(conns, conns[1:], strict=False):
        last_mark = json.loads([r for r in before if r.type == "checkpoint"][-1].data)
        first = json.loads(next(r for r in after if r.type == "progress").data)
        assert first["current"] == last_mark["position"] + 1


def test_last_event_id_query_parameter_works_like_the_header(srv: DemoServer) -> None:
    _, by_query, _ = get(srv.url("shopify", last_event_id="7"))
    _, by_header, _ = get(srv.url("shopify"), **{"Last-Event-ID": "7"})
    assert by_query == by_header == scenario_bytes("shopify", last_event_id="7")


# -- faults ---------------------------------------------------------------------------


def event_ends(body: bytes) -> list[int]:
    return [r.offset + r.size for r in parse_bytes(body) if r.kind == "event"]


def test_hangup_after_n_events_is_a_clean_prefix(srv: DemoServer) -> None:
    clean = scenario_bytes("control")
    _, body, _ = get(srv.url("control", hangup=5))
    assert body == clean[: event_ends(clean)[4]]
    _, body, _ = get(srv.url("control", hangup=0))
    assert body == b""


def test_cut_hangs_up_mid_event(srv: DemoServer) -> None:
    clean_steps = list(steps("control"))
    _, body, _ = get(srv.url("control", cut=4))
    sent = b""
    n = 0
    for step in clean_steps:
        if n >= 4 and step.events:
            sent += step.data[: len(step.data) // 2]
            break
        sent += step.data
        n += step.events
    assert body == sent
    parser = SSEParser()
    records = parser.feed(body)
    assert sum(r.kind == "event" for r in records) == 4
    assert parser.buffered > 0  # the client sees EOF inside a block


def test_stall_goes_silent_then_goes_on(srv: DemoServer) -> None:
    clean = scenario_bytes("openai", events=4)
    url = srv.url("openai", events=4, stall=300, at=2)
    arrivals = []
    start = time.monotonic()
    with httpx.stream("GET", url) as response:
        parser = SSEParser()
        for chunk in response.iter_raw():
            arrivals += [(time.monotonic() - start, r) for r in parser.feed(chunk)]
    assert b"".join(clean[r.offset : r.offset + r.size] for _, r in arrivals) == clean
    # The server never writes early, so the third event cannot arrive before its own
    # schedule plus the stall: 300 stream seconds at speed 1000.
    schedule = sum(s.delay for s in list(steps("openai", events=4))[:3]) / SPEED
    assert arrivals[2][0] >= schedule + 0.3


@pytest.mark.parametrize("status", [500, 503, 204, 404, 429])
def test_status_faults(srv: DemoServer, status: int) -> None:
    response = httpx.get(srv.url("openai", status=status))
    assert response.status_code == status
    assert response.headers["ssenb-time-scale"] == str(SPEED)
    if status in (503, 429):
        assert response.headers["retry-after"] == "5"
    else:
        assert "retry-after" not in response.headers
    if status == 204:
        assert response.content == b""
    else:
        assert response.headers["content-type"].startswith("text/plain")
    response = httpx.get(srv.url("openai", status=status, retry_after=120))
    assert response.headers["retry-after"] == "120"


def test_fault_times_applies_to_the_first_requests_only(srv: DemoServer) -> None:
    url = srv.url("shopify", status=503, times=2, duration=5)
    assert [httpx.get(url).status_code for _ in range(3)] == [503, 503, 200]


def test_wrong_content_type(srv: DemoServer) -> None:
    response, body, _ = get(srv.url("openai", events=3, content_type="text/html"))
    assert response.headers["content-type"] == "text/html"
    assert body == scenario_bytes("openai", events=3)


@pytest.mark.parametrize(
    ("form", "newline"), [("cr", b"\r"), ("crlf", b"\r\n"), ("lf", b"\n")]
)
def test_line_endings(srv: DemoServer, form: str, newline: bytes) -> None:
    clean = scenario_bytes("keepalive", duration=60)
    _, body, _ = get(srv.url("keepalive", duration=60, newline=form))
    expected = clean.replace(b"\r\n", b"\n").replace(b"\n", newline)
    assert body == expected

    def seen(b: bytes) -> list[tuple[str, str, str]]:
        return [(r.kind, r.type, r.data) for r in parse_bytes(b)]

    assert seen(body) == seen(clean)


def test_leading_bom(srv: DemoServer) -> None:
    _, body, _ = get(srv.url("openai", events=3, bom=1))
    clean = scenario_bytes("openai", events=3)
    assert body == b"\xef\xbb\xbf" + clean
    assert [r.data for r in parse_bytes(body)] == [r.data for r in parse_bytes(clean)]


def test_bytewise_sends_one_byte_per_write(srv: DemoServer) -> None:
    _, body, chunks = get(srv.url("openai", events=2, bytewise=1))
    assert body == scenario_bytes("openai", events=2)
    assert len(chunks) == len(body)


def test_trickle_sends_small_pieces(srv: DemoServer) -> None:
    _, body, chunks = get(srv.url("openai", events=2, trickle=200_000))
    assert body == scenario_bytes("openai", events=2)
    assert max(len(c) for c in chunks) <= 20_000
    assert len(chunks) > 3


def test_invalid_utf8(srv: DemoServer) -> None:
    _, body, _ = get(srv.url("control", bad_utf8=1, at=1, duration=5))
    clean = scenario_bytes("control", duration=5)
    first_end = event_ends(clean)[0]
    assert body == clean[:first_end] + BAD_UTF8_EVENT + clean[first_end:]
    bad = [r for r in parse_bytes(body) if r.type == "bad-utf8"]
    assert bad[0].data == "caf\ufffd( \ufffd"


def test_event_larger_than_a_size(srv: DemoServer) -> None:
    _, body, _ = get(srv.url("control", big=5000, at=2, duration=5))
    assert big_event(5000) in body and len(big_event(5000)) == 5000
    big = [r for r in parse_bytes(body) if r.type == "big"]
    assert big[0].size == 5000
    with pytest.raises(EventTooLarge):
        SSEParser(max_event_size=1000).feed(body)


def test_faults_combine(srv: DemoServer) -> None:
    _, body, _ = get(srv.url("control", newline="crlf", bom=1, hangup=4))
    clean = scenario_bytes("control")
    assert body == b"\xef\xbb\xbf" + clean[: event_ends(clean)[3]].replace(
        b"\n", b"\r\n"
    )


def test_finished_stream_answers_204(srv: DemoServer) -> None:
    last = parse_bytes(scenario_bytes("control"))[-1].last_event_id
    response = httpx.get(srv.url("control"), headers={"Last-Event-ID": last})
    assert response.status_code == 204


# -- lifecycle ------------------------------------------------------------------------


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_stopping_leaves_no_thread_or_port_even_with_an_endless_stream() -> None:
    before = set(threading.enumerate())
    outcome: list[str] = []
    started = threading.Event()

    def read(url: str) -> None:
        try:
            with httpx.stream("GET", url, timeout=10) as response:
                for _ in response.iter_raw():
                    started.set()
            outcome.append("eof")
        except httpx.HTTPError as exc:
            outcome.append(type(exc).__name__)

    with demo_server(speed=50) as server:
        port = _port_of(server.base_url)
        reader = threading.Thread(target=read, args=(server.url("keepalive", loop=1),))
        reader.start()
        assert started.wait(10)
    reader.join(10)
    assert not reader.is_alive() and outcome
    assert set(threading.enumerate()) <= before
    assert _refused(port)


def test_create_app_embeds_in_any_server() -> None:
    app = create_app(speed=500, seed=3)
    with serve_in_thread(app) as base:
        response = httpx.get(base + "/openai?events=2")
    assert response.headers["ssenb-time-scale"] == "500"
    assert response.content == scenario_bytes("openai", events=2, seed=3)


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ssenb", *args, "--port", "0", "--speed", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        env=env,
    )
    assert proc.stdout is not None
    for _ in range(3):
        line = proc.stdout.readline()
        if " on http://" in line:
            return proc, line.split(" on ", 1)[1].split()[0].rstrip("/")
    proc.kill()
    raise AssertionError(f"no URL printed; stderr: {proc.communicate()[1]}")


def _stop_cli(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    return proc.returncode


def test_cli_serve_binds_localhost_and_stops_on_ctrl_c() -> None:
    proc, base = _start_cli("serve")
    try:
        assert base.startswith("http://127.0.0.1:")
        response = httpx.get(base + "/openai?events=2", timeout=10)
        assert response.content == scenario_bytes("openai", events=2)
        assert response.headers["ssenb-time-scale"] == "1000"
    finally:
        code = _stop_cli(proc)
    assert code == 0
    assert _refused(_port_of(base))


def test_cli_replay_serves_a_file(tmp_path: Path) -> None:
    path = tmp_path / "stream.sse"
    path.write_bytes(b": hi\n\nid: 1\ndata: x\n\ndata: unfinished")
    proc, base = _start_cli("replay", str(path))
    try:
        replies = [httpx.get(base + "/replay", timeout=10) for _ in range(2)]
    finally:
        _stop_cli(proc)
    assert replies[0].content == path.read_bytes()
    assert replies[1].status_code == 204


def test_demo_server_started_without_with_serves_until_stop() -> None:
    # the notebook form: the server lives across cells until stop()
    import threading

    import httpx

    from ssenb import demo_server

    before = threading.active_count()
    srv = demo_server()
    try:
        assert srv.running
        assert httpx.get(srv.url(), timeout=10).status_code == 200
    finally:
        srv.stop()
    srv.stop()  # idempotent
    assert not srv.running
    assert threading.active_count() == before
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url(), timeout=2)
