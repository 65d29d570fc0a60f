"""Record real event streams into DataFrames: httpx sync and async, across reconnects.

Rules of this module:

- Only I/O lives here: what a recording returns, ``Capture``, is a value defined in
  ``ssenb.value`` (re-exported here with ``load``, so ``from ssenb.capture import
  Capture`` keeps working).
- The I/O shells are thin: ``_run_sync`` (httpx.Client) and ``_run_async``
  (httpx.AsyncClient) only connect, read chunks, sleep and catch; what a response, a
  chunk or an ending means lives once in ``_session`` and the reconnection policy in
  ``_reconnect``.
- httpx errors are mapped here, at the one boundary, into ``connections`` rows (outcome
  and message). Recording never raises for a stream problem unless nothing at all was
  recorded; then the error carries what was recorded as ``.capture``.
- Ctrl-C (or a notebook's stop button) ends a blocking capture and returns what was
  recorded; the open connection's row says ``stopped``.
- ``Recorder`` runs on its own thread with its own asyncio loop: never a task on the
  caller's (a notebook kernel's) loop, and never ``asyncio.run()`` inside a running
  loop.
- Secrets never reach ``meta``, ``connections``, reprs or files unless ``redact=False``.

How a connection ended (``connections.outcome``): ``eof`` (the server closed),
``idle-timeout`` (no byte for ``idle_timeout`` s), ``timeout`` (connect or read
timeout), ``error`` (reset, refused, protocol error; ``error`` holds the message),
``http-204`` (stop for good), ``http-status`` (another non-2xx; ``status`` says which),
``not-event-stream`` (wrong Content-Type), ``undecodable`` (a Content-Encoding the
client cannot decode), ``event-too-large``, ``pool-timeout`` (no free connection in a
client's pool), ``not-started`` (a stream queued behind ``concurrency`` when the
capture ended), and the stops: ``stopped`` (Ctrl-C, ``Recorder.stop``, cancellation),
``until``, ``max-events``, ``duration``. A file cut by a crash adds ``interrupted``
rows when loaded. Why a stream is over (``finished: [DONE]``, ``max-failures``, a wait
past the deadline...) is ``meta["ended"]``; why a connection waited, ``stats()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from . import store
from ._progress import Progress, progress_wanted
from ._session import (
    Attempt,
    Options,
    Recording,
    Stream,
    Target,
    cross_origin_drop,
    redirect_method,
    same_origin,
    targets_of,
)
from .value import Capture, _OnDisk, load

__all__ = [
    "Capture",
    "Recorder",
    "acapture",
    "acapture_many",
    "capture",
    "capture_many",
    "load",
]

_OPTION_NAMES = frozenset(Options.__dataclass_fields__)


def _decodable() -> frozenset[str]:
    """The content codings this httpx decodes (br and zstd only with their
    packages installed); another one fails the connection instead of being parsed
    as text."""
    try:
        from httpx._decoders import SUPPORTED_DECODERS
    except ImportError:  # pragma: no cover - a future httpx
        return frozenset({"identity", "gzip", "deflate"})
    return frozenset(SUPPORTED_DECODERS)


_DECODABLE = _decodable()
#: Failed responses whose body is not read for the error message.
_NO_BODY = frozenset({"http-204", "undecodable"})


def _options(options: Mapping[str, Any]) -> Options:
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise TypeError(
            f"unknown capture option(s) {sorted(unknown)}; the options are "
            f"{sorted(_OPTION_NAMES)}"
        )
    return Options(**options)


# -- the result: a Capture (ssenb.value), in memory or read back from its file ---------


def _result(rec: Recording, *, last: bool = False) -> Capture:
    """The capture of a recording; ``last``: nothing reads ``rec`` afterwards (its
    parts are let go while the frames are built)."""
    path = rec.opts.path
    if path is not None:
        with rec.lock:
            done = rec.log is None
            if not done and rec.base:
                rec.flush_log()  # a snapshot of the file as it is now
        if done or rec.base:
            return _OnDisk(Path(path), rec.meta(), final=done)
    events = rec.events_frame(release=last)
    return Capture(events, rec.connections_frame(), rec.meta(), rec.raw_copy())


def _raise_if_nothing(rec: Recording, cap: Capture) -> None:
    """Raise the stream error when nothing at all was recorded (with ``.capture``)."""
    if rec.rows or rec.stop_reason == "stopped":
        return
    errors = [st.error for st in rec.streams if st.error is not None]
    if errors and len(errors) == len(rec.streams):
        err = errors[0]
        err.capture = cap  # type: ignore[attr-defined]
        raise err


@contextmanager
def _keeping(rec: Recording) -> Iterator[None]:
    """On an unexpected error (a full disk, a cancelled task), attach what was
    recorded to the exception as ``.capture`` before it propagates."""
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            try:
                rec.realign()
                exc.capture = _result(rec)  # type: ignore[attr-defined]
            except Exception:  # pragma: no cover - keep the original error
                pass
        raise


# -- outputs while recording: the crash-safe log and the progress bar ----------------


#: A record reaches the file at most this long after it arrived (kill -9 loses at
#: most the records of the last ``FLUSH_EVERY`` seconds and a partial last line).
FLUSH_EVERY = 0.05


class _Flusher(threading.Thread):
    """Writes the log's pending rows every ``FLUSH_EVERY`` s, whatever the rate."""

    def __init__(self, rec: Recording) -> None:
        super().__init__(name="ssenb-log-flush", daemon=True)
        self.rec = rec
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(FLUSH_EVERY):
            with self.rec.lock:
                if self.rec.log is not None:
                    self.rec.flush_log()


@contextmanager
def _outputs(rec: Recording, progress: bool | None) -> Iterator[None]:
    opts = rec.opts
    flusher = None
    if opts.path is not None:
        header = rec.meta()
        rec.log = store.CaptureLog(opts.path, header)
        flusher = _Flusher(rec)
        flusher.start()
    bar = Progress(progress_wanted(progress), total=opts.max_events)

    def shown(st: Stream, att: Attempt, n_events: int, last_type: str) -> None:
        bar.update(n_events, att.number, last_type)

    def ended(st: Stream, att: Attempt) -> None:
        if not att.error and not st.decision.reconnect:
            return  # a stream that ended well keeps its last event type shown
        where = f"{st.name}: " if st.name else ""
        what = f"{where}connection {att.number} {att.outcome}"
        if att.error:
            what += f" ({att.error[:50]})"
        if st.decision.reconnect:
            what += f"; retrying in {st.decision.delay:.1f} s ({st.why_wait})"
        elif st.ended:
            what += f"; {st.ended[:40]}"
        bar.note(what)

    rec.on_add = shown
    rec.on_end = ended
    try:
        yield
    finally:
        rec.on_add = None
        rec.on_end = None
        bar.close()
        if flusher is not None:
            flusher.done.set()
            flusher.join()
        if rec.log is not None:
            with rec.lock:
                try:
                    rec.flush_log()
                finally:
                    log, rec.log = rec.log, None
                    log.close()
    if opts.path is not None and _settled(rec.meta()) != _settled(header):
        _rewrite_with_final_meta(rec, Path(opts.path))


def _settled(meta: dict[str, Any]) -> dict[str, Any]:
    """The meta that a file must carry: how each stream ended stays with the
    returned capture (rewriting a long file for it would cost its size in memory)."""
    return {k: v for k, v in meta.items() if k != "ended"}


def _rewrite_with_final_meta(rec: Recording, path: Path) -> None:
    """The log's header holds the meta known at start; what the server announced
    later (its time scale) is only known at the end. Rewrite the finished file with
    the final meta, atomically: a crash meanwhile leaves the log as it was."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.final.jsonl")
    data = store.read_capture(path)  # the rows are in the file, not in memory
    try:
        store.write_capture(
            tmp, rec.meta(), data.events, data.connections, raw=data.raw or None
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One default SSL context for the clients ssenb makes (loading the CA bundle
    takes tens of milliseconds per client otherwise)."""
    return httpx.create_ssl_context()


def _client_options(opts: Options) -> dict[str, Any]:
    options = dict(opts.httpx_options or {})
    if "verify" not in options and "cert" not in options:
        options["verify"] = _ssl_context()
    return options


def _timeout(
    opts: Options, read: float | None, connect: float | None = None
) -> httpx.Timeout:
    if connect is None:
        connect = opts.connect_timeout
    return httpx.Timeout(connect=connect, read=read, write=30.0, pool=30.0)


def _connect_limit(st: Stream) -> float | None:
    """The connect timeout, never past the capture's deadline."""
    connect = st.rec.opts.connect_timeout
    deadline = st.rec.deadline
    if deadline is None:
        return connect
    left = max(deadline - time.monotonic(), 0.001)
    return left if connect is None else min(connect, left)


def _request_args(t: Target, att: Attempt, opts: Options) -> dict[str, Any]:
    args: dict[str, Any] = {"headers": att.headers}
    if t.params is not None:
        args["params"] = t.params
    if t.json is not None:
        args["json"] = t.json
    if t.content is not None:
        args["content"] = t.content
    return args


_HOP_DROP = frozenset({"host", "content-length", "transfer-encoding", "cookie"})


def _first_request(
    client: httpx.Client | httpx.AsyncClient,
    st: Stream,
    att: Attempt,
    timeout: httpx.Timeout,
) -> httpx.Request:
    t = st.target
    return client.build_request(
        t.method, t.url, timeout=timeout, **_request_args(t, att, st.rec.opts)
    )


def _next_request(
    client: httpx.Client | httpx.AsyncClient,
    st: Stream,
    att: Attempt,
    req: httpx.Request,
    resp: httpx.Response,
) -> tuple[httpx.Request, bool]:
    """The request a redirect asks for, and whether it stays on the stream's origin.

    httpx would carry every header but ``Authorization`` to another origin; here a
    hop off the origin drops every credential header (``cross_origin_drop``), the
    client's own defaults included, and sends no auth.
    """
    att.chain.append(str(req.url))
    url = req.url.join(resp.headers["location"])
    method = redirect_method(req.method, resp.status_code)
    keep_body = method == req.method
    headers = [
        (k, v)
        for k, v in req.headers.multi_items()
        if k.lower() not in _HOP_DROP
        and (keep_body or k.lower() not in ("content-type", "content-encoding"))
    ]
    new = client.build_request(
        method,
        url,
        headers=headers,
        content=req.content if keep_body else None,
        timeout=httpx.Timeout(**req.extensions["timeout"]),
    )
    same = same_origin(str(url), st.target.url)
    if not same:
        strip = st.rec.opts.strip_headers
        for name in list(new.headers.keys()):
            if cross_origin_drop(name, strip):
                del new.headers[name]
    return new, same


def _open_sync(
    client: httpx.Client, st: Stream, att: Attempt, timeout: httpx.Timeout
) -> httpx.Response:
    """Send the attempt's request, following redirects ourselves (see
    ``_next_request``)."""
    opts = st.rec.opts
    req = _first_request(client, st, att, timeout)
    resp = client.send(req, stream=True, follow_redirects=False)
    hops = 0
    while opts.follow_redirects and resp.has_redirect_location:
        hops += 1
        if hops > opts.max_redirects:
            break  # the 3xx ends the stream with an http-status row
        resp.close()
        req, same = _next_request(client, st, att, req, resp)
        auth: Any = httpx.USE_CLIENT_DEFAULT if same else None
        resp = client.send(req, stream=True, follow_redirects=False, auth=auth)
    return resp


async def _open_async(
    client: httpx.AsyncClient, st: Stream, att: Attempt, timeout: httpx.Timeout
) -> httpx.Response:
    """``_open_sync`` for the async shell."""
    opts = st.rec.opts
    req = _first_request(client, st, att, timeout)
    resp = await client.send(req, stream=True, follow_redirects=False)
    hops = 0
    while opts.follow_redirects and resp.has_redirect_location:
        hops += 1
        if hops > opts.max_redirects:
            break
        await resp.aclose()
        req, same = _next_request(client, st, att, req, resp)
        auth: Any = httpx.USE_CLIENT_DEFAULT if same else None
        resp = await client.send(req, stream=True, follow_redirects=False, auth=auth)
    return resp


def _bad_url(exc: Exception, st: Stream) -> ValueError:
    return ValueError(f"cannot request {st.shown_url()!r}: {exc}")


# -- the sync shell ------------------------------------------------------------------


class _Watchdog:
    """Ends the sync shell's open connection at the deadline: it shuts the socket
    down, which wakes a read blocked on it. A per-read timeout cannot do this: every
    chunk that arrives starts it again."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.lock = threading.Lock()
        self.sock: Any = None
        self.fired = False
        self.timer: threading.Timer | None = None
        if rec.deadline is not None:
            left = max(rec.deadline - time.monotonic(), 0.0)
            self.timer = threading.Timer(left, self.fire)
            self.timer.daemon = True
            self.timer.start()

    def watch(self, resp: httpx.Response) -> None:
        stream = resp.extensions.get("network_stream")
        try:
            sock = stream.get_extra_info("socket") if stream is not None else None
        except Exception:  # a transport without a socket
            sock = None
        with self.lock:
            self.sock = sock
            if self.fired:
                self._shut()

    def unwatch(self) -> None:
        with self.lock:
            self.sock = None

    def fire(self) -> None:
        with self.lock:
            self.fired = True
            self._shut()

    def _shut(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed
                pass

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


def _attempt_sync(
    st: Stream, att: Attempt, client: httpx.Client, dog: _Watchdog
) -> str | None:
    rec = st.rec
    opts = rec.opts
    read = opts.read_limit()
    connect = opts.connect_timeout
    if rec.deadline is not None:
        left = max(rec.deadline - time.monotonic(), 0.001)
        read = left if read is None else min(read, left)
        connect = left if connect is None else min(connect, left)
    try:
        with contextlib.closing(
            _open_sync(client, st, att, _timeout(opts, read, connect))
        ) as resp:
            bad = st.on_response(
                att, resp.status_code, resp.headers, resp.url, _DECODABLE
            )
            if bad is not None:
                body = b"" if bad in _NO_BODY else _prefix_sync(resp)
                st.failed_response(att, bad, body)
                st.end(att, bad)
                return None
            dog.watch(resp)
            try:
                waiting = _waiting_check(resp)
                deadline = rec.deadline
                for chunk in resp.iter_bytes():
                    reason = st.on_chunk(att, chunk, waiting())
                    if reason is None and deadline is not None:
                        if time.monotonic() >= deadline:
                            reason = "duration"
                    if reason is not None:
                        st.end(att, reason)
                        return reason
            finally:
                dog.unwatch()
        if rec.past_deadline():
            st.end(att, "duration")
            return "duration"
        return st.finish(att)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise _bad_url(exc, st) from exc
    except (httpx.HTTPError, httpx.StreamError) as exc:
        if rec.past_deadline():
            st.end(att, "duration")
            return "duration"
        if isinstance(exc, httpx.ReadTimeout):
            idle = opts.idle_timeout is not None and att.t_headers is not None
            st.fail(att, exc, "idle-timeout" if idle else "timeout")
        elif isinstance(exc, httpx.TimeoutException):
            st.fail(att, exc, "timeout")
        else:
            st.fail(att, exc)
    return None


def _waiting_check(resp: httpx.Response) -> Callable[[], bool]:
    """A check of whether more body bytes already wait on the connection's socket.

    Reads that come back to back are then parsed together (a region of many blocks
    reads several times faster than one read at a time); a read with nothing behind
    it is parsed at once, so no record waits for the next one. Without a socket to
    look at (HTTP/2, another transport), every read is parsed as it comes.

    The async shell asks the same of the socket under the event loop: anyio stops
    reading the transport between receives, so waiting bytes stay in the socket.
    """
    stream = resp.extensions.get("network_stream")
    try:
        sock = stream.get_extra_info("socket") if stream is not None else None
        fd = sock.fileno() if sock is not None else -1
    except Exception:  # a transport without a socket
        fd = -1
    if fd < 0:
        return lambda: False
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return lambda: bool(poller.poll(0))
    return lambda: bool(select.select([fd], [], [], 0)[0])


def _prefix_sync(resp: httpx.Response) -> bytes:
    got = b""
    try:
        for chunk in resp.iter_bytes():
            got += chunk
            if len(got) >= 512:
                break
    except httpx.HTTPError:
        pass
    return got[:512]


def _wait_past_deadline(st: Stream, delay: float) -> bool:
    """Whether the next connection would start after the deadline; then the stream
    ends at once, saying why (nothing is gained by waiting for the deadline)."""
    deadline = st.rec.deadline
    if deadline is None or delay < deadline - time.monotonic():
        return False
    st.ended = (
        f"duration: the next connection was due in {delay:.3g} s, after the "
        f"capture's deadline"
    )
    st.state = "done"
    return True


def _run_sync(st: Stream, client: httpx.Client) -> str | None:
    """Connect, read, reconnect until the stream is over; return a global stop
    reason (``max-events``, ``duration``) or ``None``."""
    dog = _Watchdog(st.rec)
    try:
        while st.decision.reconnect:
            delay = st.decision.delay
            if _wait_past_deadline(st, delay):
                return "duration"
            st.state = "waiting"
            t0 = time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            att = st.begin(time.perf_counter() - t0 if delay > 0 else 0.0)
            try:
                reason = _attempt_sync(st, att, client, dog)
            except KeyboardInterrupt:
                st.end(att, "stopped")
                raise
            if reason in ("max-events", "duration"):
                return reason
    finally:
        dog.cancel()
    st.state = "done"
    return None


def capture(url: str, **options: Any) -> Capture:
    """Record an event stream until a stop condition, Ctrl-C, or its end.

    Every record (events, comments, retry lines, blank keep-alives) of every connection
    becomes a row of ``Capture.events`` with its arrival time; every attempt a row of
    ``Capture.connections``. Reconnects follow the standard (``retry``,
    ``Last-Event-ID``, 204 stops) plus backoff with jitter.

    Options:
        method, json, content, headers, params: the request (LLM APIs stream from a
            POST with a JSON body).
        client: an ``httpx.Client`` to send it with (yours stays open);
            ``httpx_options``: keyword arguments for the client made otherwise.
        connect_timeout (10 s), read_timeout (none), idle_timeout (none): a stream
            silent for ``idle_timeout`` seconds is treated as dead and reconnected.
        max_events, duration (s), until: stop conditions. ``duration`` is a
            deadline for the whole capture, however fast the stream sends.
            ``until`` is an event type (``"done"``, ``"job-complete"``...), a
            bracketed data sentinel such as ``"[DONE]"``, or a function of a
            ``Record``; by default (``"auto"``) a stream whose last event says it is
            done (``_endings.py``: ``[DONE]``, ``done``, ``message_stop``...) and then
            hangs up is not reconnected; ``until=None`` reconnects forever, as the
            standard says.
        reconnect (auto: True, except that a request with a body or a method other
            than GET is not sent again once the server answered it), max_reconnects,
            max_failures (5 failed attempts in a row), retry (3 s when the stream
            sent none), backoff (seconds, or a ``_reconnect.Backoff``: grows from the
            server's retry after short connections, up to 30 s), retry_statuses
            (5xx and 429), max_retry_after (3600 s: the longest ``Retry-After``
            honoured).
        trust_time_scale: honour a server's ``SSENB-Time-Scale`` (default: only
            for servers this process started, ``demo_server()`` and replay).
        last_event_id: resume from this id. follow_redirects (True), max_redirects
            (20): a redirect to another origin drops ``Authorization``,
            ``Proxy-Authorization``, ``Cookie``, every header the redaction rules
            call secret, and the ``strip_headers`` you name; the connection's ``url``
            shows the chain ``a -> b``.
        path: record to this file while capturing (crash-safe); progress (auto);
            keep_raw (True): keep the body bytes; redact (True); max_event_size; seed.

    Raises:
        NotAnEventStream, StreamError: nothing was recorded and the stream failed
            (``.capture`` holds the connections tried).

    Example:
        >>> cap = ssenb.capture(url, max_events=100, until="[DONE]")  # doctest: +SKIP
        >>> cap.events[["elapsed", "type", "data"]]  # doctest: +SKIP
    """
    if not isinstance(url, str | httpx.URL):
        raise TypeError(
            f"capture() takes one URL; for a mapping of streams use capture_many(), "
            f"got {type(url).__name__}"
        )
    opts = _options(options)
    client = opts.client
    if client is not None and not isinstance(client, httpx.Client):
        raise TypeError(
            f"capture() sends with an httpx.Client; got {type(client).__name__} "
            f"(use acapture() with an httpx.AsyncClient)"
        )
    rec = Recording([targets_of(str(url), opts)], opts)
    own = client is None
    if own:
        client = httpx.Client(**_client_options(opts))
    rec.restart_clock()
    st = rec.streams[0]
    try:
        with _keeping(rec), _outputs(rec, opts.progress):
            try:
                rec.stop_reason = _run_sync(st, client)
            except KeyboardInterrupt:
                rec.stop_reason = "stopped"
                st.state = "done"
                rec.realign()
    finally:
        if own:
            client.close()
    cap = _result(rec, last=True)
    _raise_if_nothing(rec, cap)
    return cap


# -- the async shell -----------------------------------------------------------------


class _PoolFull(Exception):
    def __init__(self, size: int | None) -> None:
        super().__init__(
            f"no connection was free in the client's pool (max_connections={size}) "
            f"before the pool timeout; give the client at least one connection per "
            f"stream, or pass concurrency="
        )


def _pool_size(client: Any) -> int | None:
    """The most connections an httpx client opens (``None``: no limit or unknown)."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    size = getattr(pool, "_max_connections", None)
    return size if isinstance(size, int) else None


#: The most streams that share one of the clients capture makes.
_GROUP = 50


def _pool_options(opts: Options, n: int) -> dict[str, Any]:
    """The client's options with a pool of one connection per stream that may run at
    once (httpx's default of 100 left the rest waiting silently)."""
    options = _client_options(opts)
    if "limits" not in options:
        options["limits"] = httpx.Limits(
            max_connections=max(100, n + 10), max_keepalive_connections=20
        )
    return options


def _check_pool(client: Any, n: int, yours: bool) -> None:
    size = _pool_size(client)
    if size is not None and size < n:
        where = "your client's" if yours else "the httpx_options' limits"
        raise ValueError(
            f"{n} streams may run at once but {where} pool holds at most {size} "
            f"connections: the others would wait without a connection. Make it "
            f"httpx.Limits(max_connections={n}) or more, or pass concurrency={size}"
        )


class _Closing:
    """An async response as something ``contextlib.aclosing`` closes."""

    def __init__(self, resp: httpx.Response) -> None:
        self.resp = resp

    async def aclose(self) -> None:
        await self.resp.aclose()


class _Control:
    """Stops the stream tasks of one recording, from its loop."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.slots: asyncio.Semaphore | None = None  # concurrency=N

    def stop(self, reason: str, *, keep: Any = None) -> None:
        if self.reason is None:
            self.reason = reason
        for task in self.tasks:
            if task is not keep and not task.done():
                task.cancel()


async def _prefix_async(resp: httpx.Response) -> bytes:
    got = b""
    try:
        async for chunk in resp.aiter_bytes():
            got += chunk
            if len(got) >= 512:
                break
    except httpx.HTTPError:
        pass
    return got[:512]


async def _attempt_async(
    st: Stream, att: Attempt, client: httpx.AsyncClient
) -> str | None:
    opts = st.rec.opts
    timeout = _timeout(opts, opts.read_limit(), _connect_limit(st))
    try:
        resp = await _open_async(client, st, att, timeout)
        async with contextlib.aclosing(_Closing(resp)):
            bad = st.on_response(
                att, resp.status_code, resp.headers, resp.url, _DECODABLE
            )
            if bad is not None:
                body = b"" if bad in _NO_BODY else await _prefix_async(resp)
                st.failed_response(att, bad, body)
                st.end(att, bad)
                return None
            waiting = _waiting_check(resp)
            deadline = st.rec.deadline
            async for chunk in resp.aiter_bytes():
                reason = st.on_chunk(att, chunk, waiting())
                if reason is None and st.rec.pace is not None:
                    await st.rec.pace()
                if reason is None and deadline is not None:
                    if time.monotonic() >= deadline:
                        reason = "duration"
                if reason is not None:
                    st.end(att, reason)
                    return reason
        return st.finish(att)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise _bad_url(exc, st) from exc
    except httpx.ReadTimeout as exc:
        idle = opts.idle_timeout is not None and att.t_headers is not None
        st.fail(att, exc, "idle-timeout" if idle else "timeout")
    except httpx.PoolTimeout as exc:
        st.fail(att, _PoolFull(_pool_size(client)), "pool-timeout")
        del exc
    except httpx.TimeoutException as exc:
        st.fail(att, exc, "timeout")
    except (httpx.HTTPError, httpx.StreamError) as exc:
        st.fail(att, exc)
    return None


async def _run_async(st: Stream, client: httpx.AsyncClient, control: _Control) -> None:
    slots = control.slots
    if slots is None:
        await _run_stream(st, client, control)
        return
    st.state = "queued"
    try:
        await slots.acquire()
    except asyncio.CancelledError:
        st.not_started(control.reason or "stopped", "queued (concurrency)")
        st.state = "done"
        if control.reason is None:
            raise
        return
    try:
        await _run_stream(st, client, control)
    finally:
        slots.release()


async def _run_stream(st: Stream, client: httpx.AsyncClient, control: _Control) -> None:
    att: Attempt | None = None
    try:
        while st.decision.reconnect and control.reason is None:
            att = None
            st.state = "waiting"
            t0 = time.perf_counter()
            delay = st.decision.delay
            if _wait_past_deadline(st, delay):
                break  # this stream ends; the others go on to the deadline
            if delay > 0:
                await asyncio.sleep(delay)
            att = st.begin(time.perf_counter() - t0 if delay > 0 else 0.0)
            reason = await _attempt_async(st, att, client)
            if reason in ("max-events", "duration"):
                control.stop(reason, keep=asyncio.current_task())
                break
    except asyncio.CancelledError:
        if att is not None:
            st.end(att, control.reason or "stopped")
        if control.reason is None:
            raise
    except KeyboardInterrupt:
        if att is not None:
            st.end(att, "stopped")
        control.stop("stopped")
    finally:
        st.state = "done"


async def _arecord(rec: Recording, progress: bool | None) -> None:
    """Run every stream of ``rec`` on the running loop until all are over."""
    opts = rec.opts
    control = _Control()
    rec.control = control
    client = opts.client
    own = client is None
    at_once = len(rec.streams)
    if opts.concurrency is not None:
        at_once = min(at_once, opts.concurrency)
        control.slots = asyncio.Semaphore(opts.concurrency)
    if own:
        # httpcore's pool does work per request that grows with its connections
        # (1,000 streams on one client took 5 s before the first response head):
        # a client per group of streams keeps each pool small.
        groups = -(-at_once // _GROUP)
        clients = [
            httpx.AsyncClient(**_pool_options(opts, min(at_once, _GROUP)))
            for _ in range(groups)
        ]
        client = clients[0]
    elif not isinstance(client, httpx.AsyncClient):
        raise TypeError(
            f"acapture() sends with an httpx.AsyncClient; got {type(client).__name__} "
            f"(use capture() with an httpx.Client)"
        )
    else:
        clients = [client]
    try:
        _check_pool(client, min(at_once, _GROUP) if own else at_once, not own)
    except ValueError:
        if own:
            await client.aclose()
        raise
    rec.restart_clock()
    loop = asyncio.get_running_loop()
    timer = None
    try:
        with _outputs(rec, progress):
            tasks = [
                asyncio.ensure_future(
                    _run_async(st, clients[i % len(clients)], control)
                )
                for i, st in enumerate(rec.streams)
            ]
            control.tasks.update(tasks)

            def fail_fast(task: asyncio.Task[None]) -> None:
                if not task.cancelled() and task.exception() is not None:
                    control.stop("stopped")

            for task in tasks:
                task.add_done_callback(fail_fast)
            if opts.duration is not None:
                left = max((rec.deadline or 0.0) - time.monotonic(), 0.0)
                timer = loop.call_later(left, control.stop, "duration")
            if rec.stop_reason == "stopped":
                control.stop("stopped")
            try:
                results = await asyncio.gather(*tasks, return_exceptions=True)
            except BaseException:  # the awaiting task itself was cancelled
                control.stop("stopped")
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            finally:
                rec.stop_reason = rec.stop_reason or control.reason
            for result in results:
                if isinstance(result, asyncio.CancelledError) and control.reason:
                    continue  # a task stopped before it started
                if isinstance(result, BaseException):
                    raise result
    finally:
        if timer is not None:
            timer.cancel()
        if own:
            for c in clients:
                await c.aclose()


async def acapture(url: str, **options: Any) -> Capture:
    """``capture`` for async code: ``cap = await ssenb.acapture(url, ...)``.

    Takes the same options; ``client`` is an ``httpx.AsyncClient``. Cancelling the
    awaiting task ends the recording (rows say ``stopped``) and propagates; the
    ``CancelledError`` carries what was recorded as ``.capture``.
    """
    if not isinstance(url, str | httpx.URL):
        raise TypeError(
            f"acapture() takes one URL; for a mapping of streams use acapture_many(), "
            f"got {type(url).__name__}"
        )
    opts = _options(options)
    rec = Recording([targets_of(str(url), opts)], opts)
    with _keeping(rec):
        await _arecord(rec, opts.progress)
    cap = _result(rec, last=True)
    _raise_if_nothing(rec, cap)
    return cap


def _targets(streams: Any, opts: Options) -> list[Target]:
    if isinstance(streams, str | httpx.URL):
        return [targets_of(str(streams), opts)]
    if not isinstance(streams, Mapping) or not streams:
        raise TypeError(
            "streams must be a non-empty mapping {name: url or request mapping}, got "
            f"{type(streams).__name__}"
        )
    return [targets_of(spec, opts, name=str(name)) for name, spec in streams.items()]


async def acapture_many(streams: Mapping[str, Any], **options: Any) -> Capture:
    """Record many streams at once on the running loop; frames carry a ``stream``
    column.

    ``streams`` maps a name to a URL or to a request mapping (``url``, ``method``,
    ``headers``, ``params``, ``json``, ``content``). ``until`` ends each stream on its
    own; ``max_events`` (a total) and ``duration`` end them all.

    ``path`` may name a folder (an existing one, or a path ending with ``/``): the
    recording is then kept in ``<folder>/.recording.jsonl`` while it runs (crash-safe,
    as for a file) and written into a dataset there at the end, one entry per stream,
    which ``ssenb.dataset.open_dataset(folder)`` opens; a folder that already holds a
    dataset is refused before anything is recorded.
    """
    into = _DatasetTarget.of(options)
    if into is not None:
        options = {**options, "path": into.spool}
    opts = _options(options)
    rec = Recording(_targets(streams, opts), opts)
    with _keeping(rec):
        await _arecord(rec, opts.progress)
    cap = _result(rec, last=True)
    _raise_if_nothing(rec, cap)
    return cap if into is None else into.finish(cap)


def capture_many(streams: Mapping[str, Any], **options: Any) -> Capture:
    """Record many streams at once (blocking); see ``acapture_many``.

    It runs them on a private thread with its own event loop, so it works in a notebook
    whose loop is already running. Ctrl-C ends it and returns what was recorded.
    """
    if options.get("client") is not None:
        raise TypeError(
            "capture_many() makes its own client on its own thread; pass "
            "httpx_options=... instead, or use acapture_many(client=AsyncClient)"
        )
    into = _DatasetTarget.of(options)
    if into is not None:
        options = {**options, "path": into.spool}
    recorder = Recorder(streams, progress=options.pop("progress", None), **options)
    try:
        recorder.wait()
    except KeyboardInterrupt:
        pass
    cap = recorder.stop()
    _raise_if_nothing(recorder._rec, cap)
    return cap if into is None else into.finish(cap)


class _DatasetTarget:
    """A ``path=`` that names a folder: ``capture_many`` records into a dataset there.

    The dataset layer sits above capture (it reads captures); it is imported here, at
    call time, only when a folder is asked for.
    """

    def __init__(self, folder: Path) -> None:
        from .dataset import DatasetWriter

        # made first: a folder that already holds a dataset fails before recording
        self.writer = DatasetWriter(folder)
        self.spool = folder / ".recording.jsonl"

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> _DatasetTarget | None:
        path = options.get("path")
        if path is None:
            return None
        text = os.fspath(path)
        if text.endswith(("/", os.sep)) or Path(text).is_dir():
            return cls(Path(text))
        return None

    def finish(self, cap: Capture) -> Capture:
        """Write the recording into the dataset, drop the spool; the capture keeps
        its frames (read once from the spool)."""
        self.writer.add(cap, label="capture")
        self.writer.close()
        cap.raw  # noqa: B018 - read now: the spool it comes from is removed next
        self.spool.unlink(missing_ok=True)
        return cap


# -- background recording --------------------------------------------------------------


class Recorder:
    """A recording that runs in the background, on its own thread and event loop.

    It keeps recording between notebook cells; ``capture`` is a consistent snapshot you
    can read at any time, ``records_since(n)`` the rows added after the first ``n``,
    ``stats()`` the live state of each stream. ``stop()`` ends it and returns the
    final ``Capture``; it re-raises an error of the background thread. It works as a
    context manager. Takes the options of ``capture`` (not ``client``); ``url`` may
    also be a mapping of streams, as for ``capture_many``.

    Example:
        >>> with ssenb.Recorder(url, duration=60) as rec:  # doctest: +SKIP
        ...     rec.wait(5)
        ...     rec.capture.events.tail()
    """

    def __init__(
        self,
        url: Any,
        *,
        progress: bool | None = False,
        autostart: bool = True,
        **options: Any,
    ):
        if options.get("client") is not None:
            raise TypeError(
                "a Recorder makes its own httpx.AsyncClient on its own thread; pass "
                "httpx_options=... (headers, auth, verify...) instead of client="
            )
        opts = _options(options)
        self._rec = Recording(_targets(url, opts), opts)
        self._progress = progress
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._finished = threading.Event()
        if autostart:
            self.start()

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> Recorder:
        """Start recording in the background (a Recorder starts when made unless
        ``autostart=False``); returns self. Once started, it does nothing: a
        Recorder records once."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._main, name="ssenb-recorder", daemon=True
        )
        self._thread.start()
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        with self._lock:
            self._loop = loop
        try:
            loop.run_until_complete(_arecord(self._rec, self._progress))
        except BaseException as exc:  # re-raised by stop() / wait() in the caller
            self._error = exc
        finally:
            with self._lock:
                self._loop = None
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self._finished.set()

    @property
    def running(self) -> bool:
        """Whether it is recording now."""
        return self._thread is not None and not self._finished.is_set()

    def __repr__(self) -> str:
        if self._thread is None:
            state = "not started (autostart=False; call start())"
        elif self.running:
            state = "recording"
        else:
            state = "done"
        st = self.stats()
        streams = st["streams"]
        ended = sorted({s["ended"] for s in streams.values() if s.get("ended")})
        states = sorted({s["state"] for s in streams.values()})
        parts = [
            f"{len(streams)} stream(s)" if len(streams) > 1 else "",
            f"{st['events']:,} events over {st['connections']} connection(s)",
            f"{st['elapsed']:.1f} s" if self._thread is not None else "",
            "streams " + ", ".join(states) if self.running else "",
            "; ".join(ended),
        ]
        errors = [s["last_error"] for s in streams.values() if s.get("last_error")]
        if errors:
            parts.append(f"last error: {errors[-1][:120]}")
        return f"<Recorder {state}: " + ", ".join(p for p in parts if p) + ">"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the recording ends by itself (or ``timeout`` seconds); return
        whether it ended. Re-raises an error of the background thread."""
        if self._thread is None:
            raise RuntimeError(
                "this Recorder was made with autostart=False: start() it before "
                "waiting on it"
            )
        done = self._finished.wait(timeout)
        if done:
            self._raise()
        return done

    def stop(self, timeout: float | None = 30.0) -> Capture:
        """End the recording (open connections say ``stopped``); return the capture.

        Re-raises an error of the background thread.
        """
        with self._lock:
            loop = self._loop
            rec = self._rec
            if rec.stop_reason is None and not self._finished.is_set():
                rec.stop_reason = "stopped"
            control = rec.control
            if loop is not None and control is not None:
                try:
                    loop.call_soon_threadsafe(control.stop, "stopped")
                except RuntimeError:  # the loop closed meanwhile
                    pass
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(
                    f"the recording did not stop within {timeout} s; "
                    f"its thread is still running"
                )
        self._raise()
        return self.capture

    def _raise(self) -> None:
        err = self._error
        if err is not None:
            self._error = None
            raise err

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- live views ----------------------------------------------------------------

    @property
    def capture(self) -> Capture:
        """A consistent snapshot of everything recorded so far.

        It builds the whole frames (about a second per million rows); a live view
        polls ``records_since`` and ``connections`` instead.
        """
        return _result(self._rec)

    @property
    def connections(self) -> pd.DataFrame:
        """The connections frame so far (the rows of attempts that ended)."""
        return self._rec.connections_frame()

    @property
    def version(self) -> int:
        """A counter that grows whenever rows are added (cheap to poll)."""
        return self._rec.version

    def __len__(self) -> int:
        return self._rec.rows

    def records_since(self, n: int) -> pd.DataFrame:
        """The events rows after the first ``n``, indexed by their row number."""
        return self._rec.records_since(n)

    def stats(self) -> dict[str, Any]:
        """The live state: totals, the server's time scale (1 = real time) and, per
        stream, connection number, state (``connecting``, ``open``, ``waiting``,
        ``done``), events, records, bytes, last event type and last error."""
        return self._rec.live_stats(self.running)
