"""Figures of the demo server: how fast scenarios are written, how fast the server
streams, how close to schedule writes arrive, and how fast it stops.

Run: python bench/server_timing.py
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time

import httpx

from ssenb.parse import SSEParser
from ssenb.server import demo_server
from ssenb.server.scenarios import SCENARIOS, scenario_bytes, steps


def generation() -> None:
    t = time.perf_counter()
    total = sum(len(scenario_bytes(name)) for name in SCENARIOS)
    took = time.perf_counter() - t
    print(
        f"all {len(SCENARIOS)} scenarios, default length: {total} bytes in "
        f"{took * 1000:.1f} ms"
    )
    t = time.perf_counter()
    n = sum(s.events for s in itertools.islice(steps("openai", loop=True), 100_000))
    took = time.perf_counter() - t
    print(f"openai loop: {n} events written in {took:.2f} s ({n / took:,.0f} events/s)")


def throughput(srv: object) -> None:
    url = srv.url("openai", loop=1, speed=1e9)  # type: ignore[attr-defined]
    parser = SSEParser()
    n = 0
    t = time.perf_counter()
    with httpx.stream("GET", url) as response:
        for chunk in response.iter_raw():
            n += sum(r.kind == "event" for r in parser.feed(chunk))
            if n >= 50_000:
                break
    took = time.perf_counter() - t
    print(f"HTTP, no delays: {n} events in {took:.2f} s ({n / took:,.0f} events/s)")


def punctuality(srv: object, speed: float, duration: float) -> None:
    name = "keepalive"
    expected = list(
        itertools.accumulate(s.delay / speed for s in steps(name, duration=duration))
    )
    parser = SSEParser()
    arrivals = []
    t0 = time.perf_counter()
    with httpx.stream("GET", srv.url(name, duration=duration, speed=speed)) as response:  # type: ignore[attr-defined]
        for chunk in response.iter_raw():
            now = time.perf_counter() - t0
            arrivals += [now] * len(parser.feed(chunk))
    n = min(len(arrivals), len(expected))
    # Measured from the first record, so connection set-up does not count.
    late = [
        ((a - arrivals[0]) - (e - expected[0])) * 1000
        for a, e in zip(arrivals[:n], expected[:n], strict=True)
    ]
    print(
        f"speed {speed:g}: {n} records, lateness vs schedule median "
        f"{statistics.median(late):.1f} ms, max {max(late):.1f} ms"
    )


def stopping() -> None:
    started = threading.Event()

    def read(url: str) -> None:
        try:
            with httpx.stream("GET", url) as response:
                for _ in response.iter_raw():
                    started.set()
        except httpx.HTTPError:
            pass

    with demo_server(speed=1) as srv:
        reader = threading.Thread(target=read, args=(srv.url("keepalive", loop=1),))
        reader.start()
        started.wait(10)
        t = time.perf_counter()
    took = time.perf_counter() - t
    reader.join(5)
    print(f"stop with an endless stream open: {took * 1000:.0f} ms")


def main() -> None:
    generation()
    with demo_server(speed=100) as srv:
        throughput(srv)
        punctuality(srv, 10, 30)
        punctuality(srv, 100, 600)
    stopping()


if __name__ == "__main__":
    main()
