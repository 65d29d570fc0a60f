"""Benchmark: one analysis over a dataset of many streams, pandas in one process against
Dask on a LocalCluster of two worker processes; then the same dataset under a memory
limit that pandas-in-one-process cannot fit in.

Run: ``python bench/bench_dataset.py`` (2,000 streams x 5,000 records = 10 M rows;
needs the ``dask`` extra). ``--streams 200`` for a quick look. The dataset is
generated once, vectorised, into ``--path`` and reused by later runs.

Every run is a fresh subprocess, so its peak memory (``ru_maxrss``) is its own:

- ``pandas-all``: what one process does without a dataset: hold every row in one
  frame, then run the analysis on each stream (``groupby``).
- ``pandas-parts``: ``analysis(ds).compute(engine="pandas")``: the fallback without
  Dask, one part at a time in this process.
- ``dask``: ``analysis(ds).compute(engine="dask")`` on ``LocalCluster(n_workers=2,
  threads_per_worker=1)``; peak memory of the client and of each worker.

Then ``--limit`` (default 1.5 GiB) is given to each process as ``RLIMIT_AS`` above
its address space after imports: ``pandas-all`` fails to hold the dataset, ``dask``
(each worker limited the same way) completes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# measure this checkout's ssenb, not whichever one is installed
sys.path.insert(0, str(ROOT))

import ssenb  # noqa: E402
from ssenb import analysis  # noqa: E402
from ssenb.dataset import DatasetWriter  # noqa: E402
from ssenb.frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce  # noqa: E402

GiB = 1 << 30


# -- the dataset, generated once ---------------------------------------------------


def synthetic_part(first: int, streams: int, records: int, seed: int) -> Any:
    """``streams`` streams of ``records`` rows each, built column by column: events
    (ticks and updates with ids), keep-alive comments, blank lines, one retry line;
    two connections per stream, the second resuming after a cut."""
    rng = np.random.default_rng(seed)
    n = streams * records
    local = np.tile(np.arange(records, dtype=np.int64), streams)
    sid = np.repeat(np.arange(first, first + streams), records)
    roll = rng.random(n)
    kind_code = np.select([roll < 0.80, roll < 0.95], [0, 1], 3)  # event/comment/blank
    kind_code[local == 0] = 2  # retry first
    kinds = np.array(["event", "comment", "retry", "blank"])
    types = np.where(
        kind_code == 0, np.where(rng.random(n) < 0.7, "tick", "update"), ""
    )
    gaps = rng.exponential(0.2, n)
    gaps[local == 0] = 0.05
    elapsed = np.empty(n)
    for i in range(streams):  # a cumulative sum per stream (vectorised inside)
        elapsed[i * records : (i + 1) * records] = np.cumsum(
            gaps[i * records : (i + 1) * records]
        )
    payload = np.array([f'{{"n": {k}, "v": "{"x" * (k % 40)}"}}' for k in range(997)])
    data = np.where(
        kind_code == 0,
        payload[local % 997],
        np.where(kind_code == 1, "keep-alive", ""),
    )
    data[kind_code == 2] = ""
    is_event = kind_code == 0
    ids = np.where(is_event, local.astype(str), None)
    half = records // 2
    connection = np.where(local < half, 1, 2).astype(np.int64)
    size = np.char.str_len(data.astype(str)) + 8
    names = np.array([f"s{k:05d}" for k in range(first, first + streams)])
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    events = pd.DataFrame(
        {
            "stream": names[sid - first],
            "connection": connection,
            "seq": local,
            "time": t0 + pd.to_timedelta(elapsed, unit="s"),
            "elapsed": elapsed,
            "kind": kinds[kind_code],
            "type": types,
            "data": data,
            "id": ids,
            "last_event_id": ids,
            "retry": np.where(kind_code == 2, 3000, None),
            "size": size,
            "offset": np.zeros(n, dtype=np.int64),
        }
    )
    end = elapsed.reshape(streams, records)
    rows = []
    for i, name in enumerate(names):
        for conn, a, b in ((1, 0, half - 1), (2, half, records - 1)):
            start = float(end[i, a]) - 0.01
            rows.append(
                {
                    "stream": name,
                    "connection": conn,
                    "url": f"https://fleet.example/{name}",
                    "method": "GET",
                    "status": 200,
                    "content_type": "text/event-stream",
                    "last_event_id_sent": str(half - 1) if conn == 2 else None,
                    "delay": 0.0 if conn == 1 else 3.0,
                    "t_request": t0 + pd.Timedelta(seconds=start),
                    "t_headers": t0 + pd.Timedelta(seconds=start + 0.002),
                    "t_first_byte": t0 + pd.Timedelta(seconds=start + 0.004),
                    "t_closed": t0 + pd.Timedelta(seconds=float(end[i, b])),
                    "start": start,
                    "end": float(end[i, b]),
                    "bytes": 0,
                    "records": half,
                    "events": 0,
                    "outcome": "error" if conn == 1 else "eof",
                    "error": None,
                    "retry": 3000,
                    "time_scale": 1.0,
                    "discarded": 0,
                }
            )
    return ssenb.Capture(
        coerce(events, EVENTS_SCHEMA, what="events"),
        coerce(pd.DataFrame(rows), CONNECTIONS_SCHEMA, what="connections"),
        {"url": "https://fleet.example/", "time_scale": 1.0},
    )


def ensure_dataset(path: Path, streams: int, records: int, per_part: int) -> None:
    """Write the dataset unless a complete one of this shape is already there."""
    stamp = path / "bench-shape.json"
    shape = {"streams": streams, "records": records, "per_part": per_part}
    if stamp.exists() and json.loads(stamp.read_text()) == shape:
        return
    t = time.perf_counter()
    with DatasetWriter(path, rows_per_part=per_part * records, overwrite=True) as w:
        for first in range(0, streams, per_part):
            k = min(per_part, streams - first)
            w.add(synthetic_part(first, k, records, seed=first), label=f"p{first}")
            print(f"  wrote streams {first}..{first + k - 1}", file=sys.stderr)
    stamp.write_text(json.dumps(shape))
    print(f"generated {streams} x {records} rows in {time.perf_counter() - t:.0f} s")


# -- one run, in a subprocess of its own -------------------------------------------


def _limit(extra: int) -> None:
    """Allow this process ``extra`` bytes of address space beyond what it has now."""
    with open("/proc/self/status") as fh:
        vm = next(
            int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize")
        )
    resource.setrlimit(resource.RLIMIT_AS, (vm + extra, vm + extra))


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def run_one(mode: str, path: str, name: str, limit: int) -> dict[str, Any]:
    func = getattr(analysis, name)
    ds = ssenb.dataset.open_dataset(path)
    out: dict[str, Any] = {"mode": mode}
    if mode == "dask":
        import distributed

        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=limit or "auto",
        )
        client = distributed.Client(cluster)
        if limit:
            client.run(_limit, limit)
        before = sum(client.run(_cpu).values())
        t = time.perf_counter()
        result = func(ds).compute("connections", engine="dask")
        out["wall"] = time.perf_counter() - t
        out["cpu"] = sum(client.run(_cpu).values()) - before
        out["workers"] = sorted(client.run(_peak).values())
        client.close()
        cluster.close()
    else:
        if limit:
            _limit(limit)
        before = _cpu()
        t = time.perf_counter()
        if mode == "pandas-parts":
            result = func(ds).compute("connections", engine="pandas", progress=False)
        else:  # pandas-all: the whole dataset in this process, then per stream
            caps = list(ds.iter_captures(progress=False))
            events = pd.concat([c.events for c in caps], ignore_index=True)
            conns = pd.concat([c.connections for c in caps], ignore_index=True)
            metas = {str(c.events["stream"].iloc[0]): c.meta for c in caps}
            del caps
            out["held"] = int(events.memory_usage(deep=True).sum())
            by_conn = dict(tuple(conns.groupby(conns["stream"].astype(str))))
            tables = []
            for key, ev in events.groupby(events["stream"].astype(str), sort=False):
                cap = ssenb.Capture(ev, by_conn[key], metas[key])
                tables.append(func(cap).tables["connections"])
            result = None
            out["rows"] = int(sum(len(t) for t in tables))
        out["wall"] = time.perf_counter() - t
        out["cpu"] = _cpu() - before
    if result is not None:
        out["rows"] = len(result.tables["connections"])
    out["client"] = _peak()
    return out


def spawn(mode: str, args: argparse.Namespace, limit: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--run",
        mode,
        "--path",
        str(args.path),
        "--analysis",
        args.analysis,
        "--limit-bytes",
        str(limit),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"mode": mode, "failed": tail[:160]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def show(r: dict[str, Any]) -> str:
    if "failed" in r:
        return f"{r['mode']:<13} FAILED: {r['failed']}"
    workers = ", ".join(_mb(w) for w in r.get("workers", []))
    return (
        f"{r['mode']:<13} {r['wall']:7.1f} s wall, {r['cpu']:6.1f} s CPU   "
        f"peak {_mb(r['client'])} (this process)"
        + (f"; workers {workers}" if workers else "")
        + f"   {r['rows']} rows"
        + (f"; frame held {_mb(r['held'])}" if "held" in r else "")
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--streams", type=int, default=2000)
    p.add_argument("--records", type=int, default=5000)
    p.add_argument("--per-part", type=int, default=100, help="streams per part")
    p.add_argument("--path", type=Path, default=None)
    p.add_argument("--analysis", default="timing")
    p.add_argument("--limit", type=float, default=1.5, help="GiB, for the limited runs")
    p.add_argument("--modes", default="pandas-all,pandas-parts,dask")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--run", help=argparse.SUPPRESS)
    p.add_argument("--limit-bytes", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.path is None:
        args.path = Path(f"/tmp/ssenb-bench-dataset-{args.streams}x{args.records}")
    if args.run:
        out = run_one(args.run, str(args.path), args.analysis, args.limit_bytes)
        print(json.dumps(out))
        return
    ensure_dataset(args.path, args.streams, args.records, args.per_part)
    ds = ssenb.dataset.open_dataset(args.path)
    rows = int(ds.streams["rows"].sum())
    disk = sum(f.stat().st_size for f in args.path.rglob("*.parquet"))
    print(
        f"dataset: {len(ds)} streams, {rows:,} rows, {ds.npartitions} parts, "
        f"{_mb(disk)} on disk; analysis: {args.analysis}, connections table"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} before the runs")
    print("\nno memory limit:")
    results = {}
    for mode in args.modes.split(","):
        results[mode] = spawn(mode, args, 0)
        print("  " + show(results[mode]), flush=True)
    if "wall" in results.get("pandas-all", {}) and "wall" in results.get("dask", {}):
        ratio = results["pandas-all"]["wall"] / results["dask"]["wall"]
        print(f"  same-run ratio pandas-all / dask wall time: {ratio:.2f}")
    if "wall" in results.get("pandas-parts", {}) and "wall" in results.get("dask", {}):
        ratio = results["pandas-parts"]["wall"] / results["dask"]["wall"]
        print(f"  same-run ratio pandas-parts / dask wall time: {ratio:.2f}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  load average {load} after them")
    limit = int(args.limit * GiB)
    print(f"\nlimited to {args.limit:g} GiB of address space per process:")
    for mode in ("pandas-all", "dask"):
        print("  " + show(spawn(mode, args, limit)), flush=True)


if __name__ == "__main__":
    main()
