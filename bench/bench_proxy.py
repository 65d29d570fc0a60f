"""The latency the recording proxy adds per event, at 1,000 events/s.

An upstream on 127.0.0.1 (raw asyncio, in its own process) writes ``--rate`` events
per second for ``--seconds``, each carrying the ``perf_counter_ns`` at which it was
written. A client (this process, a plain socket) reads the stream twice per
repetition, straight from the upstream and through ``ssenb proxy`` (its own process,
recording to a file, as a user runs it), and takes for each event the time from its
write to the read that brought it. Same machine, same monotonic clock. Three
processes, as in use: in one process the three would wait on each other for the GIL
(up to its 5 ms switch interval), which is not what a proxy adds.

    python bench/bench_proxy.py [--rate 1000] [--seconds 5] [--reps 3]

Prints, per path, the p50/p99/max latency of the best repetition (lowest p99), and
the latency the proxy adds (proxied minus direct, same run); target p99 < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ssenb  # noqa: E402

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache"
    b"\r\nconnection: close\r\n\r\n"
)


class Upstream:
    """Writes ``rate`` events/s for ``seconds`` to each client, on a deadline clock."""

    def __init__(self, rate: float, seconds: float) -> None:
        self.rate, self.seconds = rate, seconds
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def main() -> None:
            self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(main(), self.loop)
        ready.wait(5)

    async def serve(
        self, reader: asyncio.StreamReader, w: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        w.write(HEAD)
        await w.drain()
        n = int(self.rate * self.seconds)
        step = 1 / self.rate
        t0 = time.perf_counter()
        for i in range(n):
            wait = t0 + i * step - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            w.write(f"id: {i}\ndata: {time.perf_counter_ns()}\n\n".encode())
            await w.drain()
        w.write(b"data: [DONE]\n\n")
        await w.drain()
        w.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def latencies(port: int) -> np.ndarray:
    """Read one stream with a plain socket; per event, read time minus write time."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"GET /s HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n"
    )
    buf = b""
    out: list[int] = []
    headers_done = False
    while True:
        chunk = sock.recv(65536)
        now = time.perf_counter_ns()
        if not chunk:
            break
        buf += chunk
        if not headers_done:
            if b"\r\n\r\n" not in buf:
                continue
            buf = buf.split(b"\r\n\r\n", 1)[1]
            headers_done = True
        *blocks, buf = buf.split(b"\n\n")
        for block in blocks:
            # a chunked reply (through the proxy) puts size lines between blocks
            for line in block.split(b"\n"):
                if line.startswith(b"data: ") and line[6:].isdigit():
                    out.append(now - int(line[6:]))
        if b"[DONE]" in buf or any(b"[DONE]" in b for b in blocks):
            break
    sock.close()
    return np.asarray(out, dtype=np.float64) / 1e6  # ms


def _serve(rate: float, seconds: float) -> None:
    up = Upstream(rate, seconds)
    print(up.port, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        up.stop()


def _proxied(upstream: int, out: Path) -> tuple[np.ndarray, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ssenb", "proxy", f"http://127.0.0.1:{upstream}"]
        + ["--port", "0", "-o", str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split(" on ", 1)[1].split()[0].rsplit(":", 1)[1])
        got = latencies(port)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    recorded = int((ssenb.load(out).events["kind"] == "event").sum())
    return got, recorded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--save",
        default="jsonl",
        choices=["jsonl", "parquet"],
        help="jsonl: the proxy writes its capture as it records (crash-safe, the "
        "default of -o FILE.jsonl); parquet: only when it stops",
    )
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        _serve(args.rate, args.seconds)
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--rate", str(args.rate)]
        + ["--seconds", str(args.seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    runs: list[tuple[np.ndarray, np.ndarray, int]] = []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.reps):
                direct = latencies(port)
                name = f"run{i}.{args.save}"
                proxied, recorded = _proxied(port, Path(tmp) / name)
                runs.append((direct, proxied, recorded))
    finally:
        server.communicate(timeout=10)

    def q(a: np.ndarray, p: float) -> float:
        return float(np.percentile(a, p))

    print(
        f"{args.rate:.0f} events/s for {args.seconds:g} s, {args.reps} repetitions; "
        f"latency from the upstream's write to the client's read, best repetition "
        f"of each path (lowest p99)"
    )
    print(f"{'path':<10} {'events':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    best = {}
    for name, at in (("direct", 0), ("proxied", 1)):
        a = min((r[at] for r in runs), key=lambda x: q(x, 99))
        best[name] = a
        print(
            f"{name:<10} {len(a):>7} {q(a, 50):>8.3f} {q(a, 99):>8.3f} {a.max():>8.3f}"
        )
    direct, proxied = best["direct"], best["proxied"]
    recorded = min(r[2] for r in runs)
    added50 = q(proxied, 50) - q(direct, 50)
    added99 = q(proxied, 99) - q(direct, 99)
    ok = "met" if added99 < 5 else "NOT met"
    print(
        f"added by the proxy: p50 {added50:.3f} ms, p99 {added99:.3f} ms "
        f"(target p99 < 5 ms: {ok}); events recorded {recorded}"
    )
    for label, p in (("p50", 50), ("p99", 99)):
        added = [q(pr, p) - q(d, p) for d, pr, _ in runs]
        print(
            f"added {label} in each repetition (same run): "
            + ", ".join(f"{v:.3f}" for v in added)
        )


if __name__ == "__main__":
    main()
