"""The one prepared form of a capture that every analysis, plot and view reads.

Rules:

- Classification runs once per capture: :func:`prepared` keeps each result in a weak
  cache keyed on the events frame's identity (a frame is unhashable, and a Capture or
  any wrapper that hands over the same frames shares the entry). A prepared value is
  used only while the capture still holds the same events and connections objects,
  the same meta, time scale, row count and columns; assigning ``capture.events = ...``
  gets a fresh prepare. Other connections or meta for the same events (a redacted
  copy) reuse the classified rows. Entries go when the events frame is collected.
- A :class:`Prepared` is shared, so its frames are read-only: analyses derive new
  frames from them (pandas copy-on-write keeps those derived frames apart) and never
  assign into them. Code that wants to change rows copies them first.
- Times are stream times: measured seconds x the time scale of the row's connection.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._envelope import Found
from ..frames import CONNECTIONS_SCHEMA
from ..patterns import DialectResult, classify, dialect
from ..patterns._classify import classify_rows

__all__ = ["KIND_LABELS", "Prepared", "label_rows", "prepared", "row_labels"]

#: Row labels of the records that are not events.
KIND_LABELS = {"comment": "(comment)", "blank": "(blank line)", "retry": "(retry)"}


@dataclass
class Prepared:
    """A capture made uniform for analysis, computed once per capture and shared.

    Read-only: every analysis, plot and view of the capture reads these frames; derive
    new frames from them (``prep.events[mask]``, ``.assign(...)``), never assign into
    them.

    Attributes:
        events: the classified events frame (``family``, ``pattern``) plus ``t``
            (stream seconds since the capture started; NaN when unknown) and
            ``scale``.
        connections: one row per connection (given, or inferred), plus ``scale``,
            ``start_s``, ``end_s`` and ``duration`` in stream seconds.
        meta: the capture's metadata (``{}`` for a bare frame).
        scale: the largest time scale of the capture (1 = real time).
        inferred: connections were inferred from the events.
        has_time: the events carry arrival times.
        envelopes: the JSON rows classify read by their envelope (positions in
            ``events``): a regex that cannot read the text gives every row of an
            envelope the answer it gives the envelope (``ssenb._envelope``).
        cache: what analyses derived once for this capture (samples, parsed JSON).
    """

    events: pd.DataFrame
    connections: pd.DataFrame
    meta: dict[str, Any]
    scale: float
    inferred: bool
    has_time: bool
    envelopes: Found = field(default_factory=Found.none)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def compressed(self) -> bool:
        """The server played faster (or slower) than real time."""
        return bool(self.scale and abs(self.scale - 1.0) > 1e-9)

    @property
    def scale_note(self) -> str:
        """A sentence saying how times were scaled, or ``""`` for real time."""
        if not self.compressed:
            return ""
        return (
            f"This capture was time-compressed: the server played it {self.scale:g}x "
            f"faster than real time; every duration, interval and rate here is in the "
            f"stream's own time (measured seconds x {self.scale:g})."
        )

    @property
    def latency_note(self) -> str:
        """For time to first byte, event or token: what the scale does to them, or
        ``""`` for real time."""
        if not self.compressed:
            return ""
        setup = 0.02 * self.scale
        return (
            f"Times to a first byte, event or token include the connection's real "
            f"setup, which the scale multiplies too: a 20 ms local connect reads as "
            f"{setup:g} s here. Record at speed=1 to measure them."
        )

    @property
    def time_label(self) -> str:
        """The axis label for stream seconds."""
        scale = float(self.scale or 1.0)
        if abs(scale - 1.0) > 1e-9:
            return f"stream time (s; played {scale:g}x faster)"
        return "time since start (s)"

    @property
    def labels(self) -> pd.Series:
        """Each row's label: its event type, or ``(comment)``, ``(blank line)``,
        ``(retry)`` for the records that are not events (computed once)."""
        if "labels" not in self.cache:
            self.cache["labels"] = pd.Series(
                row_labels(self.events), index=self.events.index, dtype=object
            )
        out: pd.Series = self.cache["labels"]
        return out.copy(deep=False)  # copy-on-write: changing it leaves the cache

    def dialect(self) -> DialectResult:
        """``ssenb.patterns.dialect`` of these events, computed once per capture
        from the rows it reads (see :func:`dialect_rows`)."""
        if "dialect" not in self.cache:
            self.cache["dialect"] = dialect(dialect_rows(self.events))
        out: DialectResult = self.cache["dialect"]
        return out

    def stream_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(a code per row, the streams): the events' ``stream`` factorized once,
        codes in sorted stream order, so grouping by code orders as grouping by
        name does."""
        if "stream_codes" not in self.cache:
            codes, uniques = pd.factorize(self.events["stream"], sort=True)
            self.cache["stream_codes"] = (
                np.asarray(codes, dtype=np.int64),
                np.asarray(uniques, dtype=object),
            )
        out: tuple[np.ndarray, np.ndarray] = self.cache["stream_codes"]
        return out

    def labeled(self) -> pd.DataFrame:
        """The events with ``family`` as plain strings and a ``label`` column: the
        rows as plots and views show them (a new frame; the events stay as they
        are)."""
        if "labeled" not in self.cache:
            self.cache["labeled"] = self.events.assign(
                family=_as_str(self.events["family"]), label=self.labels
            )
        out: pd.DataFrame = self.cache["labeled"]
        return out.copy(deep=False)  # copy-on-write: changing it leaves the cache


def _codes(col: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (-1 for missing) and categories of a column."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.codes), list(col.cat.categories)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def _as_str(col: pd.Series) -> pd.Series:
    """``col.astype(str)`` as plain Python strings, through its distinct values."""
    codes, cats = _codes(col)
    names = np.array([str(c) for c in cats] + [""], dtype=object)
    out = names[codes]
    missing = codes < 0
    if missing.any():  # what astype(str) makes of a missing value
        out[missing] = col[missing].astype(str).to_numpy(dtype=object)
    return pd.Series(out, index=col.index, dtype=object)


def row_labels(frame: pd.DataFrame) -> np.ndarray:
    """Each row's label (object array): the event type for events, else the kind's
    label (``(comment)``, ``(blank line)``, ``(retry)``); computed per distinct
    kind and type, not per row."""
    kind = _as_str(frame["kind"]).to_numpy()
    typ = _as_str(frame["type"]).to_numpy()
    is_event = kind == "event"
    out = typ.copy()
    if not is_event.all():
        other = ~is_event
        out[other] = [KIND_LABELS.get(k, k) for k in kind[other].tolist()]
    return out


#: How many rows ``patterns.dialect`` reads from the head and the tail of the events,
#: of each event type, and of the comments (its sample sizes, with a margin).
_HEAD, _TAIL, _PER_TYPE, _COMMENTS = 5000, 500, 5, 5000


def kept(prep: Prepared, key: str, compute: Callable[[], Any]) -> Any:
    """An analysis result computed once per capture: kept in ``prep.cache`` under
    ``key`` and handed out as a copy (``Result._copy``), so a caller who changes it
    changes nothing the next caller reads."""
    if key not in prep.cache:
        prep.cache[key] = compute()
    return prep.cache[key]._copy()


def by_stream_name(per: pd.Series, streams: np.ndarray) -> pd.Series:
    """``per``, indexed by (stream code, connection), indexed by (stream name,
    connection) instead (codes from :meth:`Prepared.stream_codes`)."""
    idx = per.index
    names = pd.Index(streams[idx.get_level_values(0).to_numpy(dtype=np.int64)])
    per.index = pd.MultiIndex.from_arrays(
        [names.astype(object), idx.get_level_values(1)], names=["stream", "connection"]
    )
    return per


def first_per_code(codes: np.ndarray, n: int, *, missing: bool = True) -> np.ndarray:
    """The positions of the first ``n`` rows of each code, in row order (rows with
    code -1, a missing value, count as one more code unless ``missing`` is False)."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    rank = np.arange(len(codes)) - np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    keep = rank < n
    if not missing:
        keep &= sorted_codes >= 0
    return np.sort(order[keep])


def dialect_rows(events: pd.DataFrame) -> pd.DataFrame:
    """The rows ``patterns.dialect`` looks at, in their order, so that it gives the
    same answer on them as on all of ``events`` without reading a million rows:
    the first 5000 and last 500 events, the first rows of each event type, the
    first row of each distinct comment (up to 5000), and the first blank-line
    keep-alives."""
    n = len(events)
    if n <= _HEAD + _TAIL + 1000:
        return events
    kind = events["kind"]
    is_event = (kind == "event").to_numpy(dtype=bool, na_value=False)
    ev_pos = np.flatnonzero(is_event)
    keep = [ev_pos[:_HEAD], ev_pos[-_TAIL:]]
    keep.append(ev_pos[first_per_code(_codes(events["type"])[0][ev_pos], _PER_TYPE)])
    com_pos = np.flatnonzero((kind == "comment").to_numpy(dtype=bool, na_value=False))
    if len(com_pos) > _COMMENTS:
        data = pd.Series(events["data"].array.take(com_pos))
        com_pos = com_pos[np.flatnonzero(~data.duplicated().to_numpy())[:_COMMENTS]]
    keep.append(com_pos)
    blank = (kind == "blank").to_numpy(dtype=bool, na_value=False)
    blank = blank & (events["type"] == "").to_numpy(dtype=bool, na_value=False)
    if "id" in events.columns:
        blank = blank & events["id"].isna().to_numpy()
    keep.append(np.flatnonzero(blank)[:_PER_TYPE])
    rows = np.unique(np.concatenate(keep))
    return events.iloc[rows]


def label_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` classified (``family`` as plain strings, ``pattern``) plus a
    ``label`` column: for rows as they arrive, which the live views label once per
    batch; vectorised."""
    out = classify(frame)
    out["family"] = _as_str(out["family"])
    out["label"] = row_labels(out)
    return out


# ----------------------------------------------------------------------- the cache


@dataclass
class _Variant:
    """One prepared form of an events frame, and what it was computed from."""

    connections: weakref.ReferenceType[pd.DataFrame] | None
    meta: dict[str, Any]
    time_scale: float | None
    attrs_scale: Any
    shape: tuple[int, tuple[Any, ...]]
    value: Prepared

    def fits(
        self,
        events: pd.DataFrame,
        connections: pd.DataFrame | None,
        meta: dict[str, Any],
        time_scale: float | None,
    ) -> bool:
        same_conns = (
            connections is None
            if self.connections is None
            else self.connections() is connections
        )
        try:
            same_meta = bool(self.meta == meta)
        except Exception:  # values that do not compare (arrays): prepare again
            same_meta = False
        return (
            same_conns
            and same_meta
            and self.time_scale == time_scale
            and self.attrs_scale == events.attrs.get("time_scale")
            and self.shape == _shape(events)
        )


def _shape(events: pd.DataFrame) -> tuple[int, tuple[Any, ...]]:
    return len(events), tuple(events.columns)


@dataclass
class _Entry:
    """What the cache holds for one events frame."""

    ref: weakref.ReferenceType[pd.DataFrame]
    shape: tuple[int, tuple[Any, ...]]
    classified: tuple[pd.DataFrame, Found]
    variants: list[_Variant]


_LOCK = threading.Lock()
_CACHE: dict[int, _Entry] = {}  # by id(events); the entry holds a weak reference


def _forget(key: int) -> Any:
    def drop(ref: weakref.ReferenceType[pd.DataFrame]) -> None:
        with _LOCK:
            entry = _CACHE.get(key)
            if entry is not None and entry.ref is ref:
                del _CACHE[key]

    return drop


def prepared(
    events: pd.DataFrame,
    connections: pd.DataFrame | None,
    meta: dict[str, Any],
    time_scale: float | None = None,
) -> Prepared:
    """The :class:`Prepared` of these frames: from the cache when they were prepared
    before (same objects, meta and scale), else computed and kept while ``events``
    lives."""
    key = id(events)
    classified = None
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None and entry.ref() is events:
            for variant in entry.variants:
                if variant.fits(events, connections, meta, time_scale):
                    return variant.value
            if entry.shape == _shape(events):
                classified = entry.classified
    if classified is None:
        classified = classify_rows(events)
    value = _compute(events, classified, connections, meta, time_scale)
    variant = _Variant(
        connections=None if connections is None else weakref.ref(connections),
        meta=dict(meta),
        time_scale=time_scale,
        attrs_scale=events.attrs.get("time_scale"),
        shape=_shape(events),
        value=value,
    )
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is None or entry.ref() is not events or entry.shape != variant.shape:
            ref = weakref.ref(events, _forget(key))
            entry = _CACHE[key] = _Entry(ref, variant.shape, classified, [])
        # variants for connections that are gone can never fit again; keep a few
        alive = [
            v
            for v in entry.variants
            if v.connections is None or v.connections() is not None
        ]
        entry.variants[:] = [*alive[-3:], variant]
    return value


def _compute(
    events: pd.DataFrame,
    classified: tuple[pd.DataFrame, Found],
    connections: pd.DataFrame | None,
    meta: dict[str, Any],
    time_scale: float | None,
) -> Prepared:
    """Fill the columns analyses rely on into the classified rows (a new frame:
    the classified one stays as it is), and put times in stream seconds."""
    ev = classified[0].copy(deep=False)
    ev.attrs = copy.deepcopy(events.attrs)  # as they are now, not when classified
    n = len(ev)
    for col, default in (("stream", ""), ("connection", 1)):
        if col not in ev.columns:
            ev[col] = default
    if "seq" not in ev.columns:
        ev["seq"] = np.arange(n, dtype=np.int64)
    if "size" not in ev.columns:
        ev["size"] = ev["data"].str.len().fillna(0).astype("int64")
    # plain Python strings: cheap to group by, and no categorical surprises
    ev["stream"] = pd.Series(
        np.asarray(ev["stream"], dtype=object), index=ev.index, dtype=object
    )
    if "id" not in ev.columns:
        ev["id"] = pd.array([None] * n, dtype="string")

    elapsed = (
        ev["elapsed"].astype("float64")
        if "elapsed" in ev.columns
        else pd.Series(np.nan, index=ev.index)
    )
    if n and elapsed.isna().all() and "time" in ev.columns and ev["time"].notna().any():
        t0 = ev["time"].min()
        elapsed = (ev["time"] - t0).dt.total_seconds()
    has_time = bool(n and elapsed.notna().any())

    inferred = connections is None or (len(connections) == 0 and n > 0)
    if inferred or connections is None:
        conns = _infer_connections(ev, elapsed)
    else:
        conns = connections.copy()
    conns["stream"] = conns["stream"].astype(str)
    default_scale = float(
        time_scale or meta.get("time_scale") or ev.attrs.get("time_scale", 1.0) or 1.0
    )
    if time_scale is not None:
        conns["scale"] = float(time_scale)
    elif "time_scale" in conns.columns:
        conns["scale"] = (
            conns["time_scale"].astype("float64").fillna(default_scale).replace(0, 1.0)
        )
    else:
        conns["scale"] = default_scale
    scales = conns["scale"].unique()
    if len(scales) <= 1:
        row_scale = np.full(
            n, float(scales[0]) if len(scales) else default_scale, dtype=np.float64
        )
    else:
        key = pd.MultiIndex.from_frame(conns[["stream", "connection"]])
        lookup = pd.Series(conns["scale"].to_numpy(), index=key)
        idx = pd.MultiIndex.from_frame(ev[["stream", "connection"]])
        row_scale = lookup.reindex(idx).fillna(default_scale).to_numpy()
    ev["scale"] = row_scale
    ev["t"] = elapsed.to_numpy() * row_scale
    conns["start_s"] = conns["start"].astype("float64") * conns["scale"]
    conns["end_s"] = conns["end"].astype("float64") * conns["scale"]
    conns["duration"] = conns["end_s"] - conns["start_s"]
    scale = float(conns["scale"].max()) if len(conns) else default_scale
    return Prepared(
        events=ev,
        connections=conns.reset_index(drop=True),
        meta=meta,
        scale=scale if scale == scale else 1.0,
        inferred=inferred,
        has_time=has_time,
        envelopes=classified[1],
    )


def _infer_connections(ev: pd.DataFrame, elapsed: pd.Series) -> pd.DataFrame:
    """One row per (stream, connection) of the events, in the connections schema."""
    if not len(ev):
        out = pd.DataFrame(
            {c: pd.Series([], dtype=d) for c, d in CONNECTIONS_SCHEMA.items()}
        )
        out["stream"] = out["stream"].astype(str)
        return out
    work = pd.DataFrame(
        {
            "stream": ev["stream"].to_numpy(),
            "connection": ev["connection"].to_numpy(),
            "elapsed": elapsed.to_numpy(),
            "size": ev["size"].to_numpy(),
            "is_event": (ev["kind"] == "event").to_numpy(),
            "retry": ev["retry"].to_numpy() if "retry" in ev.columns else np.nan,
        }
    )
    g = work.groupby(["stream", "connection"], sort=True)
    agg = g.agg(
        start=("elapsed", "min"),
        end=("elapsed", "max"),
        bytes=("size", "sum"),
        records=("size", "size"),
        events=("is_event", "sum"),
        retry=("retry", "last"),
    ).reset_index()
    n = len(agg)
    out = pd.DataFrame(
        {
            "stream": agg["stream"].astype(str),
            "connection": agg["connection"].astype("int64"),
            "url": pd.array([None] * n, dtype="string"),
            "status": pd.array([None] * n, dtype="Int64"),
            "last_event_id_sent": pd.array([None] * n, dtype="string"),
            "delay": np.nan,
            "start": agg["start"].astype("float64"),
            "end": agg["end"].astype("float64"),
            "bytes": agg["bytes"].astype("int64"),
            "records": agg["records"].astype("int64"),
            "events": agg["events"].astype("int64"),
            "outcome": pd.array([None] * n, dtype="string"),
            "retry": pd.array(agg["retry"], dtype="Int64"),
            "time_scale": np.nan,
        }
    )
    return out
