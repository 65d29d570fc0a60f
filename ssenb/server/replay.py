"""Replay: a recorded capture turned back into the writes of each recorded connection.

Rules of this module:

- Pure apart from reading a file named by path: a recording becomes, per stream, a
  list of ``RecordedConnection`` holding ``Step`` lists in stream time; the app plays
  them like scenarios, faults included.
- Accepted recordings: an events frame (``EVENTS_SCHEMA``); any object with
  ``.events`` (a ``Capture``, or what ``ssenb.store.read_capture`` returns), whose
  ``.raw`` chunks are replayed byte for byte when present and whose ``.connections``
  give each connection's status, content type, start, end and time scale; raw stream
  bytes; a path to a raw ``.sse`` file (timed by its ``.timing.json`` sidecar when
  there is one); a path to a saved capture (read with ``ssenb.store.read_capture``).
- Timing: ``elapsed`` is wall-clock seconds of the recording; multiplied by the time
  scale the recorded server announced (``SSENB-Time-Scale``, 1 when unknown) it
  becomes stream time, which the app divides by its own speed. Records without a time
  (a raw file, ``NaN``) are spaced evenly, ``UNTIMED_GAP`` stream seconds apart.
- Each connection ends where the recording's ended: after its last record (or raw
  chunk, partial block included), or at its recorded ``end``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .._renamed import renamed
from ..frames import EVENTS_SCHEMA, coerce
from ..parse import Record, SSEParser, encode_records
from ._timeline import Step

__all__ = ["RecordedConnection", "Replay", "UNTIMED_GAP", "load_recording"]

#: Stream seconds between records that carry no time.
UNTIMED_GAP = 0.05

_SSE = "text/event-stream"


@dataclass
class RecordedConnection:
    """One recorded connection: how it was answered, and its writes in stream time."""

    number: int
    status: int = 200
    content_type: str = _SSE
    steps: list[Step] = field(default_factory=list)

    @property
    def events(self) -> int:
        """How many events the connection dispatched."""
        return sum(s.events for s in self.steps)


@dataclass
class Replay:
    """A recording ready to replay: stream name -> its connections, in order.

    (Named ``Recording`` before; that name kept meaning the live recording inside
    ``capture`` too.)
    """

    streams: dict[str, list[RecordedConnection]]
    source: str = "a capture"

    @property
    def default_stream(self) -> str:
        """The stream served when a request names none (the first one)."""
        return next(iter(self.streams), "")

    def describe(self) -> str:
        """One line for the index page."""
        parts = [
            f"{name or 'the stream'}: {len(conns)} connection(s), "
            f"{sum(c.events for c in conns)} events"
            for name, conns in self.streams.items()
        ]
        return f"{self.source} ({'; '.join(parts) or 'empty'})"


def load_recording(source: Any) -> Replay:
    """Read any accepted recording (see the module rules) into a ``Replay``.

    Raises:
        FileNotFoundError: a path that does not exist.
        TypeError: a source of a kind replay does not know.
        ValueError: a frame that lacks columns of the events schema.
    """
    if isinstance(source, Replay):
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(2, "no such recording", str(path))
        if path.suffix.lower() in (".sse", ".txt", ".events", ".bin"):
            chunks = _timed_chunks(path)
            if chunks is not None:
                times = [_number(t) for t, _ in chunks]
                conn = RecordedConnection(1, steps=_raw_steps(chunks, times, None, 1.0))
                return Replay({"": [conn]}, source=str(path))
            return _from_raw(path.read_bytes(), source=str(path))
        return _from_capture(_read_capture_file(path), source=str(path))
    if isinstance(source, bytes | bytearray | memoryview):
        return _from_raw(bytes(source), source="raw bytes")
    if hasattr(source, "events"):
        return _from_capture(source, source=type(source).__name__)
    if hasattr(source, "columns"):
        return _from_frame(source, None, None, scale=None, source="an events frame")
    raise TypeError(
        f"replay takes an events frame, a capture (an object with .events), raw bytes "
        f"or a path to a .sse or capture file; got {type(source).__name__}"
    )


def _read_capture_file(path: Path) -> Any:
    """A saved capture file (.jsonl, .parquet, ...) through the store."""
    try:
        from ..store import read_capture  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:  # pragma: no cover - the store ships with ssenb
        raise ValueError(
            f"cannot read {path}: reading saved captures needs ssenb.store; replay a "
            f"raw .sse file or pass the Capture itself"
        ) from exc
    return read_capture(path)


def _timed_chunks(path: Path) -> list[tuple[float, bytes]] | None:
    """The recorded chunks of a ``.sse`` file that has a timing sidecar
    (``<stem>.timing.json``, written by ``ssenb.store.export_sse``), else ``None``."""
    if not path.with_name(path.stem + ".timing.json").exists():
        return None
    try:
        from ..store import import_sse  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - the store ships with ssenb
        return None
    chunks: list[tuple[float, bytes]] = import_sse(path)
    return chunks


# -- raw bytes ---------------------------------------------------------------------


def _from_raw(data: bytes, *, source: str) -> Replay:
    """One connection, no timing: each record's exact bytes, evenly spaced."""
    parser = SSEParser()
    records = parser.feed(data) + parser.close()
    steps = []
    end = 0
    for r in records:
        chunk = data[r.offset : r.offset + r.size]
        steps.append(Step(UNTIMED_GAP, chunk, int(r.kind == "event"), r.id))
        end = r.offset + r.size
    if end < len(data):
        steps.append(Step(UNTIMED_GAP, data[end:]))
    return Replay({"": [RecordedConnection(1, steps=steps)]}, source=source)


# -- frames and captures -----------------------------------------------------------


def _from_capture(capture: Any, *, source: str) -> Replay:
    events = capture.events
    connections = getattr(capture, "connections", None)
    raw = getattr(capture, "raw", None) or None
    meta = getattr(capture, "meta", None) or {}
    scale = _number(meta.get("time_scale")) if isinstance(meta, dict) else None
    return _from_frame(events, connections, raw, scale=scale, source=source)


def _column(frame: Any, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _from_frame(
    events: Any,
    connections: Any,
    raw: dict[tuple[str, int], list[tuple[float, bytes]]] | None,
    *,
    scale: float | None,
    source: str,
) -> Replay:
    events = coerce(events, EVENTS_SCHEMA, what="replayed events")
    rows = sorted(
        zip(
            _column(events, "stream"),
            _column(events, "connection"),
            _column(events, "seq"),
            _column(events, "elapsed"),
            _column(events, "kind"),
            _column(events, "type"),
            _column(events, "data"),
            _column(events, "id"),
            _column(events, "retry"),
            strict=True,
        ),
        key=lambda row: (str(row[0]), row[1], row[2]),
    )
    info = _connection_info(connections)
    by_key: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
    for row in rows:
        by_key.setdefault((str(row[0]), int(row[1])), []).append(row)
    keys = [*info, *by_key, *(raw or {})]
    order = {stream: i for i, (stream, _) in reversed(list(enumerate(keys)))}
    streams: dict[str, list[RecordedConnection]] = {}
    for key in sorted(set(keys), key=lambda k: (order[k[0]], k[1])):
        meta = info.get(key, {})
        factor = meta.get("time_scale") or scale or 1.0
        start = meta.get("start")
        if raw and key in raw:
            times = [_number(t) for t, _ in raw[key]]
            steps = _raw_steps(raw[key], times, start, factor)
        else:
            times = [_number(row[3]) for row in by_key.get(key, [])]
            steps = _record_steps(by_key.get(key, []), times, start, factor)
        end = meta.get("end")
        last = max((t for t in times if t is not None), default=start)
        if end is not None and last is not None and end > last:
            steps.append(Step((end - last) * factor, b""))
        streams.setdefault(key[0], []).append(
            RecordedConnection(
                key[1],
                status=meta.get("status") or 200,
                content_type=meta.get("content_type") or _SSE,
                steps=steps,
            )
        )
    return Replay(streams, source=source)


def _connection_info(connections: Any) -> dict[tuple[str, int], dict[str, Any]]:
    info: dict[tuple[str, int], dict[str, Any]] = {}
    if connections is None or len(connections) == 0:
        return info
    cols = {
        name: _column(connections, name)
        for name in ("stream", "connection", "status", "content_type", "start", "end")
    }
    cols["time_scale"] = _column(connections, "time_scale")
    for i in range(len(connections)):
        stream = cols["stream"][i]
        key = (str(stream) if stream is not None else "", int(cols["connection"][i]))
        status = _number(cols["status"][i])
        scale = _number(cols["time_scale"][i])
        info[key] = {
            "status": int(status) if status is not None else None,
            "content_type": _text(cols["content_type"][i]),
            "start": _number(cols["start"][i]),
            "end": _number(cols["end"][i]),
            "time_scale": scale if scale and scale > 0 else None,
        }
    return info


def _delays(
    times: Iterable[float | None], start: float | None, factor: float
) -> list[float]:
    """Stream-time delays between successive times (``None``: untimed, even gaps)."""
    out = []
    previous = start
    for t in times:
        if t is None:
            out.append(UNTIMED_GAP)
            continue
        out.append(max(t - previous, 0.0) * factor if previous is not None else 0.0)
        previous = t
    return out


def _record_steps(
    rows: list[tuple[Any, ...]],
    times: list[float | None],
    start: float | None,
    factor: float,
) -> list[Step]:
    steps = []
    for row, delay in zip(rows, _delays(times, start, factor), strict=True):
        kind, type_, data, ev_id, retry = row[4], row[5], row[6], row[7], row[8]
        record = Record(
            cast(Any, str(kind)),
            _text(type_) or "",
            _text(data) or "",
            _text(ev_id),
            "",
            int(retry) if _number(retry) is not None else None,
            0,
            0,
        )
        if record.kind == "retry" and record.retry is None:
            continue
        blob = encode_records([record])
        steps.append(Step(delay, blob, int(record.kind == "event"), record.id))
    return steps


def _raw_steps(
    chunks: list[tuple[float, bytes]],
    times: list[float | None],
    start: float | None,
    factor: float,
) -> list[Step]:
    parser = SSEParser()
    steps = []
    for (_, chunk), delay in zip(chunks, _delays(times, start, factor), strict=True):
        records = parser.feed(bytes(chunk))
        events = sum(r.kind == "event" for r in records)
        ids = [r.id for r in records if r.id is not None]
        steps.append(Step(delay, bytes(chunk), events, ids[-1] if ids else None))
    return steps


#: Old names of this module (they warn for one release).
__getattr__ = renamed(__name__, globals(), {"Recording": "Replay"})
