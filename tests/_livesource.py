"""Real event streams for the live-view tests, served by a Starlette app that the
tests start on 127.0.0.1 with ``serve_in_thread``: a mixed stream at a chosen rate, and
one that breaks mid-stream."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from ssenb.parse import encode_event


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
