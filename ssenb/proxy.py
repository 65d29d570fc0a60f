"""A recording reverse proxy: point your app (a front end, an SDK's ``base_url``) at it
and see the event streams it receives.

Rules of this module:

- Every request goes upstream with its method, body and headers (hop-by-hop headers
  dropped, as RFC 9110 section 7.6.1 says: ``Connection`` and the headers it names,
  ``Keep-Alive``, ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``,
  ``Proxy-*``); every byte of a response is written downstream as soon as it is read,
  before it is recorded, and nothing is held back.
- A client that hangs up closes the upstream connection at once.
- Each ``text/event-stream`` response becomes a stream of the live ``.capture``,
  named by method and path (``POST /v1/chat/completions``; a second one of the same
  name gets `` #2``), recorded as ``ssenb.capture`` records (the same frames, the same
  redaction of headers and URLs). Other responses pass through unrecorded.
- ``Accept-Encoding`` sent upstream is narrowed to what ssenb can read (gzip,
  deflate): the bytes passed downstream stay exactly the upstream's, and the
  recording reads them decoded.
- It serves on 127.0.0.1 (uvicorn on a background thread); ``LiveFeed(proxy)`` shows
  it live, as it shows a ``Recorder``.
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from ._session import Options, Recording, Stream, Target, _jsonable, _version
from .redact import redact_headers, redact_url
from .server._thread import serve_in_thread
from .value import Capture

__all__ = ["Proxy", "proxy"]

#: RFC 9110 7.6.1: meant for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: The capture options that mean something for a proxy.
_OPTIONS = frozenset({"keep_raw", "redact", "max_event_size"})
_READABLE = ("gzip", "deflate", "identity")
#: Seconds between writes of the recorded rows to a ``.jsonl`` path.
_LOG_EVERY = 1.0


def _hop_by_hop(headers: list[tuple[str, str]]) -> set[str] | frozenset[str]:
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return HOP_BY_HOP | named


def _forwarded(
    headers: list[tuple[str, str]], *, request: bool
) -> list[tuple[str, str]]:
    drop = _hop_by_hop(headers)
    if request:
        drop |= {"host", "content-length"}
    out = []
    for name, value in headers:
        low = name.lower()
        if low in drop:
            continue
        if request and low == "accept-encoding":
            kept = [
                t.strip()
                for t in value.split(",")
                if t.split(";")[0].strip().lower() in _READABLE
            ]
            if not kept:
                continue
            value = ", ".join(kept)
        out.append((name, value))
    return out


class _Decoder:
    """The body as ssenb reads it: ``Content-Encoding`` gzip or deflate undone."""

    def __init__(self, encoding: str) -> None:
        enc = encoding.strip().lower()
        self._z = zlib.decompressobj(wbits=47) if enc in ("gzip", "deflate") else None

    def __call__(self, chunk: bytes) -> bytes:
        if self._z is None:
            return chunk
        try:
            return self._z.decompress(chunk)
        except zlib.error:  # pragma: no cover - a broken upstream; keep passing bytes
            self._z = None
            return b""


class Proxy:
    """A running recording proxy (see ``ssenb.proxy``).

    Attributes:
        url: where to point your app, ``http://127.0.0.1:<port>``.
        upstream: the server it forwards to.
    """

    def __init__(
        self,
        upstream: str,
        *,
        port: int = 0,
        path: str | Path | None = None,
        **capture_options: Any,
    ) -> None:
        unknown = set(capture_options) - _OPTIONS
        if unknown:
            raise TypeError(
                f"proxy() takes the capture options {sorted(_OPTIONS)}; got "
                f"{sorted(unknown)}"
            )
        base = str(upstream).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(
                f"the upstream must be an http:// or https:// URL, got {upstream!r}"
            )
        self.upstream = base
        self.path = None if path is None else Path(path)
        self._opts = Options(**capture_options)
        self._rec = Recording([], self._opts)
        self._taken: dict[str, int] = {}
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AbstractContextManager[str] | None = None
        self._stopped = threading.Event()
        self._pumps: set[asyncio.Future[None]] = set()
        self._flusher: threading.Thread | None = None
        self._log: Any = None
        self._logged = 0
        self._conns_logged = 0
        self._raw_logged: dict[tuple[str, int], int] = {}
        self._final: Capture | None = None
        self.url = ""

    # -- life cycle ----------------------------------------------------------------

    def start(self, port: int = 0) -> Proxy:
        """Start serving (``ssenb.proxy`` does it); returns self."""
        if self._closer is not None or self._stopped.is_set():
            return self
        closer = serve_in_thread(
            self._app,
            port=port,
            server_header=False,
            date_header=False,
            interface="asgi3",
        )
        self.url = closer.__enter__()
        self._closer = closer
        if self.path is not None and self.path.name.endswith(".jsonl"):
            from . import store

            self._log = store.CaptureLog(self.path, self._meta())
            self._flusher = threading.Thread(
                target=self._flush_log, name="ssenb-proxy-log", daemon=True
            )
            self._flusher.start()
        return self

    def _flush_log(self) -> None:
        """Write recorded rows to the log every ``_LOG_EVERY`` s, so a killed proxy
        loses at most that much. Each write builds frames while holding the GIL
        for a few milliseconds, which the events passing through then wait for:
        once a second keeps that off the p99 of what the proxy adds."""
        while not self._stopped.wait(_LOG_EVERY):
            self._write_log()

    def _write_log(self) -> None:
        """Append what was recorded since the last write (rows, connections, raw
        reads) to the log. The proxy's own thread does it, never the event loop
        that passes the bytes on."""
        log, rec = self._log, self._rec
        if log is None:
            return
        with rec.lock:
            n = rec.rows
            frame = rec.events_frame(self._logged, n) if n > self._logged else None
            self._logged = n
            conns = rec.conn_rows[self._conns_logged :]
            self._conns_logged += len(conns)
            raw = []
            for key, chunks in rec.raw.items():
                done = self._raw_logged.get(key, 0)
                raw += [(key, t, c) for t, c in chunks[done:]]
                self._raw_logged[key] = len(chunks)
        if frame is not None:
            log.write_events(frame)
        for (stream, connection), t, chunk in raw:
            log.write_raw(stream, connection, t, chunk)
        for row in conns:
            log.write_connection(_jsonable(row))
        log.flush()

    @property
    def running(self) -> bool:
        """Whether it still serves."""
        return self._closer is not None

    def stop(self) -> Capture:
        """Stop serving (open streams end as ``stopped``); return the capture, also
        saved to ``path`` when one was given."""
        closer, self._closer = self._closer, None
        if closer is not None:
            loop = self._loop
            if loop is not None and loop.is_running():
                try:
                    asyncio.run_coroutine_threadsafe(self._wind_down(), loop).result(5)
                except Exception:  # pragma: no cover - the loop went away meanwhile
                    pass
            closer.__exit__(None, None, None)
            self._stopped.set()
            for st in list(self._rec.streams):
                if st.attempt is not None and not st.attempt.closed:
                    st.end(st.attempt, "stopped")
            if self._flusher is not None:
                self._flusher.join(5)
            log, self._log = self._log, None
            if log is not None:
                log.close()
            self._final = self.capture
            if self.path is not None:  # the final file, with the final meta
                self._final.save(self.path)
        return self._final if self._final is not None else self.capture

    async def _wind_down(self) -> None:
        """On the server loop: end the open streams (``stopped``); close the client."""
        pumps = list(self._pumps)
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the proxy is stopped (or ``timeout`` seconds); return whether
        it was."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<ssenb Proxy {self.url or '(not started)'} -> {self.upstream} {state}, "
            f"{len(self._rec.streams)} stream(s), {self._rec.events} events>"
        )

    # -- what was recorded (the Recorder's surface, for live views) ----------------

    @property
    def capture(self) -> Capture:
        """Everything recorded so far: one stream per proxied event stream."""
        rec = self._rec
        with rec.lock:
            events = rec.events_frame()
            connections = rec.connections_frame()
            raw = rec.raw_copy()
            meta = self._meta()
        return Capture(events, connections, meta, raw)

    def _meta(self) -> dict[str, Any]:
        rec = self._rec
        with rec.lock:
            streams = {st.name: st.shown_url() for st in rec.streams}
            first = rec.streams[0].target if rec.streams else None
        return {
            "url": redact_url(first.url) if first else redact_url(self.upstream),
            "method": first.method if first else "GET",
            "request_headers": dict(first.headers) if first else {},
            "started": rec.started.isoformat().replace("+00:00", "Z"),
            "options": {"redact": self._opts.redact, "keep_raw": self._opts.keep_raw},
            "ssenb_version": _version(),
            "streams": streams,
            "time_scale": rec.time_scale,
            "proxy": {"upstream": redact_url(self.upstream), "url": self.url},
        }

    @property
    def connections(self) -> pd.DataFrame:
        """The connections frame so far (proxied event streams that ended)."""
        return self._rec.connections_frame()

    @property
    def version(self) -> int:
        """A counter that grows whenever rows are added."""
        return self._rec.version

    def records_since(self, n: int) -> pd.DataFrame:
        """The events rows after the first ``n``, indexed by their row number."""
        return self._rec.records_since(n)

    def stats(self) -> dict[str, Any]:
        """The live state, as ``Recorder.stats()`` gives it."""
        out = self._rec.live_stats(self.running)
        # one connection per proxied response, counted from the moment it is seen
        out["connections"] = len(out["streams"])
        return out

    # -- the ASGI app --------------------------------------------------------------

    def _new_stream(self, method: str, path: str, url: str, headers: Any) -> Stream:
        base = f"{method} {path}"
        rec = self._rec
        with rec.lock:
            self._taken[base] = self._taken.get(base, 0) + 1
            n = self._taken[base]
            name = base if n == 1 else f"{base} #{n}"
            shown = redact_headers(headers) if self._opts.redact else dict(headers)
            target = Target(name, url, method, shown, None, None, None)
            st = Stream(rec, target, len(rec.streams))
            rec.streams.append(st)
            rec.names.append(name)
        return st

    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(connect=10.0, read=None, write=30.0, pool=None),
                follow_redirects=False,
            )
        chunks = []
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        method = scope["method"]
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        path = path.split("?")[0]
        query = scope.get("query_string", b"").decode("latin-1")
        url = self.upstream + path + (f"?{query}" if query else "")
        in_headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
        ]
        gone: list[bool] = []  # set when the client hung up first
        pump = asyncio.ensure_future(
            self._pump(send, method, path, url, in_headers, body, gone)
        )
        self._pumps.add(pump)
        pump.add_done_callback(self._pumps.discard)
        watch = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not pump.done():  # the client hung up: close the upstream now
                gone.append(True)
                pump.cancel()
            watch.cancel()
            await asyncio.gather(pump, watch, return_exceptions=True)
        if pump.done() and not pump.cancelled() and pump.exception() is not None:
            raise pump.exception()  # type: ignore[misc]

    async def _pump(
        self,
        send: Any,
        method: str,
        path: str,
        url: str,
        in_headers: list[tuple[str, str]],
        body: bytes,
        gone: list[bool],
    ) -> None:
        client = self._client
        assert client is not None
        t_request = time.perf_counter_ns()
        request = client.build_request(
            method, url, headers=_forwarded(in_headers, request=True), content=body
        )
        try:
            resp = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            text = (
                f"ssenb proxy: cannot reach {redact_url(url)}: "
                f"{type(exc).__name__}: {exc}\n"
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 502,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": text})
            return
        st = att = None
        try:
            ctype = resp.headers.get("content-type", "")
            if ctype.split(";")[0].strip().lower() == "text/event-stream":
                st = self._new_stream(method, path, url, in_headers)
                att = st.begin(0.0)
                att.t_request = t_request
                att.wait_reason = "the client's own (proxied)"
                att.headers = {
                    ("Last-Event-ID" if k.lower() == "last-event-id" else k): v
                    for k, v in redact_headers(in_headers).items()
                }
                if st.on_response(att, resp.status_code, resp.headers, url) is not None:
                    st.end(att, "http-status")
                    st = att = None
            out_headers = _forwarded(list(resp.headers.multi_items()), request=False)
            await send(
                {
                    "type": "http.response.start",
                    "status": resp.status_code,
                    "headers": [
                        (k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in out_headers
                    ],
                }
            )
            decode = _Decoder(resp.headers.get("content-encoding", ""))
            async for chunk in resp.aiter_raw():
                await send(
                    {"type": "http.response.body", "body": chunk, "more_body": True}
                )
                if st is not None and att is not None:
                    plain = decode(chunk)
                    if plain:
                        st.on_chunk(att, plain)
            if st is not None and att is not None:
                # the row is complete before the client sees the end of the body
                st.finish(att)
                st = att = None
            await send({"type": "http.response.body", "body": b""})
        except asyncio.CancelledError:
            if st is not None and att is not None:
                st.end(att, "client-closed" if gone else "stopped")
            raise
        except httpx.HTTPError as exc:
            if st is not None and att is not None:
                st.fail(att, exc)
        finally:
            await resp.aclose()


async def _disconnected(receive: Any) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return


def proxy(
    upstream: str,
    *,
    port: int = 0,
    path: str | Path | None = None,
    **capture_options: Any,
) -> Proxy:
    """Start a recording reverse proxy to ``upstream`` on 127.0.0.1; return it running.

    Point your app at ``px.url`` instead of the upstream (an OpenAI-style SDK's
    ``base_url``, a front end's API origin): requests and responses pass through
    unchanged and at once, and each event-stream response becomes a stream of
    ``px.capture``, named by method and path. ``LiveFeed(px)`` shows it live.

    Args:
        upstream: the server to forward to, ``http(s)://host[:port][/prefix]``.
        port: the local port (0: a free one).
        path: where the capture goes (the suffix picks the format: ``.jsonl``,
            ``.jsonl.gz``, ``.parquet``, ``.har``). A ``.jsonl`` file is written as
            the proxy records (crash-safe: a killed proxy leaves a file that
            ``ssenb.load`` reads); the others are written when it stops.
        **capture_options: ``keep_raw``, ``redact``, ``max_event_size``.

    Example:
        >>> with ssenb.proxy.proxy("https://api.openai.com") as px:  # doctest: +SKIP
        ...     client = openai.OpenAI(base_url=px.url + "/v1")
        ...     ...
        >>> px.capture.events  # doctest: +SKIP
    """
    return Proxy(upstream, port=port, path=path, **capture_options).start(port)
