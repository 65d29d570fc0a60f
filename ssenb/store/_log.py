"""The append log a recording writes as it goes, so that a killed process loses at
most its last batch.

Rules of this module:

- The header line is written and fsynced when the log opens.
- Rows are buffered and written in batches, each batch with one ``write`` system
  call on an unbuffered descriptor: a batch is on its way to the disk once
  ``flush`` returns, and ``kill -9`` can lose only the batch not yet flushed and a
  partial last line.
- A batch is flushed when it reaches ``flush_rows`` rows, and at the latest
  ``flush_interval`` seconds after it started, by a daemon thread (also when no more
  rows come). Encoding happens there, once per batch, not once per small frame, so
  the recording thread only appends to a list; pyarrow releases the GIL while it
  encodes.
- Any thread may call any method; one lock guards the buffer and another keeps
  batches in order.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..frames import ADDED_COLUMNS, CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce
from ._jsonl import connection_lines, end_line, event_lines, header_line, raw_line

__all__ = ["CaptureLog"]


def _dtype_ok(dtype: Any, want: Any) -> bool:
    """A cheap check that a column needs no coercion (str(dtype) is slow)."""
    if want == "category":
        return isinstance(dtype, pd.CategoricalDtype)
    if isinstance(want, pd.CategoricalDtype):
        return isinstance(dtype, pd.CategoricalDtype)  # values are checked on read
    if isinstance(want, str):
        return bool(dtype == want)
    return type(dtype) is type(want) and bool(dtype == want)


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _concat_events(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    # Categoricals with different categories concatenate as plain strings; the
    # encoder writes both the same way.
    return pd.concat(frames, ignore_index=True)


class _Sink:
    """The file descriptor, the buffer and the flusher thread (no reference back to
    the CaptureLog, so an unclosed log can still be collected and closed)."""

    def __init__(self, path: Path, fd: int, interval: float, rows: int) -> None:
        self.path = path
        self.fd = fd
        self.interval = interval
        self.rows = rows
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.pending: list[pd.DataFrame | bytes] = []
        self.pending_rows = 0
        self.counts = {"events": 0, "connections": 0, "raw": 0}
        self.closed = False
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"ssenb-capture-log:{path.name}", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            if self.stop.is_set():
                return
            try:
                self.flush()
            except BaseException:  # kept in self.error; the next call raises it
                return

    def _broken(self) -> OSError:
        errno = getattr(self.error, "errno", None)
        reason = getattr(self.error, "strerror", None) or self.error
        return OSError(
            errno,
            f"writing {self.path} failed: {reason}; the rows written before are in "
            f"the file, the log takes no more",
        )

    def _check(self) -> None:
        if self.error is not None:
            raise self._broken() from self.error
        if self.closed:
            raise ValueError(f"the capture log {self.path} is closed")

    def add(self, item: pd.DataFrame | bytes, kind: str, rows: int) -> None:
        with self.lock:
            self._check()
            self.pending.append(item)
            self.pending_rows += rows
            self.counts[kind] += rows
            full = self.pending_rows >= self.rows
        if full:
            self.wake.set()  # the flusher thread encodes and writes

    def flush(self) -> None:
        """Write what is pending. A failure breaks the log for good (a later batch
        written after a lost one would hide the gap), and every later call says so."""
        with self.write_lock:
            with self.lock:
                self._check()
                items, self.pending, self.pending_rows = self.pending, [], 0
            if not items:
                return
            try:
                _write_all(self.fd, b"".join(self._encode(items)))
            except BaseException as exc:
                self.error = exc
                if isinstance(exc, OSError):
                    raise self._broken() from exc
                raise

    @staticmethod
    def _encode(items: list[pd.DataFrame | bytes]) -> list[Any]:
        out: list[Any] = []
        frames: list[pd.DataFrame] = []
        for item in [*items, b""]:
            if isinstance(item, pd.DataFrame):
                frames.append(item)
                continue
            if frames:
                out.append(event_lines(_concat_events(frames)))
                frames = []
            out.append(item)
        return out

    def close(self) -> None:
        """Flush, write the end line, fsync, close; called once (weakref.finalize)."""
        self.stop.set()
        self.wake.set()
        if self.thread is not threading.current_thread():
            self.thread.join()
        try:
            if self.error is None:
                self.flush()
                c = self.counts
                _write_all(self.fd, end_line(c["events"], c["connections"], c["raw"]))
                os.fsync(self.fd)
        finally:
            with self.write_lock, self.lock:
                self.closed = True
                os.close(self.fd)
        if self.error is not None:
            raise self._broken() from self.error


class CaptureLog:
    """An append-only capture file written while recording, safe against a crash.

    The file is the ``.jsonl`` capture format (``read_capture`` reads it): a header
    line with ``meta``, then events rows, connections rows and raw chunks as they
    come, then an end line on ``close``. Rows are buffered and written in small
    batches (``flush_rows`` rows, or ``flush_interval`` seconds, whichever comes
    first); a process killed with ``kill -9`` leaves a file that ``read_capture``
    loads whole but for the last unflushed batch, and it says what it recovered.

    Thread-safe: a background recorder may write while another thread flushes.

    Example:
        >>> with CaptureLog(tmp / "live.jsonl", {"url": url}) as log:  # doctest: +SKIP
        ...     log.write_events(frame)
        ...     log.write_connection(row)

    Raises:
        ValueError: the path does not end in ``.jsonl`` (record to JSON Lines, then
            convert with ``write_capture``).
        FileExistsError: the file exists and ``overwrite`` is false.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        meta: Mapping[str, Any],
        *,
        flush_interval: float = 0.2,
        flush_rows: int = 1000,
        overwrite: bool = True,
    ) -> None:
        self.path = Path(path)
        if not self.path.name.endswith(".jsonl"):
            raise ValueError(
                f"a capture log is JSON Lines, so its name must end in .jsonl, got "
                f"{self.path.name!r}; record to .jsonl, then convert it with "
                f"write_capture(...) to .jsonl.gz or .parquet"
            )
        if flush_interval <= 0 or flush_rows < 1:
            raise ValueError(
                f"flush_interval must be > 0 and flush_rows >= 1, got "
                f"{flush_interval!r} and {flush_rows!r}"
            )
        header = header_line(meta)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileExistsError:
            raise FileExistsError(
                f"{self.path} exists; pass overwrite=True to replace it, or choose "
                f"another path"
            ) from None
        try:
            _write_all(fd, header)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._sink = _Sink(self.path, fd, flush_interval, flush_rows)
        self._finalizer = weakref.finalize(self, self._sink.close)

    def write_events(self, frame: pd.DataFrame) -> None:
        """Append events rows (a frame with the ``EVENTS_SCHEMA`` columns).

        The frame is encoded at the next flush, so do not modify it afterwards.

        Raises:
            ValueError: a column is missing or holds values of the wrong type.
        """
        if len(frame) == 0:
            return
        dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
        if any(
            name not in dtypes or not _dtype_ok(dtypes[name], want)
            for name, want in EVENTS_SCHEMA.items()
        ):
            frame = coerce(frame, EVENTS_SCHEMA, what="events")
        elif len(frame.columns) != len(EVENTS_SCHEMA):
            frame = frame[list(EVENTS_SCHEMA)]
        self._sink.add(frame, "events", len(frame))

    def write_connection(self, row: Mapping[str, Any]) -> None:
        """Append one connections row (a mapping of every ``CONNECTIONS_SCHEMA``
        column), written when a connection ends.

        Raises:
            ValueError: a column is missing or unknown, or a value has the wrong type.
        """
        keys = set(row)
        missing = [
            c for c in CONNECTIONS_SCHEMA if c not in keys and c not in ADDED_COLUMNS
        ]
        unknown = sorted(keys - set(CONNECTIONS_SCHEMA))
        if missing or unknown:
            raise ValueError(
                f"a connections row needs exactly the CONNECTIONS_SCHEMA columns; "
                f"missing {missing}, unknown {unknown}"
            )
        frame = pd.DataFrame({name: [row.get(name)] for name in CONNECTIONS_SCHEMA})
        frame = coerce(frame, CONNECTIONS_SCHEMA, what="connections")
        self._sink.add(bytes(connection_lines(frame)), "connections", 1)

    def write_raw(
        self, stream: str, connection: int, elapsed: float, chunk: bytes
    ) -> None:
        """Append one chunk of body bytes, as received, with its arrival time."""
        line = raw_line(stream, int(connection), float(elapsed), bytes(chunk))
        self._sink.add(line, "raw", 1)

    def flush(self) -> None:
        """Write the buffered rows now (to the operating system, not fsynced).

        Raises:
            OSError: writing failed (now or in the background); the log is broken.
            ValueError: the log is closed.
        """
        self._sink.flush()

    def close(self) -> None:
        """Flush, write the end line, fsync and close. Calling it again does nothing.

        Raises:
            OSError: writing failed; the file holds what was written before.
        """
        self._finalizer()

    @property
    def closed(self) -> bool:
        """Whether ``close`` has run."""
        return self._sink.closed

    def __enter__(self) -> CaptureLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self._sink.counts.items())
        state = "closed" if self.closed else "open"
        return f"<CaptureLog {str(self.path)!r} {state}: {counts}>"
