"""A recording turned back into what its server wrote: per stream, per connection, the
``(delay, bytes)`` writes a replay plays again.

Rules of this module:

- Accepted recordings: an events frame (``EVENTS_SCHEMA``); a capture (any object
  with ``.events``: a ``Capture``, or what ``read_capture`` returns), whose ``.raw``
  chunks are replayed byte for byte when present and whose ``.connections`` give
  each connection's status, content type, start, end and time scale; raw stream
  bytes; a path to a raw ``.sse`` file (timed by its ``.timing.json`` sidecar when
  there is one); a saved capture, by path or in a binary file object
  (``read_capture``).
- Delays are stream seconds since the previous write: ``elapsed`` is wall-clock
  seconds of the recording, multiplied by the time scale the recorded server
  announced (``SSENB-Time-Scale``, 1 when unknown). Records without a time (a raw
  file, ``NaN``) are spaced evenly, ``UNTIMED_GAP`` stream seconds apart.
- Each connection ends where the recording's ended: after its last record (or raw
  chunk, partial block included), or at its recorded ``end`` (a last write of no
  bytes, a pure wait).
- Without raw bytes, records are written again with ``parse.encode_records``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, cast

from ..frames import EVENTS_SCHEMA, coerce
from ..parse import Record, SSEParser, encode_records
from ._sse import import_sse, timing_path

__all__ = ["UNTIMED_GAP", "Turn", "timeline"]

#: Stream seconds between records that carry no time.
UNTIMED_GAP = 0.05

_SSE = "text/event-stream"
_RAW_SUFFIXES = (".sse", ".txt", ".events", ".bin")


class Turn(NamedTuple):
    """One recorded connection, as a replay serves it again.

    Attributes:
        number: the recorded connection's number.
        status: its HTTP status.
        content_type: its ``Content-Type``.
        writes: ``(delay, bytes)`` pairs: stream seconds to wait since the previous
            write, then the bytes to write (none: a pure wait).
    """

    number: int
    status: int
    content_type: str
    writes: list[tuple[float, bytes]]


def timeline(source: Any) -> dict[str, list[Turn]]:
    """What a recording's server wrote, to play again: stream name -> its connections
    in order, each a list of ``(delay, bytes)`` writes (see the module rules).

    Why: the replay server plays ``(delay, bytes)`` and knows nothing of frames or
    files; this is where a capture, a frame, raw bytes or a file becomes that.

    Example:
        >>> turns = ssenb.store.timeline("run.jsonl")  # doctest: +SKIP
        >>> ssenb.server.demo_server(replay=turns)  # doctest: +SKIP

    Raises:
        FileNotFoundError: a path that does not exist.
        TypeError: a source of a kind replay does not know.
        ValueError: a frame that lacks columns of the events schema.
        CaptureFileError: a saved capture or a timing sidecar that cannot be read.
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(2, "no such recording", str(path))
        if path.suffix.lower() in _RAW_SUFFIXES:
            if timing_path(path).exists():
                chunks = import_sse(path)
                times = [_number(t) for t, _ in chunks]
                writes = _raw_writes(chunks, times, None, 1.0)
                return {"": [Turn(1, 200, _SSE, writes)]}
            return _from_raw(path.read_bytes())
        from . import read_capture  # the package's reader (it imports this module)

        return _from_capture(read_capture(path))
    if isinstance(source, bytes | bytearray | memoryview):
        return _from_raw(bytes(source))
    if callable(getattr(source, "read", None)):  # a saved capture in a file object
        from . import read_capture

        return _from_capture(read_capture(source))
    if hasattr(source, "events"):
        return _from_capture(source)
    if hasattr(source, "columns"):
        return _from_frame(source, None, None, scale=None)
    raise TypeError(
        f"replay takes an events frame, a capture (an object with .events), raw bytes "
        f"or a path to a .sse or capture file; got {type(source).__name__}"
    )


# -- raw bytes ---------------------------------------------------------------------


def _from_raw(data: bytes) -> dict[str, list[Turn]]:
    """One connection, no timing: each record's exact bytes, evenly spaced."""
    parser = SSEParser()
    records = parser.feed(data) + parser.close()
    writes = []
    end = 0
    for r in records:
        writes.append((UNTIMED_GAP, data[r.offset : r.offset + r.size]))
        end = r.offset + r.size
    if end < len(data):
        writes.append((UNTIMED_GAP, data[end:]))
    return {"": [Turn(1, 200, _SSE, writes)]}


# -- frames and captures -----------------------------------------------------------


def _from_capture(capture: Any) -> dict[str, list[Turn]]:
    events = capture.events
    connections = getattr(capture, "connections", None)
    raw = getattr(capture, "raw", None) or None
    meta = getattr(capture, "meta", None) or {}
    scale = _number(meta.get("time_scale")) if isinstance(meta, dict) else None
    return _from_frame(events, connections, raw, scale=scale)


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
) -> dict[str, list[Turn]]:
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
    streams: dict[str, list[Turn]] = {}
    for key in sorted(set(keys), key=lambda k: (order[k[0]], k[1])):
        meta = info.get(key, {})
        factor = meta.get("time_scale") or scale or 1.0
        start = meta.get("start")
        if raw and key in raw:
            times = [_number(t) for t, _ in raw[key]]
            writes = _raw_writes(raw[key], times, start, factor)
        else:
            times = [_number(row[3]) for row in by_key.get(key, [])]
            writes = _record_writes(by_key.get(key, []), times, start, factor)
        end = meta.get("end")
        last = max((t for t in times if t is not None), default=start)
        if end is not None and last is not None and end > last:
            writes.append(((end - last) * factor, b""))
        streams.setdefault(key[0], []).append(
            Turn(
                key[1],
                meta.get("status") or 200,
                meta.get("content_type") or _SSE,
                writes,
            )
        )
    return streams


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


def _record_writes(
    rows: list[tuple[Any, ...]],
    times: list[float | None],
    start: float | None,
    factor: float,
) -> list[tuple[float, bytes]]:
    writes = []
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
        writes.append((delay, encode_records([record])))
    return writes


def _raw_writes(
    chunks: list[tuple[float, bytes]],
    times: list[float | None],
    start: float | None,
    factor: float,
) -> list[tuple[float, bytes]]:
    return [
        (delay, bytes(chunk))
        for (_, chunk), delay in zip(chunks, _delays(times, start, factor), strict=True)
    ]
