"""HAR in and out: hand-written HAR files in the shapes Chrome, Edge, Firefox and
cypress-har-generator write, and ssenb's own HAR read back."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import ssenb
from ssenb.errors import CaptureFileError

BODY = (
    b": hello\n\n"
    b"event: greeting\nid: 1\ndata: hi\n\n"
    b'data: {"n": 2}\n\n'
    b"retry: 3000\n\n"
    b"data: three\nid: 3\n\n"
)
T0 = "2026-01-01T10:00:00.000Z"
T0_S = pd.Timestamp(T0).value / 1e9


def entry(
    url: str = "https://api.example.com/v1/stream?access_token=SECRET",
    *,
    mime: str = "text/event-stream",
    text: str | None = None,
    encoding: str | None = None,
    messages: list[dict[str, Any]] | None = None,
    method: str = "GET",
    started: str = T0,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One HAR 1.2 entry as browsers write it (unknown timings are -1)."""
    content: dict[str, Any] = {"size": len(text or ""), "mimeType": mime}
    if text is not None:
        content["text"] = text
    if encoding:
        content["encoding"] = encoding
    e: dict[str, Any] = {
        "startedDateTime": started,
        "time": 2500.0,
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [
                {"name": "Accept", "value": "text/event-stream"},
                {"name": "Authorization", "value": "Bearer sk-SECRET"},
            ],
            "queryString": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [
                {"name": "Content-Type", "value": f"{mime}; charset=utf-8"},
                {"name": "Set-Cookie", "value": "session=SECRET"},
                {"name": "X-Accel-Buffering", "value": "no"},
            ],
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {
            "blocked": 1.5,
            "dns": -1,
            "ssl": -1,
            "connect": -1,
            "send": 0.2,
            "wait": 98.3,
            "receive": 2400.0,
        },
    }
    if messages is not None:
        e["_eventSourceMessages"] = messages
    e.update(extra or {})
    return e


def json_entry() -> dict[str, Any]:
    return entry(
        "https://api.example.com/v1/models",
        mime="application/json",
        text='{"data": []}',
    )


def har(*entries: dict[str, Any], creator: str = "WebInspector") -> dict[str, Any]:
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": creator, "version": "537.36"},
            "pages": [],
            "entries": list(entries),
        }
    }


def write(tmp_path: Path, doc: Any, name: str = "session.har") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


MESSAGES_EPOCH = [  # Chrome: wall time in seconds since the epoch
    {"time": T0_S + 0.1, "eventName": "greeting", "eventId": "1", "data": "hi"},
    {"time": T0_S + 0.3, "eventName": "message", "eventId": "1", "data": '{"n": 2}'},
    {"time": T0_S + 0.9, "eventName": "message", "eventId": "3", "data": "three"},
]


def test_load_chrome_har_times_events_from_event_source_messages(
    tmp_path: Path,
) -> None:
    doc = har(
        json_entry(),
        entry(text=BODY.decode(), messages=MESSAGES_EPOCH),
        entry("https://example.com/", mime="text/html", text="<html></html>"),
    )
    cap = ssenb.load(write(tmp_path, doc))
    ev = cap.events
    assert cap.streams == ["GET /v1/stream"]
    assert ev["kind"].astype(str).tolist() == [
        "comment",
        "event",
        "event",
        "retry",
        "event",
    ]
    assert ev["data"].tolist()[1:3] == ["hi", '{"n": 2}']
    events = ev[ev["kind"] == "event"]
    got = [t.value / 1e9 - T0_S for t in events["time"]]
    assert got == pytest.approx([0.1, 0.3, 0.9], abs=1e-6)
    assert events["elapsed"].tolist() == pytest.approx([0.1, 0.3, 0.9], abs=1e-6)
    # records the messages do not time stay unknown
    others = ev[ev["kind"] != "event"]
    assert others["time"].isna().all() and others["elapsed"].isna().all()
    con = cap.connections.iloc[0]
    assert con["status"] == 200 and con["bytes"] == len(BODY)
    assert con["t_headers"] - con["t_request"] == pd.Timedelta(100, unit="ms")
    assert con["retry"] == 3000
    headers = json.loads(con["headers"])
    assert headers["x-accel-buffering"] == "no"
    assert headers["set-cookie"] == "[redacted]"
    assert "SECRET" not in cap.meta["url"] and "SECRET" not in str(cap.meta)
    assert cap.meta["source"]["skipped"] == 2


def test_load_firefox_har_base64_without_messages_leaves_times_unknown(
    tmp_path: Path,
) -> None:
    body = BODY + b"data: caf\xc3\xa9\n\n"
    doc = har(
        entry(text=base64.b64encode(body).decode(), encoding="base64"),
        json_entry(),
        creator="Firefox",
    )
    cap = ssenb.load(write(tmp_path, doc))
    ev = cap.events
    assert ev["data"].iloc[-1] == "café"
    assert len(ev) == 6
    assert ev["time"].isna().all() and ev["elapsed"].isna().all()
    con = cap.connections.iloc[0]
    # the entry places the stream in time; its records are not given invented times
    assert con["t_request"] == pd.Timestamp(T0)
    assert con["end"] == pytest.approx(2.5)
    assert any("unknown" in n for n in cap.notes)
    assert cap.raw[("GET /v1/stream", 1)][0][1] == body


def test_load_cypress_har_monotonic_message_times_keep_their_spacing(
    tmp_path: Path,
) -> None:
    messages = [  # cypress-har-generator: CDP monotonic seconds
        {"time": 8123.5, "eventName": "greeting", "eventId": "1", "data": "hi"},
        {"time": 8123.75, "eventName": "message", "eventId": "1", "data": '{"n": 2}'},
        {"time": 8124.5, "eventName": "message", "eventId": "3", "data": "three"},
    ]
    doc = har(
        json_entry(),
        entry(text=BODY.decode(), messages=messages, extra={"_resourceType": "fetch"}),
        creator="@neuralegion/cypress-har-generator",
    )
    cap = ssenb.load(write(tmp_path, doc))
    events = cap.events[cap.events["kind"] == "event"]
    gaps = events["elapsed"].diff().dropna().tolist()
    assert gaps == pytest.approx([0.25, 0.75], abs=1e-6)
    # the first one at the first byte (request + blocked + send + wait)
    assert events["elapsed"].iloc[0] == pytest.approx(0.1, abs=1e-6)


def test_load_har_with_only_event_source_messages(tmp_path: Path) -> None:
    doc = har(entry(text=None, messages=MESSAGES_EPOCH))
    cap = ssenb.load(write(tmp_path, doc))
    ev = cap.events
    assert (ev["kind"].astype(str) == "event").all()
    assert ev["type"].astype(str).tolist() == ["greeting", "message", "message"]
    assert ev["id"].tolist()[0] == "1" and pd.isna(ev["id"].iloc[1])
    assert ev["id"].iloc[2] == "3"
    assert ev["elapsed"].tolist() == pytest.approx([0.1, 0.3, 0.9], abs=1e-6)


def test_load_har_names_streams_by_method_and_path(tmp_path: Path) -> None:
    doc = har(
        entry(text=BODY.decode()),
        entry(text=BODY.decode(), started="2026-01-01T10:00:05.000Z"),
        entry(
            "https://api.example.com/v1/chat/completions",
            text='data: {"choices": []}\n\ndata: [DONE]\n\n',
            method="POST",
            started="2026-01-01T10:00:01.000Z",
        ),
    )
    cap = ssenb.load(write(tmp_path, doc))
    assert cap.streams == [
        "GET /v1/stream",
        "GET /v1/stream #2",
        "POST /v1/chat/completions",
    ]
    con = cap.connections.set_index(cap.connections["stream"].astype(str))
    assert con.loc["GET /v1/stream #2", "start"] == pytest.approx(5.0)
    assert con.loc["POST /v1/chat/completions", "method"] == "POST"
    assert cap.select("POST /v1/chat/completions").events["data"].iloc[-1] == "[DONE]"


def test_load_har_without_event_stream_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, har(json_entry(), json_entry()))
    with pytest.raises(CaptureFileError, match="no event stream") as err:
        ssenb.load(path)
    assert "2 entries" in str(err.value) and "application/json" in str(err.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("{not json", "does not parse", id="not_json"),
        pytest.param('{"log": {"pages": []}}', "entries", id="no_entries"),
        pytest.param("[]", "not a HAR", id="a_list"),
        pytest.param('{"log": ' * 100_000, "does not parse", id="deeply_nested"),
        pytest.param("\x89PNG\r\n\x1a\n", "not a HAR", id="a_png"),
        pytest.param(
            '{"log": {"entries": [1, "x", {"response": 5}]}}',
            "no event stream",
            id="junk_entries",
        ),
    ],
)
def test_load_bad_har_is_a_capture_file_error(
    tmp_path: Path, text: str, match: str
) -> None:
    path = tmp_path / "broken.har"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaptureFileError, match=match):
        ssenb.load(path)


def test_load_har_with_odd_values_names_the_entry(tmp_path: Path) -> None:
    odd = entry(text=BODY.decode(), extra={"_ssenb": {"connection": "x"}})
    with pytest.raises(CaptureFileError, match="entry 2"):
        ssenb.load(write(tmp_path, har(json_entry(), odd)))


def test_load_har_with_bad_base64_names_the_entry(tmp_path: Path) -> None:
    doc = har(entry(text="!!!not base64", encoding="base64"))
    with pytest.raises(CaptureFileError, match="entry 1"):
        ssenb.load(write(tmp_path, doc))


# -- ssenb's own HAR ----------------------------------------------------------------


def test_save_har_loads_back_with_the_same_events(tmp_path: Path) -> None:
    with ssenb.demo_server() as srv:
        cap = ssenb.capture(
            srv.url("twitter").replace("://", "://me:SECRET-P@"),
            headers={"Authorization": "Bearer sk-SECRET", "X-Api-Key": "SECRET-K"},
            duration=3,
            progress=False,
        )
    assert len(cap.connections) >= 2  # reconnects, resumed with Last-Event-ID
    path = cap.save(tmp_path / "x.har")
    text = path.read_text(encoding="utf-8")
    assert "SECRET" not in text
    doc = json.loads(text)
    assert doc["log"]["version"] == "1.2"
    first = doc["log"]["entries"][0]
    assert first["response"]["content"]["mimeType"].startswith("text/event-stream")
    n_events = int((cap.events["connection"] == 1).sum())
    assert 0 < len(first["_eventSourceMessages"]) <= n_events
    back = ssenb.load(path)
    cols = ["stream", "connection", "seq", "kind", "type", "data", "id"]
    cols += ["last_event_id", "retry", "size", "offset", "time"]
    pd.testing.assert_frame_equal(cap.events[cols], back.events[cols])
    assert back.events["elapsed"].to_numpy() == pytest.approx(
        cap.events["elapsed"].to_numpy(), abs=1e-5
    )
    same = ["connection", "status", "bytes", "records", "events", "outcome"]
    same += ["last_event_id_sent", "reads", "t_first_byte", "retry", "headers"]
    pd.testing.assert_frame_equal(
        cap.connections[same].reset_index(drop=True),
        back.connections[same].reset_index(drop=True),
        check_dtype=False,
    )
    assert [len(v) for v in back.raw.values()] == [len(v) for v in cap.raw.values()]


def test_saved_har_reads_as_a_browser_har(tmp_path: Path) -> None:
    """Without ssenb's own extension the file still gives the same events and times
    of events, as another tool reading it would."""
    with ssenb.demo_server() as srv:
        cap = ssenb.capture(srv.url("openai"), until="[DONE]", progress=False)
    doc = json.loads(cap.save(tmp_path / "x.har").read_text(encoding="utf-8"))
    for e in doc["log"]["entries"]:
        del e["_ssenb"]
    del doc["log"]["_ssenb"]
    back = ssenb.load(write(tmp_path, doc, "plain.har"))
    cols = ["kind", "type", "data", "id"]
    assert back.events[cols].astype(str).values.tolist() == (
        cap.events[cols].astype(str).values.tolist()
    )
    is_event = cap.events["kind"] == "event"
    want = cap.events.loc[is_event, "time"].map(lambda t: t.value / 1e9)
    got = back.events.loc[back.events["kind"] == "event", "time"]
    assert got.map(lambda t: t.value / 1e9).tolist() == pytest.approx(
        want.tolist(), abs=1e-6
    )
    assert back.streams == ["GET /openai"]


def test_save_har_of_bytes_that_are_not_utf8_uses_base64(tmp_path: Path) -> None:
    with ssenb.demo_server() as srv:
        cap = ssenb.capture(
            srv.url("openai", bad_utf8=1), until="[DONE]", progress=False
        )
    path = cap.save(tmp_path / "x.har")
    content = json.loads(path.read_text())["log"]["entries"][0]["response"]["content"]
    assert content["encoding"] == "base64"
    back = ssenb.load(path)
    assert back.events["data"].tolist() == cap.events["data"].tolist()
    assert not math.isnan(back.connections["end"].iloc[0])
