"""LiveFeed under a fast stream: redraws per second, kernel responsiveness, events lost.

A server on 127.0.0.1 sends ``--rate`` records/s (default 10,000) for ``--seconds``
(default 10); a ``LiveFeed`` (with its chart under ``--chart``) records and shows it
with real ipywidgets models (no front end). Meanwhile the main thread does what a
kernel does between cells: a trivial call every 20 ms, whose delay is measured.

    python bench/bench_widgets.py [--rate 10000] [--seconds 10] [--chart]

Prints: records sent and received (lost must be 0), redraws per second of the feed
and of the chart, and the main thread's call latency (median, p99, max).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

import ssenb  # noqa: E402
from ssenb.parse import encode_event  # noqa: E402
from ssenb.server._thread import serve_in_thread  # noqa: E402


def _block(i: int) -> bytes:
    if i % 10 == 5:
        return b": keep-alive\n\n"
    if i % 10 == 3:
        return encode_event(f'{{"t": {i}}}', event="ping")
    return encode_event(f'{{"n": {i}, "text": "some payload"}}', id=str(i))


async def fast(request: Request) -> StreamingResponse:
    n = int(request.query_params["n"])
    rate = float(request.query_params["rate"])

    async def body() -> Any:
        sent, start = 0, time.monotonic()
        while sent < n:
            upto = min(n, max(int((time.monotonic() - start) * rate) + 1, sent + 1))
            yield b"".join(_block(i) for i in range(sent, upto))
            sent = upto
            await asyncio.sleep(0.005)

    return StreamingResponse(body(), media_type="text/event-stream")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--chart", action="store_true", help="show the chart too (watch)")
    args = ap.parse_args()
    n = int(args.rate * args.seconds)
    app = Starlette(routes=[Route("/fast", fast)])
    with serve_in_thread(app) as base:
        rec = ssenb.Recorder(f"{base}/fast?n={n}&rate={args.rate}", reconnect=False)
        t0 = time.monotonic()
        feed = ssenb.widgets.LiveFeed(rec, frontend="widgets", chart=args.chart)
        delays: list[float] = []
        finished = threading.Event()
        threading.Thread(
            target=lambda: (rec.wait(), finished.set()), daemon=True
        ).start()
        while not finished.is_set():
            due = time.perf_counter() + 0.02
            time.sleep(0.02)
            sum(range(100))  # the trivial cell
            delays.append(time.perf_counter() - due)
        took = time.monotonic() - t0
        cap = feed.stop()
    got = len(cap.events)
    delays.sort()
    print(
        f"stream: {n:,} records in {took:.2f} s "
        f"({n / took:,.0f}/s; asked {args.rate:,.0f}/s)"
    )
    print(
        f"received: {got:,}   lost: {n - got:,}   feed counted: {feed.state.records:,}"
    )
    print(f"feed redraws: {feed.renders} ({feed.renders / took:.2f}/s, cap 4/s)")
    if feed.chart is not None:
        print(
            f"chart redraws: {feed.chart.renders} "
            f"({feed.chart.renders / took:.2f}/s, cap 1/s)"
        )
    print(
        "main-thread call latency: "
        f"median {statistics.median(delays) * 1e3:.2f} ms, "
        f"p99 {delays[int(len(delays) * 0.99) - 1] * 1e3:.2f} ms, "
        f"max {delays[-1] * 1e3:.2f} ms over {len(delays)} calls"
    )
    if n - got:
        sys.exit("events were lost")


if __name__ == "__main__":
    main()
