"""HAR 1.2 in and out: the event streams a browser (or ssenb) saw, as a capture.

Rules of this module:

- Reading takes the HAR that Chrome, Edge and Firefox export and the one
  ``cypress-har-generator`` writes. Every entry whose response is
  ``text/event-stream`` becomes a stream, named by its method and path (``GET
  /events``; a second one of the same name gets `` #2``); other entries are skipped.
  A HAR without an event stream is a ``CaptureFileError`` that says so.
- The body is ``response.content.text`` (base64 when ``content.encoding`` says so).
  Per-event arrival times come from the de-facto ``_eventSourceMessages`` extension
  (``[{time, eventName, eventId, data}]``) when present; otherwise the entry only
  places the stream in time (its connection row) and every record's time is left
  unknown (NaT / NaN), never invented. A body-less entry with messages gives its
  events from the messages alone.
- Writing gives HAR 1.2: one entry per connection, the raw body (base64 when it is not
  UTF-8), ``_eventSourceMessages`` for the events, and an ``_ssenb`` extension with
  each record's arrival and the reads, so that ssenb loads its own HAR back exactly.
  URLs and headers are redacted on the way out.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd

from ..errors import CaptureFileError
from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce, read_sse
from ..parse import Record, encode_event, encode_records
from ..redact import redact_headers, redact_url
from ._data import CaptureData, RawChunks

__all__ = ["looks_like_har", "read_har", "write_har"]

_SSE = "text/event-stream"
#: A time above this is in milliseconds since the epoch; above _EPOCH_S in seconds.
_EPOCH_MS = 1e11
_EPOCH_S = 1e8


def looks_like_har(data: bytes) -> bool:
    """Whether bytes look like a HAR document (a JSON object with a ``log``)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return (
        head.startswith(b"{") and b'"log"' in head and not head.startswith(b'{"ssenb"')
    )


# -- reading ----------------------------------------------------------------------


def _obj(value: Any) -> Any:
    """A JSON object as given, anything else as an empty one."""
    return value if isinstance(value, Mapping) else {}


def _fail(path: str, what: str) -> CaptureFileError:
    return CaptureFileError(f"{path}: {what}", path=path)


def _header_list(items: Any) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        return []
    out = []
    for h in items:
        if isinstance(h, Mapping) and "name" in h:
            out.append((str(h["name"]), str(h.get("value", ""))))
    return out


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    low = name.lower()
    for k, v in headers:
        if k.lower() == low:
            return v
    return None


def _is_stream(entry: Mapping[str, Any]) -> bool:
    resp = entry.get("response")
    if not isinstance(resp, Mapping):
        return False
    content = _obj(resp.get("content"))
    mime = str(content.get("mimeType") or "")
    ctype = _header(_header_list(resp.get("headers")), "content-type") or mime
    return (
        ctype.split(";")[0].strip().lower() == _SSE
        or mime.split(";")[0].strip().lower() == _SSE
        or bool(entry.get("_eventSourceMessages"))
    )


def _started(entry: Mapping[str, Any], path: str, n: int) -> pd.Timestamp:
    text = entry.get("startedDateTime")
    try:
        stamp = pd.Timestamp(str(text))
    except (ValueError, TypeError) as exc:
        raise _fail(
            path, f"entry {n} has no readable startedDateTime ({text!r}): {exc}"
        ) from exc
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").as_unit("ns")


def _ms(value: Any) -> float:
    """A HAR duration in ms; unknown (-1, missing) as NaN."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        v = float(value)
        return v if v >= 0 and math.isfinite(v) else math.nan
    return math.nan


def _body(content: Mapping[str, Any], path: str, n: int) -> bytes | None:
    text = content.get("text")
    if not isinstance(text, str):
        return None
    if str(content.get("encoding") or "").lower() == "base64":
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise _fail(
                path, f"entry {n}: content.text says base64 but is not ({exc})"
            ) from exc
    return text.encode("utf-8", "surrogatepass")


def _message_time(value: Any) -> float | None:
    """A message's time as epoch seconds, or as monotonic seconds (small values)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    v = float(value)
    if not math.isfinite(v):
        return None
    return v / 1000.0 if v > _EPOCH_MS else v


def _bytes_of(messages: list[Any]) -> bytes:
    """An event stream written from ``_eventSourceMessages`` alone (no body to
    read): one block per message, its id written when it changes."""
    out = []
    last = ""
    for m in messages:
        name = str(m.get("eventName") or "message")
        ident = m.get("eventId")
        ident = None if ident in (None, "") or str(ident) == last else str(ident)
        if ident is not None:
            last = ident
        data = m.get("data")
        out.append(
            encode_event(
                "" if data is None else str(data),
                event=None if name == "message" else name,
                id=ident,
            )
        )
    return b"".join(out)


class _Stream:
    def __init__(self, name: str) -> None:
        self.name = name
        self.events: pd.DataFrame | None = None
        self.row: dict[str, Any] = {}
        self.raw: list[tuple[float, bytes]] = []
        self.url = ""
        self.request_headers: dict[str, str] = {}
        #: written by ssenb: an entry with no records is a connection that got none
        #: (a 204, a refused request), not content a browser left out.
        self.own = False


def _path_query(url: str) -> tuple[str, str]:
    """The path and query of a URL, read leniently (a redacted password such as
    ``[redacted]`` is no IPv6 host to us)."""
    rest = url.split("#", 1)[0]
    rest = rest.split("://", 1)[1] if "://" in rest else rest
    head, _, query = rest.partition("?")
    _, slash, path = head.partition("/")
    return slash + path, query


def _stream_name(method: str, url: str, taken: dict[str, int]) -> str:
    base = f"{method} {_path_query(url)[0] or '/'}"
    taken[base] = taken.get(base, 0) + 1
    return base if taken[base] == 1 else f"{base} #{taken[base]}"


def _one(entry: Mapping[str, Any], n: int, path: str, taken: dict[str, int]) -> _Stream:
    req = _obj(entry.get("request"))
    resp: Any = entry["response"]
    content = _obj(resp.get("content"))
    method = str(req.get("method") or "GET").upper()
    url = str(req.get("url") or "")
    own = _obj(entry.get("_ssenb"))
    name = str(own["stream"]) if "stream" in own else _stream_name(method, url, taken)
    st = _Stream(name)
    st.own = bool(own)
    st.url = redact_url(url)
    st.request_headers = redact_headers(_header_list(req.get("headers")))
    start = _started(entry, path, n)
    headers = _header_list(resp.get("headers"))
    timings = _obj(entry.get("timings"))
    before = [_ms(timings.get(k)) for k in ("blocked", "dns", "connect", "send")]
    wait = _ms(timings.get("wait"))
    ttfb = sum(v for v in before if v == v) + wait if wait == wait else math.nan
    total = _ms(entry.get("time"))
    body = _body(content, path, n)
    messages = entry.get("_eventSourceMessages")
    messages = (
        [m for m in messages if isinstance(m, Mapping)]
        if isinstance(messages, list)
        else []
    )
    resumed = _header(_header_list(req.get("headers")), "last-event-id") or ""
    if body is not None:
        events = read_sse(body, stream=name, last_event_id=resumed)
    elif messages:
        events = read_sse(_bytes_of(messages), stream=name)
    else:
        events = read_sse(b"", stream=name)
    k = len(events)
    times = np.full(k, np.datetime64("NaT", "ns"))
    if isinstance(own.get("time_ns"), list) and len(own["time_ns"]) == k:
        stamps = [np.datetime64("NaT") if t is None else int(t) for t in own["time_ns"]]
        times = np.array(stamps, dtype="datetime64[ns]")
    elif messages:
        is_event = (events["kind"] == "event").to_numpy()
        at = np.flatnonzero(is_event)
        secs = [_message_time(m.get("time")) for m in messages]
        if len(at) == len(secs) and all(s is not None for s in secs):
            known = np.array(secs, dtype="float64")
            if known.size and known.max() > _EPOCH_S:
                ns = (known * 1e9).round().astype("int64")
            else:  # monotonic seconds: their spacing, from the first byte on
                first = start.value + (0 if ttfb != ttfb else int(ttfb * 1e6))
                ns = first + ((known - known[0]) * 1e9).round().astype("int64")
            times[at] = ns.view("datetime64[ns]")
    events["time"] = pd.DatetimeIndex(times).tz_localize("UTC").array
    events["connection"] = int(own.get("connection", 1))
    st.events = events
    t_headers = None if ttfb != ttfb else start + pd.Timedelta(ttfb, unit="ms")
    t_closed = None if total != total else start + pd.Timedelta(total, unit="ms")
    status = resp.get("status")
    reads = own.get("reads") if isinstance(own.get("reads"), list) else None
    st.row = {
        "stream": name,
        "connection": int(own.get("connection", 1)),
        "url": st.url,
        "method": method,
        "status": int(status) if isinstance(status, int) and status > 0 else None,
        "content_type": _header(headers, "content-type") or content.get("mimeType"),
        "last_event_id_sent": _header(
            _header_list(req.get("headers")), "last-event-id"
        ),
        "delay": float(own.get("delay", math.nan)),
        "t_request": start,
        "t_headers": t_headers,
        "t_first_byte": None,
        "t_closed": t_closed,
        "bytes": len(body) if body is not None else 0,
        "records": k,
        "events": int((events["kind"] == "event").sum()),
        "outcome": str(own.get("outcome") or "eof"),
        "error": own.get("error"),
        "retry": None,
        "time_scale": float(own.get("time_scale", 1.0)),
        "discarded": 0,
        "headers": json.dumps(
            {
                k.lower(): v
                for k, v in redact_headers(headers).items()
                if not k.startswith(":")
            },
            ensure_ascii=False,
        )
        if headers
        else None,
        "reads": own["n_reads"]
        if isinstance(own.get("n_reads"), int)
        else (len(reads) if reads is not None else None),
        "reads_cut": own.get("reads_cut"),
        "wait_reason": own.get("wait_reason")
        if isinstance(own.get("wait_reason"), str)
        else None,
    }
    retry = events["retry"].dropna()
    if len(retry):
        st.row["retry"] = int(retry.iloc[-1])
    exact = _obj(own.get("times"))
    for col, ns in exact.items():  # ssenb's own HAR: the times to the nanosecond
        if col in ("t_request", "t_headers", "t_first_byte", "t_closed"):
            st.row[col] = None if ns is None else pd.Timestamp(int(ns), tz="UTC")
    if isinstance(own.get("retry"), int):
        st.row["retry"] = own["retry"]
    if body:
        if reads is not None and sum(int(r[1]) for r in reads) == len(body):
            pos = 0
            for r in reads:
                size = int(r[1])
                st.raw.append((float(r[0]), body[pos : pos + size]))
                pos += size
        else:
            st.raw.append((math.nan, body))
    return st


def read_har(data: bytes, path: str) -> CaptureData:
    """The event streams of a HAR document (see the module rules).

    Raises:
        CaptureFileError: not JSON, not a HAR, or a HAR with no event stream.
    """
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _fail(
            path, f"is not a HAR file: its JSON does not parse ({str(exc)[:200]})"
        ) from exc
    log: Any = doc.get("log") if isinstance(doc, Mapping) else None
    entries = log.get("entries") if isinstance(log, Mapping) else None
    if not isinstance(entries, list):
        raise _fail(
            path,
            'is not a HAR file: expected a JSON object {"log": {"entries": [...]}}',
        )
    taken: dict[str, int] = {}
    streams = []
    for n, entry in enumerate(entries, 1):
        if isinstance(entry, Mapping) and (_is_stream(entry) or "_ssenb" in entry):
            try:
                streams.append(_one(entry, n, path, taken))
            except CaptureFileError:
                raise
            except (ValueError, TypeError, KeyError, OverflowError) as exc:
                raise _fail(
                    path, f"entry {n} cannot be read ({type(exc).__name__}: {exc})"
                ) from exc
    if not streams:
        kinds = sorted(
            {
                str(_obj(_obj(e.get("response")).get("content")).get("mimeType") or "?")
                for e in entries
                if isinstance(e, Mapping)
            }
        )
        raise _fail(
            path,
            f"this HAR has no event stream: none of its {len(entries)} entries is a "
            f"text/event-stream response (it holds {', '.join(kinds[:8]) or 'nothing'})"
            f"; record the page again with the stream open, or export the HAR with "
            f"its content",
        )
    names = list(dict.fromkeys(s.name for s in streams))
    own_meta = _obj(log.get("_ssenb"))
    if isinstance(own_meta.get("started_ns"), int):
        t0 = pd.Timestamp(own_meta["started_ns"], tz="UTC")
    else:  # a connection that failed before its request has no time
        known = [s.row["t_request"] for s in streams if s.row["t_request"] is not None]
        t0 = min(known) if known else pd.Timestamp(0, tz="UTC")
    frames = []
    for s in streams:
        ev = s.events
        assert ev is not None
        ev["elapsed"] = (ev["time"] - t0).dt.total_seconds().astype("float64")
        ev["stream"] = pd.Categorical([s.name] * len(ev), categories=names)
        frames.append(ev)
        for key in ("start", "end"):
            at = s.row["t_request"] if key == "start" else s.row["t_closed"]
            s.row[key] = (at - t0).total_seconds() if at is not None else math.nan
        s.raw = [((s.row["start"] if t != t else t), chunk) for t, chunk in s.raw]
    events = pd.concat(frames, ignore_index=True)
    events["stream"] = pd.Categorical(events["stream"].astype(str), categories=names)
    events["type"] = events["type"].astype(str).astype("category")
    events["seq"] = events.groupby("stream", observed=True).cumcount().astype("int64")
    connections = pd.DataFrame([s.row for s in streams])
    connections["stream"] = pd.Categorical(connections["stream"], categories=names)
    creator = _obj(log.get("creator"))
    first = streams[0]
    meta: dict[str, Any] = {
        "url": first.url,
        "method": str(first.row["method"]),
        "request_headers": first.request_headers,
        "started": t0.isoformat().replace("+00:00", "Z"),
        "streams": {s.name: s.url for s in streams},
        "time_scale": float(own_meta.get("time_scale", 1.0)),
        "source": {
            "format": "har",
            "creator": " ".join(
                str(creator.get(k, "")) for k in ("name", "version")
            ).strip(),
            "entries": len(entries),
            "skipped": len(entries) - len(streams),
        },
    }
    raw: RawChunks = {
        (s.name, int(s.row["connection"])): s.raw for s in streams if s.raw
    }
    notes = []
    untimed = [
        s.name
        for s in streams
        if s.events is not None and len(s.events) and s.events["time"].isna().all()
    ]
    empty = [
        repr(s.name)
        for s in streams
        if not s.own and s.events is not None and not len(s.events)
    ]
    if empty:
        notes.append(
            f"{len(empty)} stream(s) came with neither a body nor messages "
            f"({', '.join(empty[:3])}): a browser often saves a stream it closed "
            f"before its end without content; only their requests are here"
        )
    if untimed:
        notes.append(
            f"{len(untimed)} stream(s) carry no per-event times (no "
            f"_eventSourceMessages): their records' times are unknown (NaT)"
        )
    return CaptureData(
        meta,
        coerce(events, EVENTS_SCHEMA, what="events"),
        coerce(connections, CONNECTIONS_SCHEMA, what="connections"),
        raw,
        0,
        notes,
    )


# -- writing ----------------------------------------------------------------------


def _iso(stamp: Any) -> str:
    ts = pd.Timestamp(stamp)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _known(value: Any) -> bool:
    return value is not None and not pd.isna(value)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts keyed by column name."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _entry(
    meta: Mapping[str, Any],
    conn: Mapping[str, Any],
    ev: pd.DataFrame,
    chunks: list[tuple[float, bytes]] | None,
    started: pd.Timestamp,
) -> dict[str, Any]:
    if chunks:
        body = b"".join(c for _, c in chunks)
    else:
        body = encode_records(
            Record(
                kind=r["kind"],
                type=str(r["type"]),
                data="" if not _known(r["data"]) else str(r["data"]),
                id=None if not _known(r["id"]) else str(r["id"]),
                last_event_id="",
                retry=None if not _known(r["retry"]) else int(r["retry"]),
                offset=0,
                size=0,
            )
            for r in _rows(ev)
        )
    t_req = conn["t_request"] if _known(conn["t_request"]) else None
    if t_req is None:
        start = conn["start"] if _known(conn["start"]) else 0.0
        t_req = started + pd.Timedelta(float(start), unit="s")
    t_req = pd.Timestamp(t_req)
    total = (
        (pd.Timestamp(conn["t_closed"]) - t_req).total_seconds() * 1000
        if _known(conn["t_closed"])
        else 0.0
    )
    first = conn["t_headers"] if _known(conn["t_headers"]) else None
    wait = (pd.Timestamp(first) - t_req).total_seconds() * 1000 if first else 0.0
    try:
        text, encoding = body.decode("utf-8"), None
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode("ascii"), "base64"
    url = redact_url(str(conn["url"]) if _known(conn["url"]) else meta.get("url", ""))
    headers_text = conn.get("headers")
    resp_headers: dict[str, str] = {}
    if _known(headers_text):
        try:
            resp_headers = dict(json.loads(str(headers_text)))
        except ValueError:
            resp_headers = {}
    if not resp_headers and _known(conn["content_type"]):
        resp_headers = {"content-type": str(conn["content_type"])}
    resp_headers = redact_headers(resp_headers)
    req_headers = {
        k: v
        for k, v in redact_headers(meta.get("request_headers") or {}).items()
        if k.lower() != "last-event-id"
    }
    if _known(conn["last_event_id_sent"]):
        req_headers["Last-Event-ID"] = str(conn["last_event_id_sent"])
    is_event = ev["kind"].astype(str) == "event"
    messages = []
    for r in _rows(ev.loc[is_event]):
        if not _known(r["time"]):
            continue
        lid = r["last_event_id"]
        messages.append(
            {
                "time": pd.Timestamp(r["time"]).value / 1e9,
                "eventName": str(r["type"]),
                "eventId": str(lid) if _known(lid) else "",
                "data": str(r["data"]) if _known(r["data"]) else "",
            }
        )
    content: dict[str, Any] = {
        "size": len(body),
        "mimeType": str(conn["content_type"]) if _known(conn["content_type"]) else _SSE,
        "text": text,
    }
    if encoding:
        content["encoding"] = encoding
    status = int(conn["status"]) if _known(conn["status"]) else 0
    own: dict[str, Any] = {
        "stream": str(conn["stream"]),
        "connection": int(conn["connection"]),
        "outcome": None if not _known(conn["outcome"]) else str(conn["outcome"]),
        "error": None if not _known(conn["error"]) else str(conn["error"]),
        "time_scale": float(conn["time_scale"]) if _known(conn["time_scale"]) else 1.0,
        "time_ns": [
            None if not _known(t) else pd.Timestamp(t).value for t in ev["time"]
        ],
    }
    if _known(conn["delay"]):
        own["delay"] = float(conn["delay"])
    own["times"] = {
        col: pd.Timestamp(conn[col]).value if _known(conn[col]) else None
        for col in ("t_request", "t_headers", "t_first_byte", "t_closed")
    }
    if _known(conn["retry"]):
        own["retry"] = int(conn["retry"])
    if chunks and all(t == t for t, _ in chunks):
        own["reads"] = [[float(t), len(c)] for t, c in chunks]
    if _known(conn.get("reads")):
        own["n_reads"] = int(conn["reads"])
    if _known(conn.get("reads_cut")):
        own["reads_cut"] = int(conn["reads_cut"])
    if _known(conn.get("wait_reason")):
        own["wait_reason"] = str(conn["wait_reason"])
    return {
        "startedDateTime": _iso(t_req),
        "time": max(total, 0.0),
        "request": {
            "method": str(conn["method"]) if _known(conn["method"]) else "GET",
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in req_headers.items()],
            "queryString": [
                {"name": k, "value": v}
                for k, v in parse_qsl(_path_query(url)[1], keep_blank_values=True)
            ],
            "headersSize": -1,
            "bodySize": -1,
        },
        "response": {
            "status": status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in resp_headers.items()],
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(body),
        },
        "cache": {},
        "timings": {
            "send": 0,
            "wait": max(wait, 0.0),
            "receive": max(total - wait, 0.0),
        },
        "_eventSourceMessages": messages,
        "_ssenb": own,
    }


def write_har(
    fh: BinaryIO,
    meta: Mapping[str, Any],
    events: pd.DataFrame,
    connections: pd.DataFrame,
    raw: RawChunks,
) -> None:
    """Write a capture as HAR 1.2 into a binary file object: one entry per
    connection (see the module rules)."""
    started_text = meta.get("started")
    try:
        started = pd.Timestamp(str(started_text)) if started_text else None
    except ValueError:
        started = None
    if started is None:
        started = pd.Timestamp(datetime.now(UTC))
    if started.tzinfo is None:
        started = started.tz_localize("UTC")
    entries = []
    keys = list(
        zip(events["stream"].astype(str), events["connection"].astype(int), strict=True)
    )
    groups: dict[tuple[str, int], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    for conn in _rows(connections):
        key = (str(conn["stream"]), int(conn["connection"]))
        rows = events.iloc[groups.get(key, [])]
        entries.append(_entry(meta, conn, rows, raw.get(key), started))
    known = {
        (str(c), int(n))
        for c, n in zip(
            connections["stream"].astype(str), connections["connection"], strict=True
        )
    }
    for key, at in groups.items():
        if key in known:
            continue
        conn = dict.fromkeys(CONNECTIONS_SCHEMA)
        conn.update(stream=key[0], connection=key[1], content_type=_SSE)
        entries.append(_entry(meta, conn, events.iloc[at], raw.get(key), started))
    doc = {
        "log": {
            "version": "1.2",
            "creator": {"name": "ssenb", "version": str(meta.get("ssenb_version", ""))},
            "pages": [],
            "entries": entries,
            "_ssenb": {
                "time_scale": float(meta.get("time_scale") or 1.0),
                "started_ns": int(started.value),
            },
        }
    }
    fh.write(json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))
