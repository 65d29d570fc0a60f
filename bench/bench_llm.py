"""Rebuild LLM answers with ``ssenb.analysis.llm`` and compare with the floor of any
Python reader: ``json.loads`` of every chunk and a dictionary walk to the text.

Each stream is built in memory (timed at 1 ms per chunk) and read once with
``frames.read_sse``; the timed step is ``llm(frame, dialect=...)`` (messages per choice,
request metrics, percentiles), best of ``--reps``, against a loop that parses every
event's JSON and joins the text of choice 0, which computes no metrics at all. The
rebuilt text is checked equal to the loop's before timing.

Run from the repository root::

    python -m bench.bench_llm                 # 200,000 chunks per stream, best of 3
    python -m bench.bench_llm --chunks 50000 --reps 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ssenb  # noqa: E402
from ssenb.analysis import llm  # noqa: E402


def _chat(n: int) -> bytes:
    head = '{"id":"chatcmpl-AbCdEfGhIjKlMnOpQrSt","object":"chat.completion.chunk",'
    rows = [
        f'data: {head}"choices":[{{"index":0,"delta":{{"content":" w{i}"}},'
        f'"finish_reason":null}}]}}\n\n'
        for i in range(n)
    ]
    return ("".join(rows) + "data: [DONE]\n\n").encode()


def _anthropic(n: int) -> bytes:
    rows = [
        "event: content_block_delta\ndata: "
        + json.dumps(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": f" w{i}"},
            }
        )
        + "\n\n"
        for i in range(n)
    ]
    return "".join(rows).encode()


def _gemini(n: int) -> bytes:
    rows = [
        "data: "
        + json.dumps(
            {"candidates": [{"content": {"parts": [{"text": f" w{i}"}]}, "index": 0}]}
        )
        + "\r\n\r\n"
        for i in range(n)
    ]
    return "".join(rows).encode()


def _text_of(obj: Any) -> str:
    if "choices" in obj:
        return str(obj["choices"][0]["delta"].get("content") or "")
    if "delta" in obj:
        return str(obj["delta"].get("text") or "")
    return str(obj["candidates"][0]["content"]["parts"][0]["text"])


def _floor(frame: Any) -> str:
    out = []
    for d in frame.loc[frame["kind"] == "event", "data"].tolist():
        if d.startswith("{"):
            out.append(_text_of(json.loads(d)))
    return "".join(out)


def _best(fn: Callable[[], Any], reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chunks", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    print(f"{args.chunks:,} chunks per stream, best of {args.reps}")
    print(
        f"{'stream':<10} {'llm s':>8} {'floor s':>8} {'llm/floor':>10} {'chunks/s':>12}"
    )
    for name, dialect, build in (
        ("openai", "openai", _chat),
        ("anthropic", "anthropic", _anthropic),
        ("gemini", "gemini", _gemini),
    ):
        frame = ssenb.frames.read_sse(build(args.chunks))
        frame["elapsed"] = frame["seq"] * 0.001
        got = llm(frame, dialect=dialect).facts["text"]
        if got != _floor(frame):
            print(f"MISMATCH in {name}: llm's text differs from the floor's")
        t_llm = _best(lambda f=frame, d=dialect: llm(f, dialect=d), args.reps)
        t_floor = _best(lambda f=frame: _floor(f), args.reps)
        print(
            f"{name:<10} {t_llm:>8.3f} {t_floor:>8.3f} {t_llm / t_floor:>10.2f} "
            f"{args.chunks / t_llm:>12,.0f}"
        )


if __name__ == "__main__":
    main()
