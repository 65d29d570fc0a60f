"""Parse the benchmark corpora with ssenb and with three peer libraries; print MB/s,
events/s and the ratio to the fastest peer.

Every parser reads the same 16 KiB reads of the same corpus and yields its own
per-event objects, which the loop consumes (ssenb's ``feed_batch`` row yields columns
instead). Before timing, each parser's dispatched events (type and data) are checked
against ssenb's; a mismatch is printed loudly, not hidden.

Peers, each through its own parsing API:

- httpx-sse: an incremental UTF-8 decoder, ``SSELineDecoder`` and ``SSEDecoder``, as
  ``EventSource.iter_sse`` does over ``response.iter_text()``;
- sseclient-py: ``SSEClient(chunks).events()``;
- launchdarkly-eventsource: ``_SSEReader(_BufferedLineReader.lines_from(chunks))``,
  the parser its ``SSEClient`` runs on each connection, keeping ``Event`` objects.

Run from the repository root (peers come with ``pip install -e ".[bench]"``)::

    python -m bench.bench_parse              # best of 5, full corpora
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

from bench.corpora import (
    CORPORA,
    READ_SIZE,
    chat_corpus,
    chunked,
    mixed_corpus,
    payload_corpus,
)
from ssenb.parse import RecordBatch, SSEParser

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


def ssenb_feed_batch(chunks: Iterable[bytes]) -> int:
    """ssenb ``feed_batch()``: the same records as columns; returns how many."""
    parser = SSEParser()
    n = 0
    for chunk in chunks:
        n += len(parser.feed_batch(chunk))
    n += len(parser.close_batch())
    return n


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

    run.__doc__ = make.__doc__
    return run


#: name -> a function that parses the reads, consumes every object the parser yields
#: and returns how many there were
PARSERS: dict[str, Callable[[Iterable[bytes]], int]] = {
    "ssenb feed()": ssenb_feed,
    "ssenb feed_batch()": ssenb_feed_batch,
    "httpx-sse": _counter(_httpx_sse_events),
    "sseclient-py": _counter(_sseclient_events),
    "launchdarkly-eventsource": _counter(_ld_events),
}
PEERS = ["httpx-sse", "sseclient-py", "launchdarkly-eventsource"]

#: (corpus, parser) -> the least ratio to the fastest peer that meets the target
TARGETS: dict[tuple[str, str], float] = {
    ("chat", "ssenb feed()"): 1.25,
    ("mixed", "ssenb feed()"): 1.25,
    ("payload-64k", "ssenb feed()"): 1.0,
    ("chat", "ssenb feed_batch()"): 2.0,
    ("mixed", "ssenb feed_batch()"): 2.0,
}


# -- the check: same dispatched events everywhere -------------------------------------


def _events_of(name: str, chunks: list[bytes]) -> list[tuple[str, str]]:
    if name.startswith("ssenb"):
        parser = SSEParser()
        if name == "ssenb feed()":
            records = [r for c in chunks for r in parser.feed(c)] + parser.close()
        else:
            batch = RecordBatch()
            for c in chunks:
                batch.extend(parser.feed_batch(c))
            batch.extend(parser.close_batch())
            records = batch.records()
        return [(r.type, r.data) for r in records if r.kind == "event"]
    make = {
        "httpx-sse": _httpx_sse_events,
        "sseclient-py": _sseclient_events,
        "launchdarkly-eventsource": _ld_events,
    }[name]
    return [(ev.event, ev.data) for ev in make(chunks)]


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
    if scale == 1:
        return CORPORA[name]()
    if name == "chat":
        return chat_corpus(max(1, int(200_000 * scale)))
    if name == "mixed":
        return mixed_corpus(max(1, int(200_000 * scale)))
    return payload_corpus(max(1, int(1000 * scale)))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; returns 1 if a parser's events differ
    from ssenb's by more than extra events with empty data."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="repetitions (best is kept)")
    ap.add_argument("--scale", type=float, default=1.0, help="corpus size factor")
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
    for corpus in args.corpus or list(CORPORA):
        data = _corpus(corpus, args.scale)
        chunks = chunked(data, args.read_size)
        if args.no_check:
            n = len(_events_of("ssenb feed()", chunks))
            verdicts = dict.fromkeys(names, ("-", n))
        else:
            verdicts = check(corpus, chunks, names)
        # a peer that only adds events with empty data is reported, not failed
        failed |= any(
            v not in ("ok", "-") and "dropped" not in v for v, _ in verdicts.values()
        )
        best: dict[str, float] = {}
        for _ in range(args.reps):  # round robin: noise hits every parser alike
            for name in names:
                dt = run_once(name, chunks, args.clock)
                best[name] = min(best.get(name, dt), dt)
        peers = [best[p] for p in PEERS if p in best]
        fastest = min(peers) if peers else None
        rows = []
        for name in names:
            ratio = fastest / best[name] if fastest else None
            target = TARGETS.get((corpus, name))
            met = "-" if target is None or ratio is None else "yes"
            if target is not None and ratio is not None and ratio < target:
                met = "NO"
            verdict, events = verdicts[name]
            rows.append(
                (
                    corpus,
                    name,
                    len(data) / best[name] / 1e6,
                    events / best[name],
                    ratio,
                    target,
                    met,
                    verdict,
                )
            )
        _print_rows(rows, header=header)
        header = False
    print(
        f"\nbest of {args.reps} ({args.clock} time); reads of {args.read_size} bytes;"
        f" Python {sys.version.split()[0]}; events/s counts dispatched events"
    )
    return 1 if failed else 0


def _print_rows(rows: list[tuple[Any, ...]], *, header: bool) -> None:
    if header:
        print(
            f"{'corpus':<12} {'parser':<25} {'MB/s':>8} {'events/s':>11}"
            f" {'x fastest':>9} {'target':>6} {'met':>4}  events check"
        )
    for corpus, name, mbs, eps, ratio, target, met, verdict in rows:
        r = f"{ratio:9.2f}" if ratio is not None else f"{'-':>9}"
        t = f"{target:6.2f}" if target is not None else f"{'-':>6}"
        print(
            f"{corpus:<12} {name:<25} {mbs:8.1f} {eps:11,.0f} {r} {t} {met:>4}"
            f"  {verdict}"
        )


if __name__ == "__main__":
    sys.exit(main())
