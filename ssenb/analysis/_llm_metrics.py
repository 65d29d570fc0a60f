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

    ``pieces`` has stream, connection, choice, seq, t, what, value; ``starts`` and
    ``ends`` are indexed by (stream, connection)."""
    if definition not in DEFINITIONS:
        raise ValueError(
            f"definition must be one of {list(DEFINITIONS)}, got {definition!r}"
        )
    count, label = token_counter(tokenizer)
    keys = ["stream", "connection"]
    out_kinds = ["text", "reasoning", "refusal", "tool", "replace"]
    answer_kinds = ["text", "refusal", "tool", "replace"]
    rows = []
    gaps = []
    for (stream, conn), grp in pieces.groupby(keys, sort=True):
        start = float(starts.get((stream, conn), np.nan))
        end = float(ends.get((stream, conn), np.nan))
        out = grp[grp["what"].isin(out_kinds)]
        out_t = np.sort(out.groupby("seq")["t"].first().to_numpy(dtype=float))
        ans = grp[grp["what"].isin(answer_kinds)]
        text_rows = grp[grp["what"] == "text"]
        t_first_out = out_t[0] if len(out_t) else np.nan
        t_first_ans = ans["t"].min() if len(ans) else np.nan
        t_first_text = text_rows["t"].min() if len(text_rows) else np.nan
        usage = grp[grp["what"] == "usage"]
        texts = [
            v if isinstance(v, str) else (v.get("arguments") or "")
            for v in grp.loc[grp["what"].isin(out_kinds), "value"]
            if isinstance(v, str | dict)
        ]
        chars = sum(len(t) for t in texts)
        if len(usage):
            tokens, source = int(usage["value"].iloc[-1]), "usage"
        elif count is not None:
            tokens, source = count("".join(texts)), label
        else:
            tokens, source = estimate_tokens(chars), "estimate (characters / 4)"
        e2e = end - start
        if definition == "llmperf":
            ttft = t_first_text - start
            last_text = text_rows["t"].max() if len(text_rows) else np.nan
            itl = (last_text - start) / tokens if tokens else np.nan
            tpot = itl
        else:
            ttft = t_first_out - start
            per = (e2e - ttft) / (tokens - 1) if tokens > 1 else np.nan
            d = np.diff(out_t)
            if definition == "vllm":
                itl = float(d.mean()) if len(d) else np.nan
            else:
                itl = per
            tpot = per
        gaps += [
            (stream, conn, t, g) for t, g in zip(out_t[1:], np.diff(out_t), strict=True)
        ]
        rows.append(
            (
                stream,
                conn,
                definition,
                ttft,
                t_first_ans - start,
                itl,
                tpot,
                e2e,
                tokens,
                source,
                tokens / e2e if e2e > 0 else np.nan,
                int(out["seq"].nunique()),
                int(grp["choice"].dropna().nunique()),
                start_from,
                setup_scaled,
            )
        )
    requests = pd.DataFrame(rows, columns=REQUEST_COLS)
    for col in ("ttft", "ttfat", "itl", "tpot", "e2e", "tokens_per_s"):
        requests[col] = requests[col].astype("float64")
    return requests, pd.DataFrame(gaps, columns=["stream", "connection", "t", "gap"])


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
