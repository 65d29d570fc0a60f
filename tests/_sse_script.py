"""A scripted event-stream server for the capture tests: a tiny ASGI app whose n-th
request to a path gets the n-th scripted response, and which remembers every request
(method, headers, body) it got. Served for real on 127.0.0.1 by ``serve_in_thread``.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ssenb.server._thread import serve_in_thread


@dataclass
class Reply:
    """One scripted response: status, headers, body pieces, then close or hang.

    ``body`` items are bytes (sent at once) or ``(delay_s, bytes)`` pairs. ``hang``
    keeps the connection open after the body until the client goes away.
    ``trickle`` sends the body one byte per write. ``gzip`` compresses it.
    """

    body: Sequence[Any] = ()
    status: int = 200
    content_type: str | None = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    trickle: bool = False
    gzip: bool = False


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class Script:
    """The ASGI app: ``Script({"/s": [Reply(...), Reply(...)]})``; the last reply of a
    path repeats."""

    def __init__(self, routes: dict[str, list[Reply]]) -> None:
        self.routes = routes
        self.requests: list[Request] = []
        self.count: dict[str, int] = {}

    def of(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        path = scope["path"]
        self.requests.append(
            Request(
                method=scope["method"],
                path=path,
                query=scope["query_string"].decode(),
                headers={k.decode(): v.decode() for k, v in scope["headers"]},
                body=body,
            )
        )
        replies = self.routes.get(path)
        if not replies:
            await _send(send, 404, [(b"content-type", b"text/plain")], [b"no route"])
            return
        n = self.count.get(path, 0)
        self.count[path] = n + 1
        reply = replies[min(n, len(replies) - 1)]
        await _play(reply, send, receive)


async def _send(send: Any, status: int, headers: list[Any], body: list[bytes]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    for piece in body:
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _play(reply: Reply, send: Any, receive: Any) -> None:
    headers = [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
    if reply.content_type is not None:
        headers.append((b"content-type", reply.content_type.encode()))
    pieces: list[tuple[float, bytes]] = [
        p if isinstance(p, tuple) else (0.0, p) for p in reply.body
    ]
    if reply.gzip:
        whole = gzip.compress(b"".join(p for _, p in pieces))
        pieces = [(0.0, whole[:10]), (0.01, whole[10:])]
        headers.append((b"content-encoding", b"gzip"))
    await send(
        {"type": "http.response.start", "status": reply.status, "headers": headers}
    )
    gone = asyncio.Event()

    async def listen() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.ensure_future(listen())
    try:
        for delay, piece in pieces:
            if delay:
                await asyncio.sleep(delay)
            step = 1 if reply.trickle else max(len(piece), 1)
            for i in range(0, max(len(piece), 1), step):
                if gone.is_set():
                    return
                body = piece[i : i + step]
                await send(
                    {"type": "http.response.body", "body": body, "more_body": True}
                )
                if reply.trickle:
                    await asyncio.sleep(0.001)
        if reply.hang:
            await gone.wait()
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:  # the client went away
        return
    finally:
        watcher.cancel()


@contextmanager
def serve(routes: dict[str, list[Reply]]) -> Iterator[tuple[str, Script]]:
    """Serve a script on 127.0.0.1; yield (base URL, script)."""
    app = Script(routes)
    with serve_in_thread(app) as base:
        yield base, app


def sse(*blocks: str) -> bytes:
    """Blocks of an event stream, each closed by a blank line."""
    return "".join(b + "\n\n" for b in blocks).encode()
