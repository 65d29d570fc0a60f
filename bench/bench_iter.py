"""Benchmark: records one at a time over loopback, against httpx-sse's ``iter_sse``.

Run: ``python bench/bench_iter.py [--events N] [--repeat R]``

A server in another process (``bench_capture.py --serve``) sends a corpus as fast as
it can; each client touches every item it is handed:

- (a) httpx-sse: ``for sse in event_source.iter_sse()`` (events only);
- (b) ``ssenb.iter_records``: every record (events, comments, keep-alives), across
  reconnects, with capture's stop rules, memory flat;
- (c) ``ssenb.aiter_records`` on an asyncio loop;
- (d) ``ssenb.capture`` into frames (every record kept), for scale.

Prints the best of ``--repeat`` runs and the same-run ratios (b)/(a), (c)/(a).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_capture import best  # noqa: E402


def run(name: str, n: int, repeat: int) -> None:
    import httpx
    import httpx_sse

    import ssenb

    proc = subprocess.Popen(
        [sys.executable, str(HERE / "bench_capture.py"), "--serve", name]
        + ["--events", str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{int(proc.stdout.readline())}/"
        ctx = httpx.create_ssl_context()

        def a() -> int:
            got = 0
            with httpx.Client(verify=ctx) as client:
                with httpx_sse.connect_sse(client, "GET", url) as es:
                    for sse in es.iter_sse():
                        got += len(sse.data)
            return got

        def b() -> int:
            got = 0
            for rec in ssenb.iter_records(url, reconnect=False):
                if rec.kind == "event":
                    got += len(rec.data)
            return got

        def c() -> int:
            async def main() -> int:
                got = 0
                async for rec in ssenb.aiter_records(url, reconnect=False):
                    if rec.kind == "event":
                        got += len(rec.data)
                return got

            return asyncio.run(main())

        def d() -> Any:
            return ssenb.capture(url, reconnect=False, progress=False)

        t_a, n_a = best(a, repeat)
        t_b, n_b = best(b, repeat)
        t_c, n_c = best(c, repeat)
        t_d, cap = best(d, repeat)
        assert n_a == n_b == n_c, (n_a, n_b, n_c)  # the same data handed out
        rows = len(cap.events)
        print(f"\n== {name}: {n} events, {rows} records ==")
        print(f"  (a) httpx-sse iter_sse     {t_a:7.3f} s")
        print(f"  (b) ssenb.iter_records     {t_b:7.3f} s  {t_a / t_b:.2f}x (a)")
        print(f"  (c) ssenb.aiter_records    {t_c:7.3f} s  {t_a / t_c:.2f}x (a)")
        print(f"  (d) ssenb.capture (frames) {t_d:7.3f} s  {t_a / t_d:.2f}x (a)")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--corpus", choices=["chat", "mixed"], action="append")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (noisy above 1)")
    for name in args.corpus or ["chat", "mixed"]:
        run(name, args.events, args.repeat)


if __name__ == "__main__":
    main()
