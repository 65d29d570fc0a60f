"""Records one at a time as they arrive: ``iter_records`` and ``aiter_records``.

For code that reacts to a stream instead of recording it. Both run the async shell of
``capture`` (``capture._arecord``) unchanged, so the options and stop rules are those
of ``capture``; two hooks of the recording hand each read's records out:

- ``Recording.on_records`` puts them on a small queue and lets the recording forget
  them (nothing handed out is also kept: memory stays flat on an endless stream);
- ``Recording.pace`` is awaited by the shell after each chunk and waits while the
  queue is full, so a slow reader holds the socket back (TCP does the rest) instead
  of the queue growing.

``iter_records`` runs the recording on a private thread with its own event loop (it
works in a notebook whose loop is running); ``aiter_records`` runs it as a task on the
caller's loop. Closing either (``break`` then garbage collection, ``close()``,
``aclose()``, the ``with`` block's end) stops the recording, which closes the
connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._session import PATH_COALESCE, Attempt, Parsed, Recording, Stream, targets_of
from .capture import _arecord, _options
from .parse import Record

__all__ = ["AsyncRecordStream", "RecordStream", "aiter_records", "iter_records"]

#: Batches (one read's records each, at most ``PATH_COALESCE`` bytes) waiting for
#: the reader before the recording stops reading the socket.
QUEUE = 16
#: Connection rows kept for ``connections`` (a stream that reconnects forever
#: would otherwise add one per connection without end).
KEEP_CONNECTIONS = 1000


def _recording(url: Any, options: Mapping[str, Any], caller: str) -> Recording:
    for name in ("path", "keep_raw"):
        if options.get(name):
            raise ValueError(
                f"{caller}() hands records out without keeping them, so {name}= "
                f"has nothing to keep; to record the stream as well, use "
                f"ssenb.capture(..., {name}=...) or ssenb.Recorder"
            )
    if not isinstance(url, str) and not hasattr(url, "scheme"):
        raise TypeError(
            f"{caller}() takes one URL (a str or httpx.URL), got {type(url).__name__}"
        )
    given = dict(options)
    given.setdefault("progress", False)
    given["keep_raw"] = False
    opts = _options(given)
    rec = Recording([targets_of(str(url), opts)], opts)
    rec.coalesce = PATH_COALESCE  # small regions: what waits for the reader is small
    return rec


class _Feed:
    """The bounded hand-over from the recording's loop to the reader."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.items: deque[tuple[int, Any, Parsed]] = deque()
        self.cond = threading.Condition()
        self.done = False
        self.closed = False
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.room: asyncio.Event | None = None  # made on the recording's loop
        self.ready: asyncio.Event | None = None  # set by the async reader
        rec.on_records = self.put
        rec.pace = self.wait_for_room

    # -- the recording's side (its loop) ------------------------------------------

    def put(self, st: Stream, att: Attempt, batch: Parsed, t: Any) -> None:
        rec = self.rec
        with rec.lock:  # handed out, not kept
            rec.parts.clear()
            rec.ends.clear()
            rec.base = rec.rows
            if len(rec.conn_rows) > KEEP_CONNECTIONS:
                del rec.conn_rows[:-KEEP_CONNECTIONS]
        if self.closed:
            return
        with self.cond:
            self.items.append((att.number, t, batch))
            self.cond.notify_all()
        if self.ready is not None:
            self.ready.set()

    async def wait_for_room(self) -> None:
        room = self.room
        while room is not None and len(self.items) >= QUEUE and not self.closed:
            room.clear()
            if len(self.items) < QUEUE:
                break
            await room.wait()

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.room = asyncio.Event()
        rec = self.rec
        try:
            await _arecord(rec, rec.opts.progress)
            errors = [st.error for st in rec.streams if st.error is not None]
            nothing = not rec.rows and rec.stop_reason != "stopped"
            if nothing and errors and len(errors) == len(rec.streams):
                self.error = errors[0]  # as capture: nothing came, say why
        except asyncio.CancelledError:
            if not self.closed:
                raise
        except BaseException as exc:  # re-raised to the reader
            self.error = exc
        finally:
            with self.cond:
                self.done = True
                self.cond.notify_all()
            if self.ready is not None:
                self.ready.set()

    def stop(self) -> None:
        """Stop the recording (from any thread); the connection closes."""
        self.closed = True
        rec = self.rec
        if rec.stop_reason is None and not self.done:
            rec.stop_reason = "stopped"
        loop, control, room = self.loop, rec.control, self.room
        if loop is None or loop.is_closed():
            return

        def stop_here() -> None:
            if control is not None:
                control.stop("stopped")
            if room is not None:
                room.set()

        try:
            if _on_loop(loop):
                stop_here()
            else:
                loop.call_soon_threadsafe(stop_here)
        except RuntimeError:  # the loop closed meanwhile
            pass

    # -- the reader's side ---------------------------------------------------------

    def take(self) -> tuple[int, Any, Parsed] | None:
        """The oldest batch waiting, or ``None``; tells the recording there is room."""
        with self.cond:
            item = self.items.popleft() if self.items else None
        if item is not None and self.room is not None:
            loop = self.loop
            if loop is not None and _on_loop(loop):
                self.room.set()
            elif loop is not None:
                try:
                    loop.call_soon_threadsafe(self.room.set)
                except RuntimeError:  # the loop closed: nothing waits for room
                    pass
        return item


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _run_on_own_loop(feed: _Feed) -> None:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(feed.run())
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


class _Reader:
    """What both iterators share: the records of the batch being handed out and the
    stream time and connection of the last one."""

    def __init__(self, rec: Recording) -> None:
        self._rec = rec
        self._feed = _Feed(rec)
        self._records: list[Record] = []
        self._elapsed: list[float] = []
        self._n = 0
        self._i = 0
        #: Stream seconds from the first request to the arrival of the last record
        #: handed out (the server's time scale undone); ``nan`` before the first.
        self.elapsed = float("nan")
        #: The connection (1, 2, ...) that delivered the last record handed out.
        self.connection = 0

    def _load(self, item: tuple[int, Any, Parsed]) -> None:
        conn, t, batch = item
        rec = self._rec
        t_ns = np.asarray(t, dtype=np.int64)
        seconds = (t_ns - rec.mono0) / 1e9 * rec.time_scale
        self._records = batch.records()
        self._n = len(self._records)
        self._elapsed = np.broadcast_to(seconds, (self._n,)).tolist()
        self._i = 0
        self.connection = conn  # the batch's records are handed out next

    def _next_loaded(self) -> Record | None:
        i = self._i
        if i >= self._n:
            return None
        self._i = i + 1
        self.elapsed = self._elapsed[i]
        return self._records[i]

    @property
    def connections(self) -> pd.DataFrame:
        """One row per connection so far (``capture``'s ``connections`` frame): how
        each ended, its status, retry, Last-Event-ID sent, redirect chain."""
        return self._rec.connections_frame()

    @property
    def ended(self) -> str:
        """Why the stream is over (``finished: [DONE]``, ``max-failures``...), or
        why the iteration stopped (``max-events``, ``duration``, ``stopped``);
        ``""`` while it runs."""
        st = self._rec.streams[0]
        return st.ended or (self._rec.stop_reason or "" if self._feed.done else "")


class RecordStream(_Reader):
    """The records of a stream as they arrive (``iter_records``); an iterator of
    ``Record``, and a context manager that closes it."""

    def __init__(self, rec: Recording) -> None:
        super().__init__(rec)
        self._thread: threading.Thread | None = None

    def __iter__(self) -> RecordStream:
        return self

    def __next__(self) -> Record:
        i = self._i
        if i < self._n:  # the common case, inline
            self._i = i + 1
            self.elapsed = self._elapsed[i]
            return self._records[i]
        while True:
            got = self._next_loaded()
            if got is not None:
                return got
            item = self._wait()
            if item is None:
                self.close()
                if self._feed.error is not None:
                    err, self._feed.error = self._feed.error, None
                    raise err
                raise StopIteration
            self._load(item)

    def _wait(self) -> tuple[int, Any, Parsed] | None:
        feed = self._feed
        if feed.closed:
            return None
        if self._thread is None:
            # the thread holds the feed, not this iterator: a ``break`` lets the
            # iterator be collected, which closes the connection
            self._thread = threading.Thread(
                target=_run_on_own_loop,
                args=(feed,),
                name="ssenb-iter-records",
                daemon=True,
            )
            self._thread.start()
        while True:
            item = feed.take()
            if item is not None:
                return item
            with feed.cond:
                if feed.done and not feed.items:
                    return None
                if not feed.items:
                    feed.cond.wait(0.1)  # short: Ctrl-C is seen between waits

    def close(self) -> None:
        """Stop: the connection closes and the iteration ends."""
        self._feed.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)
        self._records = []
        self._n = 0

    def __enter__(self) -> RecordStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


class AsyncRecordStream(_Reader):
    """The records of a stream as they arrive, for ``async for``
    (``aiter_records``); an async context manager that closes it."""

    def __init__(self, rec: Recording) -> None:
        super().__init__(rec)
        self._task: asyncio.Task[None] | None = None

    def __aiter__(self) -> AsyncRecordStream:
        return self

    async def __anext__(self) -> Record:
        while True:
            got = self._next_loaded()
            if got is not None:
                return got
            item = await self._wait()
            if item is None:
                await self.aclose()
                if self._feed.error is not None:
                    err, self._feed.error = self._feed.error, None
                    raise err
                raise StopAsyncIteration
            self._load(item)

    async def _wait(self) -> tuple[int, Any, Parsed] | None:
        feed = self._feed
        if feed.closed:
            return None
        if self._task is None:
            feed.ready = asyncio.Event()
            self._task = asyncio.ensure_future(feed.run())
        ready = feed.ready
        assert ready is not None
        while True:
            item = feed.take()
            if item is not None:
                return item
            if feed.done:
                return None
            ready.clear()
            if not feed.items and not feed.done:
                await ready.wait()

    async def aclose(self) -> None:
        """Stop: the connection closes and the iteration ends."""
        self._feed.stop()
        task = self._task
        if task is not None and not task.done():
            await asyncio.gather(task, return_exceptions=True)
        self._records = []
        self._n = 0

    async def __aenter__(self) -> AsyncRecordStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # ``async for ... : break`` does not close an async iterator: stop the
        # recording's tasks here so the connection does not outlive the loop
        try:
            if self._task is not None and not self._task.done():
                self._feed.stop()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def iter_records(url: str, **options: Any) -> RecordStream:
    """The records of an event stream as they arrive, across reconnects.

    Takes the options and stop rules of ``ssenb.capture`` (``duration``, ``until``
    and the stream's own end marker, ``max_events``, reconnect backoff,
    ``Retry-After``, redirects that drop credentials off the origin...) except
    ``path`` and ``keep_raw``: nothing handed out is kept, so memory stays flat
    however long the stream runs (``progress`` is off unless asked: your loop is
    the output). Each item is a ``Record`` as the parser gives it
    (events, comments, retry lines, blank keep-alives; ``rec.kind == "event"`` keeps
    what a browser's ``EventSource`` dispatches, ``rec.type``/``rec.data``/``rec.id``
    are what httpx-sse calls ``event``/``data``/``id``). The iterator's ``elapsed``
    and ``connection`` say when (stream seconds) and on which connection the last
    record arrived; ``connections`` is the frame of attempts so far.

    Leaving the loop (``break``), ``close()`` or the end of a ``with`` block closes
    the connection. It runs on a private thread, so it works in a notebook.

    Raises:
        NotAnEventStream, StreamError: nothing arrived and the stream failed.

    Example:
        >>> for rec in ssenb.iter_records(url, until="[DONE]"):  # doctest: +SKIP
        ...     if rec.kind == "event":
        ...         print(rec.data)
    """
    return RecordStream(_recording(url, options, "iter_records"))


def aiter_records(url: str, **options: Any) -> AsyncRecordStream:
    """``iter_records`` for async code: ``async for rec in ssenb.aiter_records(url)``.

    Runs on the caller's event loop; ``client`` is an ``httpx.AsyncClient``.
    ``aclose()`` or the end of an ``async with`` block closes the connection at
    once; a ``break`` closes it when the iterator is collected.
    """
    return AsyncRecordStream(_recording(url, options, "aiter_records"))
