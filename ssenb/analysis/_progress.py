"""Progress: series per task and the ETA the server gave against when it finished."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._envelope import Envelope
from ..value import CaptureLike
from . import _text as text
from ._input import prepare
from ._prepare import kept
from ._result import Result

__all__ = ["task_progress"]

_KEYS = r'"(?:percentage|percent|progress|eta_seconds)"[ \t\r\n]*:'


def task_progress(capture: CaptureLike) -> Result:
    """Progress reports per task, and how good the server's ETA was.

    Progress rows are events of the ``progress`` family or whose JSON carries
    ``percentage``, ``percent``, ``progress`` (0..1 or 0..100) or ``eta_seconds``. The
    task is ``task_id`` (or ``job_id``, ``task``, else the event type). Flat JSON
    objects are read with vectorised string kernels; nested or unusual ones are parsed
    one by one.

    Tables:
        series: stream, connection, seq, t, task, percentage (0..100), current, total,
            eta_seconds, predicted_end (t + eta), message — one row per report.
        tasks: task, reports, first_t, last_t, last_percentage, finished,
            first_eta, predicted_end (by the first ETA), actual_end, eta_error
            (actual_end - predicted_end; positive means late) — stream seconds.
    """
    prep = prepare(capture)
    return kept(prep, "task_progress", lambda: _task_progress(prep))


def _task_progress(prep: Any) -> Result:
    ev = prep.events
    # the masks on whole columns, one Arrow regex pass; then only the candidates
    # are taken out of the frame
    is_event = (ev["kind"] == "event").to_numpy(dtype=bool, na_value=False)
    hit = (ev["family"] == "progress").to_numpy(dtype=bool, na_value=False)
    which = prep.envelopes.per_row(len(ev))
    hit = hit | _names_a_key(
        ev["data"], is_event & ~hit, which, prep.envelopes.envelopes
    )
    cand = ev[["stream", "connection", "seq", "t", "type", "data", "family"]].iloc[
        np.flatnonzero(is_event & hit)
    ]
    fast, slow_mask = _fast_rows(cand)
    cand = cand[slow_mask]
    rows = []
    for stream, conn, seq, t, ty, data in zip(
        cand["stream"].tolist(),
        cand["connection"].tolist(),
        cand["seq"].tolist(),
        cand["t"].tolist(),
        [str(x) for x in cand["type"].tolist()],
        cand["data"].tolist(),
        strict=True,
    ):
        try:
            obj = json.loads(data)
        except (TypeError, ValueError):
            continue
        if not isinstance(obj, dict):
            continue
        pct = _number(obj.get("percentage", obj.get("percent")))
        if pct is None:
            p = _number(obj.get("progress"))
            if p is not None:
                pct = p * 100 if p <= 1 else p
        current, total = _number(obj.get("current")), _number(obj.get("total"))
        if pct is None and current is not None and total:
            pct = 100 * current / total
        eta = _number(obj.get("eta_seconds", obj.get("eta")))
        if pct is None and eta is None:
            continue
        task = obj.get("task_id") or obj.get("job_id") or obj.get("task") or ty
        rows.append(
            (
                stream,
                conn,
                seq,
                t,
                str(task),
                pct,
                current,
                total,
                eta,
                t + eta if eta is not None else np.nan,
                obj.get("message") or obj.get("phase"),
            )
        )
    series = pd.DataFrame(
        rows,
        columns=[
            "stream",
            "connection",
            "seq",
            "t",
            "task",
            "percentage",
            "current",
            "total",
            "eta_seconds",
            "predicted_end",
            "message",
        ],
    )
    numeric = ("percentage", "current", "total", "eta_seconds", "predicted_end", "t")
    for col in numeric:
        series[col] = pd.to_numeric(series[col], errors="coerce").astype("float64")
    if len(fast):
        if len(series):
            # one dtype per column on both sides, so concat has nothing to guess
            both = [fast.astype(series.dtypes.to_dict()), series]
            series = pd.concat(both, ignore_index=True)
        else:
            series = fast.astype(dict.fromkeys(numeric, "float64"))
        series = series.sort_values("seq", kind="stable").reset_index(drop=True)
    task_cols = [
        "task",
        "reports",
        "first_t",
        "last_t",
        "last_percentage",
        "finished",
        "first_eta",
        "predicted_end",
        "actual_end",
        "eta_error",
    ]
    if not len(series):
        return Result(
            "Progress",
            summary=["No progress reports in this capture."],
            tables={"series": series, "tasks": pd.DataFrame(columns=task_cols)},
            notes=[prep.scale_note],
        )
    tasks = []
    for task, grp in series.groupby("task", sort=False):
        finished = bool((grp["percentage"] >= 100).any())
        done_t = grp.loc[grp["percentage"] >= 100, "t"].min() if finished else np.nan
        with_eta = grp.dropna(subset=["eta_seconds"])
        first_eta = with_eta["eta_seconds"].iloc[0] if len(with_eta) else np.nan
        predicted = with_eta["predicted_end"].iloc[0] if len(with_eta) else np.nan
        tasks.append(
            (
                task,
                len(grp),
                grp["t"].min(),
                grp["t"].max(),
                grp["percentage"].iloc[-1],
                finished,
                first_eta,
                predicted,
                done_t,
                done_t - predicted,
            )
        )
    table = pd.DataFrame(tasks, columns=task_cols)
    summary = [
        f"{len(series)} progress report(s) for {len(table)} task(s); "
        f"{int(table['finished'].sum())} reached 100%."
    ]
    errs = table["eta_error"].dropna()
    if len(errs):
        summary.append(
            f"The first ETA was off by {errs.abs().median():.1f} s (median; "
            f"{'late' if errs.median() > 0 else 'early'})."
        )
    return Result(
        "Progress",
        summary=summary,
        tables={"series": series, "tasks": table},
        notes=[prep.scale_note],
    )


def _names_a_key(
    data: pd.Series,
    rows: np.ndarray,
    which: np.ndarray,
    envelopes: list[Envelope],
) -> np.ndarray:
    """Whether each row of ``rows`` matches ``_KEYS`` (False elsewhere).

    A row that repeats an envelope (``which``, an index in ``envelopes``) gets the
    envelope's answer: ``_KEYS`` is a quoted key and a colon, which the envelope's
    text (a string value with no quote) cannot hold or end.

    Every key ``_KEYS`` names holds ``percent`` or ``progress`` (which
    ``"percentage"``, ``"percent"`` and ``"progress"`` contain) or ``_seconds"``
    (which ``"eta_seconds"`` contains): a necessary condition. It is tested first on
    runs of neighbouring rows (see :func:`_runs_holding`), then row by row on the
    rows of the runs that hold it, and the regex runs only on the rows that do.
    """
    out = np.zeros(len(data), dtype=bool)
    enveloped = rows & (which >= 0)
    if enveloped.any():
        keys = re.compile(_KEYS)
        answer = np.array([bool(keys.search(e.before + e.after)) for e in envelopes])
        out[enveloped] = answer[which[enveloped]]
        # the rows left lie scattered between the enveloped ones: copied out, they
        # cost one regex call each, where runs of them would cost one per run and
        # the runs are short
        left = np.flatnonzero(rows & ~enveloped)
        if len(left):
            out[left] = text.matches(data.iloc[left], _KEYS)
        return out
    if not rows.any():
        return out
    idx = _runs_holding(data, rows, (_MAYBE_PCT, _MAYBE_ETA))
    if idx is None:  # not one Arrow buffer: every row of ``rows`` is a candidate
        idx = np.flatnonzero(rows)
    if not len(idx):
        return out
    sub = data.iloc[idx]
    maybe = text.matches(sub, _MAYBE_PCT) | text.matches(sub, _MAYBE_ETA)
    idx = idx[maybe]
    if len(idx):
        out[idx] = text.matches(data.iloc[idx], _KEYS)
    return out


#: Necessary conditions of ``_KEYS``: each key it names holds one of these.
_MAYBE_PCT = r"p(?:ercent|rogress)"
_MAYBE_ETA = r'_seconds"'


def _runs_holding(
    data: pd.Series, rows: np.ndarray, regexes: tuple[str, ...]
) -> np.ndarray | None:
    """The positions of ``rows`` that lie in a run holding one of ``regexes``, or
    None when the column is not one Arrow string buffer.

    A run is a stretch of neighbouring rows of ``rows`` (and empty values between
    them): its bytes lie side by side in the column's data buffer, so one regex
    call reads the whole run, where a row-by-row pass pays a call per row. A row
    that holds a match lies in a run that does, so the answer is a superset of the
    rows that match (a match across two rows of a run only adds rows to check).
    """
    arr = getattr(data.array, "_pa_array", None)  # Arrow-backed: its own buffers
    if arr is None:
        return None
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks != 1:
            return None
        arr = arr.chunk(0)
    large = pa.types.is_large_string(arr.type)
    if not (large or pa.types.is_string(arr.type)) or len(arr) != len(rows):
        return None
    n = len(arr)
    bufs = arr.buffers()
    if bufs[2] is None:  # no data buffer to lay runs over
        return None
    kind = np.int64 if large else np.int32
    offsets = np.frombuffer(bufs[1], dtype=kind)[arr.offset : arr.offset + n + 1]
    span = np.diff(offsets)
    inside = rows.copy()
    if arr.null_count:  # a null value's bytes, if any, stay out
        inside &= np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool)
    inside |= span == 0  # nothing to read: joins the runs on either side
    # segments where ``inside`` is constant; the runs are the inside ones
    cut = np.flatnonzero(inside[1:] != inside[:-1]) + 1
    bounds = np.concatenate(([0], cut, [n]))
    is_run = inside[bounds[:-1]]
    seg_off = np.ascontiguousarray(offsets[bounds])
    # the segments that are not runs are null: the kernel skips them
    valid = pa.py_buffer(np.packbits(is_run, bitorder="little"))
    segs = pa.Array.from_buffers(
        arr.type, len(is_run), [valid, pa.py_buffer(seg_off), bufs[2]]
    )
    held = np.zeros(len(is_run), dtype=bool)
    for rx in regexes:
        found = pc.match_substring_regex(segs, rx)
        held |= np.asarray(
            pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool
        )
    per_row = np.repeat(held, np.diff(bounds))
    return np.flatnonzero(per_row & rows)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


_WS = r"[ \t\r\n]*"
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
_NUM_KEYS = (
    "percentage",
    "percent",
    "progress",
    "current",
    "total",
    "eta_seconds",
    "eta",
)
_STR_KEYS = ("task_id", "job_id", "task", "message", "phase")


def _fast_rows(cand: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """(series rows read without parsing JSON, mask of the rows left to parse).

    Only flat JSON objects (no nested object) qualify, and only when every key
    present was read at its first place: a quoted number or an escaped string sends
    the row to the slow path, which parses it.
    """
    d = cand["data"]
    n = len(d)
    flat = text.matches(d, r"^[ \t\r\n]*\{[^{]*\}[ \t\r\n]*$")
    if n < 1000 or not flat.any():  # not worth it
        return pd.DataFrame(), np.ones(n, dtype=bool)
    idx = np.flatnonzero(flat)
    sub = d.iloc[idx]
    ok = np.ones(len(sub), dtype=bool)
    vals: dict[str, np.ndarray] = {}
    named = text.mentioned(sub, [f'"{k}"' for k in (*_NUM_KEYS, *_STR_KEYS)])
    for key, number in [(k, True) for k in _NUM_KEYS] + [(k, False) for k in _STR_KEYS]:
        if f'"{key}"' not in named:  # in no row: nothing to read
            vals[key] = np.full(len(sub), np.nan if number else None)
            continue
        # one pass per key: null where the key is absent, "" where its value is
        # not what the fast path reads
        body = _NUMBER if number else r'"[^"\\]*"'
        got = text.extract_arrow(sub, rf'"{key}"{_WS}:{_WS}(?P<g>{body}|)')
        present = np.asarray(got.is_valid().to_numpy(zero_copy_only=False), bool)
        read = present & ~np.asarray(
            pc.fill_null(pc.equal(got, ""), True).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        ok &= ~(present & ~read)
        if number:
            out = np.full(len(sub), np.nan)
            if read.any():
                out[read] = pc.cast(got.filter(pa.array(read)), pa.float64()).to_numpy(
                    zero_copy_only=False
                )
        else:
            out = np.full(len(sub), None, dtype=object)
            if read.any():
                quoted = got.filter(pa.array(read))
                out[read] = pc.utf8_slice_codeunits(quoted, 1, -1).to_numpy(
                    zero_copy_only=False
                )
        vals[key] = out
    pct = np.where(np.isnan(vals["percentage"]), vals["percent"], vals["percentage"])
    prog = vals["progress"]
    pct = np.where(np.isnan(pct), np.where(prog <= 1, prog * 100, prog), pct)
    cur, tot = vals["current"], vals["total"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tot != 0, 100 * cur / tot, np.nan)
    pct = np.where(np.isnan(pct), ratio, pct)
    eta = np.where(np.isnan(vals["eta_seconds"]), vals["eta"], vals["eta_seconds"])
    types = cand["type"].astype(str).to_numpy()[idx]
    task = vals["task_id"]
    for alt in (vals["job_id"], vals["task"], types):
        task = np.where(pd.notna(task) & (task != ""), task, alt)
    msg, phase = vals["message"], vals["phase"]
    message = np.where(pd.notna(msg) & (msg != ""), msg, phase)
    keep = ok & ~(np.isnan(pct) & np.isnan(eta))
    t = cand["t"].to_numpy(dtype=float)[idx]
    rows = pd.DataFrame(
        {
            "stream": cand["stream"].to_numpy()[idx],
            "connection": cand["connection"].to_numpy()[idx],
            "seq": cand["seq"].to_numpy()[idx],
            "t": t,
            "task": task.astype(str),
            "percentage": pct,
            "current": cur,
            "total": tot,
            "eta_seconds": eta,
            "predicted_end": t + eta,
            "message": message,
        }
    )[keep]
    slow = np.ones(n, dtype=bool)
    slow[idx[ok]] = False
    # rows that were read but hold no progress stay out of both paths
    return rows.reset_index(drop=True), slow
