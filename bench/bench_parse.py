"""Parse the benchmark corpora with ssenb and with three peer libraries; print MB/s,
events/s and the ratio to the fastest peer, by bytes per second.

Every parser reads the same 16 KiB reads of the same corpus. Two comparisons:

- ``ssenb feed()`` (one ``Record`` per record, which the loop consumes) against each
  peer yielding its own event objects, which the loop consumes: target 1.25x the
  fastest peer;
- ``ssenb read_sse`` (the events frame) against each peer collecting
  ``(type, data, id)`` rows and then ``pandas.DataFrame(rows)``: target 3x the
  fastest peer (1.5x on 64 KiB payloads).

Also printed: what CRLF costs per byte against LF (``chat`` / ``chat-crlf``,
``mixed-lf`` / ``mixed-crlf``; target at most 1.2x), and any ssenb figure under
20 MB/s. Before timing, each peer's dispatched events (type and data) are checked
against ssenb's; peers disagree on some corpora (CR line ends, empty data), which is
printed, not hidden, and not a failure; ``read_sse`` and ``feed()`` must agree.

Peers, each through its own parsing API:

- httpx-sse: an incremental UTF-8 decoder, ``SSELineDecoder`` and ``SSEDecoder``, as
  ``EventSource.iter_sse`` does over ``response.iter_text()``;
- sseclient-py: ``SSEClient(chunks).events()``;
- launchdarkly-eventsource: ``_SSEReader(_BufferedLineReader.lines_from(chunks))``,
  the parser its ``SSEClient`` runs on each connection, keeping ``Event`` objects.

Run from the repository root (``pip install httpx-sse sseclient-py
launchdarkly-eventsource``)::

    python -m bench.bench_parse              # best of 5, every corpus
    python -m bench.bench_parse --scale 0.1 --reps 3 --corpus chat
"""

from __future__ import annotations

import argparse
import codecs
import gc
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd

from bench.corpora import CORPORA, READ_SIZE, chunked
from ssenb.frames import read_sse
from ssenb.parse import SSEParser

__all__ = ["PARSERS", "TARGETS", "main", "run_once"]

# -- the parsers under test: each takes the reads and returns the dispatched count ---


def ssenb_feed(chunks: Iterable[bytes]) -> int:
    """ssenb ``feed()``: one ``Record`` per record (events, comments, blanks, retry);
    returns how many."""
    parser = SSEParser()
    n = 0
    for chunk in chunks:
        for _record in parser.feed(chunk):
            n += 1
    for _record in parser.close():
        n += 1
    return n


def ssenb_read_sse(chunks: Iterable[bytes]) -> int:
    """ssenb ``read_sse``: the events frame of the reads; returns its rows."""
    return len(read_sse(chunks))


def _httpx_sse_events(chunks: Iterable[bytes]) -> Iterator[Any]:
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    for chunk in chunks:
        for line in lines.decode(text.decode(chunk)):
            sse = decoder.decode(line.rstrip("\n"))
            if sse is not None:
                yield sse
    for line in lines.decode(text.decode(b"", True)) + lines.flush():
        sse = decoder.decode(line.rstrip("\n"))
        if sse is not None:
            yield sse


def _sseclient_events(chunks: Iterable[bytes]) -> Iterator[Any]:
    from sseclient import SSEClient

    return SSEClient(iter(chunks)).events()  # type: ignore[no-any-return]


def _ld_events(chunks: Iterable[bytes]) -> Iterator[Any]:
    from ld_eventsource.actions import Event
    from ld_eventsource.reader import _BufferedLineReader, _SSEReader

    reader = _SSEReader(_BufferedLineReader.lines_from(chunks))
    for item in reader.events_and_comments():
        if isinstance(item, Event):
            yield item


def _counter(make: Callable[[Iterable[bytes]], Iterator[Any]]) -> Callable[..., int]:
    """A parse that consumes a peer's events one by one and returns how many."""

    def run(chunks: Iterable[bytes]) -> int:
        n = 0
        for _event in make(chunks):
            n += 1
        return n

    return run


def _framer(make: Callable[[Iterable[bytes]], Iterator[Any]]) -> Callable[..., int]:
    """A parse that collects a peer's events as (type, data, id) rows, then a
    DataFrame; returns its rows."""

    def run(chunks: Iterable[bytes]) -> int:
        rows = [
            (e.event, e.data, getattr(e, "id", None) or getattr(e, "last_event_id", ""))
            for e in make(chunks)
        ]
        return len(pd.DataFrame(rows, columns=["type", "data", "id"]))

    return run


_PEER_EVENTS = {
    "httpx-sse": _httpx_sse_events,
    "sseclient-py": _sseclient_events,
    "launchdarkly-eventsource": _ld_events,
}
PEERS = list(_PEER_EVENTS)
FRAMES = [f"{p} + DataFrame" for p in PEERS]

#: name -> a function that parses the reads, consumes what the parser yields and
#: returns how many events or rows there were
PARSERS: dict[str, Callable[[Iterable[bytes]], int]] = {
    "ssenb read_sse": ssenb_read_sse,
    "ssenb feed()": ssenb_feed,
    **{p: _counter(m) for p, m in _PEER_EVENTS.items()},
    **{f"{p} + DataFrame": _framer(m) for p, m in _PEER_EVENTS.items()},
}

#: parser -> (what it is compared with, the least ratio that meets the target)
TARGETS: dict[str, tuple[list[str], float]] = {
    "ssenb read_sse": (FRAMES, 3.0),
    "ssenb feed()": (PEERS, 1.25),
}
#: corpus -> a target of its own for ``read_sse`` (few large events: the frame
#: holds the same large strings either way)
READ_SSE_TARGET = {"payload-64k": 1.5}
#: (LF corpus, CRLF corpus): CRLF may cost at most this much more per byte
CRLF_PAIRS = [("chat", "chat-crlf"), ("mixed-lf", "mixed-crlf")]
CRLF_TARGET = 1.2
#: no ssenb figure under this many MB/s
FLOOR = 20.0


# -- the check: same dispatched events everywhere -------------------------------------


def _events_of(name: str, chunks: list[bytes]) -> list[tuple[str, str]]:
    if name == "ssenb feed()":
        parser = SSEParser()
        records = [r for c in chunks for r in parser.feed(c)] + parser.close()
        return [(r.type, r.data) for r in records if r.kind == "event"]
    if name == "ssenb read_sse":
        frame = read_sse(chunks)
        events = frame[frame["kind"] == "event"]
        return list(zip(events["type"].astype(str), events["data"], strict=True))
    return [(ev.event, ev.data) for ev in _PEER_EVENTS[name](chunks)]


def check(
    corpus: str, chunks: list[bytes], names: list[str]
) -> dict[str, tuple[str, int]]:
    """Compare every parser's events with ssenb ``feed()``'s.

    Returns name -> (verdict, how many events it dispatched).
    """
    expected = _events_of("ssenb feed()", chunks)
    verdicts = {}
    for name in names:
        got = _events_of(name, chunks)
        if got == expected:
            verdicts[name] = ("ok", len(got))
            continue
        first = next(
            (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
            min(len(got), len(expected)),
        )
        extra = ""
        if [e for e in got if e[1]] == [e for e in expected if e[1]]:
            extra = " (same once events with empty data are dropped)"
        verdicts[name] = (f"MISMATCH: {len(got)} vs {len(expected)}{extra}", len(got))
        print(
            f"!! {corpus}: {name} dispatches {len(got)} events, ssenb {len(expected)};"
            f" first difference at event {first}:"
            f" {got[first] if first < len(got) else None!r:.80}"
            f" vs {expected[first] if first < len(expected) else None!r:.80}{extra}"
        )
    return verdicts


# -- timing ---------------------------------------------------------------------------

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def run_once(name: str, chunks: list[bytes], clock: str = "cpu") -> float:
    """Seconds for one parse of ``chunks`` by parser ``name``."""
    run = PARSERS[name]
    now = CLOCKS[clock]
    gc.collect()
    t0 = now()
    run(chunks)
    return now() - t0


def _corpus(name: str, scale: float) -> bytes:
    data = CORPORA[name]()
    if scale == 1 or name.startswith("real:"):
        return data  # the recorded streams stay at about 8 MB
    # a cut at a block boundary near the scaled size
    cut = int(len(data) * scale)
    end = max(data.rfind(b"\n\n", 0, cut), data.rfind(b"\r\n\r\n", 0, cut))
    return data[: end + 4] if end > 0 else data[:cut]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; returns 1 if ssenb's ``read_sse`` and
    ``feed()`` disagree on the events."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="repetitions (best is kept)")
    ap.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="size factor of the synthetic corpora (the recorded streams stay whole)",
    )
    ap.add_argument("--read-size", type=int, default=READ_SIZE)
    ap.add_argument("--corpus", action="append", choices=list(CORPORA))
    ap.add_argument("--parser", action="append", choices=list(PARSERS))
    ap.add_argument(
        "--clock",
        choices=list(CLOCKS),
        default="cpu",
        help="cpu: process CPU time (steadier on a shared machine); wall: elapsed",
    )
    ap.add_argument("--no-check", action="store_true", help="skip the event check")
    args = ap.parse_args(argv)
    names = args.parser or list(PARSERS)
    failed = False
    header = True
    per_byte: dict[tuple[str, str], float] = {}
    slow: list[str] = []
    # ssenb parser -> (corpus, ratio, target) for the summary of the targets
    outcomes: dict[str, list[tuple[str, float, float]]] = {n: [] for n in TARGETS}
    for corpus in args.corpus or list(CORPORA):
        data = _corpus(corpus, args.scale)
        chunks = chunked(data, args.read_size)
        counted = [n for n in names if n in PEERS or n.startswith("ssenb")]
        if args.no_check:
            verdicts = dict.fromkeys(counted, ("-", 0))
        else:
            verdicts = check(corpus, chunks, counted)
            failed |= any(
                verdicts[n][0] != "ok" for n in counted if n.startswith("ssenb")
            )
        best: dict[str, float] = {}
        for _ in range(args.reps):  # round robin: noise hits every parser alike
            for name in names:
                dt = run_once(name, chunks, args.clock)
                best[name] = min(best.get(name, dt), dt)
        rows = []
        for name in names:
            mbs = len(data) / best[name] / 1e6
            per_byte[(corpus, name)] = best[name] / len(data)
            ratio = target = None
            met = "-"
            if name in TARGETS:
                against, target = TARGETS[name]
                if name == "ssenb read_sse":
                    target = READ_SSE_TARGET.get(corpus, target)
                times = [best[p] for p in against if p in best]
                if times:
                    ratio = min(times) / best[name]
                    met = "yes" if ratio >= target else "NO"
                    outcomes[name].append((corpus, ratio, target))
                if mbs < FLOOR:
                    slow.append(f"{corpus} {name}: {mbs:.1f} MB/s")
            elif name in FRAMES or name in PEERS:
                mine = "ssenb read_sse" if name in FRAMES else "ssenb feed()"
                if mine in best:
                    ratio = best[name] / best[mine]  # how many times slower
            verdict, events = verdicts.get(name, ("-", 0))
            rows.append((corpus, name, mbs, ratio, target, met, verdict, events))
        _print_rows(rows, header=header)
        header = False
    crlf = []
    for lf, cr in CRLF_PAIRS:
        for name in TARGETS:
            if (lf, name) in per_byte and (cr, name) in per_byte:
                cost = per_byte[(cr, name)] / per_byte[(lf, name)]
                met = "yes" if cost <= CRLF_TARGET else "NO"
                crlf.append(
                    f"{name} on {cr} against {lf}: {cost:.2f}x per byte"
                    f" ({met}, at most {CRLF_TARGET})"
                )
    if crlf:
        print("\nCRLF cost per byte:\n  " + "\n  ".join(crlf))
    print(f"\nssenb under {FLOOR:.0f} MB/s: " + ("; ".join(slow) if slow else "none"))
    _print_targets(outcomes)
    print(
        f"\nbest of {args.reps} ({args.clock} time); reads of {args.read_size} bytes;"
        f" Python {sys.version.split()[0]}; x fastest: ssenb against the fastest peer"
        " (by bytes per second); for a peer, how many times ssenb's time it takes"
    )
    return 1 if failed else 0


def _print_targets(outcomes: dict[str, list[tuple[str, float, float]]]) -> None:
    """The targets, same run: on which corpora each is met and missed, worst first."""
    lines = []
    for name, rows in outcomes.items():
        if not rows:
            continue
        missed = sorted((r / t, c, r, t) for c, r, t in rows if r < t)
        met = len(rows) - len(missed)
        against, target = TARGETS[name]
        head = f"{name} >= {target:g}x the fastest of {', '.join(against)}"
        lines.append(f"{head}: met on {met} of {len(rows)} corpora")
        if missed:
            lines.append(
                "    missed: "
                + "; ".join(f"{c} {r:.2f}x (of {t:g}x)" for _, c, r, t in missed)
            )
    if lines:
        print("\nTargets, same run:\n  " + "\n  ".join(lines))


def _print_rows(rows: list[tuple[Any, ...]], *, header: bool) -> None:
    if header:
        print(
            f"{'corpus':<24} {'parser':<37} {'MB/s':>7} {'x fastest':>9}"
            f" {'target':>6} {'met':>4}  events check"
        )
    for corpus, name, mbs, ratio, target, met, verdict, events in rows:
        r = f"{ratio:9.2f}" if ratio is not None else f"{'-':>9}"
        t = f"{target:6.2f}" if target is not None else f"{'-':>6}"
        ev = f"{verdict} ({events:,})" if verdict != "-" else ""
        print(f"{corpus[:24]:<24} {name:<37} {mbs:7.1f} {r} {t} {met:>4}  {ev}")


if __name__ == "__main__":
    sys.exit(main())
