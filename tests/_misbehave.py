"""A misbehaving event-stream server for the field tests: raw asyncio on 127.0.0.1.

Each path is a mode, a way real servers went wrong for capture clients:

- ``/flood``: events as fast as the socket takes them, forever.
- ``/done?n=N``: N events, then ``data: [DONE]``, then the server hangs up (an LLM API).
- ``/end?type=T``: one event, then an event of type T, then the hang-up.
- ``/retry0``: ``retry: 0``, one event, then an instant hang-up.
- ``/hangup``: hangs up at once after the response head, no event.
- ``/scale?s=X``: announces ``SSENB-Time-Scale: X``, one event, then hangs up.
- ``/busy?after=S``: 503 with ``Retry-After: S``.
- ``/redirect?to=URL``: 302 to ``URL``; ``/echo`` answers one event whose data is the
  JSON of the request headers it got, then hangs up.
- ``/hold?every=S``: one event every S seconds, forever (many streams at once).
- ``/encoded?enc=E``: ``Content-Encoding: E`` with a body that is not text.

Every request is counted per path (``Misbehave.count``); the headers of every request
are kept (``Misbehave.requests``). Run it in a thread (``with serve() as srv``) or in a
process of its own: ``python tests/_misbehave.py`` prints the port, then serves until
stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

_HEAD = (
    "HTTP/1.1 {status}\r\n"
    "Content-Type: {ctype}\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "{extra}"
    "\r\n"
)


def _head(
    status: str = "200 OK", ctype: str = "text/event-stream", **extra: str
) -> bytes:
    lines = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in extra.items())
    return _HEAD.format(status=status, ctype=ctype, extra=lines).encode()


class Misbehave:
    """The server's state: counts and requests per path, and its asyncio server."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.port = 0
        self.open = 0
        self._server: asyncio.base_events.Server | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", 0, backlog=4096
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.open += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0") or 0)
            if length:
                await reader.readexactly(length)
            url = urlsplit(target)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            self.count[url.path] += 1
            self.requests.append((method, url.path, headers))
            await self._play(url.path, query, headers, writer)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,  # the server is shutting down
        ):
            pass
        finally:
            self.open -= 1
            try:
                writer.close()
            except Exception:  # pragma: no cover - already gone
                pass

    async def _play(
        self,
        path: str,
        q: dict[str, str],
        headers: dict[str, str],
        w: asyncio.StreamWriter,
    ) -> None:
        if path == "/flood":
            w.write(_head())
            block = b"".join(b"data: %d\n\n" % i for i in range(200))
            while True:
                w.write(block)
                await w.drain()
        elif path == "/done":
            w.write(_head())
            for i in range(int(q.get("n", 3))):
                w.write(b'data: {"choices": [{"delta": {"content": "t%d"}}]}\n\n' % i)
            w.write(b"data: [DONE]\n\n")
            await w.drain()
        elif path == "/end":
            w.write(_head())
            w.write(b"event: progress\ndata: 1\n\n")
            w.write(b"event: %s\ndata: {}\n\n" % q.get("type", "done").encode())
            await w.drain()
        elif path == "/retry0":
            w.write(_head() + b"retry: 0\ndata: once\n\n")
            await w.drain()
        elif path == "/hangup":
            w.write(_head())
            await w.drain()
        elif path == "/scale":
            w.write(_head(SSENB_Time_Scale=q.get("s", "1e9")) + b"data: x\n\n")
            await w.drain()
        elif path == "/busy":
            w.write(
                _head(
                    "503 Service Unavailable",
                    "text/plain",
                    Retry_After=q.get("after", "999999999"),
                    Content_Length="4",
                )
                + b"busy"
            )
            await w.drain()
        elif path == "/redirect":
            w.write(
                _head("302 Found", "text/plain", Location=q["to"], Content_Length="0")
            )
            await w.drain()
        elif path == "/echo":
            w.write(_head() + b"data: " + json.dumps(headers).encode() + b"\n\n")
            await w.drain()
        elif path == "/hold":
            w.write(_head())
            every = float(q.get("every", "0.5"))
            i = 0
            while True:
                w.write(b"id: %d\ndata: tick %d\n\n" % (i, i))
                await w.drain()
                i += 1
                await asyncio.sleep(every)
        elif path == "/encoded":
            w.write(_head(Content_Encoding=q.get("enc", "br")))
            w.write(bytes(range(256)) * 4)
            await w.drain()
        else:
            w.write(_head("404 Not Found", "text/plain", Content_Length="0"))
            await w.drain()


@contextmanager
def serve() -> Iterator[Misbehave]:
    """Run the server on its own thread and loop; stopped when the block ends."""
    srv = Misbehave()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        await srv.start()
        stop = loop.create_future()
        ready.set()
        await stop
        await srv.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.05)  # the transports finish closing

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.daemon = True
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the misbehaving server did not start within 10 s")
    try:
        yield srv
    finally:
        loop.call_soon_threadsafe(lambda: stop is not None and stop.set_result(None))
        thread.join(10)
        loop.close()


@contextmanager
def in_another_process() -> Iterator[str]:
    """This server in a process of its own (many streams need its CPU): its base
    URL; the process ends when the block does."""
    proc = subprocess.Popen(
        [sys.executable, __file__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{proc.stdout.readline().strip()}"
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.stdout.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _main() -> None:  # pragma: no cover - run as a process by tests and benchmarks
    async def run() -> None:
        srv = Misbehave()
        await srv.start()
        print(srv.port, flush=True)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_reader(
            sys.stdin.fileno(), lambda: done.done() or done.set_result(None)
        )
        await done
        await srv.close()

    asyncio.run(run())


if __name__ == "__main__":
    _main()
