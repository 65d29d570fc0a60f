"""What CRLF costs per byte against LF: the same corpora with either line end, read
by ``read_sse`` and ``SSEParser.feed`` in turns (best of ``--reps``, CPU time), so
that the machine's noise hits both alike.

Run from the repository root::

    python -m bench.crlf_cost [--reps 7] [--scale 0.2]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable

from bench.corpora import chat_corpus, chunked, mixed_corpus
from ssenb.frames import read_sse
from ssenb.parse import SSEParser


def _feed(chunks: list[bytes]) -> None:
    parser = SSEParser()
    for chunk in chunks:
        for _record in parser.feed(chunk):
            pass
    parser.close()


def main(argv: list[str] | None = None) -> int:
    """Print the CRLF/LF time ratio per byte for each corpus and reader."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.2)
    args = ap.parse_args(argv)
    pairs = {
        "chat": chat_corpus(max(1, int(200_000 * args.scale))),
        "mixed": mixed_corpus(max(1, int(200_000 * args.scale)), crlf_share=0.0),
    }
    readers: dict[str, Callable[[list[bytes]], object]] = {
        "read_sse": read_sse,
        "feed()": _feed,
    }
    for name, lf in pairs.items():
        crlf = lf.replace(b"\n", b"\r\n")
        streams = {"LF": chunked(lf), "CRLF": chunked(crlf)}
        sizes = {"LF": len(lf), "CRLF": len(crlf)}
        for reader, run in readers.items():
            best: dict[str, float] = {}
            for _ in range(args.reps):
                for end, chunks in streams.items():
                    gc.collect()
                    t0 = time.process_time()
                    run(chunks)
                    dt = time.process_time() - t0
                    best[end] = min(best.get(end, dt), dt)
            per = {e: best[e] / sizes[e] for e in best}
            print(
                f"{name:6} {reader:9} LF {sizes['LF'] / best['LF'] / 1e6:6.1f} MB/s"
                f"  CRLF {sizes['CRLF'] / best['CRLF'] / 1e6:6.1f} MB/s"
                f"  CRLF/LF per byte {per['CRLF'] / per['LF']:.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
