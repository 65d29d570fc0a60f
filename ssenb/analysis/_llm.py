"""LLM token streams: every choice rebuilt (text, reasoning, refusal, tool calls,
finish reason, error) and the latency of every request, for the token-stream
dialects (OpenAI chat completions and every OpenAI-compatible server, OpenAI/Bedrock
Responses, Anthropic Messages, Gemini, ChatGPT).

Rules: the vendor shapes live in ``_llm_shapes`` (one reader per format), the metric
definitions in ``_llm_metrics``; this module reads rows into pieces and assembles
them. A request is one connection of one stream; a message is one choice of a
request.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import _envelope as envelope
from ..patterns import _vendor
from ..value import CaptureLike
from . import _text as text
from ._input import prepare
from ._llm_metrics import (
    DEFINITION_NOTES,
    DEFINITIONS,
    REQUEST_COLS,
    per_group,
    percentiles,
    request_metrics,
)
from ._llm_shapes import READERS, WHOLE, Reader, chat
from ._result import Result

__all__ = ["llm"]

MSG_COLS = [
    "stream",
    "connection",
    "choice",
    "dialect",
    "vendor",
    "ttft",
    "ttfat",
    "chunks",
    "duration",
    "chunks_per_s",
    "chars",
    "finish_reason",
    "error",
    "refusal",
    "text",
    "reasoning",
    "redacted_reasoning",
    "tool_calls",
]
TOK_COLS = ["stream", "connection", "choice", "seq", "t", "text"]
TOOL_COLS = [
    "stream",
    "connection",
    "choice",
    "key",
    "id",
    "name",
    "arguments",
    "valid_json",
]
PCT_COLS = ["metric", "over", "n", "mean", "p50", "p90", "p99", "min", "max"]


def _loads(text: Any) -> Any:
    if not isinstance(text, str) or not text or text[0] not in '{["':
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def llm(
    capture: CaptureLike,
    *,
    dialect: str | None = None,
    definition: str = "vllm",
    tokenizer: Any = None,
) -> Result:
    """What an LLM token stream said, choice by choice, and how fast each request
    was, with the latency metrics of a named benchmark tool.

    Why: an answer is spread over hundreds of deltas in a vendor's own shape, and
    "time to first token" means different things in different tools; this rebuilds
    every choice exactly and says which definition each figure follows.

    Args:
        capture: a Capture (one stream per request from ``capture_many`` works) or an
            events frame.
        dialect: force a dialect (``"openai"``, ``"openai-compatible"``,
            ``"anthropic"``, ...); detected when ``None``.
        definition: how latency is computed, as the tool of that name does:

            - ``"vllm"`` (vLLM's benchmark_serving): TTFT to the first output chunk
              (reasoning counts); ITL = the gaps between consecutive output chunks,
              pooled over requests for the percentiles; TPOT = (E2E - TTFT) /
              (output tokens - 1).
            - ``"llmperf"`` (Ray's LLMPerf): TTFT to the first chunk with answer text
              (reasoning does not count); ITL = (last answer chunk - start) / output
              tokens, TTFT included; TPOT = that ITL (LLMPerf has no other).
            - ``"genai-perf"`` (NVIDIA GenAI-Perf): TTFT to the first non-empty
              response; ITL = TPOT = (E2E - TTFT) / (output tokens - 1), averaged per
              request rather than pooled.

            In all three, E2E runs from the request to its last record and output
            tokens/s = output tokens / E2E; TTFAT (time to first answer token, after
            any reasoning) is the same in all.
        tokenizer: counts output tokens when the stream has no usage block: a
            callable text -> tokens (or a count); ``None`` uses tiktoken's
            cl100k_base when tiktoken is installed; ``False`` never tokenizes. Without
            one, tokens are estimated (characters / 4) and ``tokens_source`` says so.

    Raises:
        ValueError: an unknown ``definition``. TypeError: a bad ``tokenizer``.

    Tables:
        messages: one row per (stream, connection, choice): dialect, vendor, ttft and
            ttfat of that choice, chunks, duration, chunks_per_s, chars,
            finish_reason, error, refusal, text, reasoning, redacted_reasoning (how
            many redacted thinking blocks), tool_calls (how many).
        requests: one row per request with ttft, ttfat, itl, tpot, e2e,
            output_tokens, tokens_source, tokens_per_s, chunks, choices, start_from
            and setup_scaled (a time-compressed capture scaled the real connection
            setup inside ttft, ttfat and e2e).
        percentiles: metric, over (requests or gaps), n, mean, p50, p90, p99, min,
            max, for every metric.
        tokens: one row per text delta (stream, connection, choice, seq, t, text).
        tool_calls: stream, connection, choice, key, id, name, arguments, valid_json.
        gaps: stream, connection, t, gap: the time between consecutive output chunks
            of each request (what vllm's ITL percentiles pool).

    Example:
        >>> r = ssenb.analysis.llm(cap, definition="llmperf")  # doctest: +SKIP
        >>> r.percentiles.set_index("metric").loc["ttft", "p99"]  # doctest: +SKIP
    """
    if definition not in DEFINITIONS:
        raise ValueError(
            f"definition must be one of {list(DEFINITIONS)}, got {definition!r}"
        )
    prep = prepare(capture)
    found = None if dialect else prep.dialect()
    name = dialect or (found.name if found is not None else "unknown")
    vendor = found.vendor if found is not None else None
    reader = READERS.get(name)
    if found is None and reader is chat:
        ev = prep.events
        is_event = (ev["kind"] == "event").to_numpy(dtype=bool, na_value=False)
        first = ev.iloc[np.flatnonzero(is_event)[:50]]
        vendor = _vendor(first) or (name if name in ("groq", "openrouter") else None)
    empty_tables = {
        "messages": pd.DataFrame(columns=MSG_COLS),
        "requests": pd.DataFrame(columns=REQUEST_COLS),
        "percentiles": pd.DataFrame(columns=PCT_COLS),
        "tokens": pd.DataFrame(columns=TOK_COLS),
        "tool_calls": pd.DataFrame(columns=TOOL_COLS),
        "gaps": pd.DataFrame(columns=["stream", "connection", "t", "gap"]),
    }
    facts: dict[str, Any] = {
        "dialect": name,
        "vendor": vendor,
        "definition": definition,
        "text": "",
        "requests": 0,
    }
    if reader is None:
        return Result(
            "LLM stream",
            summary=[f"Not a token stream this module knows (dialect: {name})."],
            tables=empty_tables,
            facts=facts,
            notes=[prep.scale_note],
        )
    ev = prep.events
    rows = np.array(
        (ev["kind"] == "event").to_numpy(dtype=bool, na_value=False)
        & (ev["family"] != "keepalive").to_numpy(dtype=bool, na_value=False)
    )
    # the JSON rows: read on the whole column (per row, so the same as on the
    # selected rows, without copying them out first)
    data = ev["data"]
    rows &= text.starts(data, "{") | text.starts(data, "[") | text.starts(data, '"')
    taken = np.flatnonzero(rows)
    events = ev[["stream", "connection", "seq", "t", "type", "data"]].iloc[taken]
    which = prep.envelopes.per_row(len(ev))[taken]
    pieces = _pieces(events, reader, which, prep.envelopes.envelopes)
    if vendor == "tgi":
        # TGI returns one choice; its early releases put a token counter in "index"
        pieces.loc[pieces["choice"].notna(), "choice"] = 0
    if not len(pieces):
        return Result(
            f"LLM stream ({name})",
            summary=[f"Dialect {name}, but no token chunks were found."],
            tables=empty_tables,
            facts=facts,
            notes=[prep.scale_note],
        )
    keys = ["stream", "connection"]
    if prep.inferred:
        starts = ev.groupby(keys)["t"].min()
        start_from = "first record"
    else:
        starts = prep.connections.set_index(keys)["start_s"]
        start_from = "request"
    ends = ev.groupby(keys)["t"].max()
    setup_scaled = bool(prep.compressed and not prep.inferred)
    messages, tools = _assemble(pieces, starts, name, vendor)
    requests, gaps = request_metrics(
        pieces,
        _outputs(messages, tools),
        starts,
        ends,
        definition=definition,
        tokenizer=tokenizer,
        start_from=start_from,
        setup_scaled=setup_scaled,
    )
    pct = percentiles(requests, gaps, definition)
    text_rows = pieces[pieces["what"] == "text"]
    tokens = (
        text_rows[TOK_COLS[:-1] + ["value"]]
        .rename(columns={"value": "text"})
        .reset_index(drop=True)
    )
    # a text piece always has its choice: one integer dtype, however the pieces
    # were read (the fast and general paths mix ints with missing values elsewhere)
    choice = pd.to_numeric(tokens["choice"], errors="coerce")
    if not choice.isna().any():
        tokens["choice"] = choice.astype("int64")
    summary = _summary(messages, requests, pct, tools, definition)
    facts.update(
        text="".join(messages.loc[messages["choice"] == 0, "text"]),
        requests=len(requests),
    )
    notes = [prep.scale_note, prep.latency_note if setup_scaled else ""]
    if prep.inferred:
        notes.append(
            "No connections table: each request is timed from its first record, "
            "not from when it was sent."
        )
    notes.append(DEFINITION_NOTES[definition])
    sources = sorted(set(requests["tokens_source"]))
    if any(s.startswith("estimate") for s in sources):
        notes.append(
            "Output tokens are estimated (characters / 4): the stream has no usage "
            "block and no tokenizer is installed; pass tokenizer=... for counts."
        )
    return Result(
        f"LLM stream ({name}{', ' + vendor if vendor and vendor != name else ''})",
        summary=summary,
        tables={
            "messages": messages,
            "requests": requests,
            "percentiles": pct,
            "tokens": tokens,
            "tool_calls": tools,
            "gaps": gaps,
        },
        facts=facts,
        notes=notes,
    )


def _outputs(messages: pd.DataFrame, tools: pd.DataFrame) -> pd.Series:
    """What each request output, as one text per (stream, connection): every
    choice's text, reasoning and refusal, and its tool calls' arguments."""
    keys = ["stream", "connection"]
    parts = messages[keys].copy()
    parts["body"] = (
        messages["text"] + messages["reasoning"] + messages["refusal"].fillna("")
    )
    if len(tools):
        parts = pd.concat(
            [parts, tools[keys].assign(body=tools["arguments"].fillna(""))],
            ignore_index=True,
        )
    return parts.groupby(keys)["body"].agg("".join)


def _summary(
    messages: pd.DataFrame,
    requests: pd.DataFrame,
    pct: pd.DataFrame,
    tools: pd.DataFrame,
    definition: str,
) -> list[str]:
    out: list[str] = []
    if len(requests) > 5:
        p = pct.set_index("metric")
        out.append(
            f"{len(requests)} requests, {len(messages)} messages; latency as "
            f"{definition} defines it (p50 / p90 / p99):"
        )
        for metric, label, unit in (
            ("ttft", "time to first token", "s"),
            ("ttfat", "time to first answer token", "s"),
            ("itl", "inter-token latency", "s"),
            ("tpot", "time per output token", "s"),
            ("e2e", "end-to-end latency", "s"),
            ("tokens_per_s", "output tokens/s", ""),
        ):
            if p.loc[metric, "n"]:
                out.append(
                    f"{label}: {p.loc[metric, 'p50']:.3f} / {p.loc[metric, 'p90']:.3f}"
                    f" / {p.loc[metric, 'p99']:.3f}{' ' + unit if unit else ''}."
                )
        errors = messages["error"].notna().sum()
        if errors:
            out.append(f"{errors} message(s) ended with an error.")
    else:
        for row in messages.itertuples(index=False):
            where = f"connection {row.connection}" + (
                f" of {row.stream}" if row.stream else ""
            )
            if row.choice:
                where += f", choice {row.choice}"
            line = f"{where}: {row.chunks} chunks, {row.chars} characters"
            if row.reasoning:
                line += f" (+{len(row.reasoning)} of reasoning)"
            if row.ttft == row.ttft:
                line += f", first token after {row.ttft:.3f} s"
            if row.chunks_per_s == row.chunks_per_s:
                line += f", {row.chunks_per_s:.1f} chunks/s"
            if isinstance(row.finish_reason, str):
                line += f", finished: {row.finish_reason}"
            if isinstance(row.refusal, str) and row.refusal:
                line += f", refused: {row.refusal[:80]}"
            if isinstance(row.error, str):
                line += f", error: {row.error}"
            out.append(line + ".")
        for req in requests.itertuples(index=False):
            if req.ttft != req.ttft and req.e2e != req.e2e:
                continue
            where = f"connection {req.connection}" + (
                f" of {req.stream}" if req.stream else ""
            )
            figures = [
                f"{name} {value:.3f} s"
                for name, value in (
                    ("TTFT", req.ttft),
                    ("TTFAT", req.ttfat),
                    ("ITL", req.itl),
                    ("TPOT", req.tpot),
                    ("E2E", req.e2e),
                )
                if value == value
            ]
            if req.tokens_per_s == req.tokens_per_s:
                figures.append(f"{req.tokens_per_s:.1f} tokens/s")
            source = "" if req.tokens_source == "usage" else f", {req.tokens_source}"
            out.append(
                f"{where}, latency as {definition} defines it: {', '.join(figures)} "
                f"({req.output_tokens} output tokens{source})."
            )
        out = out[:20]
    if len(tools):
        out.append(f"{len(tools)} tool call(s) assembled.")
    if not out:
        out.append(f"{len(requests)} request(s), but no choice carried any content.")
    return out


_PIECE_COLS = ["stream", "connection", "choice", "seq", "t", "what", "key", "value"]
_WS = r"[ \t\r\n]*"
# rows the fast path leaves to the general one: anything but one choice 0 with plain
# string content (tool calls, errors, reasoning, refusals, typed content parts,
# usage blocks, legacy text, another choice index, logprobs)
_COMPLEX = "|".join(
    [
        r'"tool_calls"',
        r'"function_call"',
        r'"error"',
        r'"reasoning',
        rf'"refusal"{_WS}:{_WS}"',
        rf'"content"{_WS}:{_WS}\[',
        rf'"usage"{_WS}:{_WS}\{{',
        rf'"text"{_WS}:',
        rf'"index"{_WS}:{_WS}[1-9]',
        rf'"logprobs"{_WS}:{_WS}\{{',
        rf'"message"{_WS}:',
        rf'"x_groq"{_WS}:{_WS}\{{[^}}]*"usage"',
    ]
)
# a second choice object: its own pass, as its first byte is rare and RE2 skips fast
_COMPLEX_NEXT = rf"\}}{_WS},{_WS}\{{{_WS}\"index\""


_CHOICES = r'"choices"' + _WS + ":" + _WS + r"\[" + _WS + "{"
_CHAT_KEYS = r'"(?:error|choices|usage|x_groq)"|\\u'


def _pieces(
    events: pd.DataFrame,
    reader: Reader,
    which: np.ndarray,
    envelopes: list[envelope.Envelope],
) -> pd.DataFrame:
    """One row per piece (see ``_llm_shapes``) of every event, in arrival order.
    ``which`` is the envelope (in ``envelopes``) each row repeats, -1 for none."""
    parts: list[pd.DataFrame] = []
    slow = events
    if reader is chat and len(events):
        # the bulk of a chat stream is simple chunks: those that repeat an envelope
        # classify found, when it is a simple chunk's, are read without a pass over
        # their bytes; the rest with Arrow regex passes; everything else takes the
        # general path
        at, content, fin = _enveloped(events, which, envelopes)
        rest = np.ones(len(events), dtype=bool)
        rest[at] = False
        left = np.flatnonzero(rest)
        # each pass reads the whole column when most rows are left: the rows ruled
        # out are few and short, and reading them costs less than copying out the
        # rest; a few rows left are copied out first
        whole = 2 * len(left) > len(events)
        sub = events if whole else events.iloc[left]
        d = sub["data"]
        fast = rest.copy() if whole else np.ones(len(sub), dtype=bool)
        fast &= text.starts(d, "{")
        fast &= text.matches(d, _CHOICES)
        fast &= ~text.matches(d, _COMPLEX, missing=True)
        fast &= ~text.matches(d, _COMPLEX_NEXT, missing=True)
        found, found_content, found_fin = _chat_fast(sub, fast)
        if not whole:
            found = left[found]
        rows = np.concatenate((at, found))
        order = np.argsort(rows, kind="stable")
        parts.append(
            _chat_pieces(
                events,
                rows[order],
                np.concatenate((content, found_content))[order],
                np.concatenate((fin, found_fin))[order],
            )
        )
        slow_rows = np.flatnonzero(rest)
        slow_rows = slow_rows[~fast[slow_rows]] if whole else left[~fast]
        slow = events.iloc[slow_rows]
        # chat reads only the keys "error", "choices", "usage" and "x_groq": a row
        # that names none of them (not even through a \u escape) has no piece
        slow = slow[text.matches(slow["data"], _CHAT_KEYS)]
    rows: list[tuple[Any, ...]] = []
    for stream, conn, seq, t, ty, data in zip(
        slow["stream"].tolist(),
        slow["connection"].tolist(),
        slow["seq"].tolist(),
        slow["t"].tolist(),
        [str(x) for x in slow["type"].tolist()],
        slow["data"].tolist(),
        strict=True,
    ):
        obj = _loads(data)
        if obj is None:
            continue
        got = list(reader(ty, obj))
        # "seen" only counts a chunk whose choice has no other piece in it
        full = {c for w, c, _, _ in got if w != "seen"}
        for what, choice, key, value in got:
            if what == "seen" and choice in full:
                continue
            if isinstance(key, tuple) and key and key[0] == WHOLE:
                key = f"{seq}.{key[1]}"
            rows.append((stream, conn, choice, seq, t, what, key, value))
    parts.append(pd.DataFrame(rows, columns=_PIECE_COLS))
    kept = [p for p in parts if len(p)] or parts[-1:]
    pieces = kept[0] if len(kept) == 1 else pd.concat(kept, ignore_index=True)
    # a request-wide error belongs to every message; place it on choice 0
    pieces.loc[pieces["what"].eq("error") & pieces["choice"].isna(), "choice"] = 0
    # the fast pieces come in arrival order: a stable sort of sorted rows keeps them
    seq = pieces["seq"].to_numpy()
    if len(seq) > 1 and not bool((seq[1:] >= seq[:-1]).all()):
        pieces = pieces.sort_values("seq", kind="stable")
    return pieces.reset_index(drop=True)


# the string value of a key, as the regex passes read it
_CONTENT = rf'"content"{_WS}:{_WS}"(?P<g>[^"]*)"'
_FINISH = rf'"finish_reason"{_WS}:{_WS}"(?P<g>[^"]*)"'


def _finish_reasons(d: pd.Series) -> np.ndarray:
    """The string value of ``finish_reason`` in each row (None when absent or not a
    string), with the capture pass run only on the rows
    that hold ``_reason"``, a colon and a quote: a necessary condition that RE2
    tests fast (its first byte is rare), where most chunks say ``null``."""
    out = np.full(len(d), None, dtype=object)
    maybe = np.flatnonzero(text.matches(d, rf'_reason"{_WS}:{_WS}"'))
    if len(maybe):
        out[maybe] = text.extract(d.iloc[maybe], _FINISH)
    return out


def _escaped_content(chunk: str, found: str) -> Any:
    """The delta's content of a chunk whose text holds escapes, decoded from the whole
    chunk; a chunk that is not valid JSON (cut, or a server's bug) keeps the text the
    regex found, its escapes decoded where they can be, rather than failing the
    analysis."""
    try:
        delta = json.loads(chunk)["choices"][0].get("delta") or {}
        return delta.get("content")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        try:
            return json.loads(f'"{found}"')
        except ValueError:
            return found


def _chat_fast(
    events: pd.DataFrame, fast: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, content, finish reason) of the simple chat chunks among
    ``events``, those ``fast`` marks (choice 0 only, string content, no tool call,
    reasoning, refusal, usage or error).

    The regex passes read the whole data column and keep what they found on the
    marked rows: the other rows are few and short, and taking the marked rows out
    first would copy the bulk of the column.
    """
    d = events["data"]
    rows = np.flatnonzero(fast)
    if not len(rows):
        empty = np.zeros(0, dtype=object)
        return rows, empty, empty
    mask = pa.array(fast)
    found = text.extract_arrow(d, _CONTENT).filter(mask)
    content = text.objects(found)
    fin = _finish_reasons(d)[rows]
    # text with escapes (\n, \", \u00e9) is decoded from the whole chunk
    escaped = np.flatnonzero(text.holds(found, "\\"))
    for i in escaped:
        content[i] = _escaped_content(d.iat[rows[i]], content[i])
    return rows, content, fin


def _enveloped(
    events: pd.DataFrame, which: np.ndarray, envelopes: list[envelope.Envelope]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, content, finish reason) of the rows of ``events`` whose envelope
    (``which``, an index in ``envelopes``) is a simple chat chunk's, split at its
    content: checked once per envelope, on the envelope with an empty text."""
    finish = np.full(len(envelopes) + 1, None, dtype=object)  # the last: no envelope
    usable = np.zeros(len(envelopes) + 1, dtype=bool)
    for i in np.unique(which[which >= 0]).tolist():
        env = envelopes[i]
        chunk = _envelope(env.before + env.after)
        if chunk is not None and (chunk.before, chunk.after) == (env.before, env.after):
            usable[i], finish[i] = True, chunk.tag
    at = np.flatnonzero(usable[which])
    if not len(at):
        empty = np.zeros(0, dtype=object)
        return at, empty, empty
    used = which[at]
    heads = np.array([e.head for e in envelopes], dtype=np.int64)[used]
    tails = np.array([e.tail for e in envelopes], dtype=np.int64)[used]
    return at, envelope.cut(events["data"], at, heads, tails), finish[used]


def _envelope(row: str) -> envelope.Envelope | None:
    """The envelope of a row the regex passes would read as a simple chat chunk,
    checked with the same regexes (and as JSON), around its content and tagged with
    its finish reason: None for any other row."""
    if not (
        row.startswith("{")
        and re.search(_CHOICES, row)
        and not re.search(_COMPLEX, row)
        and not re.search(_COMPLEX_NEXT, row)
    ):
        return None
    found = re.search(_CONTENT, row)
    if found is None or "\\" in found.group("g") or not envelope.is_json_object(row):
        return None
    finish = re.search(_FINISH, row)
    return envelope.Envelope(
        row[: found.start("g")],
        row[found.end("g") :],
        tag=finish.group("g") if finish is not None else None,
    )


_WHAT = pa.array(["seen", "text", "finish"], type=pa.large_string())


def _chat_pieces(
    events: pd.DataFrame, rows: np.ndarray, content: np.ndarray, fin: np.ndarray
) -> pd.DataFrame:
    """The pieces of the simple chat chunks at ``rows`` (ascending), given their
    content and finish reason."""
    has_text = pd.notna(content) & (content != "")
    has_fin = pd.notna(fin) & (fin != "")
    # "seen" marks a chunk that carries neither (a role-only chunk): the message
    # counts it, and the chunks with text or a finish count through those pieces.
    # One frame in arrival order: per chunk its seen or text piece, then its finish
    first = np.where(has_text, 1, np.where(has_fin, 2, 0))
    second = has_text & has_fin
    per_row = 1 + second
    at = np.repeat(np.arange(len(rows)), per_row)
    second_at = np.cumsum(per_row)[second] - 1
    what = first[at]
    what[second_at] = 2
    # values stay Python objects: the pieces' value column is an object column
    value = np.full(len(at), None, dtype=object)
    value[what == 1] = content[has_text]
    value[what == 2] = fin[has_fin]
    taken = rows[at]
    # the stream column gets the type pandas gives the seen, text and finish rows
    # put one after the other (each part's own inference, then their common type)
    stream = _stream_as_concat(events["stream"], rows, what, at, has_text, has_fin)
    return pd.DataFrame(
        {
            "stream": stream,
            "connection": events["connection"].to_numpy()[taken],
            "choice": 0,
            "seq": events["seq"].to_numpy()[taken],
            "t": events["t"].to_numpy()[taken],
            "what": pd.array(
                pa.DictionaryArray.from_arrays(
                    pa.array(what.astype(np.int8)), _WHAT
                ).cast(pa.large_string()),
                dtype="str",
            ),
            "key": None,
            "value": pd.Series(value, dtype=object),
        }
    )


def _stream_as_concat(
    col: pd.Series,
    rows: np.ndarray,
    what: np.ndarray,
    at: np.ndarray,
    has_text: np.ndarray,
    has_fin: np.ndarray,
) -> pd.Series:
    """The stream of each piece, typed as pandas types the seen, text and finish
    pieces built apart and put one after the other."""
    kinds = (~has_text & ~has_fin, has_text, has_fin)
    parts = [pd.DataFrame({"stream": col.array[rows[k]]})["stream"] for k in kinds]
    offsets = np.cumsum([0] + [int(k.sum()) for k in kinds])
    rank = np.stack([np.cumsum(k) - 1 for k in kinds])
    place = offsets[what] + rank[what, at]
    return pd.concat(parts, ignore_index=True).take(place).reset_index(drop=True)


def _assemble(
    pieces: pd.DataFrame, starts: pd.Series, name: str, vendor: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The messages (one per choice) and tool calls of each request."""
    keys = ["stream", "connection", "choice"]
    mine = pieces[pieces["choice"].notna()].copy()
    mine["choice"] = mine["choice"].astype("int64")
    g = mine.groupby(keys, sort=True)
    msg = g.agg(t0=("t", "min"), t1=("t", "max"))
    # each row's message (groups are numbered in msg's order); rows are in seq order
    gid = g.ngroup().to_numpy()
    msg.insert(0, "chunks", _distinct_per_group(gid, mine["seq"].to_numpy(), len(msg)))
    text = mine[mine["what"].isin(["text", "replace"])]
    # a "replace" piece (ChatGPT's full text so far) drops what came before it
    if (text["what"] == "replace").any():
        last_rep = text[text["what"] == "replace"].groupby(keys)["seq"].max()
        cut = last_rep.reindex(pd.MultiIndex.from_frame(text[keys])).to_numpy()
        text = text[~(text["seq"].to_numpy() < np.nan_to_num(cut, nan=-1))]

    def joined(sel: pd.DataFrame) -> pd.Series:
        if not len(sel):
            return pd.Series("", index=msg.index)
        return _join_per_group(
            gid[mine.index.get_indexer(sel.index)], sel["value"], msg.index
        )

    msg["text"] = joined(text)
    msg["reasoning"] = joined(mine[mine["what"] == "reasoning"])
    msg["refusal"] = joined(mine[mine["what"] == "refusal"]).replace("", None)
    out_kinds = ["text", "replace", "tool", "reasoning", "refusal"]
    kind_of = mine["what"]
    first_of = kind_of.isin(out_kinds).to_numpy()
    msg["first"] = per_group(mine["t"][first_of], gid[first_of], len(msg), "min")
    first_of = kind_of.isin(["text", "replace", "tool", "refusal"]).to_numpy()
    msg["first_answer"] = per_group(mine["t"][first_of], gid[first_of], len(msg), "min")
    for what in ("finish", "error"):
        sel = mine[mine["what"] == what]
        msg[what] = sel.groupby(keys)["value"].last() if len(sel) else None
    red = mine[mine["what"] == "redacted"]
    msg["redacted"] = red.groupby(keys).size() if len(red) else 0
    msg["redacted"] = msg["redacted"].fillna(0).astype("int64")
    calls = mine[mine["what"] == "tool"]
    tools = _tools(calls)
    ncalls = tools.groupby(["stream", "connection", "choice"]).size()
    msg["ncalls"] = ncalls.reindex(msg.index).fillna(0).astype("int64")
    msg = msg.reset_index()
    base = starts.reindex(pd.MultiIndex.from_frame(msg[["stream", "connection"]]))
    base_t = base.to_numpy(dtype=float)
    duration = msg["t1"] - msg["t0"]
    with np.errstate(divide="ignore", invalid="ignore"):
        messages = pd.DataFrame(
            {
                "stream": msg["stream"],
                "connection": msg["connection"],
                "choice": msg["choice"],
                "dialect": name,
                "vendor": vendor,
                "ttft": msg["first"].to_numpy(dtype=float) - base_t,
                "ttfat": msg["first_answer"].to_numpy(dtype=float) - base_t,
                "chunks": msg["chunks"],
                "duration": duration,
                "chunks_per_s": np.where(
                    duration > 0, msg["chunks"] / duration, np.nan
                ),
                "chars": msg["text"].str.len(),
                "finish_reason": msg["finish"],
                "error": msg["error"],
                "refusal": msg["refusal"],
                "text": msg["text"],
                "reasoning": msg["reasoning"],
                "redacted_reasoning": msg["redacted"],
                "tool_calls": msg["ncalls"],
            }
        )[MSG_COLS]
    for col in ("finish_reason", "error", "refusal", "vendor"):
        vals = messages[col].astype(object)
        messages[col] = vals.where(vals.notna(), None)
    return messages, tools


def _distinct_per_group(gid: np.ndarray, seq: np.ndarray, groups: int) -> np.ndarray:
    """How many distinct ``seq`` each group has (``seq`` ascending within a group)."""
    order = np.argsort(gid, kind="stable")
    g, s = gid[order], seq[order]
    new = np.ones(len(g), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (s[1:] != s[:-1])
    return np.bincount(g[new & (g >= 0)], minlength=groups).astype("int64")


def _join_per_group(gid: np.ndarray, values: pd.Series, index: pd.Index) -> pd.Series:
    """``values`` joined per group, in their order (as ``groupby(...).agg("".join)``
    reindexed to ``index``, "" where a group has none)."""
    order = np.argsort(gid, kind="stable")
    vals = values.to_numpy(dtype=object)[order]
    bounds = np.searchsorted(gid[order], np.arange(len(index) + 1))
    out = ["".join(vals[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return pd.Series(out, index=index)


def _tools(calls: pd.DataFrame) -> pd.DataFrame:
    """Each tool call assembled from its fragments (in the order they arrived)."""
    tools = []
    if not len(calls):
        return pd.DataFrame(columns=TOOL_COLS)
    for (stream, conn, choice, key), grp in calls.groupby(
        ["stream", "connection", "choice", calls["key"].astype(str)], sort=False
    ):
        vals = grp["value"].tolist()
        call_id = next((v["id"] for v in vals if v.get("id")), None)
        call_name = next((v["name"] for v in vals if v.get("name")), None)
        args = "".join(v.get("arguments") or "" for v in vals)
        try:
            json.loads(args or "{}")
            valid = True
        except ValueError:
            valid = False
        tools.append((stream, conn, choice, key, call_id, call_name, args, valid))
    return pd.DataFrame(tools, columns=TOOL_COLS)
