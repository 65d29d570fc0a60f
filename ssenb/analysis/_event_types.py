"""Event types: counts, share, bytes, rate, first/last seen; per connection and over
time windows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..patterns import catalog
from ..value import CaptureLike
from ._input import prepare
from ._prepare import kept
from ._result import Result

__all__ = ["event_types", "label_of"]

_NICE = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60)


def label_of(ev: pd.DataFrame) -> pd.Series:
    """What a row is, in one categorical label: its event type for events,
    ``(comment)``, ``(blank)`` or ``(retry)`` for the other kinds."""
    types = ev["type"]
    if not isinstance(types.dtype, pd.CategoricalDtype):
        types = types.astype(str).astype("category")
    cats = [str(c) for c in types.cat.categories]
    extra = ["(comment)", "(blank)", "(retry)", "(unknown)"]
    codes = types.cat.codes.to_numpy().copy()
    for i, k in enumerate(("comment", "blank", "retry")):
        codes[(ev["kind"] == k).to_numpy(dtype=bool, na_value=False)] = len(cats) + i
    codes[codes < 0] = len(cats) + 3
    labels = cats + [e for e in extra if e not in cats]
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=labels), index=ev.index
    )


def _families() -> dict[str, str]:
    return {p.name: p.family for p in catalog()}


def _nice_window(duration: float, target: int = 50) -> float:
    if not duration or duration != duration or duration <= 0:
        return 1.0
    raw = duration / target
    for step in _NICE:
        if step >= raw:
            return float(step)
    return float(60 * math.ceil(raw / 60))


def _secs(x: float) -> str:
    return f"{x:.3g} s" if x < 10 else f"{x:.1f} s"


def _span(prep: Any, t: pd.Series) -> tuple[str, float]:
    """(name, stream seconds) of the span rates are computed over: the capture's
    duration (from its start to its last connection's end or last record) when
    the connections are known, else from the first to the last record."""
    last = t.max() if t.notna().any() else np.nan
    if not prep.inferred and len(prep.connections):
        ends = prep.connections["end_s"].astype("float64")
        end = np.nanmax([ends.max(), last]) if ends.notna().any() else last
        if end == end and end > 0:
            return "capture's duration", float(end)
    if last != last:
        return "", np.nan
    return "span from the first to the last record", float(last - t.min())


def event_types(
    capture: CaptureLike, *, window: float | None = None, kinds: str = "all"
) -> Result:
    """How much of each event type a stream carries, and when.

    Args:
        capture: a Capture or an events frame.
        window: width of the time windows of ``over_time`` in stream seconds (chosen
            to give about 50 windows when ``None``).
        kinds: ``"all"`` counts comments, blank lines and retry lines too (labelled
            ``(comment)``, ``(blank)``, ``(retry)``); ``"events"`` only events.

    Tables:
        table: type, kind, family, pattern, count, share (of rows), bytes, rate (per
            stream second over the capture's duration, from its start to its end,
            when the connections are known; else from the first to the last record:
            ``facts["span"]`` and the summary say which), first_seen, last_seen
            (stream seconds);
            one row per (type, pattern): unnamed events that end a stream
            (``[DONE]``) count apart from the payload.
        per_connection: stream, connection, type, count, bytes.
        over_time: window (start, stream seconds), type, count, bytes — tidy, one row
            per (window, type) that has rows; plots directly.
    """
    prep = prepare(capture)
    return kept(
        prep,
        f"event_types:{window!r}:{kinds!r}",
        lambda: _event_types(prep, window, kinds),
    )


def _event_types(prep: Any, window: float | None, kinds: str) -> Result:
    ev = prep.events
    codes, streams = prep.stream_codes()
    if kinds == "events":
        rows = (ev["kind"] == "event").to_numpy(dtype=bool, na_value=False)
        cols = ["stream", "connection", "kind", "type", "pattern", "size", "t"]
        ev, codes = ev[cols][rows], codes[rows]
    elif kinds != "all":
        raise ValueError(f"kinds must be 'all' or 'events', got {kinds!r}")
    work = pd.DataFrame(
        {
            # the stream as a categorical, from the codes prepare keeps
            "stream": pd.Categorical.from_codes(codes, categories=streams),
            "connection": ev["connection"].to_numpy(),
            "type": label_of(ev).array,
            "pattern": ev["pattern"].array,
            "bytes": ev["size"].to_numpy(),
            "t": ev["t"].to_numpy(),
        }
    )
    cols = [
        "type",
        "kind",
        "family",
        "pattern",
        "count",
        "share",
        "bytes",
        "rate",
        "first_seen",
        "last_seen",
    ]
    if not len(work):
        return Result(
            "Event types",
            summary=["No records in this capture."],
            tables={
                "table": pd.DataFrame(columns=cols),
                "per_connection": pd.DataFrame(
                    columns=["stream", "connection", "type", "count", "bytes"]
                ),
                "over_time": pd.DataFrame(columns=["window", "type", "count", "bytes"]),
            },
            facts={
                "types": 0,
                "rows": 0,
                "window": np.nan,
                "span": "",
                "duration": np.nan,
            },
            notes=[prep.scale_note],
        )
    t0 = work["t"].min()
    span, duration = _span(prep, work["t"])
    table = _by_type_and_pattern(work)
    family_of = _families()
    label = table["type"].astype(str)
    table["type"] = label
    table["kind"] = np.where(
        label.str.match(r"^\((comment|blank|retry|unknown)\)$"),
        label.str.strip("()"),
        "event",
    )
    table["pattern"] = table["pattern"].astype(str)
    table["family"] = table["pattern"].map(family_of)
    table["share"] = table["count"] / len(work)
    table["rate"] = table["count"] / duration if duration and duration > 0 else np.nan
    table = table[cols].sort_values("count", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    per_conn = _count_and_bytes(work, ["stream", "connection", "type"])
    per_conn["stream"] = per_conn["stream"].astype(str)
    per_conn["type"] = per_conn["type"].astype(str)
    w = float(window) if window else _nice_window(duration)
    timed = work[work["t"].notna()]
    if len(timed):
        # grouped by the window's number, then its start: the same floats as
        # floor((t - t0) / w) * w + t0 computed row by row
        k = np.floor((timed["t"].to_numpy(dtype=np.float64) - t0) / w)
        over = _count_and_bytes(
            timed.assign(window=k.astype(np.int64)), ["window", "type"]
        )
        over["window"] = over["window"].to_numpy(dtype=np.float64) * w + t0
        over["type"] = over["type"].astype(str)
    else:
        over = pd.DataFrame(columns=["window", "type", "count", "bytes"])
    top = table.head(3)
    # a type that appears under two patterns (payload and [DONE]) names its pattern
    twice = set(table.loc[table["type"].duplicated(), "type"])
    names = [
        f"{n} [{p}]" if n in twice else n
        for n, p in zip(top["type"], top["pattern"], strict=True)
    ]
    parts = ", ".join(
        f"{n} ({c}, {s:.0%})"
        for n, c, s in zip(names, top["count"], top["share"], strict=True)
    )
    summary = [f"{len(work)} rows of {len(table)} types; most common: {parts}."]
    if duration == duration and duration > 0:
        summary.append(
            f"Rates are over the {span} ({_secs(duration)} of stream time): "
            f"{len(work) / duration:.2f} rows/s, "
            f"{work['bytes'].sum() / duration:.0f} bytes/s."
        )
    return Result(
        "Event types",
        summary=summary,
        tables={"table": table, "per_connection": per_conn, "over_time": over},
        facts={
            "types": len(table),
            "rows": len(work),
            "window": w,
            "span": span,
            "duration": duration,
        },
        notes=[prep.scale_note],
    )


# ------------------------------------------------------------------ grouping


def _key_codes(col: pd.Series, sort: bool) -> tuple[np.ndarray, Any] | None:
    """(a code per row, what each code stands for) of a key column; None when a
    value is missing (the general groupby then drops those rows)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = np.asarray(col.cat.codes, dtype=np.int64)
        if len(codes) and codes.min() < 0:
            return None
        return codes, col.cat.categories
    values = col.to_numpy()
    if values.dtype.kind in "iu" and len(values):
        # integers over a short range (connection numbers, time windows): the
        # offset from the smallest is the code, and no hash pass is needed
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= max(4 * len(values), 1 << 16):
            return (values - lo).astype(np.int64), np.arange(
                lo, hi + 1, dtype=values.dtype
            )
    codes, uniques = pd.factorize(values, sort=sort, use_na_sentinel=True)
    if len(codes) and codes.min() < 0:
        return None
    return np.asarray(codes, dtype=np.int64), uniques


def _grouped(
    work: pd.DataFrame, keys: list[str], sort: bool, times: bool
) -> pd.DataFrame | None:
    """``work.groupby(keys, sort=sort, observed=True)`` aggregated to count and
    bytes (and first/last ``t`` with ``times``), reset to columns: computed on one
    integer code per row (the keys' codes combined), so the groups are found by
    one hash pass and summed by ``bincount``. None when the general groupby must
    run (a missing key, too many key values, byte sums past float precision)."""
    size = work["bytes"].to_numpy()
    if size.dtype != np.int64 or (
        len(size) and (size.min() < 0 or size.sum() >= 2**53)
    ):
        return None
    coded = []
    span = 1
    for name in keys:
        got = _key_codes(work[name], sort)
        if got is None:
            return None
        coded.append((name, got[0], got[1], max(len(got[1]), 1)))
        span *= max(len(got[1]), 1)
    if span >= 2**62:
        return None
    key = np.zeros(len(work), dtype=np.int64)
    for _, codes, _, n in coded:
        key = key * n + codes
    inv, uniq = _factorize(key, span, sort)
    groups = len(uniq)
    rest = np.asarray(uniq, dtype=np.int64)
    cols: dict[str, Any] = {}
    for name, _, values, n in reversed(coded):
        part = rest % n
        rest = rest // n
        col = work[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cols[name] = pd.Categorical.from_codes(part, dtype=col.dtype)
        else:
            cols[name] = np.asarray(values)[part]
    out = pd.DataFrame({name: cols[name] for name in keys})
    out["count"] = np.bincount(inv, minlength=groups).astype(np.int64)
    out["bytes"] = np.bincount(
        inv, weights=size.astype(np.float64), minlength=groups
    ).astype(np.int64)
    if times:
        t = work["t"].to_numpy(dtype=np.float64)
        lo, hi = np.full(groups, np.nan), np.full(groups, np.nan)
        np.fmin.at(lo, inv, t)
        np.fmax.at(hi, inv, t)
        out["first_seen"], out["last_seen"] = lo, hi
    return out


def _factorize(key: np.ndarray, span: int, sort: bool) -> tuple[np.ndarray, Any]:
    """``pd.factorize(key, sort=sort)`` of codes in ``range(span)``: in sorted order
    and with few possible codes, by counting (no hash table)."""
    if not sort or span > max(4 * len(key), 1 << 16):
        return pd.factorize(key, sort=sort)  # type: ignore[no-any-return]
    present = np.bincount(key, minlength=span) > 0
    rank = np.cumsum(present) - 1
    return rank[key], np.flatnonzero(present)


def _by_type_and_pattern(work: pd.DataFrame) -> pd.DataFrame:
    """Count, bytes, first and last seen per (type, pattern), in order of first
    appearance."""
    out = _grouped(work, ["type", "pattern"], sort=False, times=True)
    if out is not None:
        return out
    g = work.groupby(["type", "pattern"], sort=False, observed=True)
    return g.agg(
        count=("bytes", "size"),
        bytes=("bytes", "sum"),
        first_seen=("t", "min"),
        last_seen=("t", "max"),
    ).reset_index()


def _count_and_bytes(work: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Count and bytes per group of ``keys``, in the keys' order."""
    out = _grouped(work, keys, sort=True, times=False)
    if out is not None:
        return out
    return (
        work.groupby(keys, sort=True, observed=True)
        .agg(count=("bytes", "size"), bytes=("bytes", "sum"))
        .reset_index()
    )
