"""Benchmark: bytes to frame, and capture over loopback, against the peer libraries.

Run: ``python bench/bench_capture.py [--events N] [--repeat R]``

- bytes to frame: ``ssenb.frames.read_sse`` on a stream in memory, against each peer
  (httpx-sse, sseclient-py, launchdarkly-eventsource) collecting ``(type, data, id)``
  rows then ``pandas.DataFrame(rows)``. Target: at least 3x the fastest peer.
- capture over loopback: a server in another process sends the corpus as fast as it
  can. (a) httpx-sse ``iter_sse`` collecting (arrival time, type, data, id) rows, then
  ``DataFrame(rows)``; (b) ``ssenb.frames.read_sse`` on the same bytes in memory;
  (c) a bare httpx ``iter_bytes`` loop, the I/O floor; (d) ``ssenb.capture`` into its
  frames (every record with its times, connection rows, raw bytes kept). Targets:
  (d) at least 2x faster than (a), and at least 0.8x the speed of (b).

Each figure is the best of ``--repeat`` runs; ``--cpu`` times the CPU of this process
instead of the wall clock (steadier on a busy machine).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _capture_corpora import CORPORA  # noqa: E402

CHUNK = 64 * 1024


# -- the loopback server (a separate process, so it takes no GIL from the client) -----


def _serve(name: str, n: int) -> None:
    body = CORPORA[name](n)
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\nconnection: close\r\n\r\n"
    )

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(head)
            writer.write(body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- measuring ---------------------------------------------------------------------


#: Measure CPU time of this process instead of wall time (--cpu): steadier on a
#: loaded machine; the loopback server runs in another process either way.
CLOCK = time.perf_counter


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        gc.collect()
        t = CLOCK()
        result = fn()
        times.append(CLOCK() - t)
    return min(times), result


def chunks_of(body: bytes) -> list[bytes]:
    return [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]


# -- bytes to frame ------------------------------------------------------------------


def peers_in_memory(body: bytes) -> dict[str, Callable[[], Any]]:
    import httpx
    import pandas as pd

    out: dict[str, Callable[[], Any]] = {}
    cols = ["type", "data", "id"]

    try:
        import httpx_sse

        def with_httpx_sse() -> Any:
            resp = httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=body
            )
            rows = [
                (e.event, e.data, e.id) for e in httpx_sse.EventSource(resp).iter_sse()
            ]
            return pd.DataFrame(rows, columns=cols)

        out["httpx-sse"] = with_httpx_sse
    except ImportError:
        pass
    try:
        import sseclient

        def with_sseclient() -> Any:
            client = sseclient.SSEClient(iter(chunks_of(body)))
            rows = [(e.event, e.data, e.id) for e in client.events()]
            return pd.DataFrame(rows, columns=cols)

        out["sseclient-py"] = with_sseclient
    except ImportError:
        pass
    try:
        from ld_eventsource.actions import Event
        from ld_eventsource.reader import _BufferedLineReader, _SSEReader

        def with_ld() -> Any:
            lines = _BufferedLineReader.lines_from(iter(chunks_of(body)))
            rows = [
                (e.event, e.data, e.id)
                for e in _SSEReader(lines).events_and_comments()
                if isinstance(e, Event)
            ]
            return pd.DataFrame(rows, columns=cols)

        out["launchdarkly-eventsource"] = with_ld
    except ImportError:
        pass
    return out


def bench_bytes_to_frame(name: str, body: bytes, repeat: int) -> None:
    import ssenb

    print(f"\n== bytes to frame: {name} ({len(body) / 1e6:.1f} MB) ==")
    t_ours, frame = best(lambda: ssenb.frames.read_sse(body), repeat)
    n_events = int((frame["kind"] == "event").sum())
    print(f"  ssenb.frames.read_sse            {t_ours:7.3f} s  {len(frame)} rows")
    fastest = None
    for peer, fn in peers_in_memory(body).items():
        t, df = best(fn, repeat)
        note = "" if len(df) == n_events else f"  ({len(df)} events vs {n_events})"
        print(f"  {peer:<25} {t:7.3f} s  {t / t_ours:5.2f}x ssenb's time{note}")
        fastest = t if fastest is None else min(fastest, t)
    if fastest is not None:
        ratio = fastest / t_ours
        verdict = "met" if ratio >= 3 else "NOT met"
        print(f"  -> {ratio:.1f}x the fastest peer (target 3x: {verdict})")


# -- capture over loopback -----------------------------------------------------------


def bench_loopback(name: str, n: int, body: bytes, repeat: int) -> None:
    import httpx
    import httpx_sse
    import pandas as pd

    import ssenb

    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", name, "--events", str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}/"
        print(f"\n== capture over loopback: {name} ({len(body) / 1e6:.1f} MB) ==")
        # Every client shares one SSL context, as ssenb.capture's clients do: making
        # one loads the CA bundle (about 20 ms), which is not reading the stream.
        ctx = httpx.create_ssl_context()

        def a() -> Any:
            with httpx.Client(verify=ctx) as client:
                with httpx_sse.connect_sse(client, "GET", url) as es:
                    rows = [(time.time(), e.event, e.data, e.id) for e in es.iter_sse()]
            return pd.DataFrame(rows, columns=["time", "type", "data", "id"])

        def b() -> Any:
            return ssenb.frames.read_sse(body)

        def c() -> Any:
            got = 0
            with httpx.Client(verify=ctx) as client:
                with client.stream("GET", url) as resp:
                    for chunk in resp.iter_bytes():
                        got += len(chunk)
            return got

        def d() -> Any:
            return ssenb.capture(url, reconnect=False, progress=False)

        t_a, df_a = best(a, repeat)
        t_b, _ = best(b, repeat)
        t_c, got = best(c, repeat)
        t_d, cap = best(d, repeat)
        assert got == len(body), (got, len(body))
        assert cap.connections["bytes"].iloc[0] == len(body)
        print(f"  (a) httpx-sse + DataFrame  {t_a:7.3f} s  {len(df_a)} event rows")
        print(f"  (b) ssenb.frames.read_sse memory  {t_b:7.3f} s")
        print(f"  (c) httpx iter_bytes floor {t_c:7.3f} s")
        print(
            f"  (d) ssenb.capture          {t_d:7.3f} s  {len(cap.events)} rows "
            f"(all records), {len(cap.connections)} connection row"
        )
        print(
            f"      capture - read_sse = {t_d - t_b:.3f} s, of which the I/O floor "
            f"(c) is {t_c:.3f} s"
        )
        r_a = t_a / t_d
        r_b = t_b / t_d
        print(
            f"  -> capture is {r_a:.1f}x (a) (target 2x: "
            f"{'met' if r_a >= 2 else 'NOT met'}), {r_b:.2f}x the speed of (b) "
            f"(target 0.8x: {'met' if r_b >= 0.8 else 'NOT met'})"
        )
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--corpus", choices=sorted(CORPORA), action="append")
    ap.add_argument("--cpu", action="store_true", help="time CPU, not wall clock")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cpu:
        global CLOCK
        CLOCK = time.process_time
    if args.serve:
        _serve(args.serve, args.events)
        return
    names = args.corpus or ["chat", "mixed"]
    import os

    load = os.getloadavg()[0]
    print(
        f"load average {load:.1f} on {os.cpu_count()} CPUs (figures are noisy above 1)"
    )
    bodies = {name: CORPORA[name](args.events) for name in names}
    for name in names:
        bench_bytes_to_frame(name, bodies[name], args.repeat)
    for name in names:
        bench_loopback(name, args.events, bodies[name], args.repeat)


if __name__ == "__main__":
    main()
