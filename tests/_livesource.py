"""A real event stream for the live-view tests: a Starlette app on 127.0.0.1, and a
minimal background recorder with the source protocol of ``ssenb.Recorder``.

The recorder reads the stream with httpx on its own thread and parses it with
``SSEParser.feed_batch``, as the real one does; it exists so that the views can be
tested on their own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from ssenb.frames import build_events, empty_connections, empty_events
from ssenb.parse import RecordBatch, SSEParser, encode_event


def _block(i: int) -> bytes:
    """Record ``i`` of the mixed stream: mostly data events, a ping, a comment, a
    blank keep-alive and a progress event in every 10."""
    r = i % 10
    if r == 3:
        return encode_event(f'{{"t": {i}}}', event="ping")
    if r == 5:
        return b": keep-alive\n\n"
    if r == 7:
        return b"\r\n"
    if r == 9:
        return encode_event(f'{{"percentage": {i % 100}}}', event="progress")
    return encode_event(f'{{"n": {i}, "html": "<b>x</b>"}}', id=str(i))


async def mixed(request: Request) -> StreamingResponse:
    """``?n=`` records at ``?rate=`` records/s, sent in chunks every 10 ms."""
    n = int(request.query_params.get("n", "100"))
    rate = float(request.query_params.get("rate", "1000"))
    hold = float(request.query_params.get("hold", "0"))

    async def body() -> Any:
        sent = 0
        start = time.monotonic()
        while sent < n:
            due = int((time.monotonic() - start) * rate) + 1
            upto = min(n, max(due, sent + 1))
            yield b"".join(_block(i) for i in range(sent, upto))
            sent = upto
            await asyncio.sleep(0.01)
        if hold:
            await asyncio.sleep(hold)

    return StreamingResponse(body(), media_type="text/event-stream")


async def broken(request: Request) -> StreamingResponse:
    """Three events, then the connection breaks mid-event."""

    async def body() -> Any:
        yield b"data: one\n\ndata: two\n\nevent: error\ndata: boom\n\n"
        await asyncio.sleep(0.05)
        raise RuntimeError("the server broke the stream")

    return StreamingResponse(body(), media_type="text/event-stream")


app = Starlette(routes=[Route("/mixed", mixed), Route("/broken", broken)])


class LocalRecorder:
    """The source protocol of ``ssenb.Recorder``, for one URL and one connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.Lock()
        self.batch = RecordBatch()
        self.elapsed: list[float] = []
        self.version = 0
        self.error: BaseException | None = None
        self.state = "connecting"
        self.last_type = ""
        self.last_error = ""
        self.events = 0
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished = threading.Event()

    def start(self) -> LocalRecorder:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._main, name="test-recorder")
        self._thread.start()
        return self

    def _main(self) -> None:
        parser = SSEParser()
        try:
            with httpx.stream("GET", self.url, timeout=10) as resp:
                self.state = "open"
                for chunk in resp.iter_raw():
                    got = parser.feed_batch(chunk)
                    now = time.perf_counter() - self.t0
                    with self.lock:
                        self.batch.extend(got)
                        self.elapsed.extend([now] * len(got))
                        self.events += sum(1 for k in got.kind if k == "event")
                        if len(got):
                            self.last_type = got.type[-1]
                        self.version += 1
                    if self._stop.is_set():
                        break
            self.state = "done"
        except httpx.HTTPError as exc:
            self.state = "done"
            self.last_error = f"{type(exc).__name__}: {exc}"
        except BaseException as exc:  # re-raised by stop()/wait()
            self.error = exc
        finally:
            self._finished.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        done = self._finished.wait(timeout)
        if done and self.error is not None:
            err, self.error = self.error, None
            raise err
        return done

    def stop(self) -> Any:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self.error is not None:
            err, self.error = self.error, None
            raise err
        return self.capture

    def records_since(self, n: int) -> pd.DataFrame:
        with self.lock:
            total = len(self.elapsed)
            sliced = _slice(self.batch, n, total)
            el = self.elapsed[n:total]
        if not len(el):
            return empty_events()
        frame = build_events(sliced, seq_start=n, elapsed=el)
        frame.index = range(n, total)
        return frame

    def stats(self) -> dict[str, Any]:
        with self.lock:
            records, events = len(self.elapsed), self.events
        return {
            "running": self.running,
            "elapsed": time.perf_counter() - self.t0,
            "records": records,
            "events": events,
            "connections": 1,
            "streams": {
                "": {
                    "connection": 1,
                    "state": self.state,
                    "events": events,
                    "records": records,
                    "last_type": self.last_type,
                    "last_error": self.last_error,
                }
            },
        }

    @property
    def capture(self) -> Any:
        return SimpleNamespace(
            events=self.records_since(0).reset_index(drop=True),
            connections=empty_connections(),
            meta={"url": self.url},
        )


def _slice(batch: RecordBatch, start: int, stop: int) -> RecordBatch:
    out = RecordBatch()
    for field in RecordBatch.__slots__:
        getattr(out, field).extend(getattr(batch, field)[start:stop])
    return out
