"""Capture reads a fast stream in large regions and a slow one read by read.

Reads that come back to back (more bytes already waiting on the socket) are parsed
together; the records, their spans and values must be those ``read_sse`` gives for
the same bytes, each record must keep the arrival time of the read that held its
last byte, and no record may wait for a read that does not come.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from _sse_script import Reply, serve

import ssenb
import ssenb._session
from ssenb.frames import read_sse

COLUMNS = ("kind", "type", "data", "id", "last_event_id", "retry", "offset", "size")
SHELLS = ["sync", "async"]


def record(shell: str, url: str, **options: Any) -> ssenb.Capture:
    """``capture`` or ``acapture``: both shells hold reads back the same way."""
    if shell == "sync":
        return ssenb.capture(url, progress=False, **options)
    return asyncio.run(ssenb.acapture(url, progress=False, **options))


def burst(n: int) -> bytes:
    """``n`` blocks of every shape: typed events with ids, multi-line data,
    comments, blank keep-alives, retry lines."""
    out = []
    for i in range(n):
        r = i % 10
        if r < 6:
            out.append(f'event: t{i % 3}\nid: {i}\ndata: {{"n": {i}, "x": "é"}}\n\n')
        elif r == 6:
            out.append(f"data: line one {i}\ndata: line two\n\n")
        elif r == 7:
            out.append(f": keep-alive {i}\n\n")
        elif r == 8:
            out.append("\n")
        else:
            out.append(f"retry: {1000 + i}\n\n")
    return "".join(out).encode()


@pytest.mark.parametrize("shell", SHELLS)
def test_a_burst_is_read_in_regions_with_the_records_read_sse_gives(
    monkeypatch: pytest.MonkeyPatch, shell: str
) -> None:
    body = burst(60_000)  # about 2.4 MB, sent at once
    tail = b"event: last\ndata: after a pause\n\n"
    flushes = []
    real = ssenb._session.Stream.flush

    def counted(self, att, check=True):  # type: ignore[no-untyped-def]
        flushes.append(att.pending_len)
        return real(self, att, check)

    monkeypatch.setattr(ssenb._session.Stream, "flush", counted)
    with serve({"/s": [Reply([body, (1.0, tail)])]}) as (base, _):
        cap = record(shell, base + "/s", reconnect=False)
    reads = len(cap.raw[("", 1)])
    assert len([n for n in flushes if n]) < reads  # reads were parsed together
    expected = read_sse(body + tail)
    ev = cap.events
    assert len(ev) == len(expected)
    for col in COLUMNS:
        assert ev[col].tolist() == expected[col].tolist(), col
    assert ev["time"].is_monotonic_increasing and ev["elapsed"].is_monotonic_increasing
    # the last record came after the pause, the others before it
    assert ev["elapsed"].iloc[-1] - ev["elapsed"].iloc[-2] >= 0.4
    # each record has the arrival time of the read that held its last byte
    ends = (ev["offset"] + ev["size"]).tolist()
    arrivals = []
    got = 0
    for elapsed, chunk in cap.raw[("", 1)]:
        got += len(chunk)
        arrivals.append((got, elapsed))
    i = 0
    for end, el in zip(ends, ev["elapsed"].tolist(), strict=True):
        while arrivals[i][0] < end:
            i += 1
        assert el == pytest.approx(arrivals[i][1], abs=1e-6)


@pytest.mark.parametrize("shell", SHELLS)
def test_the_end_of_a_burst_is_read_without_waiting_for_more_bytes(shell: str) -> None:
    # the stream stays open after its done event: capture must see the event with
    # the bytes that are there, not after a read that never comes
    body = burst(40_000) + b"event: done\ndata: {}\n\n"
    with serve({"/s": [Reply([body], hang=True)]}) as (base, _):
        t0 = time.monotonic()
        cap = record(shell, base + "/s", until="done", read_timeout=20)
        took = time.monotonic() - t0
    assert took < 10
    assert cap.connections["outcome"].tolist() == ["until"]
    assert cap.events["type"].iloc[-1] == "done"
    assert len(cap.events) == len(read_sse(body))


def test_max_events_cuts_a_region_at_the_right_record() -> None:
    body = burst(50_000)
    with serve({"/s": [Reply([body], hang=True)]}) as (base, _):
        cap = ssenb.capture(base + "/s", max_events=30_001, progress=False)
    ev = cap.events
    assert (ev["kind"] == "event").sum() == 30_001
    assert ev["kind"].iloc[-1] == "event"
    expected = read_sse(body)
    n = len(ev)
    for col in COLUMNS:
        assert ev[col].tolist() == expected[col].iloc[:n].tolist(), col
    assert cap.connections["outcome"].tolist() == ["max-events"]
