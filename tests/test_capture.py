"""ssenb.capture against real servers on 127.0.0.1: records, reconnects, failures,
stop conditions, redaction."""

from __future__ import annotations

import _thread
import asyncio
import json
import socket
import threading

import httpx
import pandas as pd
import pytest
from _sse_script import Reply, serve, sse

import ssenb
from ssenb._reconnect import Backoff
from ssenb.errors import NotAnEventStream, StreamError
from ssenb.frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, read_sse

FAST = {"retry": 0.01, "backoff": Backoff(initial=0.0), "progress": False}


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {k: str(v) for k, v in frame.dtypes.items()}


def test_capture_records_every_kind_with_arrival_times() -> None:
    body = sse(": hello", "retry: 500", "event: tick\nid: 1\ndata: a", "") + b"\n"
    with serve({"/s": [Reply([body])]}) as (base, _):
        cap = ssenb.capture(base + "/s", reconnect=False, progress=False)
    ev = cap.events
    assert list(ev.columns) == list(EVENTS_SCHEMA)
    assert dtypes(ev) == {k: str(v) for k, v in EVENTS_SCHEMA.items()}
    assert list(cap.connections.columns) == list(CONNECTIONS_SCHEMA)
    assert dtypes(cap.connections) == {k: str(v) for k, v in CONNECTIONS_SCHEMA.items()}
    assert ev["kind"].tolist() == ["comment", "retry", "event"] + ["blank"] * 3
    expected = read_sse(body)
    for col in ("kind", "type", "data", "id", "last_event_id", "retry", "offset"):
        assert ev[col].tolist() == expected[col].tolist(), col
    assert ev["time"].notna().all() and str(ev["time"].dt.tz) == "UTC"
    assert ev["elapsed"].is_monotonic_increasing
    assert ev["seq"].tolist() == list(range(6))
    row = cap.connections.iloc[0]
    assert row["outcome"] == "eof" and row["status"] == 200
    assert row["bytes"] == len(body) and row["records"] == 6 and row["events"] == 1
    assert row["retry"] == 500
    assert (
        row["t_request"] <= row["t_headers"] <= row["t_first_byte"] <= row["t_closed"]
    )
    assert row["start"] <= ev["elapsed"].min() and row["end"] >= ev["elapsed"].max()
    assert b"".join(c for _, c in cap.raw[("", 1)]) == body


def test_capture_resumes_with_last_event_id_after_hangups() -> None:
    replies = [
        Reply([sse("id: 1\ndata: a", "id: 2\ndata: b")]),
        Reply([sse("data: no id")]),
        Reply([sse("id: 7\ndata: c")]),
    ]
    with serve({"/s": replies}) as (base, app):
        cap = ssenb.capture(base + "/s", max_reconnects=3, **FAST)
    sent = [r.headers.get("last-event-id") for r in app.requests]
    assert sent == [None, "2", "2", "7"]
    assert all(r.headers["accept"] == "text/event-stream" for r in app.requests)
    assert all(r.headers["cache-control"] == "no-cache" for r in app.requests)
    assert cap.connections["last_event_id_sent"].tolist() == [pd.NA, "2", "2", "7"]
    assert cap.connections["connection"].tolist() == [1, 2, 3, 4]
    assert cap.events["connection"].tolist() == [1, 1, 2, 3, 4]
    assert cap.events["offset"].tolist() == [0, 15, 0, 0, 0]


def test_capture_resumes_from_a_given_last_event_id() -> None:
    with serve({"/s": [Reply([sse("id: 9\ndata: x")])]}) as (base, app):
        ssenb.capture(base + "/s", last_event_id="8", reconnect=False, progress=False)
    assert app.requests[0].headers["last-event-id"] == "8"


def test_capture_waits_the_retry_the_stream_sent() -> None:
    # The default wait is 10 s: a delay under that shows the stream's 250 ms won.
    replies = [Reply([sse("retry: 250", "data: a")])]
    with serve({"/s": replies}) as (base, _):
        cap = ssenb.capture(
            base + "/s", max_reconnects=1, retry=10.0, backoff=None, progress=False
        )
    delays = cap.connections["delay"].tolist()
    assert delays[0] == 0.0
    assert 0.25 <= delays[1] < 10.0
    assert cap.connections["retry"].tolist() == [250, 250]


def test_capture_stops_for_good_on_204() -> None:
    replies = [Reply([sse("data: a")]), Reply([], status=204, content_type=None)]
    with serve({"/s": replies}) as (base, app):
        cap = ssenb.capture(base + "/s", **FAST)
    assert len(app.requests) == 2
    assert cap.connections["outcome"].tolist() == ["eof", "http-204"]
    assert cap.connections["status"].tolist() == [200, 204]


def test_capture_404_is_not_retried_and_raises_when_nothing_was_recorded() -> None:
    replies = [Reply([b"no such stream here"], status=404, content_type="text/plain")]
    with serve({"/s": replies}) as (base, app):
        with pytest.raises(NotAnEventStream) as info:
            ssenb.capture(base + "/s", **FAST)
    err = info.value
    assert err.status == 404 and err.content_type == "text/plain"
    assert "404" in str(err) and "no such stream" in str(err)
    assert len(app.requests) == 1
    assert err.capture.connections["outcome"].tolist() == ["http-status"]  # type: ignore[attr-defined]


def test_capture_404_after_records_keeps_them_without_raising() -> None:
    replies = [
        Reply([sse("data: a")]),
        Reply([b"gone"], status=404, content_type="text/plain"),
    ]
    with serve({"/s": replies}) as (base, _):
        cap = ssenb.capture(base + "/s", **FAST)
    assert cap.events["data"].tolist() == ["a"]
    con = cap.connections
    assert con["outcome"].tolist() == ["eof", "http-status"]
    assert "404" in con["error"].iloc[1] and "gone" in con["error"].iloc[1]


def test_capture_500_then_recovers_with_growing_backoff() -> None:
    err = Reply([b"oops"], status=500, content_type="text/plain")
    replies = [err, err, Reply([sse("data: ok")])]
    with serve({"/s": replies}) as (base, _):
        cap = ssenb.capture(
            base + "/s",
            max_reconnects=2,
            retry=0.01,
            backoff=Backoff(initial=0.1, factor=2.0, jitter=0.0),
            progress=False,
        )
    con = cap.connections
    assert con["status"].tolist() == [500, 500, 200]
    assert con["outcome"].tolist() == ["http-status", "http-status", "eof"]
    # the backoff grows from the larger of retry and its start: 0.1, then 0.2
    assert 0.1 <= con["delay"].iloc[1] < 0.2
    assert con["delay"].iloc[2] >= 0.2
    assert cap.events["data"].tolist() == ["ok"]


def test_capture_429_waits_retry_after_divided_by_the_time_scale() -> None:
    limited = Reply(
        [b"slow down"],
        status=429,
        content_type="text/plain",
        headers={"Retry-After": "3", "SSENB-Time-Scale": "10"},
    )
    ok = Reply([sse("data: ok")], headers={"SSENB-Time-Scale": "10"})
    with serve({"/s": [limited, ok]}) as (base, _):
        cap = ssenb.capture(
            base + "/s", max_reconnects=1, trust_time_scale=True, **FAST
        )
    con = cap.connections
    assert con["status"].tolist() == [429, 200]
    # 3 s of stream time at x10: 0.3 s waited, 3 s in the delay column (stream time)
    assert con["delay"].iloc[1] >= 3.0
    assert con["start"].iloc[1] - con["end"].iloc[0] >= 0.3
    assert con["time_scale"].tolist() == [10.0, 10.0]
    assert cap.meta["time_scale"] == 10.0


def test_capture_honours_operational_disconnect_backoff_ms() -> None:
    notice = json.dumps({"title": "operational-disconnect", "backoff_ms": 4000})
    first = Reply(
        [sse(f"event: operational-disconnect\ndata: {notice}")],
        headers={"SSENB-Time-Scale": "20"},
    )
    with serve({"/s": [first, Reply([sse("data: back")])]}) as (base, _):
        cap = ssenb.capture(
            base + "/s", max_reconnects=1, trust_time_scale=True, **FAST
        )
    con = cap.connections
    assert con["delay"].iloc[1] >= 4.0  # stream time
    assert con["start"].iloc[1] - con["end"].iloc[0] >= 0.2  # 4 s at x20
    assert cap.events["data"].iloc[-1] == "back"


def test_capture_wrong_content_type_names_status_type_and_first_bytes() -> None:
    page = Reply([b"<!doctype html><title>Sign in</title>"], content_type="text/html")
    with serve({"/s": [page]}) as (base, app):
        with pytest.raises(NotAnEventStream) as info:
            ssenb.capture(base + "/s", **FAST)
    msg = str(info.value)
    assert "text/html" in msg and "200" in msg and "<!doctype" in msg
    assert len(app.requests) == 1


def test_capture_idle_timeout_treats_a_stall_as_dead_and_reconnects() -> None:
    stall = Reply([sse("data: then silence")], hang=True)
    with serve({"/s": [stall]}) as (base, app):
        cap = ssenb.capture(base + "/s", idle_timeout=0.3, max_reconnects=1, **FAST)
    assert len(app.requests) == 2
    assert cap.connections["outcome"].tolist() == ["idle-timeout", "idle-timeout"]
    assert cap.events["data"].tolist() == ["then silence"] * 2
    assert "Timeout" in cap.connections["error"].iloc[0]


def test_capture_byte_by_byte_trickle_gives_the_same_records() -> None:
    body = sse(
        "event: a\nid: 1\ndata: é x", ": c", "data: line1\ndata: line2", "retry: 9"
    )
    with serve({"/s": [Reply([body], trickle=True)]}) as (base, _):
        cap = ssenb.capture(base + "/s", reconnect=False, progress=False)
    expected = read_sse(body)
    for col in ("kind", "type", "data", "id", "offset", "size"):
        assert cap.events[col].tolist() == expected[col].tolist(), col
    chunks = cap.raw[("", 1)]
    assert len(chunks) > 10 and b"".join(c for _, c in chunks) == body
    assert cap.connections["bytes"].iloc[0] == len(body)


def test_capture_reads_gzip_encoded_streams() -> None:
    body = sse(*(f"id: {i}\ndata: {'x' * 50} {i}" for i in range(40)))
    with serve({"/s": [Reply([body], gzip=True)]}) as (base, _):
        cap = ssenb.capture(base + "/s", reconnect=False, progress=False)
    assert cap.events["data"].tolist() == read_sse(body)["data"].tolist()
    assert b"".join(c for _, c in cap.raw[("", 1)]) == body


def test_capture_follows_redirects_and_records_the_final_url() -> None:
    routes = {
        "/old": [Reply([], status=307, content_type=None, headers={"Location": "/s"})],
        "/s": [Reply([sse("data: moved")])],
    }
    with serve(routes) as (base, app):
        cap = ssenb.capture(base + "/old", reconnect=False, progress=False)
    assert [r.path for r in app.requests] == ["/old", "/s"]
    assert cap.connections["url"].iloc[0].endswith("/s")
    assert cap.meta["url"].endswith("/old")
    assert cap.events["data"].tolist() == ["moved"]


def test_capture_post_with_json_body_until_done_sentinel() -> None:
    chunks = [sse(f'data: {{"token": "{w}"}}') for w in "abc"] + [
        sse("data: [DONE]"),
        (0.0, sse("data: after")),
    ]
    with serve({"/v1/chat": [Reply(chunks, hang=True)]}) as (base, app):
        cap = ssenb.capture(
            base + "/v1/chat",
            method="POST",
            json={"model": "m", "stream": True, "max_tokens": 5},
            until="[DONE]",
            progress=False,
        )
    req = app.requests[0]
    assert req.method == "POST"
    assert json.loads(req.body) == {"model": "m", "stream": True, "max_tokens": 5}
    assert cap.events["data"].iloc[-1] == "[DONE]"
    assert cap.connections["outcome"].tolist() == ["until"]
    assert cap.meta["method"] == "POST"
    assert cap.meta["options"]["json"]["max_tokens"] == 5


@pytest.mark.parametrize(
    "until",
    [
        pytest.param("done", id="event-type"),
        pytest.param(lambda r: r.id == "2", id="fn"),
    ],
)
def test_capture_until_an_event_type_or_a_predicate(until: object) -> None:
    body = sse("id: 1\ndata: a", "event: done\nid: 2\ndata: {}", "id: 3\ndata: late")
    with serve({"/s": [Reply([body], hang=True)]}) as (base, _):
        cap = ssenb.capture(base + "/s", until=until, progress=False)
    assert cap.events["id"].tolist() == ["1", "2"]
    assert cap.connections["outcome"].tolist() == ["until"]


def test_capture_max_events_counts_events_across_reconnects() -> None:
    with serve({"/s": [Reply([sse(": c", "data: 1", "data: 2")])]}) as (base, _):
        cap = ssenb.capture(base + "/s", max_events=5, **FAST)
    ev = cap.events
    assert (ev["kind"] == "event").sum() == 5
    assert ev["kind"].iloc[-1] == "event"
    assert cap.connections["outcome"].tolist() == ["eof", "eof", "max-events"]


def test_capture_duration_ends_a_silent_stream() -> None:
    with serve({"/s": [Reply([sse("data: one")], hang=True)]}) as (base, _):
        cap = ssenb.capture(base + "/s", duration=0.4, progress=False)
    assert cap.connections["outcome"].tolist() == ["duration"]
    assert cap.events["data"].tolist() == ["one"]
    assert cap.connections["end"].iloc[0] >= 0.4


def test_capture_gives_up_after_max_failures_on_a_closed_port() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(StreamError) as info:
        ssenb.capture(f"http://127.0.0.1:{port}/s", max_failures=2, **FAST)
    con = info.value.capture.connections  # type: ignore[attr-defined]
    assert con["outcome"].tolist() == ["error", "error"]
    assert con["status"].isna().all()
    assert "ConnectError" in con["error"].iloc[0]


def test_capture_bad_option_names_the_choices() -> None:
    with pytest.raises(TypeError, match="max_events"):
        ssenb.capture("http://127.0.0.1:1/s", max_event=3)
    with pytest.raises(ValueError, match="max_events"):
        ssenb.capture("http://127.0.0.1:1/s", max_events=0)


def test_capture_unsupported_scheme_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="ftp"):
        ssenb.capture("ftp://127.0.0.1/s", progress=False)


def test_capture_ctrl_c_returns_what_was_recorded() -> None:
    chunks = [(0.02, sse(f"data: {i}")) for i in range(500)]
    with serve({"/s": [Reply(chunks)]}) as (base, _):
        got = threading.Event()

        def until(record: ssenb.parse.Record) -> bool:
            if record.data == "5":
                threading.Timer(0.05, _thread.interrupt_main).start()
                got.set()
            return False

        cap = ssenb.capture(base + "/s", until=until, progress=False)
    assert got.is_set()
    assert cap.connections["outcome"].iloc[-1] == "stopped"
    assert len(cap.events) >= 6
    assert cap.events["data"].tolist()[:6] == [str(i) for i in range(6)]


def test_capture_redacts_tokens_from_meta_reprs_and_rows() -> None:
    secret = "s3cr3t-value"
    with serve({"/s": [Reply([sse("data: a")])]}) as (base, app):
        cap = ssenb.capture(
            base + f"/s?topic=news&access_token={secret}",
            headers={"Authorization": f"Bearer {secret}", "X-Api-Key": secret},
            params={"api_key": secret},
            json={"api_key": secret, "prompt": "hi"},
            method="POST",
            reconnect=False,
            progress=False,
        )
    # the server got them: only what is kept is scrubbed
    assert app.requests[0].headers["authorization"] == f"Bearer {secret}"
    assert secret in app.requests[0].query
    shown = [
        repr(cap),
        json.dumps(cap.meta),
        *cap._repr_mimebundle_().values(),
        cap.connections.to_json(date_format="iso"),
        cap.events.to_json(date_format="iso"),
    ]
    assert all(secret not in s for s in shown)
    assert "topic=news" in cap.meta["url"]
    assert cap.meta["request_headers"]["Authorization"] == "[redacted]"


def test_capture_redact_false_keeps_what_was_sent() -> None:
    with serve({"/s": [Reply([sse("data: a")])]}) as (base, _):
        cap = ssenb.capture(
            base + "/s?token=t0k",
            headers={"Authorization": "Bearer t0k"},
            redact=False,
            reconnect=False,
            progress=False,
        )
    assert cap.meta["url"].endswith("token=t0k")
    assert cap.meta["request_headers"]["Authorization"] == "Bearer t0k"


def test_capture_html_repr_escapes_stream_content() -> None:
    body = sse("event: <script>alert(1)</script>\ndata: x")
    with serve({"/s": [Reply([body])]}) as (base, _):
        cap = ssenb.capture(base + "/s", reconnect=False, progress=False)
    bundle = cap._repr_mimebundle_()
    assert "<script>" not in bundle["text/html"]
    assert "&lt;script&gt;" in bundle["text/html"]
    assert "1 events" in bundle["text/plain"] or "(1 events)" in bundle["text/plain"]


def test_capture_empty_capture_repr_is_a_sentence() -> None:
    cap = ssenb.Capture()
    assert "nothing was recorded" in cap._repr_mimebundle_()["text/html"]
    assert "0 records" in repr(cap)


def test_capture_with_a_given_client_leaves_it_open() -> None:
    with serve({"/s": [Reply([sse("data: a")])]}) as (base, _):
        with httpx.Client(headers={"X-Client": "mine"}) as client:
            ssenb.capture(base + "/s", client=client, reconnect=False, progress=False)
            cap = ssenb.capture(
                base + "/s", client=client, reconnect=False, progress=False
            )
            assert not client.is_closed
    assert cap.events["data"].tolist() == ["a"]


def test_acapture_records_like_capture() -> None:
    replies = [Reply([sse("id: 1\ndata: a")]), Reply([sse("id: 2\ndata: b")])]
    with serve({"/s": replies}) as (base, app):
        cap = asyncio.run(ssenb.acapture(base + "/s", max_events=2, **FAST))
    assert cap.events["data"].tolist() == ["a", "b"]
    assert app.requests[1].headers["last-event-id"] == "1"
    assert cap.connections["outcome"].tolist() == ["eof", "max-events"]


def test_acapture_idle_timeout_and_duration() -> None:
    with serve({"/s": [Reply([sse("data: a")], hang=True)]}) as (base, _):
        cap = asyncio.run(
            ssenb.acapture(base + "/s", idle_timeout=0.2, duration=0.9, **FAST)
        )
    outcomes = cap.connections["outcome"].tolist()
    assert outcomes[0] == "idle-timeout" and outcomes[-1] in (
        "duration",
        "idle-timeout",
    )
    assert len(outcomes) >= 2


def test_capture_sync_works_inside_a_running_event_loop() -> None:
    async def notebook_cell() -> ssenb.Capture:
        return ssenb.capture(base + "/s", reconnect=False, progress=False)

    with serve({"/s": [Reply([sse("data: a")])]}) as (base, _):
        cap = asyncio.run(notebook_cell())
    assert cap.events["data"].tolist() == ["a"]


def test_capture_progress_shows_events_and_the_connection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = sse(*(f"event: tick\ndata: {i}" for i in range(30)))
    with serve({"/s": [Reply([body])]}) as (base, _):
        ssenb.capture(base + "/s", reconnect=False, progress=True)
    err = capsys.readouterr().err
    assert "30ev" in err.replace(" ", "")
    assert "conn 1" in err and "tick" in err


def test_capture_event_too_large_keeps_what_came_before_and_stops() -> None:
    body = sse("data: small", "data: " + "x" * 500, "data: after")
    with serve({"/s": [Reply([body])]}) as (base, app):
        cap = ssenb.capture(base + "/s", max_event_size=100, **FAST)
    assert cap.events["data"].tolist() == ["small"]
    row = cap.connections.iloc[0]
    assert row["outcome"] == "event-too-large"
    assert "max_event_size=100" in row["error"]
    assert len(app.requests) == 1


def test_acapture_with_a_given_async_client() -> None:
    async def main() -> ssenb.Capture:
        async with httpx.AsyncClient(headers={"X-Mine": "1"}) as client:
            cap = await ssenb.acapture(base + "/s", client=client, reconnect=False)
            assert not client.is_closed
            return cap

    with serve({"/s": [Reply([sse("data: a")])]}) as (base, app):
        cap = asyncio.run(main())
    assert cap.events["data"].tolist() == ["a"]
    assert app.requests[0].headers["x-mine"] == "1"
    with httpx.Client() as sync_client, pytest.raises(TypeError, match="AsyncClient"):
        asyncio.run(ssenb.acapture(base + "/s", client=sync_client))


def test_capture_caller_headers_win_and_last_event_id_is_where_it_starts() -> None:
    replies = [Reply([sse("id: 5\ndata: a")]), Reply([sse("data: b")])]
    with serve({"/s": replies}) as (base, app):
        cap = ssenb.capture(
            base + "/s",
            headers={"accept": "text/event-stream, */*", "Last-Event-ID": "nope"},
            max_reconnects=1,
            **FAST,
        )
    got = [r.headers for r in app.requests]
    assert [h["accept"] for h in got] == ["text/event-stream, */*"] * 2
    assert [h.get("last-event-id") for h in got] == ["nope", "5"]
    assert cap.meta["request_headers"]["accept"] == "text/event-stream, */*"
