"""Benchmark: classify + every analysis on a synthetic 1 M-record capture, against the
same aggregates computed by DuckDB in the same run.

Run: ``python bench/bench_analysis.py [--rows 1000000] [--repeat 3]`` (needs ``pip
install duckdb``, the ``bench`` extra). Prints seconds per step for ssenb and DuckDB
(best of ``--repeat`` runs each) and their ratio, the sum over the steps both do, the
worst step, the report's time, and where the report's time goes.

How each figure is taken: ``prepare`` from a capture seen for the first time (the
prepared value is cached per capture, so later calls cost nothing); each analysis
from a prepared capture whose derived values (dialect, samples, stream codes) are
cleared first, so a step pays for what it needs; ``report`` cold from a capture seen
for the first time (prepare included), and again on the same capture (cached).

The capture mimics an OpenAI-style token stream with the conventions of the pattern
catalogue mixed in: chat.completion.chunk payloads, ping events, keep-alive comments,
blank lines, progress and error events, numeric ids, ten connections, and a server time
scale of 10.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# measure this checkout's ssenb, not whichever one is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ssenb  # noqa: E402
from ssenb import analysis, patterns  # noqa: E402
from ssenb.frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, KINDS, coerce  # noqa: E402


@dataclass
class Capture:
    events: pd.DataFrame
    connections: pd.DataFrame
    meta: dict[str, Any]


def synthetic(n: int, n_conn: int = 10, seed: int = 1) -> Capture:
    """A capture of ``n`` records, built column by column."""
    rng = np.random.default_rng(seed)
    roll = rng.random(n)
    # 0 chunk, 1 ping, 2 comment, 3 blank, 4 progress, 5 error, 6 user-created
    cat = np.select(
        [roll < 0.70, roll < 0.78, roll < 0.86, roll < 0.90, roll < 0.95, roll < 0.96],
        [0, 1, 2, 3, 4, 5],
        6,
    )
    kind = np.array(["event", "event", "comment", "blank", "event", "event", "event"])[
        cat
    ]
    typ = np.array(["message", "ping", "", "", "progress", "error", "user-created"])[
        cat
    ]
    words = [f"tok{i} " for i in range(50)]
    pick = rng.integers(0, 50, n)
    data = np.empty(n, dtype=object)
    chunk = (
        '{"id":"chatcmpl-AbCdEfGhIjKlMnOpQrSt","object":"chat.completion.chunk",'
        '"created":1704067200,"model":"gpt-4o","choices":[{"index":0,"delta":'
        '{"content":"%s"},"finish_reason":null}]}'
    )
    data[:] = ""
    idx0 = np.flatnonzero(cat == 0)
    data[idx0] = [chunk % words[p] for p in pick[idx0]]
    data[cat == 1] = '{"timestamp": 1704067200}'
    data[cat == 2] = "keep-alive"
    idx4 = np.flatnonzero(cat == 4)
    data[idx4] = [
        f'{{"task_id":"t{i % 7}","percentage":{(i // 7) % 101},"eta_seconds":{i % 60}}}'
        for i in range(len(idx4))
    ]
    data[cat == 5] = '{"code":"rate_limited","message":"slow down","retry_after":3}'
    data[cat == 6] = '{"user":"u1","at":"2024-01-01T00:00:00Z"}'
    conn = (np.arange(n) * n_conn // n + 1).astype("int64")
    elapsed = np.cumsum(rng.exponential(0.01, n))
    is_event = kind == "event"
    ids = np.full(n, None, dtype=object)
    ev_idx = np.flatnonzero(is_event)
    ids[ev_idx] = np.arange(1, len(ev_idx) + 1).astype(str)
    size = np.array([len(d) for d in data]) + 8
    events = pd.DataFrame(
        {
            "stream": pd.Categorical(np.full(n, "")),
            "connection": conn,
            "seq": np.arange(n, dtype="int64"),
            "time": pd.NaT,
            "elapsed": elapsed,
            "kind": pd.Categorical(kind, categories=list(KINDS)),
            "type": pd.Categorical(typ),
            "data": pd.array(data, dtype=EVENTS_SCHEMA["data"]),
            "id": pd.array(ids, dtype=EVENTS_SCHEMA["id"]),
            "last_event_id": pd.array(
                pd.Series(ids).ffill().fillna(""), dtype=EVENTS_SCHEMA["id"]
            ),
            "retry": pd.array([None] * n, dtype="Int64"),
            "size": size.astype("int64"),
            "offset": np.zeros(n, dtype="int64"),
        }
    )
    events = coerce(events, EVENTS_SCHEMA, what="events")
    g = events.groupby("connection")
    first, last = g["elapsed"].min(), g["elapsed"].max()
    conns = pd.DataFrame(
        {
            "stream": "",
            "connection": first.index.to_numpy(),
            "url": "http://127.0.0.1/bench",
            "method": "GET",
            "status": 200,
            "content_type": "text/event-stream",
            "last_event_id_sent": [None]
            + [str(x) for x in g["id"].last().to_numpy()[:-1]],
            "delay": 0.3,
            "t_request": pd.NaT,
            "t_headers": pd.NaT,
            "t_first_byte": pd.NaT,
            "t_closed": pd.NaT,
            "start": first.to_numpy() - 0.05,
            "end": last.to_numpy() + 0.01,
            "bytes": g["size"].sum().to_numpy(),
            "records": g.size().to_numpy(),
            "events": g["kind"].apply(lambda k: int((k == "event").sum())).to_numpy(),
            "outcome": "eof",
            "error": None,
            "retry": 3000,
            "time_scale": 10.0,
            "discarded": 0,
        }
    )
    return Capture(events, coerce(conns, CONNECTIONS_SCHEMA, what="connections"), {})


def timed(
    fn: Callable[[], Any], repeat: int = 1, setup: Callable[[], Any] | None = None
) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fresh(cap: Capture) -> Capture:
    """The same capture as new objects (shallow copies): not in prepare's cache."""
    return Capture(
        cap.events.copy(deep=False), cap.connections.copy(deep=False), dict(cap.meta)
    )


def where_time_goes(cap: Capture) -> list[str]:
    """A cold report taken apart: the time of each of its steps, in the order
    ``ssenb.report`` runs them, on a capture seen for the first time; then the
    functions with the most time of their own under cProfile."""
    import cProfile
    import pstats

    fresh_cap = fresh(cap)
    parts: dict[str, Callable[[], Any]] = {
        "prepare (classify + stream time)": lambda: analysis.prepare(fresh_cap),
        "dialect": lambda: analysis.prepare(fresh_cap).dialect(),
        "heartbeats": lambda: analysis.heartbeats(fresh_cap),
        "event_types": lambda: analysis.event_types(fresh_cap),
        "reconnects": lambda: analysis.reconnects(fresh_cap),
        "timing": lambda: analysis.timing(fresh_cap),
        "delivery": lambda: analysis.delivery(fresh_cap),
        "progress": lambda: analysis.task_progress(fresh_cap),
        "schema": lambda: analysis.schema(fresh_cap),
        "lint (schema, heartbeats kept)": lambda: analysis.lint(fresh_cap),
        "the report itself (all kept)": lambda: ssenb.report(fresh_cap),
    }
    out = []
    for name, fn in parts.items():
        sec, _ = timed(fn)
        out.append(f"{sec:8.3f}  {name}")
    prof = cProfile.Profile()
    other = fresh(cap)
    prof.runcall(lambda: ssenb.report(other))
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    own = sorted(((v[2], k) for k, v in stats.items()), reverse=True)[:6]
    out.append("  most time of their own, under cProfile (s):")
    out += [f"{tot:8.3f}  {Path(k[0]).name}:{k[2]}" for tot, k in own]
    return out


# ------------------------------------------------------------------- DuckDB reference

SQL = {
    # the same rules classify applies: kinds, type names, data shapes, JSON keys
    "classify": r"""
        SELECT CASE
          WHEN kind IN ('blank', 'comment') THEN 'keepalive'
          WHEN kind = 'retry' THEN 'control'
          WHEN lower(type) IN ('ping', 'heartbeat', 'keep-alive', 'keepalive')
            THEN 'keepalive'
          WHEN lower(type) IN ('progress', 'update', 'checkpoint') THEN 'progress'
          WHEN lower(type) IN ('error', 'warning') THEN 'error'
          WHEN data = '' THEN 'keepalive'
          WHEN length(data) <= 32 AND lower(trim(data)) IN ('[done]', 'ping')
            THEN 'control'
          WHEN NOT starts_with(data, '{') THEN 'data'
          WHEN regexp_matches(data,
               '"type"[ \t\r\n]*:[ \t\r\n]*"(ping|heartbeat|keep-alive|keepalive)"')
            THEN 'keepalive'
          WHEN regexp_matches(data, '"type"[ \t\r\n]*:[ \t\r\n]*"error"')
            OR regexp_matches(data, '"error"[ \t\r\n]*:[ \t\r\n]*\{')
            THEN 'error'
          WHEN regexp_matches(data,
               '"object"[ \t\r\n]*:[ \t\r\n]*"chat\.completion\.chunk"')
            THEN 'data'
          ELSE 'data' END AS family
        FROM ev""",
    "heartbeats": """
        WITH k AS (
          SELECT connection, elapsed * 10 AS t,
                 elapsed * 10 - lag(elapsed * 10) OVER (
                    PARTITION BY connection ORDER BY seq) AS iv
          FROM ev
          WHERE kind IN ('comment', 'blank')
             OR type IN ('ping', 'heartbeat', 'keep-alive'))
        SELECT connection, count(*) AS n, avg(iv), median(iv),
               quantile_cont(iv, 0.95), max(iv), stddev_pop(iv)
        FROM k GROUP BY connection""",
    "event_types": """
        SELECT type, kind, count(*) AS n, sum(size), min(elapsed) * 10,
               max(elapsed) * 10,
               count(*) / (max(max(elapsed)) OVER () - min(min(elapsed)) OVER ())
        FROM ev GROUP BY type, kind""",
    "reconnects": """
        SELECT connection, min(elapsed), max(elapsed), last(id ORDER BY seq),
               first(id ORDER BY seq), count(*) - count(DISTINCT id)
        FROM ev WHERE kind = 'event' GROUP BY connection""",
    "timing": """
        WITH e AS (
          SELECT connection, elapsed * 10 - lag(elapsed * 10) OVER (
                 PARTITION BY connection ORDER BY seq) AS iv
          FROM ev WHERE kind = 'event')
        SELECT avg(iv), quantile_cont(iv, [0.5, 0.9, 0.95, 0.99]), max(iv) FROM e""",
    "llm": """
        SELECT connection,
               string_agg(json_extract_string(data, '$.choices[0].delta.content'), ''
                          ORDER BY seq),
               last(json_extract_string(data, '$.choices[0].finish_reason')
                    ORDER BY seq),
               min(elapsed) * 10,
               count(*)
        FROM ev WHERE kind = 'event' AND type = 'message'
          AND data LIKE '%chat.completion.chunk%'
        GROUP BY connection""",
    "progress": """
        SELECT json_extract_string(data, '$.task_id') AS task, count(*),
               max(CAST(json_extract(data, '$.percentage') AS DOUBLE))
        FROM ev WHERE type = 'progress' GROUP BY task""",
    # the rows ssenb's progress reads: events of the progress family, and any event
    # whose JSON names a percentage, progress or ETA (not in the sum: the row above
    # is the comparison the targets were set on)
    "progress (same rows)": r"""
        SELECT json_extract_string(data, '$.task_id') AS task, count(*),
               max(CAST(json_extract(data, '$.percentage') AS DOUBLE))
        FROM ev WHERE kind = 'event' AND (
          lower(type) IN ('progress', 'update', 'checkpoint')
          OR regexp_matches(data,
               '"(percentage|percent|progress|eta_seconds)"[ \t\r\n]*:'))
        GROUP BY task""",
    "schema": """
        WITH s AS (
          SELECT type, data, row_number() OVER (PARTITION BY type ORDER BY seq) AS r
          FROM ev WHERE kind = 'event')
        SELECT type, k, count(*) FROM (
          SELECT type, unnest(json_keys(data)) AS k FROM s
          WHERE r <= 2000 AND json_valid(data) AND data LIKE '{%')
        GROUP BY type, k""",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--duckdb-threads",
        type=int,
        default=0,
        help="DuckDB's worker threads (0: its default, every core; ssenb uses one)",
    )
    args = ap.parse_args()
    import duckdb

    n = args.repeat
    t_build, cap = timed(lambda: synthetic(args.rows))
    print(f"synthetic capture: {args.rows} records built in {t_build:.2f} s")
    prep_t, _ = timed(lambda: analysis.prepare(fresh(cap)), n)
    prep = analysis.prepare(cap)

    def clear() -> None:
        prep.cache.clear()

    steps: dict[str, Callable[[], Any]] = {
        "classify": lambda: patterns.classify(cap),
        "dialect (patterns.dialect)": lambda: patterns.dialect(cap),
        "dialect (prepared, cached)": lambda: prep.dialect(),
        "heartbeats": lambda: analysis.heartbeats(prep),
        "event_types": lambda: analysis.event_types(prep),
        "reconnects": lambda: analysis.reconnects(prep),
        "timing": lambda: analysis.timing(prep),
        "llm": lambda: analysis.llm(prep, dialect="openai"),
        "progress": lambda: analysis.task_progress(prep),
        "schema": lambda: analysis.schema(prep),
        "lint": lambda: analysis.lint(prep),
        "delivery": lambda: analysis.delivery(prep),
    }
    ours: dict[str, float] = {"prepare (classify + stream time)": prep_t}
    for name, fn in steps.items():
        ours[name], _ = timed(fn, n, setup=clear)
    caps: list[Capture] = []

    def new_capture() -> None:  # the previous one (and its cache entry) goes
        caps[:] = [fresh(cap)]
        gc.collect()

    t_report, _ = timed(lambda: ssenb.report(caps[-1]), n, setup=new_capture)
    caps.clear()
    ours["report, cold (prepare + all)"] = t_report
    warm = fresh(cap)
    ssenb.report(warm)
    ours["report, again (cached)"], _ = timed(lambda: ssenb.report(warm), n)
    profile = where_time_goes(cap)

    con = duckdb.connect()
    if args.duckdb_threads:
        con.execute(f"SET threads = {int(args.duckdb_threads)}")
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0]
    ev = cap.events.assign(
        kind=cap.events["kind"].astype(str),
        type=cap.events["type"].astype(str),
        stream=cap.events["stream"].astype(str),
    )
    t_load, _ = timed(lambda: con.register("ev_df", ev))
    t_mat, _ = timed(
        lambda: con.execute("CREATE OR REPLACE TABLE ev AS SELECT * FROM ev_df")
    )
    theirs = {}
    for name, sql in SQL.items():
        theirs[name], _ = timed(lambda sql=sql: con.execute(sql).fetchall(), n)

    print(
        f"duckdb {duckdb.__version__} ({threads[0] if threads else '?'} threads; "
        f"ssenb runs on one): table loaded in {t_load + t_mat:.2f} s"
    )
    print(f"best of {n} runs each, same process\n")
    print(f"{'step':<34}{'ssenb s':>10}{'duckdb s':>10}{'ratio':>8}")
    ours_rows: dict[str, float] = {}
    for name, sec in ours.items():
        ours_rows[name] = sec
        if name == "progress":
            ours_rows["progress (same rows)"] = sec
    for name, sec in ours_rows.items():
        ref = theirs.get(name)
        ratio = f"{sec / ref:>8.1f}" if ref else f"{'':>8}"
        ref_s = f"{ref:>10.3f}" if ref else f"{'':>10}"
        print(f"{name:<34}{sec:>10.3f}{ref_s}{ratio}")
    both = [k for k in SQL if k in ours]  # "progress (same rows)" is not counted
    per_analysis = sum(ours[k] for k in both)
    ratios = {k: ours[k] / theirs[k] for k in both}
    worst = max(ratios, key=ratios.__getitem__)
    print(
        f"\nsum over the steps DuckDB also does: ssenb {per_analysis:.2f} s, "
        f"DuckDB {sum(theirs[k] for k in both):.2f} s "
        f"(ratio {per_analysis / sum(theirs[k] for k in both):.1f}; target 2)"
    )
    print(f"worst step: {worst} at {ratios[worst]:.1f}x DuckDB (target 5)")
    print(
        f"report of everything: {t_report:.2f} s from a new capture (target 1.5), "
        f"{ours['report, again (cached)']:.2f} s again on the same capture"
    )
    print("\nwhere a cold report's time goes (s, one run, steps in report order):")
    print("\n".join(profile))
    print(json.dumps({"rows": args.rows, "ssenb": ours, "duckdb": theirs}, indent=None))


if __name__ == "__main__":
    main()
