"""Benchmark "many": capture_many of 100 / 1,000 / 2,000 streams at once.

The server runs in another process (``tests/_misbehave.py``, raw asyncio): every
stream is ``/hold``, one event every ``--every`` seconds, for ``--seconds`` seconds.
Printed per size: how many streams delivered, events, events/s, wall time of the whole
call, and the capturing process's CPU seconds per stream-second (user + system, all
threads), with the ratio of each size's CPU per stream-second to the 100-stream one
from the same run. Best of ``--repeat`` runs (lowest wall time).

Target (issue 17): 1,000 streams for 8 s, every stream delivers, the whole call
returns within 20 s, on a 2-core machine.

Run:  python bench/bench_many.py [--sizes 100 1000 2000] [--seconds 8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the misbehaving server

from _misbehave import in_another_process  # noqa: E402

import ssenb  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_once(base: str, n: int, seconds: float, every: float) -> dict[str, Any]:
    streams = {f"s{i}": f"{base}/hold?every={every}" for i in range(n)}
    c0, t0 = _cpu(), time.perf_counter()
    cap = ssenb.capture_many(streams, duration=seconds, progress=False)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    ev = cap.events
    per = ev.loc[ev["kind"] == "event", "stream"].astype(str).value_counts()
    return {
        "streams": n,
        "delivered": int((per > 0).sum()),
        "events": int(per.sum()),
        "events_s": per.sum() / seconds,
        "wall": wall,
        "cpu_per_stream_s": cpu / (n * seconds),
        "outcomes": cap.connections["outcome"].astype(str).value_counts().to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 2000])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--every", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with in_another_process() as base:
        rows = []
        for n in args.sizes:
            runs = [
                run_once(base, n, args.seconds, args.every) for _ in range(args.repeat)
            ]
            rows.append(min(runs, key=lambda r: r["wall"]))
        ref = rows[0]["cpu_per_stream_s"]
        print(
            f"{'streams':>8} {'delivered':>9} {'events':>8} {'ev/s':>8} "
            f"{'wall s':>7} {'CPU s per stream-s':>19} {'x first':>7}  outcomes"
        )
        for r in rows:
            print(
                f"{r['streams']:>8} {r['delivered']:>9} {r['events']:>8} "
                f"{r['events_s']:>8.0f} {r['wall']:>7.2f} "
                f"{r['cpu_per_stream_s']:>19.5f} {r['cpu_per_stream_s'] / ref:>7.2f}"
                f"  {r['outcomes']}"
            )


if __name__ == "__main__":
    main()
