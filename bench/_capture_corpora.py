"""Deterministic event-stream corpora for bench_capture.py (no randomness across runs).

- ``chat``: an OpenAI-style chat-completion stream: 200 k ``data: {json}`` events, one
  token each, then ``data: [DONE]``.
- ``mixed``: 200 k records of every kind: typed events with ids, multi-line data,
  comments, blank keep-alives, a few retry lines; payloads of varied size.
"""

from __future__ import annotations

import json
import random

__all__ = ["CORPORA", "chat", "mixed"]

_WORDS = (
    "the quick brown fox jumps over a lazy dog while streams of tokens arrive "
    "from servers near and far é ü ñ 你好"
).split()


def chat(n: int = 200_000) -> bytes:
    rng = random.Random(1)
    out = []
    for i in range(n):
        chunk = {
            "id": "chatcmpl-9x8y7z",
            "object": "chat.completion.chunk",
            "created": 1732000000 + i // 50,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {"content": " " + rng.choice(_WORDS)}}],
        }
        out.append("data: " + json.dumps(chunk, ensure_ascii=False) + "\n\n")
    out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def mixed(n: int = 200_000) -> bytes:
    rng = random.Random(2)
    types = ["message", "update", "delta", "status", "heartbeat", "error"]
    out = []
    eid = 0
    for _ in range(n):
        r = rng.random()
        if r < 0.70:
            eid += 1
            ty = rng.choice(types)
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 30)))
            lines = [f"event: {ty}"] if ty != "message" else []
            lines.append(f"id: {eid}")
            if rng.random() < 0.15:
                half = len(words) // 2
                lines += [f"data: {words[:half]}", f"data: {words[half:]}"]
            else:
                lines.append("data: " + json.dumps({"n": eid, "text": words}))
            out.append("\n".join(lines) + "\n\n")
        elif r < 0.85:
            out.append(": keep-alive " + str(eid) + "\n\n")
        elif r < 0.995:
            out.append("\n")
        else:
            out.append(f"retry: {rng.randint(500, 5000)}\n\n")
    return "".join(out).encode()


CORPORA = {"chat": chat, "mixed": mixed}
