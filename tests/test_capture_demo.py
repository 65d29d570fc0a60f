"""ssenb.capture against the demo server: its scenarios, its time scale, its faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import ssenb
from ssenb._reconnect import Backoff
from ssenb.server import DemoServer, demo_server


@pytest.fixture(scope="module")
def srv() -> Iterator[DemoServer]:
    with demo_server() as server:
        yield server


def test_capture_twitter_resumes_after_operational_disconnect(srv: DemoServer) -> None:
    cap = ssenb.capture(
        srv.url("twitter"), max_reconnects=5, duration=30, progress=False
    )
    con = cap.connections
    scale = srv.speed
    assert (con["time_scale"] == scale).all() and cap.meta["time_scale"] == scale
    assert con["outcome"].iloc[-1] == "http-204"  # nothing new left: stop for good
    ev = cap.events
    notice = ev[ev["type"] == "operational-disconnect"]
    assert len(notice) == 1
    backoff = json.loads(notice["data"].iloc[0])["backoff_ms"] / 1000
    first = int(notice["connection"].iloc[0])
    # resumed from the last id seen before the hang-up
    last_id = ev[ev["connection"] == first]["last_event_id"].iloc[-1]
    nxt = con[con["connection"] == first + 1].iloc[0]
    assert nxt["last_event_id_sent"] == last_id
    # waited what the stream asked for, in stream time (real wait x scale)
    assert nxt["delay"] >= max(backoff, con["retry"].iloc[0] / 1000) * 0.999
    assert (
        nxt["start"] - con[con["connection"] == first]["end"].iloc[0] >= backoff / scale
    )


def test_capture_openai_until_done(srv: DemoServer) -> None:
    cap = ssenb.capture(srv.url("openai"), until="[DONE]", progress=False)
    assert cap.events["data"].iloc[-1] == "[DONE]"
    assert cap.connections["outcome"].tolist() == ["until"]
    assert (cap.events["kind"] == "event").all()


def test_capture_recovers_from_a_429_honouring_retry_after(srv: DemoServer) -> None:
    url = srv.url("openai", status=429, retry_after=7, times=1)
    cap = ssenb.capture(
        url, until="[DONE]", retry=0.001, backoff=Backoff(initial=0.0), progress=False
    )
    con = cap.connections
    assert con["status"].tolist() == [429, 200]
    assert con["delay"].iloc[1] >= 7.0 * 0.999  # stream seconds
    assert con["start"].iloc[1] - con["end"].iloc[0] >= 7.0 / srv.speed
    assert cap.events["data"].iloc[-1] == "[DONE]"


def test_capture_to_a_path_keeps_the_announced_time_scale_in_meta(
    srv: DemoServer, tmp_path: Path
) -> None:
    path = tmp_path / "live.jsonl"
    cap = ssenb.capture(srv.url("openai"), until="[DONE]", path=path, progress=False)
    loaded = ssenb.load(path)
    assert cap.meta["time_scale"] == srv.speed
    assert loaded.meta == cap.meta
    assert loaded.events["data"].tolist() == cap.events["data"].tolist()
    assert [p.name for p in tmp_path.iterdir()] == ["live.jsonl"]
