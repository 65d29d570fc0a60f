"""LLM token streams: time to first token, chunk rate, the text rebuilt from the deltas,
finish reason and tool calls, for the token-stream dialects (OpenAI chat completions and
its compatibles, OpenAI/Bedrock Responses, Anthropic Messages, Gemini, ChatGPT)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..patterns import dialect as _dialect
from ._input import prepare
from ._result import Result

__all__ = ["llm"]

# An extractor reads one parsed event and yields (what, key, value) pieces:
# ("text", None, str), ("finish", None, str), ("error", None, str),
# ("tool", key, {"id":..., "name":..., "arguments": fragment}).
Piece = tuple[str, Any, Any]


def _chat(ty: str, obj: Any) -> Iterator[Piece]:
    if not isinstance(obj, dict):
        return
    if isinstance(obj.get("error"), dict):
        err = obj["error"]
        yield ("error", None, f"{err.get('code', '')} {err.get('message', '')}".strip())
    for ch in obj.get("choices") or []:
        if not isinstance(ch, dict):
            continue
        delta = ch.get("delta") or {}
        if isinstance(delta.get("content"), str) and delta["content"]:
            yield ("text", None, delta["content"])
        if isinstance(delta.get("reasoning"), str) and delta["reasoning"]:
            yield ("reasoning", None, delta["reasoning"])
        for tc in delta.get("tool_calls") or []:
            fn = tc.get("function") or {}
            yield (
                "tool",
                tc.get("index", 0),
                {
                    "id": tc.get("id"),
                    "name": fn.get("name"),
                    "arguments": fn.get("arguments") or "",
                },
            )
        if ch.get("finish_reason"):
            yield ("finish", None, ch["finish_reason"])


def _anthropic(ty: str, obj: Any) -> Iterator[Piece]:
    if not isinstance(obj, dict):
        return
    kind = obj.get("type", ty)
    if kind == "content_block_start":
        block = obj.get("content_block") or {}
        if block.get("type") == "tool_use":
            yield (
                "tool",
                obj.get("index"),
                {"id": block.get("id"), "name": block.get("name"), "arguments": ""},
            )
    elif kind == "content_block_delta":
        delta = obj.get("delta") or {}
        if delta.get("type") == "text_delta" and delta.get("text"):
            yield ("text", None, delta["text"])
        elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
            yield ("reasoning", None, delta["thinking"])
        elif delta.get("type") == "input_json_delta":
            yield (
                "tool",
                obj.get("index"),
                {"id": None, "name": None, "arguments": delta.get("partial_json", "")},
            )
    elif kind == "message_delta":
        reason = (obj.get("delta") or {}).get("stop_reason")
        if reason:
            yield ("finish", None, reason)
    elif kind == "error":
        err = obj.get("error") or {}
        yield ("error", None, f"{err.get('type', '')} {err.get('message', '')}".strip())


def _responses(ty: str, obj: Any) -> Iterator[Piece]:
    if not isinstance(obj, dict):
        return
    kind = obj.get("type", ty)
    if kind == "response.output_text.delta" and obj.get("delta"):
        yield ("text", None, obj["delta"])
    elif kind == "response.output_item.added":
        item = obj.get("item") or {}
        if item.get("type") == "function_call":
            yield (
                "tool",
                item.get("id"),
                {
                    "id": item.get("call_id") or item.get("id"),
                    "name": item.get("name"),
                    "arguments": "",
                },
            )
    elif kind == "response.function_call_arguments.delta":
        yield (
            "tool",
            obj.get("item_id"),
            {"id": None, "name": None, "arguments": obj.get("delta", "")},
        )
    elif kind in ("response.completed", "response.incomplete", "response.failed"):
        resp = obj.get("response") or {}
        detail = resp.get("incomplete_details") or {}
        reason = detail.get("reason") if isinstance(detail, dict) else None
        yield ("finish", None, reason or resp.get("status") or kind.split(".")[-1])
    elif kind == "error":
        yield ("error", None, str(obj.get("message") or obj.get("code") or "error"))


def _gemini(ty: str, obj: Any) -> Iterator[Piece]:
    if not isinstance(obj, dict):
        return
    for cand in obj.get("candidates") or []:
        for part in (cand.get("content") or {}).get("parts") or []:
            if isinstance(part, dict) and part.get("text"):
                yield ("text", None, part["text"])
            if isinstance(part, dict) and part.get("functionCall"):
                fc = part["functionCall"]
                yield (
                    "tool",
                    fc.get("name"),
                    {
                        "id": None,
                        "name": fc.get("name"),
                        "arguments": json.dumps(fc.get("args", {})),
                    },
                )
        if cand.get("finishReason"):
            yield ("finish", None, cand["finishReason"])
    fb = obj.get("promptFeedback") or {}
    if fb.get("blockReason"):
        yield ("finish", None, f"blocked: {fb['blockReason']}")


def _chatgpt(ty: str, obj: Any) -> Iterator[Piece]:
    if isinstance(obj, dict) and isinstance(obj.get("v"), str) and ty == "delta":
        yield ("text", None, obj["v"])
    elif isinstance(obj, dict) and isinstance(obj.get("message"), dict):
        parts = (obj["message"].get("content") or {}).get("parts") or []
        if parts and isinstance(parts[0], str):
            yield ("replace", None, parts[0])
        finish = (obj["message"].get("metadata") or {}).get("finish_details") or {}
        if finish.get("type"):
            yield ("finish", None, finish["type"])
    elif isinstance(obj, dict) and isinstance(obj.get("delta"), str):
        yield ("text", None, obj["delta"])


_EXTRACTORS: dict[str, Callable[[str, Any], Iterator[Piece]]] = {
    "openai": _chat,
    "groq": _chat,
    "openrouter": _chat,
    "openai-responses": _responses,
    "bedrock": _responses,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "chatgpt": _chatgpt,
}


def _loads(text: Any) -> Any:
    if not isinstance(text, str) or not text or text[0] not in '{["':
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def llm(capture: Any, *, dialect: str | None = None) -> Result:
    """What an LLM token stream said and how fast: per connection, time to first token,
    chunks per second, the text rebuilt from the deltas, the finish reason and the tool
    calls assembled from their fragments.

    Args:
        capture: a Capture or an events frame.
        dialect: force a dialect (``"openai"``, ``"anthropic"``, ...); detected when
            ``None``.

    Tables:
        messages: stream, connection, dialect, ttft (stream seconds from the start of
            the connection, or of its first record, to the first token), chunks,
            duration, chunks_per_s, chars, finish_reason, error, text, reasoning
            (the model's visible thinking, where the format streams it).
        tokens: stream, connection, seq, t, text — one row per text delta (tidy:
            cumulative length over time plots directly).
        tool_calls: stream, connection, key, id, name, arguments, valid_json.
    """
    prep = prepare(capture)
    name = dialect or _dialect(prep.events).name
    extract = _EXTRACTORS.get(name)
    msg_cols = [
        "stream",
        "connection",
        "dialect",
        "ttft",
        "chunks",
        "duration",
        "chunks_per_s",
        "chars",
        "finish_reason",
        "error",
        "text",
        "reasoning",
    ]
    tok_cols = ["stream", "connection", "seq", "t", "text"]
    tool_cols = ["stream", "connection", "key", "id", "name", "arguments", "valid_json"]
    if extract is None:
        return Result(
            "LLM stream",
            summary=[f"Not a token stream this module knows (dialect: {name})."],
            tables={
                "messages": pd.DataFrame(columns=msg_cols),
                "tokens": pd.DataFrame(columns=tok_cols),
                "tool_calls": pd.DataFrame(columns=tool_cols),
            },
            facts={"dialect": name, "text": ""},
            notes=[prep.scale_note],
        )
    ev = prep.events
    events = ev.loc[
        (ev["kind"] == "event") & (ev["family"] != "keepalive"),
        ["stream", "connection", "seq", "t", "type", "data"],
    ]
    events = events[events["data"].str.startswith(("{", "[", '"')).fillna(False)]
    pieces, parsed = _pieces(events, extract, name)
    messages, tools = _assemble(pieces, parsed, prep, name, msg_cols, tool_cols)
    tokens = pieces[pieces["what"] == "text"][tok_cols[:-1] + ["value"]].rename(
        columns={"value": "text"}
    )
    summary = []
    for row in messages.itertuples(index=False):
        where = f"connection {row.connection}" + (
            f" of {row.stream}" if row.stream else ""
        )
        line = f"{where}: {row.chunks} chunks, {row.chars} characters"
        if row.reasoning:
            line += f" (+{len(row.reasoning)} of reasoning)"
        if row.ttft == row.ttft:
            line += f", first token after {row.ttft:.3f} s"
        if row.chunks_per_s == row.chunks_per_s:
            line += f", {row.chunks_per_s:.1f} chunks/s"
        if isinstance(row.finish_reason, str):
            line += f", finished: {row.finish_reason}"
        if isinstance(row.error, str):
            line += f", error: {row.error}"
        summary.append(line + ".")
    if len(tools):
        summary.append(f"{len(tools)} tool call(s) assembled.")
    if not summary:
        summary.append(f"Dialect {name}, but no token chunks were found.")
    return Result(
        f"LLM stream ({name})",
        summary=summary[:20],
        tables={
            "messages": messages,
            "tokens": tokens.reset_index(drop=True),
            "tool_calls": tools,
        },
        facts={
            "dialect": name,
            "text": "".join(messages["text"]) if len(messages) else "",
        },
        notes=[prep.scale_note, prep.latency_note],
    )


_PIECE_COLS = ["stream", "connection", "seq", "t", "what", "key", "value"]
_WS = r"[ \t\r\n]*"
# rows the fast path leaves to the general one: tool calls, errors, and a second
# choice (an object starting with "index" right after another one closes)
_COMPLEX = rf'"tool_calls"|"error"|"reasoning"|\}}{_WS},{_WS}\{{{_WS}"index"'


def _pieces(
    events: pd.DataFrame, extract: Callable[[str, Any], Iterator[Piece]], name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pieces, parsed): one row per piece of text, finish, error or tool fragment, and
    the rows that parsed as JSON (stream, connection, seq, t)."""
    parts: list[pd.DataFrame] = []
    slow = events
    if extract is _chat and len(events):
        # the bulk of a chat stream is simple chunks: read them with two Arrow regex
        # passes; tool calls, errors and several choices take the general path
        d = events["data"]
        complex_ = d.str.contains(_COMPLEX, regex=True).to_numpy(
            dtype=bool, na_value=True
        )
        obj_rows = d.str.startswith("{").to_numpy(dtype=bool, na_value=False)
        fast = ~complex_ & obj_rows
        simple = events[fast]
        slow = events[~fast]
        parts.append(_chat_fast(simple))
    rows: list[tuple[Any, ...]] = []
    parsed: list[tuple[Any, ...]] = []
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
        parsed.append((stream, conn, seq, t))
        for what, key, value in extract(ty, obj):
            rows.append((stream, conn, seq, t, what, key, value))
    parts.append(pd.DataFrame(rows, columns=_PIECE_COLS))
    pieces = pd.concat([p for p in parts if len(p)] or parts[-1:], ignore_index=True)
    pieces = pieces.sort_values("seq", kind="stable").reset_index(drop=True)
    fast_parsed = [
        p[p["what"] == "chunk"][["stream", "connection", "seq", "t"]]
        for p in parts[:-1]
    ]
    all_parsed = [
        *fast_parsed,
        pd.DataFrame(parsed, columns=["stream", "connection", "seq", "t"]),
    ]
    parsed_df = pd.concat(
        [p for p in all_parsed if len(p)] or all_parsed[-1:], ignore_index=True
    )
    pieces = pieces[pieces["what"] != "chunk"]
    return pieces, parsed_df


def _extract(d: pd.Series, key: str) -> np.ndarray:
    """The string value of ``key`` in each row (object array, None when absent): an
    Arrow pass finds the rows that have it, a regex reads only those."""
    head = rf'"{key}"{_WS}:{_WS}"'
    out = np.full(len(d), None, dtype=object)
    has = np.flatnonzero(
        d.str.contains(head, regex=True).to_numpy(bool, na_value=False)
    )
    if len(has):
        got = d.iloc[has].str.extract(head + r'([^"]*)"', expand=False)
        out[has] = got.to_numpy(dtype=object, na_value=None)
    return out


def _chat_fast(simple: pd.DataFrame) -> pd.DataFrame:
    """Pieces of simple chat chunks (one choice, no tool call, no error)."""
    d = simple["data"]
    text = _extract(d, "content")
    fin = _extract(d, "finish_reason")
    # text with escapes (\n, \", \u00e9) is decoded from the whole chunk
    escaped = np.flatnonzero([isinstance(x, str) and "\\" in x for x in text])
    for i in escaped:
        delta = json.loads(d.iat[i])["choices"][0].get("delta") or {}
        text[i] = delta.get("content")
    base = {
        "stream": simple["stream"].array,
        "connection": simple["connection"].to_numpy(),
        "seq": simple["seq"].to_numpy(),
        "t": simple["t"].to_numpy(),
    }
    has_text = pd.notna(text) & (text != "")
    has_fin = pd.notna(fin) & (fin != "")
    frames = [
        pd.DataFrame({**base, "what": "chunk", "key": "", "value": ""}),
        pd.DataFrame(
            {k: v[has_text] for k, v in base.items()}
            | {"what": "text", "key": "", "value": text[has_text]}
        ),
        pd.DataFrame(
            {k: v[has_fin] for k, v in base.items()}
            | {"what": "finish", "key": "", "value": fin[has_fin]}
        ),
    ]
    return pd.concat(frames, ignore_index=True)[_PIECE_COLS]


def _assemble(
    pieces: pd.DataFrame,
    parsed: pd.DataFrame,
    prep: Any,
    name: str,
    msg_cols: list[str],
    tool_cols: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The messages and tool calls of each connection, from its pieces."""
    keys = ["stream", "connection"]
    if not len(parsed):
        return pd.DataFrame(columns=msg_cols), pd.DataFrame(columns=tool_cols)
    g = parsed.groupby(keys, sort=True)
    msg = g.agg(chunks=("seq", "size"), t0=("t", "min"), t1=("t", "max"))
    text = pieces[pieces["what"].isin(["text", "replace"])]
    # a "replace" piece (ChatGPT's full text so far) drops what came before it
    if (text["what"] == "replace").any():
        last_rep = text[text["what"] == "replace"].groupby(keys)["seq"].max()
        cut = last_rep.reindex(pd.MultiIndex.from_frame(text[keys])).to_numpy()
        text = text[~(text["seq"].to_numpy() < np.nan_to_num(cut, nan=-1))]
    tg = text.groupby(keys, sort=True)
    msg["text"] = tg["value"].agg("".join)
    msg["first"] = (
        pieces[pieces["what"].isin(["text", "replace", "tool"])]
        .groupby(keys)["t"]
        .min()
    )
    for what in ("finish", "error"):
        sel = pieces[pieces["what"] == what]
        msg[what] = sel.groupby(keys)["value"].last() if len(sel) else None
    thought = pieces[pieces["what"] == "reasoning"]
    msg["reasoning"] = (
        thought.groupby(keys)["value"].agg("".join) if len(thought) else ""
    )
    msg["reasoning"] = msg["reasoning"].fillna("")
    msg["text"] = msg["text"].fillna("")
    if prep.inferred:
        base = prep.events.groupby(keys)["t"].min()
    else:
        base = prep.connections.set_index(keys)["start_s"]
    msg = msg.reset_index()
    idx = pd.MultiIndex.from_frame(msg[keys])
    duration = msg["t1"] - msg["t0"]
    with np.errstate(divide="ignore", invalid="ignore"):
        messages = pd.DataFrame(
            {
                "stream": msg["stream"],
                "connection": msg["connection"],
                "dialect": name,
                "ttft": msg["first"].to_numpy() - base.reindex(idx).to_numpy(),
                "chunks": msg["chunks"],
                "duration": duration,
                "chunks_per_s": np.where(
                    duration > 0, msg["chunks"] / duration, np.nan
                ),
                "chars": msg["text"].str.len(),
                "finish_reason": msg["finish"],
                "error": msg["error"],
                "text": msg["text"],
                "reasoning": msg["reasoning"],
            }
        )[msg_cols]
    tools = []
    calls = pieces[pieces["what"] == "tool"]
    for (stream, conn, key), grp in calls.groupby(
        ["stream", "connection", calls["key"].astype(str)], sort=False
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
        tools.append((stream, conn, key, call_id, call_name, args, valid))
    return messages, pd.DataFrame(tools, columns=tool_cols)
