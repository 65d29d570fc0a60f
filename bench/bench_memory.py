"""Benchmark "memory": how much a capture of N short events grows the process.

Each measurement runs in a fresh subprocess (so nothing of an earlier run is counted):
it records ``--events`` events (``data: <n>``, about 12 bytes each) from
``tests/_misbehave.py``'s ``/flood`` (served by another process) with ``capture``,
in memory or to a ``path=``, and reports its peak resident memory (``VmHWM``, reset
after a warm-up; ``ru_maxrss`` would count the parent it was forked from) minus the
resident memory before the capture, in MB per million events. With a path,
the returned ``Capture``'s frames are not read (they come from the file when asked:
what a long recording to disk keeps is the question).

Targets (issue 17): to a path, 3 M events grow the process by at most 200 MB; in
memory, at most 150 MB per million short events.

Run:  python bench/bench_memory.py [--events 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the misbehaving server

from _misbehave import in_another_process  # noqa: E402

CHILD = r"""
import gc, json, sys
sys.path.insert(0, {root!r})
import ssenb

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

def rss():
    return status("VmRSS")
url, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3] or None
# imports and first use, in the same mode (a warm-up to memory would parse a 4 MB
# region of the flood and raise the peak before the measurement starts)
warm = ssenb.capture(url, max_events=1000, progress=False,
                     path=path + ".warm.jsonl" if path else None)
del warm
gc.collect()
before = rss()
with open("/proc/self/clear_refs", "w") as f:  # VmHWM starts again from here
    f.write("5")
cap = ssenb.capture(url, max_events=n, path=path, progress=False)
rows = -1 if path else len(cap.events)  # to a path, the frames stay in the file
del cap
gc.collect()
peak = status("VmHWM")
print(json.dumps({{"rows": rows, "before": before, "peak": peak, "after": rss()}}))
"""


def measure(url: str, n: int, path: str) -> dict[str, float]:
    code = CHILD.format(root=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code, url, str(n), path],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    got: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with in_another_process() as base:
        url = base + "/flood"
        with tempfile.TemporaryDirectory() as tmp:
            for label, path in (("in memory", ""), ("to a path", f"{tmp}/c.jsonl")):
                runs = [measure(url, args.events, path) for _ in range(args.repeat)]
                best = min(runs, key=lambda r: r["peak"] - r["before"])
                grow = best["peak"] - best["before"]
                per_m = grow / (args.events / 1e6)
                print(
                    f"{label:>10}: {args.events:,} events, peak growth {grow:,.0f} MB "
                    f"= {per_m:,.0f} MB per million events (after: "
                    f"{best['after'] - best['before']:,.0f} MB)"
                )


if __name__ == "__main__":
    main()
