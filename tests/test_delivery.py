"""Delivery diagnostics: the demo server's culprits (a buffering nginx, a gzip
middleware, a CDN's idle timeout) and clean streams, recorded for real over
127.0.0.1; a raw server sending the headers a stream should not have."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_proxy import upstream

import ssenb
from ssenb.analysis import delivery
from ssenb.server.faults import GZIP_FLUSH, Faults
from ssenb.server.scenarios import steps

OPTS: dict[str, Any] = {"progress": False, "reconnect": False, "until": "[DONE]"}


@pytest.fixture(scope="module")
def srv() -> Any:
    with ssenb.demo_server(speed=20) as server:
        yield server


def verdict_of(cap: ssenb.Capture) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    d = delivery(cap)
    return d.verdict, d.connections, d.findings


# -- the faults, pure ---------------------------------------------------------------


def faulted(**query: str) -> list[Any]:
    faults, _ = Faults.split(query)
    return list(faults.apply(steps("openai", seed=0)))


@pytest.mark.parametrize("size", [4096, 8192])
def test_buffer_fault_lets_bytes_out_in_pieces_of_its_size(size: int) -> None:
    clean = b"".join(s.data for s in steps("openai", seed=0))
    held = faulted(buffer=str(size))
    pieces = [s.data for s in held if s.data]
    assert b"".join(pieces) == clean
    assert all(len(p) == size for p in pieces[:-1]) and len(pieces[-1]) <= size
    clean_time = sum(s.delay for s in steps("openai", seed=0))
    assert sum(s.delay for s in held) == pytest.approx(clean_time)
    assert Faults.split({"buffer": str(size)})[0].head().headers["server"] == "nginx"


def test_gzip_fault_flushes_every_32_kib_of_stream() -> None:
    long = faulted(gzip="1")
    body = b"".join(s.data for s in long)
    clean = b"".join(s.data for s in steps("openai", seed=0))
    assert gzip.decompress(body) == clean
    assert len(clean) < GZIP_FLUSH  # so it all comes out at the end, in one piece
    assert len([s for s in long if s.data]) == 1
    # a longer stream flushes whole pieces of 32 KiB
    packer = Faults.split({"gzip": "1"})[0]
    big = list(steps("analytics", seed=0, events=2000))
    out = [s.data for s in packer.apply(big) if s.data]
    inflate = zlib.decompressobj(wbits=31)
    sizes = [len(inflate.decompress(p)) for p in out]
    assert all(n >= GZIP_FLUSH for n in sizes[:-1]) and len(sizes) > 2
    assert packer.head().headers["content-encoding"] == "gzip"


def test_idle_cut_hangs_up_after_that_much_silence() -> None:
    cut = faulted(stall="150", idle_cut="100")
    assert cut[-1].hangup
    assert cut[-2].data == b"" and cut[-2].delay == pytest.approx(100)
    untouched = faulted(idle_cut="100")  # no silence that long: the stream plays whole
    assert b"".join(s.data for s in untouched) == b"".join(
        s.data for s in steps("openai", seed=0)
    )


@pytest.mark.parametrize(
    "query", [{"buffer": "0"}, {"idle_cut": "0"}, {"buffer": "x"}], ids=str
)
def test_delivery_faults_reject_bad_values(query: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="fault"):
        Faults.split(query)


# -- verdicts on real recordings ------------------------------------------------------


@pytest.mark.parametrize("name", ["openai", "twitter", "analytics", "github-actions"])
def test_clean_stream_is_streamed_with_no_finding(srv: Any, name: str) -> None:
    cap = ssenb.capture(srv.url(name), duration=3, **OPTS)
    verdict, table, findings = verdict_of(cap)
    assert verdict == "streamed"
    assert table["verdict"].tolist() == ["streamed"]
    assert table["events_per_read"].iloc[0] < 3
    assert findings.empty


@pytest.mark.parametrize("size", [4096, 8192])
def test_proxy_buffering_is_buffered_with_the_nginx_fix(srv: Any, size: int) -> None:
    cap = ssenb.capture(srv.url("openai", buffer=size), **OPTS)
    verdict, table, findings = verdict_of(cap)
    row = table.iloc[0]
    assert verdict == "buffered"
    assert row["common_read_size"] == size and row["fixed_size_share"] == 1.0
    assert row["events_per_read"] >= 10
    assert row["reads_cut_share"] >= 0.5
    names = findings["finding"].tolist()
    assert "nginx without X-Accel-Buffering: no" in names
    fix = findings.set_index("finding").loc["nginx without X-Accel-Buffering: no"]
    assert "X-Accel-Buffering: no" in fix["fix"]
    assert "arrives in bursts" in names


def test_gzip_middleware_is_compressed(srv: Any) -> None:
    cap = ssenb.capture(srv.url("openai", gzip=1, events=600), **OPTS)
    verdict, table, findings = verdict_of(cap)
    assert verdict == "compressed"
    assert "bursts" in table["why"].iloc[0]
    assert table["max_events_per_read"].iloc[0] >= 50
    fix = findings.set_index("finding").loc["compressed event stream", "fix"]
    assert "no-transform" in fix


def test_cdn_idle_cut_is_found_with_the_keepalive_fix(srv: Any) -> None:
    cap = ssenb.capture(
        srv.url("openai", stall=150, idle_cut=100, speed=100),
        progress=False,
        reconnect=False,
    )
    verdict, table, findings = verdict_of(cap)
    assert verdict == "streamed"  # what came, came at once; then it was cut
    assert table["silence_at_end"].iloc[0] == pytest.approx(100, rel=0.1)
    row = findings.set_index("finding").loc["closed after a long silence"]
    assert "comment" in row["fix"] and "100 s" in row["fix"]


def test_bad_headers_each_get_their_fix() -> None:
    body = b"".join(f"data: {i}\n\n".encode() for i in range(20))

    async def bad(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
        w.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"server: nginx/1.25\r\nauthorization-info: SECRET\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await w.drain()

    with upstream(bad) as up:
        cap = ssenb.capture(up.url + "/s", progress=False, reconnect=False)
    _, _, findings = verdict_of(cap)
    by = findings.set_index("finding")
    assert "Content-Length on an event stream" in by.index
    assert "no Cache-Control: no-cache" in by.index
    assert "nginx without X-Accel-Buffering: no" in by.index
    assert "SECRET" not in cap.connections["headers"].iloc[0]


def test_browser_har_with_bursts_is_buffered(tmp_path: Path) -> None:
    """A HAR keeps no reads: events that a browser timed within 2 ms of each other
    count as one read."""
    t0 = 1_767_261_600.0
    messages, blocks = [], []
    for burst in range(4):
        for i in range(16):
            k = burst * 16 + i
            messages.append(
                {"time": t0 + burst + i * 1e-5, "eventName": "message", "data": f"{k}"}
            )
            blocks.append(f"data: {k}\n\n")
    doc = {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "1"},
            "entries": [
                {
                    "startedDateTime": "2026-01-01T10:00:00.000Z",
                    "time": 4000,
                    "request": {"method": "GET", "url": "https://x.test/s"},
                    "response": {
                        "status": 200,
                        "headers": [
                            {"name": "Content-Type", "value": "text/event-stream"}
                        ],
                        "content": {
                            "mimeType": "text/event-stream",
                            "text": "".join(blocks),
                        },
                    },
                    "timings": {"send": 0, "wait": 10, "receive": 3990},
                    "_eventSourceMessages": messages,
                }
            ],
        }
    }
    path = tmp_path / "b.har"
    path.write_text(json.dumps(doc))
    d = delivery(ssenb.load(path))
    assert d.verdict == "buffered"
    assert d.connections["events_per_read"].iloc[0] == 16
    assert np.isnan(d.connections["fixed_size_share"].iloc[0])


def test_report_includes_the_verdict(srv: Any) -> None:
    cap = ssenb.capture(srv.url("openai", buffer=4096), **OPTS)
    r = ssenb.report(cap)
    assert r.delivery.verdict == "buffered"
    assert any(s.startswith("Delivery: buffered") for s in r.summary)
    assert "Delivery" in r.text() and "Delivery" in r.html()


def test_delivery_survives_a_har_round_trip(srv: Any, tmp_path: Path) -> None:
    cap = ssenb.capture(srv.url("openai", buffer=4096), **OPTS)
    back = ssenb.load(cap.save(tmp_path / "b.har"))
    assert delivery(back).verdict == "buffered"
    assert back.connections["reads"].iloc[0] == cap.connections["reads"].iloc[0]


def test_proxied_stream_gets_the_same_verdict(srv: Any) -> None:
    with ssenb.proxy.proxy(srv.base_url) as px:
        ssenb.capture(px.url + "/openai?buffer=4096", **OPTS)
    assert delivery(px.capture).verdict == "buffered"


# -- edges ------------------------------------------------------------------------


def test_delivery_of_an_empty_capture_says_so() -> None:
    d = delivery(ssenb.Capture())
    assert d.verdict == "unknown" and d.connections.empty
    assert "No event-stream connection" in d.text()


def test_delivery_of_a_frame_without_times_is_unknown() -> None:
    d = delivery(ssenb.frames.read_sse(b"data: a\n\ndata: b\n\n"))
    assert d.verdict == "unknown"
    assert d.connections["verdict"].tolist() == ["unknown"]


def test_delivery_of_an_old_capture_without_read_columns(srv: Any) -> None:
    cap = ssenb.capture(srv.url("openai"), **OPTS)
    old = ssenb.Capture(
        cap.events,
        cap.connections.drop(columns=["headers", "reads", "reads_cut"]),
        cap.meta,
    )
    d = delivery(old)
    assert d.verdict == "streamed"
    assert json.dumps(d.to_dict(), default=str)
