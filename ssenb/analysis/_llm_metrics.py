"""Latency of LLM requests, computed the way the benchmark tools compute it.

Rules:

- One request is one connection of one stream. Times are stream seconds; a request
  starts when it was sent (the connection's start) or, for a bare events frame, at
  its first record (then ``start_from`` says ``"first record"``).
- An *output chunk* is an event that carries text, reasoning, a refusal or a tool
  call fragment of any choice; an *answer chunk* carries text, a refusal or a tool
  call (not reasoning). End-to-end latency ends at the request's last record.
- The definitions (``DEFINITIONS``) differ only where the tools differ; each is
  written in :data:`DEFINITION_NOTES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__: list[str] = []

DEFINITIONS = ("vllm", "llmperf", "genai-perf")

DEFINITION_NOTES = {
    "vllm": (
        "vllm (benchmark_serving): TTFT to the first output chunk, reasoning "
        "included; ITL = the gaps between consecutive output chunks after the first "
        "(percentiles pool every gap of every request); TPOT = (E2E - TTFT) / "
        "(output tokens - 1); tokens/s = output tokens / E2E."
    ),
    "llmperf": (
        "llmperf: TTFT to the first chunk with answer text (delta.content; reasoning "
        "does not count); ITL = (last answer chunk - request start) / output tokens, "
        "so TTFT is inside it; llmperf has no separate TPOT, so TPOT = its ITL; "
        "tokens/s = output tokens / E2E."
    ),
    "genai-perf": (
        "genai-perf: TTFT to the first non-empty response (text or reasoning); "
        "ITL = TPOT = (E2E - TTFT) / (output tokens - 1); tokens/s = output tokens "
        "/ E2E."
    ),
}

METRICS = ("ttft", "ttfat", "itl", "tpot", "e2e", "tokens_per_s", "output_tokens")

REQUEST_COLS = [
    "stream",
    "connection",
    "definition",
    "ttft",
    "ttfat",
    "itl",
    "tpot",
    "e2e",
    "output_tokens",
    "tokens_source",
    "tokens_per_s",
    "chunks",
    "choices",
    "start_from",
    "setup_scaled",
]

Tokenizer = Callable[[str], Any]
_TIKTOKEN: list[Any] = []


def _tiktoken() -> Tokenizer | None:
    """tiktoken's cl100k_base encoder when tiktoken is importable and its encoding
    is available (it may need a download: any failure means no tokenizer)."""
    if not _TIKTOKEN:
        try:
            # optional, never a dependency: used when the user has it installed
            tiktoken = importlib.import_module("tiktoken")
            _TIKTOKEN.append(tiktoken.get_encoding("cl100k_base").encode)
        except Exception:
            _TIKTOKEN.append(None)
    return _TIKTOKEN[0]  # type: ignore[no-any-return]


def token_counter(tokenizer: Any) -> tuple[Callable[[str], int] | None, str]:
    """(count, label) for ``tokenizer``: ``None`` tries tiktoken, ``False`` uses
    none, a callable returns a count or a sequence of tokens for a text."""
    if tokenizer is False:
        return None, ""
    if tokenizer is None:
        enc = _tiktoken()
        if enc is None:
            return None, ""
        return (lambda s: len(enc(s))), "tokenizer (tiktoken cl100k_base)"
    if not callable(tokenizer):
        raise TypeError(
            "tokenizer must be a callable text -> tokens (or a count), None to use "
            f"tiktoken when installed, or False; got {type(tokenizer).__name__}"
        )

    def count(text: str) -> int:
        got = tokenizer(text)
        return int(got) if isinstance(got, int | np.integer) else len(got)

    name = getattr(tokenizer, "__name__", type(tokenizer).__name__)
    return count, f"tokenizer ({name})"


def estimate_tokens(chars: int) -> int:
    """About four characters per token: what is known without a tokenizer."""
    return int(np.ceil(chars / 4)) if chars > 0 else 0


def request_metrics(
    pieces: pd.DataFrame,
    texts: pd.Series,
    starts: pd.Series,
    ends: pd.Series,
    *,
    definition: str,
    tokenizer: Any,
    start_from: str,
    setup_scaled: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(requests, gaps): one row per request with the metrics of ``definition``,
    and the gaps between consecutive output chunks (stream, connection, t, gap).

    ``pieces`` has stream, connection, choice, seq, t, what, value; ``texts`` (what
    each request output: text, reasoning, refusals, tool arguments), ``starts`` and
    ``ends`` are indexed by (stream, connection)."""
    if definition not in DEFINITIONS:
        raise ValueError(
            f"definition must be one of {list(DEFINITIONS)}, got {definition!r}"
        )
    count, label = token_counter(tokenizer)
    keys = ["stream", "connection"]
    what = pieces["what"]
    # pieces come in arrival (seq) order within each request
    out = pieces.loc[
        what.isin(["text", "reasoning", "refusal", "tool", "replace"]),
        [*keys, "seq", "t"],
    ]
    out = out[~out.duplicated([*keys, "seq"])].copy()
    out["gap"] = out.groupby(keys, sort=False)["t"].diff()
    gaps = out.dropna(subset=["gap"])[[*keys, "t", "gap"]].reset_index(drop=True)
    idx = pd.MultiIndex.from_frame(
        pieces[keys].drop_duplicates().sort_values(keys, kind="stable")
    )
    answer = pieces.loc[what.isin(["text", "refusal", "tool", "replace"])]
    text = pieces.loc[what == "text"]
    usage = pieces.loc[what == "usage"]

    def per(frame: pd.DataFrame, col: str, how: str) -> np.ndarray:
        got = frame.groupby(keys)[col].agg(how) if len(frame) else pd.Series()
        return got.reindex(idx).to_numpy(dtype=float)

    start = starts.reindex(idx).to_numpy(dtype=float)
    end = ends.reindex(idx).to_numpy(dtype=float)
    first_out = per(out, "t", "min")
    first_answer = per(answer, "t", "min")
    first_text, last_text = per(text, "t", "min"), per(text, "t", "max")
    used = per(usage, "value", "last")
    body = texts.reindex(idx).fillna("").astype(str)
    if count is not None:
        counted = np.array([count(t) for t in body], dtype=float)
        fallback = label
    else:
        counted = np.array([estimate_tokens(len(t)) for t in body], dtype=float)
        fallback = "estimate (characters / 4)"
    tokens = np.where(np.isnan(used), counted, used)
    source = np.where(np.isnan(used), fallback, "usage")
    e2e = end - start
    with np.errstate(divide="ignore", invalid="ignore"):
        decode = np.where(
            tokens > 1, (e2e - (first_out - start)) / (tokens - 1), np.nan
        )
        if definition == "llmperf":
            ttft = first_text - start
            itl = np.where(tokens > 0, (last_text - start) / tokens, np.nan)
            tpot = itl
        else:
            ttft = first_out - start
            tpot = decode
            itl = per(gaps, "gap", "mean") if definition == "vllm" else decode
        rate = np.where(e2e > 0, tokens / e2e, np.nan)
    choices = (
        pieces[pieces["choice"].notna()].groupby(keys)["choice"].nunique()
        if pieces["choice"].notna().any()
        else pd.Series(dtype="int64")
    )
    requests = pd.DataFrame(
        {
            "stream": np.asarray(idx.get_level_values(0), dtype=object),
            "connection": idx.get_level_values(1),
            "definition": definition,
            "ttft": ttft,
            "ttfat": first_answer - start,
            "itl": itl,
            "tpot": tpot,
            "e2e": e2e,
            "output_tokens": tokens.astype("int64"),
            "tokens_source": source,
            "tokens_per_s": rate,
            "chunks": out.groupby(keys).size().reindex(idx).fillna(0).to_numpy("int64"),
            "choices": choices.reindex(idx).fillna(0).to_numpy("int64"),
            "start_from": start_from,
            "setup_scaled": setup_scaled,
        }
    )[REQUEST_COLS]
    return requests, gaps


def percentiles(
    requests: pd.DataFrame, gaps: pd.DataFrame, definition: str
) -> pd.DataFrame:
    """p50/p90/p99 (and count, mean, min, max) of every metric over the requests;
    vllm's ITL pools every gap, as vllm does."""
    rows = []
    for metric in METRICS:
        if metric == "itl" and definition == "vllm":
            values: Sequence[float] = gaps["gap"].to_numpy(dtype=float)
            over = "gaps"
        else:
            values = requests[metric].to_numpy(dtype=float)
            over = "requests"
        v = np.asarray(values, dtype=float)
        v = v[~np.isnan(v)]
        if len(v):
            p50, p90, p99 = np.percentile(v, [50, 90, 99])
            rows.append(
                (metric, over, len(v), v.mean(), p50, p90, p99, v.min(), v.max())
            )
        else:
            rows.append((metric, over, 0, *([np.nan] * 6)))
    return pd.DataFrame(
        rows, columns=["metric", "over", "n", "mean", "p50", "p90", "p99", "min", "max"]
    )
