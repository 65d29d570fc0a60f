"""Synthetic event-stream corpora for the benchmarks, built from a seed.

Each generator returns the whole stream as ``bytes`` and is deterministic for a given
seed, so every parser (and every run) reads the same bytes. Sizes are parameters: the
benchmarks use the defaults, tests and quick runs pass smaller ones.

- ``chat_corpus``: an LLM chat-completion stream (OpenAI style): data-only JSON chunks,
  one per block, ``data: [DONE]`` at the end.
- ``mixed_corpus``: a general-purpose stream with ``event``/``id``/``data`` blocks,
  multi-line data, ``: keep-alive`` comments, bare blank-line keep-alives, ``retry``
  lines, and CRLF line endings in some stretches (as if from another server behind
  the same URL).
- ``payload_corpus``: few, large events (64 KiB of JSON data each by default).
- ``gemini_corpus``: Gemini ``streamGenerateContent?alt=sse`` shaped: data-only JSON
  with candidates, parts and multi-byte text, CRLF line ends throughout.
- ``mcp_corpus``: an MCP server's stream, CRLF, ping-heavy: ``: ping`` comments and
  ``event: ping`` blocks between JSON-RPC ``event: message`` blocks with ids.
- ``switching_corpus``: the mixed corpus with each block's line ends drawn on its own
  (LF or CRLF), as behind a proxy that rewrites some blocks.
- ``retry_flood`` / ``comment_flood``: one ``retry: 1`` (or ``: ping``) line after
  another, no blank line; ``tiny_corpus``: ``data: N`` events of a few bytes.
- ``real_corpora``: every recorded stream of a folder (``../shared/data-real`` by
  default), each repeated to about 8 MB; read when the benchmark runs, never copied.
- ``chunked``: the stream cut into fixed-size reads, as a socket would deliver it.

Example:
    >>> from bench.corpora import chat_corpus, chunked
    >>> body = chat_corpus(3)
    >>> body.endswith(b"data: [DONE]\\n\\n")
    True
    >>> [len(c) for c in chunked(b"x" * 40_000)]
    [16384, 16384, 7232]
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "CORPORA",
    "READ_SIZE",
    "chat_corpus",
    "chunked",
    "comment_flood",
    "gemini_corpus",
    "mcp_corpus",
    "mixed_corpus",
    "payload_corpus",
    "real_corpora",
    "retry_flood",
    "switching_corpus",
    "tiny_corpus",
]

#: The read size of the benchmarks: what one ``recv`` typically hands over.
READ_SIZE = 16 * 1024

# Words an assistant streams, one or two per chunk; no JSON escaping needed except the
# newline, which appears as ``\n`` inside the JSON string (never a raw line break).
_WORDS = (
    "The quick brown fox jumps over the lazy dog . , ; : ! ? and or but if then "
    "because a an of to in for on with as by at from this that these those it is "
    "are was were be been being have has had do does did will would can could "
    "should may might must stream event server client data token model response "
    "request parse record buffer chunk line field value type id retry comment "
    "Python pandas notebook frame column row index plot widget capture"
).split()


def _tokens(rng: random.Random, n: int) -> list[str]:
    words = _WORDS
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.05:
            out.append("\\n")
        elif r < 0.08:
            out.append("\\n\\n")
        else:
            out.append(" " + rng.choice(words))
    return out


def chat_corpus(n_events: int = 200_000, *, seed: int = 0) -> bytes:
    """A chat-completion stream: ``n_events`` data-only JSON events, the last one
    ``[DONE]``.

    Every block is ``data: {...}\\n\\n``, the shape OpenAI-compatible servers send.
    """
    if n_events < 1:
        raise ValueError(f"n_events must be at least 1, got {n_events!r}")
    rng = random.Random(seed)
    cid = "chatcmpl-" + "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        for _ in range(29)
    )
    head = (
        f'data: {{"id":"{cid}","object":"chat.completion.chunk",'
        f'"created":1732550000,"model":"gpt-4o-mini-2024-07-18",'
        f'"system_fingerprint":"fp_0ba0d124f1","choices":[{{"index":0,"delta":'
    )
    blocks = []
    if n_events > 1:
        blocks.append(
            head + '{"role":"assistant","content":"","refusal":null},'
            '"logprobs":null,"finish_reason":null}]}\n\n'
        )
    middle = max(0, n_events - 3)
    for tok in _tokens(rng, middle):
        blocks.append(
            head
            + f'{{"content":"{tok}"}},"logprobs":null,"finish_reason":null}}]}}\n\n'
        )
    if n_events > 2:
        blocks.append(head + '{},"logprobs":null,"finish_reason":"stop"}]}\n\n')
    blocks.append("data: [DONE]\n\n")
    return "".join(blocks).encode("ascii")


def _json_payload(rng: random.Random, i: int, words: int) -> str:
    text = "".join(_tokens(rng, words)).strip()
    return (
        f'{{"seq":{i},"user":"user{rng.randrange(10_000)}",'
        f'"score":{rng.random():.6f},"text":"{text}"}}'
    )


def mixed_corpus(
    n_records: int = 200_000, *, crlf_share: float = 0.25, seed: int = 0
) -> bytes:
    """A general stream of about ``n_records`` records of every kind.

    The stream is a run of stretches of 200-2000 records; a ``crlf_share`` of them use
    CRLF line endings, the rest LF. Per record, roughly: 45 % named events with an id
    and one data line, 15 % data-only events, 12 % events with 2-6 data lines (one in
    three of them with an id), 2 % events whose fields are written ``name:value``
    without the space, 12 % ``: keep-alive`` comments, 12 % bare blank-line
    keep-alives, 2 % ``retry`` lines. No CR-only line endings (several peers do not
    read them), and no event has empty data (peers disagree on those).
    """
    if n_records < 1:
        raise ValueError(f"n_records must be at least 1, got {n_records!r}")
    rng = random.Random(seed)
    types = ["update", "update", "update", "delete", "presence", "message"]
    parts: list[str] = []
    made = 0
    seq = 0
    while made < n_records:
        stretch = min(rng.randint(200, 2000), n_records - made)
        nl = "\r\n" if rng.random() < crlf_share else "\n"
        blocks: list[str] = []
        for _ in range(stretch):
            r = rng.random()
            seq += 1
            if r < 0.45:
                blocks.append(
                    f"event: {rng.choice(types)}\nid: {seq}\n"
                    f"data: {_json_payload(rng, seq, rng.randint(2, 12))}\n\n"
                )
            elif r < 0.60:
                blocks.append(
                    f"data: {_json_payload(rng, seq, rng.randint(2, 12))}\n\n"
                )
            elif r < 0.72:
                lines = "".join(
                    f"data: {' '.join(rng.choices(_WORDS, k=rng.randint(1, 10)))}\n"
                    for _ in range(rng.randint(2, 6))
                )
                idline = f"id: {seq}\n" if rng.random() < 0.33 else ""
                blocks.append(f"event: {rng.choice(types)}\n{idline}{lines}\n")
            elif r < 0.74:
                blocks.append(
                    f"event:{rng.choice(types)}\nid:{seq}\n"
                    f"data:{_json_payload(rng, seq, 3)}\n\n"
                )
            elif r < 0.86:
                blocks.append(": keep-alive\n\n")
            elif r < 0.98:
                blocks.append("\n")
            else:
                blocks.append(f"retry: {rng.choice((1000, 3000, 5000, 15000))}\n\n")
        text = "".join(blocks)
        if nl != "\n":
            text = text.replace("\n", nl)
        parts.append(text)
        made += stretch
    return "".join(parts).encode("utf-8")


def payload_corpus(
    n_events: int = 1000, *, size: int = 64 * 1024, seed: int = 0
) -> bytes:
    """``n_events`` events of ``size`` bytes of single-line JSON data each, each with
    an ``event`` name and an ``id`` (snapshots, documents, images in base64).
    """
    if n_events < 1 or size < 64:
        raise ValueError(
            f"need n_events >= 1 and size >= 64, got {n_events!r} and {size!r}"
        )
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    blob = "".join(rng.choice(alphabet) for _ in range(size + 256))
    blocks = []
    for i in range(n_events):
        head = f'{{"seq":{i},"kind":"snapshot","blob":"'
        start = rng.randrange(256)
        body = blob[start : start + size - len(head) - 2]
        blocks.append(f'event: snapshot\nid: {i}\ndata: {head}{body}"}}\n\n')
    return "".join(blocks).encode("ascii")


def gemini_corpus(n_events: int = 20_000, *, seed: int = 0) -> bytes:
    """A Gemini-shaped stream: ``n_events`` data-only JSON events with CRLF line ends,
    each a candidate with a text part (some of it multi-byte UTF-8), safety ratings
    and usage metadata, as ``streamGenerateContent?alt=sse`` sends them."""
    if n_events < 1:
        raise ValueError(f"n_events must be at least 1, got {n_events!r}")
    rng = random.Random(seed)
    extra = ["秋风", "瑟瑟", "é", "ü", "naïve", "—", "😀"]
    ratings = [
        {"category": f"HARM_CATEGORY_{c}", "probability": "NEGLIGIBLE"}
        for c in ("SEXUALLY_EXPLICIT", "HATE_SPEECH", "HARASSMENT", "DANGEROUS_CONTENT")
    ]
    blocks = []
    for i in range(n_events):
        words = rng.choices(_WORDS + extra, k=rng.randint(4, 30))
        chunk = {
            "candidates": [
                {
                    "content": {"parts": [{"text": " ".join(words)}], "role": "model"},
                    "finishReason": "STOP" if i == n_events - 1 else None,
                    "index": 0,
                    "safetyRatings": ratings,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 12,
                "candidatesTokenCount": i + 1,
                "totalTokenCount": i + 13,
            },
            "modelVersion": "gemini-2.0-flash",
        }
        blocks.append(f"data: {json.dumps(chunk, ensure_ascii=False)}\r\n\r\n")
    return "".join(blocks).encode("utf-8")


def mcp_corpus(n_records: int = 100_000, *, seed: int = 0) -> bytes:
    """An MCP server's stream with CRLF line ends, mostly keep-alives: 40 % ``: ping``
    comments, 30 % ``event: ping`` blocks with ``{}`` data, 30 % JSON-RPC
    ``event: message`` blocks with an ``id``."""
    if n_records < 1:
        raise ValueError(f"n_records must be at least 1, got {n_records!r}")
    rng = random.Random(seed)
    blocks = []
    for i in range(n_records):
        r = rng.random()
        if r < 0.4:
            blocks.append(": ping\r\n\r\n")
        elif r < 0.7:
            blocks.append("event: ping\r\ndata: {}\r\n\r\n")
        else:
            result = {
                "jsonrpc": "2.0",
                "id": i,
                "result": {
                    "content": [
                        {"type": "text", "text": " ".join(rng.choices(_WORDS, k=8))}
                    ]
                },
            }
            blocks.append(
                f"event: message\r\nid: {i}\r\ndata: {json.dumps(result)}\r\n\r\n"
            )
    return "".join(blocks).encode("utf-8")


def switching_corpus(n_records: int = 100_000, *, seed: int = 0) -> bytes:
    """The mixed corpus (LF) with each block's line ends redrawn: LF or CRLF, one
    block to the next."""
    rng = random.Random(seed + 1)
    text = mixed_corpus(n_records, crlf_share=0.0, seed=seed)
    out = []
    for block in text.split(b"\n\n"):
        if rng.random() < 0.5:
            block = block.replace(b"\n", b"\r\n")
            out.append(block + b"\r\n\r\n")
        else:
            out.append(block + b"\n\n")
    return b"".join(out)


def cr_corpus(n_records: int = 100_000, *, seed: int = 0) -> bytes:
    """The mixed corpus with CR line ends only (old Mac style; the standard allows
    it)."""
    return mixed_corpus(n_records, crlf_share=0.0, seed=seed).replace(b"\n", b"\r")


def retry_flood(size: int = 16 << 20) -> bytes:
    """``retry: 1`` lines and no blank line: every line a retry record."""
    return b"retry: 1\n" * (size // 9) + b"\n"


def comment_flood(size: int = 16 << 20) -> bytes:
    """``: ping`` lines and no blank line: every line a comment record."""
    return b": ping\r\n" * (size // 8) + b"\r\n"


def tiny_corpus(n_events: int = 1_000_000) -> bytes:
    """``data: N`` events of a few bytes each."""
    return b"".join(b"data: %d\n\n" % (i % 100) for i in range(n_events))


_REPO = Path(__file__).resolve().parents[1]
#: The folder of recorded streams that ``real_corpora`` reads by default (the
#: shared folder next to the checkout, or one level further up).
REAL = next(
    (
        p
        for p in (
            _REPO.parent / "shared" / "data-real",
            _REPO.parents[1] / "shared" / "data-real",
        )
        if p.is_dir()
    ),
    _REPO.parent / "shared" / "data-real",
)


def real_corpora(
    folder: Path | None = None, *, size: int = 8 << 20
) -> dict[str, Callable[[], bytes]]:
    """``real:<name>`` -> each ``*.sse`` stream of ``folder`` repeated to about
    ``size`` bytes (a copy that ends inside a block gets a blank line, in the
    stream's own line ends, so that copies do not run together); empty when the
    folder is absent."""
    folder = REAL if folder is None else folder
    if not folder.is_dir():
        return {}

    def load(path: Path) -> bytes:
        body = path.read_bytes()
        nl = b"\r\n" if b"\r\n" in body else b"\n"
        if not body.endswith(nl + nl):
            body += nl if body.endswith(nl) else nl + nl
        return body * max(1, size // len(body))

    return {
        f"real:{p.stem}": functools.partial(load, p)
        for p in sorted(folder.glob("*.sse"))
    }


def chunked(data: bytes, size: int = READ_SIZE) -> list[bytes]:
    """``data`` cut into reads of ``size`` bytes (the last one shorter)."""
    if size < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return [data[i : i + size] for i in range(0, len(data), size)]


#: The benchmark corpora at their default sizes, by name.
CORPORA: dict[str, Callable[[], bytes]] = {
    "chat": chat_corpus,
    "chat-crlf": lambda: chat_corpus().replace(b"\n", b"\r\n"),
    "gemini-crlf": gemini_corpus,
    "mixed-lf": lambda: mixed_corpus(crlf_share=0.0),
    "mixed": mixed_corpus,
    "mixed-crlf": lambda: mixed_corpus(crlf_share=1.0),
    "switching": switching_corpus,
    "cr-only": cr_corpus,
    "mcp-crlf": mcp_corpus,
    "retry-flood": retry_flood,
    "comment-flood": comment_flood,
    "tiny": tiny_corpus,
    "payload-64k": payload_corpus,
    **real_corpora(),
}
