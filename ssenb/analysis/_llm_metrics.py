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
    # one request number per piece, in the sorted order of the requests: every
    # grouping below is by this integer
    rid = pieces.groupby(keys, sort=True).ngroup().to_numpy()
    groups = int(rid.max(initial=-1)) + 1
    first_rows = np.unique(rid, return_index=True)[1]
    idx = pd.MultiIndex.from_frame(pieces[keys].iloc[first_rows[rid[first_rows] >= 0]])
    # pieces come in arrival (seq) order within each request
    is_out = what.isin(["text", "reasoning", "refusal", "tool", "replace"]).to_numpy()
    pos = np.flatnonzero(is_out)
    seq = pieces["seq"].to_numpy()
    order = np.lexsort((seq[pos], rid[pos]))  # stable: the first of equals first
    repeat = np.zeros(len(pos), dtype=bool)
    same = (rid[pos][order][1:] == rid[pos][order][:-1]) & (
        seq[pos][order][1:] == seq[pos][order][:-1]
    )
    repeat[order[1:][same]] = True
    pos = pos[~repeat]
    out = pieces[[*keys, "seq", "t"]].iloc[pos].copy()
    out_rid = rid[pos]
    # (a piece with no request, rid -1, has no gap: NaN keys form no group)
    by = np.where(out_rid >= 0, out_rid, np.nan)
    out["gap"] = out["t"].groupby(by, sort=False).diff().to_numpy()
    gaps = out.dropna(subset=["gap"])[[*keys, "t", "gap"]].reset_index(drop=True)
    t_all = pieces["t"]
    answer = what.isin(["text", "refusal", "tool", "replace"]).to_numpy()
    text = (what == "text").to_numpy(dtype=bool, na_value=False)
    usage = (what == "usage").to_numpy(dtype=bool, na_value=False)

    def per(values: pd.Series, mask: np.ndarray, how: str) -> np.ndarray:
        """``values`` aggregated per request over the rows of ``mask``."""
        return per_group(values[mask], rid[mask], groups, how)

    start = starts.reindex(idx).to_numpy(dtype=float)
    end = ends.reindex(idx).to_numpy(dtype=float)
    first_out = per_group(out["t"], out_rid, groups, "min")
    first_answer = per(t_all, answer, "min")
    first_text, last_text = per(t_all, text, "min"), per(t_all, text, "max")
    used = per(pieces["value"], usage, "last")
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
            itl = (
                per_group(
                    out["gap"].dropna(),
                    out_rid[out["gap"].notna().to_numpy()],
                    groups,
                    "mean",
                )
                if definition == "vllm"
                else decode
            )
        rate = np.where(e2e > 0, tokens / e2e, np.nan)
    has_choice = pieces["choice"].notna().to_numpy()
    choices = (
        pd.Series(pieces["choice"].to_numpy()[has_choice])
        .groupby(rid[has_choice])
        .nunique()
        if has_choice.any()
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
            "chunks": np.bincount(out_rid[out_rid >= 0], minlength=groups).astype(
                "int64"
            ),
            "choices": choices.reindex(np.arange(groups)).fillna(0).to_numpy("int64"),
            "start_from": start_from,
            "setup_scaled": setup_scaled,
        }
    )[REQUEST_COLS]
    return requests, gaps


def per_group(values: pd.Series, ids: np.ndarray, groups: int, how: str) -> np.ndarray:
    """``values`` aggregated per group number ``ids`` (one per row; -1: none), as
    an array of ``groups`` floats (NaN for a group with no row)."""
    keep = ids >= 0
    if not keep.any():
        return np.full(groups, np.nan)
    got = pd.Series(values.to_numpy()[keep]).groupby(ids[keep]).agg(how)
    return got.reindex(np.arange(groups)).to_numpy(dtype=float)


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
