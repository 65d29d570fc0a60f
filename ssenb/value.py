"""The capture as a value: what every layer above frames takes, with no I/O of its own.

Rules of this module:

- :class:`Capture` holds what a recording left (the events and connections frames,
  ``meta``, the raw bytes) and what can be said of it without a socket: ``select``,
  ``summary``, ``save``, the reprs. Recording lives in ``ssenb.capture``; reading and
  writing files in ``ssenb.store``.
- :func:`as_capture` is the one rule for "what may stand for a capture": a Capture, an
  events frame (its ``attrs["ssenb_meta"]`` as meta), the path of a capture file, or
  anything with an ``.events`` frame. Every entry point that takes a capture uses it.
- ``capture.plot`` is declared here but drawn by ``ssenb.plots``, which sits above:
  the accessor imports its module by name when used, never when this one loads.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, TypeAlias, overload

import pandas as pd

from . import _html, _payload, store
from .frames import empty_connections, empty_events
from .patterns import dialect

__all__ = ["Capture", "CaptureLike", "HasEvents", "as_capture", "load"]

_ids = itertools.count(1)


@functools.cache
def _template(make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    return make()


def _blank(make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """A frame with no rows in its schema: a copy of one built once (building one
    takes milliseconds, and every frame given alone as a capture needs one)."""
    return _template(make).copy()


class _Accessor:
    """A namespace bound to a capture, made by a class named in a module above this
    one: ``plot = _Accessor("ssenb.plots", "PlotAccessor")`` in the class body.

    This is how pandas declares ``DataFrame.plot``: a class-level accessor in the
    class body, and the plotting module it draws with looked up by name when a plot
    is asked for. The value layer then never imports the plots (or matplotlib) to
    exist, and ``Capture.plot`` is there for ``dir()``, help and completion.
    """

    def __init__(self, module: str, name: str, doc: str) -> None:
        self._module = module
        self._name = name
        self.__doc__ = doc

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:  # on the class: the declaration itself, nothing imported
            return self
        factory = getattr(importlib.import_module(self._module), self._name)
        return factory(obj)

    def __repr__(self) -> str:
        return f"<accessor {self._module}.{self._name}>"


class Capture:
    """A recorded capture: the events and connections frames, metadata and raw bytes.

    Attributes:
        events: one row per record of every stream (``frames.EVENTS_SCHEMA``).
        connections: one row per connection attempt (``frames.CONNECTIONS_SCHEMA``);
            ``start``/``end`` are real elapsed seconds, ``delay`` is the wait before
            the attempt in stream time (real seconds times ``time_scale``).
        meta: url and method (redacted), request headers (redacted), ``started`` (ISO
            UTC), options, ``ssenb_version``, ``streams`` (name to redacted URL) and
            ``time_scale`` (the factor a server announced; 1 = real time).
        raw: ``{(stream, connection): [(elapsed_seconds, chunk_bytes), ...]}``, the
            body bytes as they arrived, for byte-exact replay and ``.sse`` export.
        rows_recovered: set by ``load``: rows read from a file whose recording was
            cut short (0 for a complete file, ``None`` when not loaded).
        notes: set by ``load``: what reading found and repaired.
    """

    def __init__(
        self,
        events: pd.DataFrame | None = None,
        connections: pd.DataFrame | None = None,
        meta: Mapping[str, Any] | None = None,
        raw: Mapping[tuple[str, int], list[tuple[float, bytes]]] | None = None,
    ) -> None:
        self.events = _blank(empty_events) if events is None else events
        self.connections = (
            _blank(empty_connections) if connections is None else connections
        )
        self.meta: dict[str, Any] = dict(meta or {})
        self.raw: dict[tuple[str, int], list[tuple[float, bytes]]] = dict(raw or {})
        self.rows_recovered: int | None = None
        self.notes: Any = None
        self._summary: dict[str, Any] | None = None

    #: ``capture.plot.timeline()`` and the other plots of ``ssenb.plots`` bound to
    #: this capture; ``capture.plot()`` draws the overview figure.
    plot = _Accessor(
        "ssenb.plots",
        "PlotAccessor",
        "Every plot of ssenb.plots bound to this capture: capture.plot.timeline(), "
        "capture.plot.heartbeats()...; capture.plot() draws the overview figure.",
    )

    @property
    def streams(self) -> list[str]:
        """The names of the streams ("" for a single unnamed stream)."""
        names = self.meta.get("streams")
        if names:
            return list(names)
        return [str(s) for s in self.events["stream"].unique()]

    def select(self, *streams: str) -> Capture:
        """The capture of some of its streams: their rows, connections and raw bytes.

        Per-stream questions on a ``capture_many`` recording (lint, schema, the
        heartbeat of one service) start here. ``meta`` keeps the shared settings with
        ``streams`` (and ``url``) narrowed; categories list only what is left.

        Raises:
            ValueError: a name that is not one of the capture's streams.

        Example:
            >>> many = ssenb.capture_many({"a": url_a, "b": url_b})  # doctest: +SKIP
            >>> ssenb.report(many.select("a"))  # doctest: +SKIP
        """
        known = self.streams
        unknown = [s for s in streams if s not in known]
        if not streams or unknown:
            raise ValueError(
                f"select() takes stream names of this capture, {known}; "
                f"got {list(streams)}"
            )
        wanted = [s for s in known if s in streams]
        ev = self.events[self.events["stream"].astype(str).isin(wanted)]
        con = self.connections[self.connections["stream"].astype(str).isin(wanted)]
        ev, con = ev.reset_index(drop=True), con.reset_index(drop=True)
        for frame in (ev, con):
            frame["stream"] = frame["stream"].cat.set_categories(wanted)
        ev["type"] = ev["type"].cat.remove_unused_categories()
        meta = dict(self.meta)
        urls = meta.get("streams")
        if isinstance(urls, Mapping):
            meta["streams"] = {s: urls[s] for s in wanted if s in urls}
            if wanted[0] in urls:
                meta["url"] = urls[wanted[0]]
        raw = {k: v for k, v in self.raw.items() if str(k[0]) in wanted}
        out = Capture(ev, con, meta, raw)
        out.rows_recovered = self.rows_recovered
        out.notes = self.notes
        return out

    @property
    def duration(self) -> float:
        """Seconds from the capture's start to the last connection's end or record."""
        ends = [0.0]
        if len(self.connections):
            ends.append(float(self.connections["end"].max()))
        if len(self.events):
            ends.append(float(self.events["elapsed"].max()))
        return max(e for e in ends if e == e)

    @overload
    def save(
        self, path: str | os.PathLike[str], *, format: str | None = None
    ) -> Path: ...

    @overload
    def save(self, path: BinaryIO, *, format: str) -> None: ...

    def save(
        self, path: str | os.PathLike[str] | BinaryIO, *, format: str | None = None
    ) -> Path | None:
        """Write the capture to a file, or into a binary file object.

        The file's suffix picks the format (``.jsonl``, ``.jsonl.gz``, ``.parquet``,
        or ``.har``: HAR 1.2 for browser devtools and HAR viewers, one entry per
        connection with its raw body, URLs and headers redacted), or ``format``
        (``"jsonl"``, ``"jsonl.gz"``, ``"parquet"``, ``"har"``), which a file object
        needs: ``io.BytesIO`` gives the file's bytes in memory. ``ssenb.load`` reads
        each of them back, from a path or a file object.

        Returns:
            The path written, or ``None`` for a file object (left open, at its end).

        Raises:
            ValueError: no format could be told (a file object without ``format``,
                a name with another suffix) or ``format`` is not one of these.

        Example:
            >>> buf = io.BytesIO()  # doctest: +SKIP
            >>> cap.save(buf, format="parquet")  # doctest: +SKIP
            >>> ssenb.load(io.BytesIO(buf.getvalue()))  # doctest: +SKIP
        """
        written = store.write_capture(
            path,
            self.meta,
            self.events,
            self.connections,
            raw=self.raw or None,
            format=format,
        )
        return None if written is None else Path(written)

    # -- display -----------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The figures the reprs show, computed once."""
        if self._summary is None:
            ev = self.events
            kinds = ev["kind"].value_counts().to_dict() if len(ev) else {}
            is_event = ev["kind"] == "event"
            types = (
                ev.loc[is_event, "type"].astype(str).value_counts().head(10).to_dict()
                if len(ev)
                else {}
            )
            con = self.connections
            outcomes = (
                con["outcome"].astype(str).value_counts().to_dict() if len(con) else {}
            )
            per_stream = (
                ev.loc[is_event, "stream"].astype(str).value_counts().to_dict()
                if len(ev)
                else {}
            )
            self._summary = {
                "url": self.meta.get("url", ""),
                "started": self.meta.get("started", ""),
                "records": len(ev),
                "events": int(kinds.get("event", 0)),
                "kinds": {k: int(v) for k, v in kinds.items() if v},
                "types": {k: int(v) for k, v in types.items()},
                "connections": len(con),
                "outcomes": {k: int(v) for k, v in outcomes.items() if v},
                "streams": {
                    str(s): int(per_stream.get(str(s), 0)) for s in self.streams
                },
                "duration": self.duration,
                "time_scale": self.meta.get("time_scale", 1.0),
                "rows_recovered": self.rows_recovered,
            }
        return self._summary

    def _view(self) -> dict[str, Any]:
        """What the reprs add to :meth:`summary`: the stream-time duration, the
        dialect, a human start time and a few sample rows (computed once)."""
        if getattr(self, "_view_cache", None) is None:
            s = self.summary()
            scale = _capture_scale(self)
            name = title = ""
            if s["events"]:
                try:
                    found = dialect(self.events.head(5000))
                    if found.name != "unknown":
                        name, title = found.name, found.title
                except Exception:  # odd frames: the repr still shows the rest
                    pass
            ev = self.events
            rows = ev[ev["kind"] == "event"].head(3) if len(ev) else ev
            times: Any = rows["elapsed"].astype("float64") * scale if len(rows) else []
            samples = [
                (
                    float(t),
                    str(ty),
                    _payload.summarize("event", d, name or None),
                )
                for t, ty, d in zip(times, rows["type"], rows["data"], strict=True)
            ]
            self._view_cache = {
                "scale": scale,
                "stream_duration": s["duration"] * scale,
                "dialect": name,
                "dialect_title": title,
                "started": _human_time(s["started"]),
                "samples": samples,
            }
        return self._view_cache

    def _headline(self) -> str:
        s, v = self.summary(), self._view()
        real = ""
        if abs(v["scale"] - 1.0) > 1e-9:
            real = f" (played {v['scale']:g}x faster: {s['duration']:.2f} s real)"
        return (
            f"{s['records']:,} records ({s['events']:,} events) over "
            f"{s['connections']} connection(s), {v['stream_duration']:,.1f} s of "
            f"stream time{real}"
        )

    def _text(self) -> str:
        s, v = self.summary(), self._view()
        lines = [f"Capture of {s['url'] or '(no url)'}: {self._headline()}"]
        if v["dialect"]:
            lines.append(f"  dialect  {v['dialect_title']} ({v['dialect']})")
        if v["started"]:
            lines.append(f"  started  {v['started']}")
        if len(s["streams"]) > 1 or any(s["streams"]):
            lines.append(
                "  streams  "
                + ", ".join(f"{k or '(main)'}: {v}" for k, v in s["streams"].items())
            )
        if s["kinds"]:
            lines.append(
                "  kinds    " + ", ".join(f"{k} {v}" for k, v in s["kinds"].items())
            )
        if s["types"]:
            lines.append(
                "  types    " + ", ".join(f"{k} {v}" for k, v in s["types"].items())
            )
        if s["outcomes"]:
            lines.append(
                "  endings  " + ", ".join(f"{k} {v}" for k, v in s["outcomes"].items())
            )
        for t, ty, text in v["samples"]:
            text = text.replace("\n", " ").replace("\r", " ")
            text = text if len(text) <= 60 else text[:59] + "…"
            when = f"{t:8.2f} s" if t == t else " " * 10  # a frame read from bytes
            lines.append(f"  {when}  {ty:<12} {text}")
        if s["rows_recovered"]:
            lines.append(f"  recovered {s['rows_recovered']} rows from a cut file")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self._text()

    def _html(self) -> str:
        h = _html
        s, v = self.summary(), self._view()
        e = h.escape
        uid = f"ssenb-capture-{next(_ids)}"
        if not s["records"] and not s["connections"]:
            return (
                f'<div id="{uid}" class="ssenb-block">{h.STYLE}<b>ssenb capture</b> '
                f"of {e(str(s['url']))}: nothing was recorded.</div>"
            )

        def table(title: str, rows: Mapping[str, Any]) -> str:
            frame = [{title: str(k) or "(main)", "count": n} for k, n in rows.items()]
            return (
                '<div style="display:inline-block;vertical-align:top;'
                f'margin-right:1.5em">{h.html_table(frame, max_rows=12)}</div>'
            )

        head = (
            f"<b>ssenb capture</b> of <code>{e(str(s['url']))}</code>: "
            f"{e(self._headline())}"
        )
        parts = [f'<div id="{uid}" class="ssenb-block">{h.STYLE}', f"<p>{head}</p>"]
        facts = []
        if v["dialect"]:
            facts.append(f"looks like <b>{e(v['dialect_title'])}</b>")
        if v["started"]:
            facts.append(f"started {e(v['started'])}")
        if facts:
            parts.append(f"<p>{' · '.join(facts)}</p>")
        if v["samples"]:
            sample = [
                {"t (s)": round(t, 3) if t == t else "", "type": ty, "payload": text}
                for t, ty, text in v["samples"]
            ]
            parts.append(h.html_table(sample, width=100))
        tables = []
        if len(s["streams"]) > 1:
            tables.append(table("stream", s["streams"]))
        tables.append(table("kind", s["kinds"]))
        if s["types"]:
            tables.append(table("event type", s["types"]))
        if s["outcomes"]:
            tables.append(table("connection ending", s["outcomes"]))
        parts.append("<div>" + "".join(tables) + "</div>")
        if s["rows_recovered"]:
            parts.append(
                h.note_html(f"recovered {s['rows_recovered']} rows from a cut file")
            )
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str]:
        return {"text/plain": self._text(), "text/html": self._html()}


def _capture_scale(cap: Capture) -> float:
    """The largest time scale the capture's server announced (1 = real time)."""
    con = cap.connections
    scale = float("nan")
    if len(con) and "time_scale" in con.columns:
        scale = float(pd.to_numeric(con["time_scale"], errors="coerce").max())
    if scale != scale or scale <= 0:
        try:
            scale = float(cap.meta.get("time_scale") or 1.0)
        except (TypeError, ValueError):
            scale = 1.0
    return scale if scale > 0 else 1.0


def _human_time(iso: Any) -> str:
    """``2026-11-25T22:10:27.27Z`` as ``2026-11-25 22:10:27 UTC``."""
    if not iso:
        return ""
    try:
        when = pd.Timestamp(str(iso))
    except (ValueError, TypeError):
        return str(iso)
    if when.tzinfo is not None:
        return when.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S UTC")
    return when.strftime("%Y-%m-%d %H:%M:%S")


def load(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    on_bad_lines: Literal["error", "skip"] = "error",
    max_line_size: int | None = None,
) -> Capture:
    """Read a capture file written by ``Capture.save`` or while recording to a path.

    A file cut short (a killed process) loads with what it holds; ``rows_recovered``
    then says how many rows were read. Memory holds the frames, not the file:
    ``.jsonl`` and ``.jsonl.gz`` files are read as a stream.

    Args:
        path: a ``.jsonl``, ``.jsonl.gz``, ``.parquet`` or ``.har`` capture file, or
            a binary file object holding one (``io.BytesIO(data)`` for bytes in
            memory), read from where it stands; the format is told from the bytes.
        on_bad_lines: ``"skip"`` loads a damaged file without its malformed lines
            (``notes`` says how many); ``"error"`` (default) raises at the first.
        max_line_size: the longest line read, in bytes (default 128 MiB,
            ``ssenb.store.MAX_LINE_SIZE``); a longer one is refused unread.

    Raises:
        CaptureFileError: the file is corrupt or not a capture; the message names
            the line and what was found.
    """
    options: dict[str, Any] = {"on_bad_lines": on_bad_lines}
    if max_line_size is not None:
        options["max_line_size"] = max_line_size
    data = store.read_capture(path, **options)
    cap = Capture(data.events, data.connections, data.meta, data.raw)
    cap.rows_recovered = getattr(data, "rows_recovered", None)
    cap.notes = getattr(data, "notes", None)
    return cap


class _OnDisk(Capture):
    """A capture recorded to a file: its frames and raw bytes are read from the file
    when first asked, so a long recording to disk does not also live in memory."""

    def __init__(self, path: Path, meta: dict[str, Any], *, final: bool) -> None:
        self._path = path
        self._final = final
        self._data: Any = None
        self._own: dict[str, Any] = {}
        self.meta = dict(meta)
        self.rows_recovered = None
        self.notes = None
        self._summary = None

    def _read(self) -> Any:
        if self._data is None:
            self._data = store.read_capture(self._path)
            if self._final:
                self.rows_recovered = getattr(self._data, "rows_recovered", None)
                self.notes = getattr(self._data, "notes", None)
        return self._data

    def _get(self, name: str) -> Any:
        if name not in self._own:
            value = getattr(self._read(), name)
            self._own[name] = dict(value or {}) if name == "raw" else value
        return self._own[name]

    @property
    def events(self) -> pd.DataFrame:
        return self._get("events")  # type: ignore[no-any-return]

    @events.setter
    def events(self, value: pd.DataFrame) -> None:
        self._own["events"] = value

    @property
    def connections(self) -> pd.DataFrame:
        return self._get("connections")  # type: ignore[no-any-return]

    @connections.setter
    def connections(self, value: pd.DataFrame) -> None:
        self._own["connections"] = value

    @property
    def raw(self) -> dict[tuple[str, int], list[tuple[float, bytes]]]:
        return self._get("raw")  # type: ignore[no-any-return]

    @raw.setter
    def raw(self, value: dict[tuple[str, int], list[tuple[float, bytes]]]) -> None:
        self._own["raw"] = value


# -- what may stand for a capture ------------------------------------------------------


class HasEvents(Protocol):
    """Anything that carries an events frame as ``.events`` (and maybe
    ``.connections``, ``.meta`` and ``.raw``), such as a prepared capture."""

    @property
    def events(self) -> pd.DataFrame: ...


#: What the functions that take a capture accept: a :class:`Capture`, an events frame
#: (``ssenb.read_sse``'s, or ``capture.events``), the path of a capture file, or
#: anything with an ``.events`` frame. :func:`as_capture` turns each into a Capture.
CaptureLike: TypeAlias = Capture | pd.DataFrame | str | os.PathLike[str] | HasEvents

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
_ACCEPTED = (
    "a Capture or an events DataFrame (capture.events, ssenb.read_sse(...)), the "
    "path of a capture file, or an object with an .events DataFrame"
)


def as_capture(obj: CaptureLike) -> Capture:
    """The :class:`Capture` that ``obj`` stands for: the one rule every function that
    takes a capture follows.

    - a Capture is returned as it is;
    - an events frame becomes a Capture with no connection rows (analyses infer them
      from its ``connection`` column), its ``attrs["ssenb_meta"]`` as ``meta``;
    - a path (``str`` or ``os.PathLike``) is loaded with :func:`load`;
    - anything else with an ``.events`` DataFrame lends its ``events`` and, when it
      has them, ``connections``, ``meta`` and ``raw``.

    Nothing is copied: the Capture holds the frames it was given.

    Raises:
        TypeError: ``obj`` is none of these (or a URL, which must be recorded
            first); the message names what was given.
        FileNotFoundError: a path that names no file.
        IsADirectoryError: a path that names a folder.
        CaptureFileError: a file that is not a capture.

    Example:
        >>> ev = ssenb.read_sse(b"data: hi\\n\\n")  # doctest: +SKIP
        >>> as_capture(ev).summary()["events"]  # doctest: +SKIP
        1
    """
    if isinstance(obj, Capture):
        return obj
    if isinstance(obj, pd.DataFrame):
        meta = obj.attrs.get("ssenb_meta")
        return Capture(obj, None, meta if isinstance(meta, Mapping) else None)
    if isinstance(obj, str | os.PathLike):
        path = Path(obj)
        if isinstance(obj, str) and _URL.match(obj):
            raise TypeError(
                f"{obj!r} is a URL, not a capture: record it first, "
                f"cap = ssenb.capture({obj!r}), then pass cap"
            )
        if path.is_dir():
            raise IsADirectoryError(
                f"{str(path)!r} is a folder, not a capture file: give one file "
                f"written by Capture.save or `ssenb capture`, or open a folder of "
                f"many captures with ssenb.dataset.open_dataset"
            )
        if not path.is_file():
            raise FileNotFoundError(
                f"{str(path)!r}: no such capture file; give the path of a file written "
                f"by Capture.save or `ssenb capture` (.jsonl, .jsonl.gz, .parquet, "
                f".har)"
            )
        return load(path)
    if getattr(type(obj), "_ssenb_per_stream", None) is not None:
        raise TypeError(
            f"a {type(obj).__name__} holds many captures: the analyses of "
            f"ssenb.analysis take it whole (per stream); for one capture, take "
            f".capture(stream) of it"
        )
    events = getattr(obj, "events", None)
    if isinstance(events, pd.DataFrame):
        connections = getattr(obj, "connections", None)
        meta = getattr(obj, "meta", None)
        raw = getattr(obj, "raw", None)
        return Capture(
            events,
            connections if isinstance(connections, pd.DataFrame) else None,
            meta if isinstance(meta, Mapping) else None,
            raw if isinstance(raw, Mapping) else None,
        )
    if isinstance(obj, bytes | bytearray | memoryview):
        hint = "; raw stream bytes become an events frame with ssenb.read_sse(data)"
    elif events is not None:
        hint = f" whose .events is {type(events).__name__}"
    else:
        hint = ""
    raise TypeError(f"expected {_ACCEPTED}; got {type(obj).__name__}{hint}")
