"""Benchmark "load": read a 1 M-event capture file, against pandas.read_json(lines=True)
on the same rows written as plain JSON Lines. Target: at least 3x faster.

Also reported, for the record: loading the same capture as .jsonl.gz and .parquet,
writing it with write_capture, and the append rate of CaptureLog (the recorder's
write path) with frames of a realistic batch size.

Every figure is the best of several repetitions (the two sides of the ratio
interleaved), and every ratio compares figures from the same run. CPU seconds (all
threads) are printed too: on a busy machine they vary less than wall-clock time, and
they show the work done apart from pyarrow's parallel parsing.

Run:  python bench/bench_load.py [--events 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssenb.frames import build_events, empty_connections  # noqa: E402
from ssenb.parse import RecordBatch, SSEParser  # noqa: E402
from ssenb.store import CaptureLog, read_capture, write_capture  # noqa: E402


def stream_bytes(n: int) -> bytes:
    """An event stream like an LLM or ticker feed: JSON data with ids and a type,
    a keep-alive comment every 20 records and a retry hint at the start."""
    parts = [b"retry: 3000\n\n"]
    for i in range(n - 1):
        if i % 20 == 19:
            parts.append(b": keep-alive\n\n")
        else:
            parts.append(
                b"event: delta\nid: %d\n"
                b'data: {"index": %d, "text": "tok\\"en %d \xc3\xa9"}\n\n' % (i, i, i)
            )
    return b"".join(parts)


def events_frame(n: int) -> pd.DataFrame:
    parser = SSEParser()
    batch = RecordBatch()
    body = stream_bytes(n)
    for start in range(0, len(body), 1 << 16):
        batch.extend(parser.feed_batch(body[start : start + (1 << 16)]))
    batch.extend(parser.close_batch())
    times = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.arange(len(batch)) * 997, unit="ns"
    )
    elapsed = np.arange(len(batch)) * 1e-3
    return build_events(batch, stream="bench", time=times, elapsed=elapsed)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds (all threads of this process) of one call."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=200, help="rows per CaptureLog write")
    args = ap.parse_args()
    n, repeat = args.events, args.repeat

    print(f"building {n:,} events ...", flush=True)
    events = events_frame(n)
    connections = empty_connections()
    print(
        f"python {sys.version.split()[0]}, pandas {pd.__version__}, "
        f"{len(events):,} rows\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        capture = folder / "capture.jsonl"
        plain = folder / "plain.jsonl"
        write_s, _ = best(
            lambda: write_capture(capture, {}, events, connections), repeat
        )
        events.to_json(
            plain, orient="records", lines=True, date_format="iso", date_unit="ns"
        )
        for suffix in (".jsonl.gz", ".parquet"):
            write_capture(folder / f"capture{suffix}", {}, events, connections)

        # interleaved, so that both sides see the same machine load
        ours, theirs = [], []
        for _ in range(repeat):
            *seconds, data = timed(lambda: read_capture(capture))
            assert len(data.events) == len(events)
            ours.append(seconds)
            del data
            *seconds, frame = timed(lambda: pd.read_json(plain, lines=True))
            assert len(frame) == len(events)
            theirs.append(seconds)
            del frame
        ours_s, pandas_s = min(w for w, _ in ours), min(w for w, _ in theirs)
        ours_cpu, pandas_cpu = min(c for _, c in ours), min(c for _, c in theirs)
        gz_s, _ = best(lambda: read_capture(folder / "capture.jsonl.gz"), repeat)
        pq_s, _ = best(lambda: read_capture(folder / "capture.parquet"), repeat)

        frames = [
            events.iloc[s : s + args.batch] for s in range(0, len(events), args.batch)
        ]

        def record() -> float:
            """Seconds the recording thread spent in write_events."""
            with CaptureLog(folder / "log.jsonl", {}) as log:
                start = time.perf_counter()
                for frame in frames:
                    log.write_events(frame)
                return time.perf_counter() - start

        totals, calls = [], []
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            calls.append(record())
            totals.append(time.perf_counter() - start)
        log_s = min(totals)
        assert len(read_capture(folder / "log.jsonl").events) == len(events)

        def size(p: Path) -> str:
            return f"{p.stat().st_size / 1e6:,.0f} MB"

        rows = len(events)
        print(f"load (best of {repeat})")
        print(f"  ssenb read_capture .jsonl     {ours_s:7.2f} s   ({size(capture)})")
        print(f"  pandas.read_json(lines=True)  {pandas_s:7.2f} s   ({size(plain)})")
        print(
            f"  ratio                         {pandas_s / ours_s:7.1f}x faster "
            "(target: 3x)"
        )
        print(
            f"  CPU seconds, all threads      {ours_cpu:7.2f} s vs {pandas_cpu:.2f} s: "
            f"{pandas_cpu / ours_cpu:.1f}x less work"
        )
        print(
            f"  ssenb read_capture .jsonl.gz  {gz_s:7.2f} s   "
            f"({size(folder / 'capture.jsonl.gz')})"
        )
        print(
            f"  ssenb read_capture .parquet   {pq_s:7.2f} s   "
            f"({size(folder / 'capture.parquet')})"
        )
        print("write")
        print(
            f"  write_capture .jsonl          {write_s:7.2f} s   "
            f"{rows / write_s:,.0f} rows/s"
        )
        print(
            f"  CaptureLog, {args.batch}-row frames   {log_s:7.2f} s   "
            f"{rows / log_s:,.0f} rows/s to disk (open to close)"
        )
        print(
            f"    of which in write_events  {min(calls):7.2f} s   "
            f"{rows / min(calls):,.0f} rows/s (the recording thread's share; the "
            "flusher thread encodes)"
        )


if __name__ == "__main__":
    main()
