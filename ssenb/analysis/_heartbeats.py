"""Keep-alives: how often, how regular, what the server declares, and what a proxy
would make of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..value import CaptureLike
from . import _text as text
from ._input import prepare
from ._prepare import kept
from ._result import Result

__all__ = ["PROXY_TIMEOUTS", "heartbeats"]

#: Idle timeouts of common proxies, in seconds: a stream silent this long is cut.
PROXY_TIMEOUTS: dict[str, float] = {
    "nginx proxy_read_timeout": 60.0,
    "AWS ALB idle timeout": 60.0,
    "Cloudflare proxy read timeout": 100.0,
}

#: The catalogue's advice: a heartbeat every 30-60 s.
ADVICE = (30.0, 60.0)

_INTERVAL = (
    r'"(interval(?:_ms|_s|Ms|Seconds)?|heartbeat_interval(?:_ms)?)"'
    r"[ \t\r\n]*:[ \t\r\n]*([0-9]+(?:\.[0-9]+)?)"
)


def _declared(beats: pd.DataFrame) -> pd.Series:
    """The interval (s) a keep-alive's data declares, NaN when it does not."""
    out = pd.Series(np.nan, index=beats.index)
    cand = np.array((beats["kind"] == "event").to_numpy(dtype=bool, na_value=False))
    if not cand.any():
        return out
    # one Arrow pass finds the rows that declare one; only those are read
    cand[cand] = text.matches(beats["data"][cand], _INTERVAL)
    found = beats.loc[cand, "data"].str.extract(_INTERVAL)
    found = found[found[1].notna()]  # keep-alives that declare no interval stay NaN
    if found.empty:
        return out
    key = found[0].astype(str)
    val = pd.to_numeric(found[1], errors="coerce")
    is_ms = key.str.contains("ms|Ms", regex=True) | (
        ~key.str.contains("_s|Seconds", regex=True) & (val >= 1000)
    )
    out.loc[found.index] = np.where(is_ms, val / 1000.0, val)
    return out


def keepalive_intervals(
    beats: pd.DataFrame, last: dict[tuple[str, int], float] | None = None
) -> pd.Series:
    """Seconds since the previous keep-alive of the same stream and connection, for
    keep-alive rows (``stream``, ``connection``, ``t``) in arrival order; NaN for
    the first of a connection, so intervals never span a reconnect.

    The one computation behind :func:`heartbeats` and the live chart: a live view
    passes the same ``last`` dict batch after batch (each connection's latest
    keep-alive time, updated in place), so its intervals equal the analysis's.
    """
    if not len(beats):
        return pd.Series(np.nan, index=beats.index, dtype="float64")
    stream = beats["stream"].astype(str).to_numpy()
    conn = beats["connection"].to_numpy().astype("int64")
    t = beats["t"].to_numpy(dtype="float64")
    iv = pd.Series(t).groupby([stream, conn], sort=False).diff().to_numpy(copy=True)
    if last is not None:
        key = pd.MultiIndex.from_arrays([stream, conn])
        for i in np.flatnonzero(~key.duplicated(keep="first")):
            prev = last.get((str(stream[i]), int(conn[i])))
            if prev is not None:
                iv[i] = t[i] - prev
        timed = ~np.isnan(t)
        for i in np.flatnonzero(~key.duplicated(keep="last")):
            if timed[i]:
                last[(str(stream[i]), int(conn[i]))] = float(t[i])
    return pd.Series(iv, index=beats.index, dtype="float64")


def _silences(prep: Any) -> pd.DataFrame:
    """Per connection, the longest stretch without a byte (stream seconds), counting
    from the connection's start and to its end when connections were recorded."""
    ev = prep.events
    keys = ["stream", "connection"]
    timed = ev["t"].notna().to_numpy()
    if not timed.any():
        return pd.DataFrame(columns=[*keys, "max_silence"])
    # grouped by stream code (sorted like the names) and connection: no strings
    codes, streams = prep.stream_codes()
    sub = pd.DataFrame(
        {
            "stream": codes[timed],
            "connection": ev["connection"].to_numpy()[timed],
            "t": ev["t"].to_numpy()[timed],
        }
    )
    agg = _spans(sub)
    agg.index = pd.MultiIndex.from_arrays(
        [
            pd.Index(streams[agg.index.get_level_values(0)], dtype=object),
            agg.index.get_level_values(1),
        ],
        names=keys,
    )
    worst = agg["worst"].fillna(0.0)
    if not prep.inferred:
        conns = prep.connections.set_index(keys)
        start = conns["start_s"].reindex(agg.index)
        end = conns["end_s"].reindex(agg.index)
        worst = pd.concat([worst, agg["first"] - start, end - agg["last"]], axis=1).max(
            axis=1
        )
    return pd.DataFrame({"max_silence": worst}).reset_index()


def _spans(sub: pd.DataFrame) -> pd.DataFrame:
    """Per (stream code, connection), sorted: the first and last ``t`` and the
    largest gap between consecutive rows (NaN for one row). Rows that come
    connection after connection are read as segments of one array; rows of
    connections interleaved take pandas' groupby."""
    code = sub["stream"].to_numpy()
    conn = sub["connection"].to_numpy()
    t = sub["t"].to_numpy(dtype=np.float64)
    n = len(t)
    same = np.zeros(max(n - 1, 0), dtype=bool)
    if n > 1:
        same = (code[1:] == code[:-1]) & (conn[1:] == conn[:-1])
    starts = np.concatenate(([0], np.flatnonzero(~same) + 1)) if n else np.zeros(0, int)
    pairs = pd.MultiIndex.from_arrays([code[starts], conn[starts]])
    if not n or not pairs.is_unique:
        return _spans_grouped(sub)
    gap = np.full(n, -np.inf)
    gap[1:][same] = np.diff(t)[same]
    worst = np.maximum.reduceat(gap, starts)
    out = pd.DataFrame(
        {
            "first": np.fmin.reduceat(t, starts),
            "last": np.fmax.reduceat(t, starts),
            "worst": np.where(np.isneginf(worst), np.nan, worst),
        },
        index=pairs.set_names(["stream", "connection"]),
    )
    return out.sort_index()


def _spans_grouped(sub: pd.DataFrame) -> pd.DataFrame:
    """:func:`_spans` by pandas' groupby, for rows in any order."""
    keys = ["stream", "connection"]
    gap = sub.groupby(keys, sort=False)["t"].diff()
    return (
        sub.assign(gap=gap)
        .groupby(keys, sort=True)
        .agg(first=("t", "min"), last=("t", "max"), worst=("gap", "max"))
    )


def heartbeats(capture: CaptureLike, *, gap_factor: float = 1.8) -> Result:
    """Every keep-alive in any form, its intervals, and what a proxy would make of them.

    Keep-alives are the rows :func:`ssenb.classify` puts in the ``keepalive`` family:
    ping/heartbeat/keep-alive events, comments, blank lines. Intervals are per
    connection, in stream seconds. A missed beat is a gap above ``gap_factor`` × the
    declared interval (an ``interval`` field in the data), or × the median interval
    when none is declared. The verdict compares the longest silence (no byte at all)
    with the catalogue's 30-60 s advice and with common proxy idle timeouts.

    Tables:
        beats: stream, connection, seq, t, kind, pattern, interval, declared — one row
            per keep-alive (``interval`` is NaN for the first of a connection).
        stats: stream, connection, count, mean, median, p95, max, jitter (standard
            deviation), declared, missed, max_silence.
        missed: stream, connection, seq, t, gap, expected, missed_beats.
        proxies: proxy, timeout, max_silence, cut.

    Example:
        >>> hb = heartbeats(capture); hb.stats; hb.facts["verdict"]
    """
    prep = prepare(capture)
    # once per capture: lint and the report read it too
    return kept(
        prep, f"heartbeats:{gap_factor!r}", lambda: _heartbeats(prep, gap_factor)
    )


def _heartbeats(prep: Any, gap_factor: float) -> Result:
    ev = prep.events
    keep = ev[["stream", "connection", "seq", "t", "kind", "pattern", "data"]].iloc[
        np.flatnonzero((ev["family"] == "keepalive").to_numpy(bool, na_value=False))
    ]
    beats = pd.DataFrame(
        {
            "stream": keep["stream"].astype(str),
            "connection": keep["connection"],
            "seq": keep["seq"],
            "t": keep["t"],
            "kind": text.as_str(keep["kind"]),
            "pattern": text.as_str(keep["pattern"]),
        }
    ).reset_index(drop=True)
    beats["interval"] = keepalive_intervals(beats)
    beats["declared"] = _declared(
        keep[["kind", "data"]].reset_index(drop=True)
    ).to_numpy()

    silences = _silences(prep)
    g = beats.groupby(["stream", "connection"], sort=True)
    iv = g["interval"]
    stats = pd.DataFrame(
        {
            "count": g.size(),
            "mean": iv.mean(),
            "median": iv.median(),
            "p95": iv.quantile(0.95),
            "max": iv.max(),
            "jitter": iv.std(ddof=0),
            "declared": g["declared"].median(),
        }
    ).reset_index()
    ref = stats["declared"].fillna(stats["median"])
    ref_of = stats.set_index(["stream", "connection"]).assign(ref=ref.to_numpy())["ref"]
    key = pd.MultiIndex.from_frame(beats[["stream", "connection"]])
    beats_ref = ref_of.reindex(key).to_numpy() if len(beats) else np.array([])
    is_missed = beats["interval"].to_numpy() > gap_factor * beats_ref
    missed = beats[is_missed].assign(expected=beats_ref[is_missed])
    missed = pd.DataFrame(
        {
            "stream": missed["stream"],
            "connection": missed["connection"],
            "seq": missed["seq"],
            "t": missed["t"],
            "gap": missed["interval"],
            "expected": missed["expected"],
            "missed_beats": (np.round(missed["interval"] / missed["expected"]) - 1)
            .clip(lower=1)
            .astype("int64"),
        }
    ).reset_index(drop=True)
    stats["missed"] = (
        missed.groupby(["stream", "connection"])
        .size()
        .reindex(pd.MultiIndex.from_frame(stats[["stream", "connection"]]))
        .fillna(0)
        .astype("int64")
        .to_numpy()
    )
    if len(silences):
        stats = stats.merge(
            silences[["stream", "connection", "max_silence"]], how="left"
        )
    else:
        stats["max_silence"] = np.nan

    max_silence = float(silences["max_silence"].max()) if len(silences) else np.nan
    proxies = pd.DataFrame(
        {
            "proxy": list(PROXY_TIMEOUTS),
            "timeout": list(PROXY_TIMEOUTS.values()),
            "max_silence": max_silence,
            "cut": [bool(max_silence >= v) for v in PROXY_TIMEOUTS.values()],
        }
    )
    typical = (
        float(beats["interval"].median()) if beats["interval"].notna().any() else np.nan
    )
    declared = (
        float(beats["declared"].median()) if beats["declared"].notna().any() else np.nan
    )
    summary, verdict = _verdict(
        len(beats), typical, declared, max_silence, proxies, prep
    )
    facts = {
        "count": len(beats),
        "median_interval": typical,
        "declared_interval": declared,
        "max_silence": max_silence,
        "missed": len(missed),
        "verdict": verdict,
        "cut_by": [
            p for p, c in zip(proxies["proxy"], proxies["cut"], strict=True) if c
        ],
        "time_scale": prep.scale,
    }
    if len(missed):
        summary.append(
            f"{len(missed)} gap(s) well above the usual interval (missed beats); "
            f"the longest {missed['gap'].max():.1f} s."
        )
    return Result(
        "Heartbeats",
        summary=summary,
        tables={"stats": stats, "beats": beats, "missed": missed, "proxies": proxies},
        facts=facts,
        notes=[prep.scale_note],
        empty="No records in this capture.",
    )


def _verdict(
    count: int,
    typical: float,
    declared: float,
    max_silence: float,
    proxies: pd.DataFrame,
    prep: Any,
) -> tuple[list[str], str]:
    lo, hi = ADVICE
    out: list[str] = []
    if not len(prep.events):
        return ["No records in this capture."], "empty"
    if not prep.has_time:
        out.append(
            "No arrival times were recorded, so intervals and silences are unknown."
        )
    if count == 0:
        out.append(
            "No keep-alives: when the data stops, nothing tells a proxy or the client "
            "that the connection is alive."
        )
        verdict = "missing"
    elif typical != typical:
        out.append(f"{count} keep-alive(s), too few to measure an interval.")
        verdict = "unknown"
    else:
        where = (
            "within" if lo <= typical <= hi else ("below" if typical < lo else "above")
        )
        verdict = {"within": "ok", "below": "frequent", "above": "rare"}[where]
        out.append(
            f"{count} keep-alives, typically every {typical:.1f} s: {where} the "
            f"catalogue's {lo:.0f}-{hi:.0f} s advice."
        )
    if declared == declared:
        out.append(f"The server declares an interval of {declared:g} s.")
    if max_silence == max_silence:
        cut = proxies[proxies["cut"]]
        if len(cut):
            names = ", ".join(
                f"{p} ({t:g} s)"
                for p, t in zip(cut["proxy"], cut["timeout"], strict=True)
            )
            out.insert(
                0,
                f"This stream would be cut by {names}: it was silent for "
                f"{max_silence:.1f} s.",
            )
            verdict = "cut"
        else:
            out.append(
                f"Longest silence {max_silence:.1f} s: below every common proxy idle "
                f"timeout (nginx 60 s, AWS ALB 60 s, Cloudflare 100 s)."
            )
    return out, verdict
