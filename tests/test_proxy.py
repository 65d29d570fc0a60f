"""The recording proxy against real upstreams: the demo server, and a small raw-asyncio
server of our own that misbehaves on purpose (stays open, gzips, sends hop-by-hop
headers). Everything runs on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import ssenb

ROOT = Path(__file__).resolve().parent.parent

Handler = Callable[[dict[str, Any], asyncio.StreamWriter], Awaitable[None]]


class Upstream:
    """A raw HTTP/1.1 server on its own loop and thread: each request goes to
    ``handler(request, writer)``; it remembers every request and when each
    connection was closed by the other side."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self.closed = threading.Event()
        self.sent: list[float] = []  # perf_counter at each event written
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()

        async def main() -> None:
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            self.server = server
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(main(), self.loop)
        assert ready.wait(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = b""
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            req = {"method": method, "target": target, "headers": headers}
            req["body"] = body
            self.requests.append(req)
            watch = asyncio.ensure_future(reader.read())  # b"" when the peer closes
            watch.add_done_callback(lambda _: self.closed.set())
            await self.handler(req, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.closed.set()
        finally:
            writer.close()

    def stop(self) -> None:
        async def end() -> None:
            self.server.close()
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(end(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@contextmanager
def upstream(handler: Handler) -> Iterator[Upstream]:
    up = Upstream(handler)
    try:
        yield up
    finally:
        up.stop()


HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache"
    b"\r\nconnection: close\r\n"
)


def stay_open(up_ref: list[Upstream], first_after: float = 0.2) -> Handler:
    """Headers at once, one event after ``first_after`` s, then an event every
    0.2 s for 10 s: an endless stream for the test's purposes."""

    async def handler(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
        w.write(HEAD + b"x-hop: 1\r\nkeep-alive: timeout=5\r\n\r\n")
        await w.drain()
        await asyncio.sleep(first_after)
        for i in range(50):
            if up_ref[0].closed.is_set():
                return
            w.write(f"id: {i}\ndata: tick {i}\n\n".encode())
            up_ref[0].sent.append(time.perf_counter())
            await w.drain()
            await asyncio.sleep(0.2)

    return handler


def test_proxy_bytes_equal_on_both_sides_with_the_demo_server() -> None:
    with ssenb.demo_server() as srv, ssenb.proxy.proxy(srv.base_url) as px:
        direct = httpx.get(srv.url("twitter", events=30)).content
        via = httpx.get(px.url + "/twitter?events=30").content
        page = httpx.get(px.url + "/")  # not an event stream: passed, not recorded
        cap = px.capture
    assert via == direct and len(via) > 1000
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert cap.streams == ["GET /twitter"]
    assert b"".join(c for _, c in cap.raw[("GET /twitter", 1)]) == via
    expected = ssenb.frames.read_sse(via)
    assert cap.events["data"].tolist() == expected["data"].tolist()
    row = cap.connections.iloc[0]
    assert row["outcome"] == "eof" and row["bytes"] == len(via)
    assert row["time_scale"] == 100.0  # the server's SSENB-Time-Scale, recorded
    assert not px.running


def test_proxy_passes_the_first_event_at_once_and_the_client_hangup_upstream() -> None:
    ref: list[Upstream] = []
    with upstream(stay_open(ref)) as up:
        ref.append(up)
        with ssenb.proxy.proxy(up.url) as px:
            client = httpx.Client(timeout=5)
            with client.stream("GET", px.url + "/events?x=1") as resp:
                assert resp.headers["content-type"] == "text/event-stream"
                # hop-by-hop headers stop at the proxy (RFC 9110 7.6.1)
                assert "keep-alive" not in resp.headers
                chunks = resp.iter_raw()
                first = next(chunks)
                got_at = time.perf_counter()
            client.close()
            assert first == b"id: 0\ndata: tick 0\n\n"
            lag = got_at - up.sent[0]
            # the stream is open upstream: only a pass-through gets it here at all
            assert 0 <= lag < 1.0, lag
            # the proxy closes its upstream connection (the server sees EOF)
            assert up.closed.wait(5), "the upstream was not closed after the hang-up"
        cap = px.capture
    row = cap.connections.iloc[0]
    assert row["outcome"] == "client-closed"
    assert cap.events["data"].iloc[0] == "tick 0"
    assert cap.streams == ["GET /events"]


def test_proxy_stop_ends_open_streams_as_stopped() -> None:
    ref: list[Upstream] = []
    with upstream(stay_open(ref, first_after=0.0)) as up:
        ref.append(up)
        px = ssenb.proxy.proxy(up.url)
        got: list[bytes] = []

        def read() -> None:
            try:
                with httpx.stream("GET", px.url + "/live", timeout=10) as resp:
                    for chunk in resp.iter_raw():
                        got.append(chunk)
            except httpx.HTTPError:
                pass

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        cap = px.stop()
        reader.join(10)
        assert not reader.is_alive()
        assert up.closed.wait(5)
    assert cap.connections["outcome"].tolist() == ["stopped"]
    assert len(cap.events) >= 1


def test_proxy_forwards_post_bodies_and_redacts_only_the_recording(
    tmp_path: Path,
) -> None:
    async def echo(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
        w.write(HEAD + b"set-cookie: sid=SECRET-COOKIE\r\n\r\n")
        w.write(b"data: " + req["body"] + b"\n\ndata: [DONE]\n\n")
        await w.drain()

    body = {"model": "m", "stream": True, "messages": [{"role": "user"}]}
    with upstream(echo) as up, ssenb.proxy.proxy(up.url, path=tmp_path / "p.har") as px:
        r = httpx.post(
            px.url + "/v1/chat/completions?api_key=SECRET-Q",
            json=body,
            headers={
                "Authorization": "Bearer sk-SECRET",
                "Connection": "keep-alive, X-Hop",
                "X-Hop": "drop me",
            },
        )
        assert r.status_code == 200
        assert "set-cookie" in r.headers  # the client gets every end-to-end header
    req = up.requests[0]
    assert req["method"] == "POST" and json.loads(req["body"]) == body
    assert req["headers"]["authorization"] == "Bearer sk-SECRET"  # forwarded as is
    assert "x-hop" not in req["headers"]
    assert req["target"] == "/v1/chat/completions?api_key=SECRET-Q"
    cap = px.capture
    assert cap.streams == ["POST /v1/chat/completions"]
    assert json.loads(cap.events["data"].iloc[0]) == body
    shown = repr(cap.meta) + cap.connections.to_csv()
    assert "SECRET" not in shown
    saved = (tmp_path / "p.har").read_text(encoding="utf-8")
    assert "SECRET" not in saved
    assert ssenb.load(tmp_path / "p.har").events["data"].iloc[-1] == "[DONE]"


def test_proxy_passes_gzip_through_and_records_it_decoded() -> None:
    payload = b"".join(f"data: {i}\n\n".encode() for i in range(200))
    packed = gzip.compress(payload)

    async def zipped(req: dict[str, Any], w: asyncio.StreamWriter) -> None:
        w.write(HEAD + b"content-encoding: gzip\r\n\r\n" + packed)
        await w.drain()

    with upstream(zipped) as up, ssenb.proxy.proxy(up.url) as px:
        with httpx.stream("GET", px.url + "/z") as resp:
            raw = b"".join(resp.iter_raw())
        cap = px.capture
    assert raw == packed
    assert cap.events["data"].tolist() == [str(i) for i in range(200)]
    headers = json.loads(cap.connections["headers"].iloc[0])
    assert headers["content-encoding"] == "gzip"


def test_proxy_unreachable_upstream_is_a_502_that_says_why() -> None:
    with ssenb.proxy.proxy("http://127.0.0.1:9") as px:
        r = httpx.get(px.url + "/x")
    assert r.status_code == 502 and "cannot reach" in r.text


def test_proxy_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="http"):
        ssenb.proxy.proxy("ftp://example.com")
    with pytest.raises(TypeError, match="capture options"):
        ssenb.proxy.proxy("http://127.0.0.1:9", until="[DONE]")


def test_live_feed_shows_a_proxy() -> None:
    with ssenb.demo_server() as srv:
        px = ssenb.proxy.proxy(srv.base_url)
        feed = ssenb.widgets.LiveFeed(px, frontend="text", rate=10)
        httpx.get(px.url + "/openai?events=12")
        deadline = time.monotonic() + 5
        while feed.state.events < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        cap = feed.stop()
    assert feed.state.events >= 12
    assert not px.running and len(cap.events) >= 12


def test_cli_proxy_records_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "proxied.jsonl"
    with ssenb.demo_server() as srv:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ssenb",
                "proxy",
                srv.base_url,
                "--port",
                "0",
                "-o",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert "ssenb proxy on http://127.0.0.1:" in line, line
            url = line.split(" on ", 1)[1].split()[0]
            httpx.get(url + "/openai?events=7", timeout=10)
        finally:
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert "GET /openai" in stdout
    assert (ssenb.load(out).events["kind"] == "event").sum() >= 7


def test_cli_proxy_killed_leaves_a_file_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "live.jsonl"
    ref: list[Upstream] = []
    with upstream(stay_open(ref, first_after=0.0)) as up:
        ref.append(up)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen(
            [sys.executable, "-m", "ssenb", "proxy", up.url, "--port", "0"]
            + ["-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().split(" on ", 1)[1].split()[0]
            with httpx.stream("GET", url + "/live", timeout=10) as resp:
                seen = 0
                for chunk in resp.iter_raw():
                    seen += chunk.count(b"\n\n")
                    if seen >= 5:
                        break
                time.sleep(1.6)  # the log is written every second
                proc.kill()  # no chance to save on the way out
        finally:
            proc.kill()
            proc.communicate(timeout=20)
    cap = ssenb.load(out)
    assert cap.rows_recovered is not None and cap.rows_recovered >= 5
    assert cap.events["data"].tolist()[:5] == [f"tick {i}" for i in range(5)]
    assert cap.streams == ["GET /live"]
