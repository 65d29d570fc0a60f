"""Connections and reconnects: how each ended, how long the client waited against what
the server asked, downtime, and whether a resume lost or repeated events."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..value import CaptureLike
from . import _text as text
from ._input import prepare
from ._prepare import by_stream_name, kept
from ._result import Result

__all__ = ["reconnects"]

_NUM = r"[ \t\r\n]*:[ \t\r\n]*(?P<g>[0-9]+(?:\.[0-9]+)?)"


def _last_number(ev: pd.DataFrame, key: str, keys: pd.MultiIndex) -> np.ndarray:
    """Per connection, the last number under JSON ``key`` in the events' data
    (``ev``: the events that may carry hints)."""
    cand = ev[text.matches(ev["data"], f'"{key}"')]
    out = pd.Series(np.nan, index=keys)
    if not len(cand):
        return out.to_numpy()
    val = text.numbers(pd.Series(text.extract(cand["data"], f'"{key}"{_NUM}')))
    per = (
        pd.DataFrame(
            {
                "stream": cand["stream"].to_numpy(),
                "connection": cand["connection"].to_numpy(),
                "v": val,
            }
        )
        .dropna()
        .groupby(["stream", "connection"])["v"]
        .last()
    )
    return per.reindex(keys).to_numpy(dtype=float)


def reconnects(capture: CaptureLike) -> Result:
    """Every connection attempt: its duration, how it ended, the wait before the next
    attempt against the server's hints, and the quality of each resume.

    Hints are the ``retry:`` value in force, a ``backoff_ms`` in the data (X's
    ``operational-disconnect``), a ``retry_after`` in error data or a ``Retry-After``
    header quoted in the connection's ``error``; the strongest
    present is the one compared (backoff_ms, then retry_after, then retry). A resume is
    checked by ids: the ``Last-Event-ID`` sent against the last id received before,
    and, for numeric ids, the gap to the first id after; ids seen twice in a stream
    are duplicates (numeric or opaque).

    Tables:
        connections: stream, connection, start, end, duration, status, outcome, events,
            last_id, retry_ms, backoff_ms, retry_after, hint, hint_source,
            next_delay, next_wait_reason (why the capture waited that: "retry 3000 ms",
            "backoff #2 from retry 0 ms", "Retry-After 30 s", <NA> when unknown),
            delay_vs_hint, downtime (stream seconds to the next attempt).
        resume: stream, connection, sent, last_before, resumed, first_after, numeric,
            gap, duplicates — one row per reconnect.
    """
    prep = prepare(capture)
    return kept(prep, "reconnects", lambda: _reconnects(prep))


def _reconnects(prep: Any) -> Result:
    ev = prep.events
    conns = prep.connections.sort_values(["stream", "connection"], kind="stable")
    conns = conns.reset_index(drop=True)
    keys = pd.MultiIndex.from_frame(conns[["stream", "connection"]])
    is_event = (ev["kind"] == "event").to_numpy(dtype=bool, na_value=False)
    # the rows with an id, by stream code (factorized once) and connection
    rows = np.flatnonzero(is_event & ev["id"].notna().to_numpy())
    codes, streams = prep.stream_codes()
    with_id = pd.DataFrame(
        {
            "s": codes[rows],
            "connection": ev["connection"].to_numpy()[rows],
            "id": ev["id"].array.take(rows),
        }
    )
    by_conn = with_id.groupby(["s", "connection"], sort=True)["id"]
    last_id = by_stream_name(by_conn.last(), streams).reindex(keys)
    first_id = by_stream_name(by_conn.first(), streams).reindex(keys)

    retry_ms = pd.to_numeric(conns["retry"], errors="coerce").astype("float64")
    retry_rec = ev[ev["kind"] == "retry"]
    if len(retry_rec):
        rr = retry_rec.groupby(["stream", "connection"])["retry"].last().reindex(keys)
        retry_ms = retry_ms.fillna(pd.Series(rr.to_numpy(dtype=float)))
    # hints come in control, error and state events, not in the payload
    hints = ev[["stream", "connection", "data"]].iloc[
        np.flatnonzero(
            is_event & (ev["family"] != "data").to_numpy(bool, na_value=False)
        )
    ]
    backoff = _last_number(hints, "backoff_ms", keys)
    retry_after = _last_number(hints, "retry_after", keys)
    if "error" in conns.columns:
        # a Retry-After header, as the capture reports it with the error of an attempt
        header = pd.to_numeric(
            conns["error"]
            .astype("string")
            .str.extract(r"(?i)retry-after[: =]+([0-9]+(?:\.[0-9]+)?)", expand=False),
            errors="coerce",
        ).to_numpy(dtype=float, na_value=np.nan)
        retry_after = np.where(np.isnan(retry_after), header, retry_after)
    hint = np.where(
        ~np.isnan(backoff),
        backoff / 1000.0,
        np.where(~np.isnan(retry_after), retry_after, retry_ms.to_numpy() / 1000.0),
    )
    source = np.where(
        ~np.isnan(backoff),
        "backoff_ms",
        np.where(
            ~np.isnan(retry_after),
            "retry_after",
            np.where(retry_ms.notna().to_numpy(), "retry", ""),
        ),
    )
    same_next = conns["stream"].shift(-1) == conns["stream"]
    next_delay = conns["delay"].astype("float64").shift(-1).where(same_next)
    if "wait_reason" in conns.columns:
        reason = conns["wait_reason"].astype("string").shift(-1).where(same_next)
    else:
        reason = pd.Series(pd.NA, index=conns.index, dtype="string")
    downtime = (conns["start_s"].shift(-1) - conns["end_s"]).where(same_next)
    table = pd.DataFrame(
        {
            "stream": conns["stream"],
            "connection": conns["connection"],
            "start": conns["start_s"],
            "end": conns["end_s"],
            "duration": conns["duration"],
            "status": conns["status"] if "status" in conns else pd.NA,
            "outcome": conns["outcome"].astype("string")
            if "outcome" in conns
            else pd.NA,
            "events": conns["events"] if "events" in conns else pd.NA,
            "last_id": last_id.to_numpy(),
            "retry_ms": retry_ms.to_numpy(),
            "backoff_ms": backoff,
            "retry_after": retry_after,
            "hint": hint,
            "hint_source": source,
            "next_delay": next_delay.to_numpy(),
            "next_wait_reason": reason.array,
            "delay_vs_hint": (next_delay / hint).to_numpy(),
            "downtime": downtime.to_numpy(),
        }
    )
    resume = _resume(conns, with_id, streams, last_id, first_id, prep.inferred)
    odc = int((is_event & (ev["pattern"] == "operational-disconnect").to_numpy()).sum())
    return _summarise(table, resume, odc, prep)


def _resume(
    conns: pd.DataFrame,
    with_id: pd.DataFrame,
    streams: np.ndarray,
    last_id: pd.Series,
    first_id: pd.Series,
    inferred: bool,
) -> pd.DataFrame:
    cols = [
        "stream",
        "connection",
        "sent",
        "last_before",
        "resumed",
        "first_after",
        "numeric",
        "gap",
        "duplicates",
    ]
    prev_same = conns["stream"].shift(1) == conns["stream"]
    if not prev_same.any():
        return pd.DataFrame(columns=cols)
    ids = pd.Series(with_id["id"].array)
    numbers, plain = text.numbers_and_plain(ids)
    # an id seen before in its stream: ids written as plain numbers (no leading
    # zero) are equal exactly when their values are; others are hashed as text
    if plain:
        id_codes = numbers.astype(np.int64)
    else:
        id_codes = text.codes(ids)
    s_codes = with_id["s"].to_numpy()
    width = int(id_codes.max(initial=0)) + 1
    if width * (int(s_codes.max(initial=0)) + 1) < 2**62:  # one int64 key per pair
        dup = pd.Series(s_codes * width + id_codes).duplicated().to_numpy()
    else:
        pairs = pd.DataFrame({"s": s_codes, "id": id_codes})
        dup = pairs.duplicated().to_numpy()
    dups = (
        by_stream_name(with_id[dup].groupby(["s", "connection"]).size(), streams)
        if dup.any()
        else pd.Series(dtype="int64")
    )
    # a gap counts missing ids only where ids count up by one (1, 2, 3...); sparse
    # numeric ids (X's snowflakes, timestamps) leave gaps by design
    nums = pd.Series(numbers)
    keys = [with_id["s"], with_id["connection"]]
    step = nums.groupby(keys).diff().groupby(keys[0]).median()
    step.index = [str(streams[i]) for i in step.index]
    rows = []
    last_ids = last_id.to_numpy()
    first_ids = first_id.to_numpy()
    for i in np.flatnonzero(prev_same.to_numpy()):
        stream, conn = conns.at[i, "stream"], conns.at[i, "connection"]
        before = last_ids[i - 1]
        # the last id received on any earlier connection of this stream
        j = i - 1
        while _missing(before) and j > 0 and prev_same.iat[j]:
            j -= 1
            before = last_ids[j]
        before = None if _missing(before) else str(before)
        sent = conns.at[i, "last_event_id_sent"] if not inferred else None
        sent = None if _missing(sent) else str(sent)
        after = first_ids[i]
        after = None if _missing(after) else str(after)
        b, a = _num(before), _num(after)
        numeric = b is not None and a is not None
        usual = float(step.get(str(stream), np.nan))
        counted = numeric and (usual != usual or usual == 1.0)
        rows.append(
            {
                "stream": stream,
                "connection": conn,
                "sent": sent,
                "last_before": before,
                "resumed": (sent == before) if sent is not None else None,
                "first_after": after,
                "numeric": numeric,
                "gap": (a - b - 1) if counted else np.nan,  # type: ignore[operator]
                "duplicates": int(dups.get((stream, conn), 0)),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def _num(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _summarise(
    table: pd.DataFrame, resume: pd.DataFrame, odc: int, prep: Any
) -> Result:
    n = len(table)
    summary: list[str] = []
    if not n:
        return Result(
            "Reconnects",
            summary=["No connections in this capture."],
            tables={"connections": table, "resume": resume},
            facts={"attempts": 0, "reconnects": 0, "downtime": 0.0},
            notes=[prep.scale_note],
        )
    streams = table["stream"].nunique()
    recon = n - streams
    downtime = float(table["downtime"].sum(skipna=True))
    outcomes = table["outcome"].dropna().astype(str).value_counts().to_dict()
    summary.append(
        f"{n} connection attempt(s), {recon} reconnect(s); downtime {downtime:.1f} s."
    )
    if outcomes:
        summary.append(
            "Endings: " + ", ".join(f"{k} ×{v}" for k, v in outcomes.items()) + "."
        )
    if odc:
        summary.append(f"{odc} operational-disconnect notice(s) from the server.")
    ratio = table["delay_vs_hint"].dropna()
    if len(ratio):
        early = int((ratio < 0.9).sum())
        summary.append(
            f"The client waited {ratio.median():.2f}x the server's hint (median)"
            + (f"; {early} reconnect(s) came sooner than asked." if early else ".")
        )
    lost = resume[(resume["numeric"]) & (resume["gap"] > 0)] if len(resume) else resume
    if len(lost):
        summary.append(
            f"{len(lost)} resume(s) skipped ids ({int(lost['gap'].sum())} missing)."
        )
    dup_total = int(resume["duplicates"].sum()) if len(resume) else 0
    if dup_total:
        summary.append(f"{dup_total} event id(s) delivered twice after a resume.")
    if len(resume):
        bad = resume[resume["resumed"].eq(False)]
        if len(bad):
            summary.append(
                f"{len(bad)} reconnect(s) did not send the last id received as "
                "Last-Event-ID."
            )
    if prep.inferred and recon:
        summary.append(
            "Connections were inferred from the events: delays, hints sent and "
            "outcomes are unknown."
        )
    facts = {
        "attempts": n,
        "reconnects": recon,
        "downtime": downtime,
        "outcomes": outcomes,
        "operational_disconnects": odc,
        "ids_missing": int(lost["gap"].sum()) if len(lost) else 0,
        "duplicates": dup_total,
    }
    return Result(
        "Reconnects",
        summary=summary,
        tables={"connections": table, "resume": resume},
        facts=facts,
        notes=[prep.scale_note],
    )
