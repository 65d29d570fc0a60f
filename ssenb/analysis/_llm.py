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
            duration, chunks_per_s, chars, finish_reason, error, text.
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
            facts={"dialect": name},
            notes=[prep.scale_note],
        )
    ev = prep.events
    events = ev[(ev["kind"].astype(str) == "event") & (ev["family"] != "keepalive")]
    starts = prep.connections.set_index(["stream", "connection"])["start_s"]
    first_rec = ev.groupby(["stream", "connection"])["t"].min()
    msgs, toks, tools = [], [], []
    cols = zip(
        events["stream"].astype(str),
        events["connection"],
        events["seq"],
        events["t"],
        events["type"].astype(str),
        events["data"],
        strict=True,
    )
    state: dict[tuple[str, int], dict[str, Any]] = {}
    for stream, conn, seq, t, ty, data in cols:
        obj = _loads(data)
        if obj is None:
            continue
        st = state.setdefault(
            (stream, conn),
            {
                "text": [],
                "finish": None,
                "error": None,
                "chunks": 0,
                "first": None,
                "t0": t,
                "t1": t,
                "tools": {},
            },
        )
        st["chunks"] += 1
        st["t1"] = t
        for what, key, value in extract(ty, obj):
            if what in ("text", "replace"):
                if what == "replace":
                    st["text"] = [value]
                else:
                    st["text"].append(value)
                toks.append((stream, conn, seq, t, value))
                if st["first"] is None:
                    st["first"] = t
            elif what == "finish":
                st["finish"] = value
            elif what == "error":
                st["error"] = value
            elif what == "tool":
                call = st["tools"].setdefault(
                    key, {"id": None, "name": None, "args": []}
                )
                call["id"] = call["id"] or value["id"]
                call["name"] = call["name"] or value["name"]
                call["args"].append(value["arguments"] or "")
                if st["first"] is None:
                    st["first"] = t
    for (stream, conn), st in state.items():
        base = np.nan
        if not prep.inferred and (stream, conn) in starts.index:
            base = starts.loc[(stream, conn)]
        if base != base and (stream, conn) in first_rec.index:
            base = first_rec.loc[(stream, conn)]
        first = st["first"] if st["first"] is not None else np.nan
        duration = st["t1"] - st["t0"]
        text = "".join(st["text"])
        msgs.append(
            (
                stream,
                conn,
                name,
                first - base,
                st["chunks"],
                duration,
                st["chunks"] / duration if duration and duration > 0 else np.nan,
                len(text),
                st["finish"],
                st["error"],
                text,
            )
        )
        for key, call in st["tools"].items():
            args = "".join(call["args"])
            try:
                json.loads(args or "{}")
                valid = True
            except ValueError:
                valid = False
            tools.append((stream, conn, key, call["id"], call["name"], args, valid))
    messages = pd.DataFrame(msgs, columns=msg_cols)
    summary = []
    for row in messages.itertuples(index=False):
        where = f"connection {row.connection}" + (
            f" of {row.stream}" if row.stream else ""
        )
        line = f"{where}: {row.chunks} chunks, {row.chars} characters"
        if row.ttft == row.ttft:
            line += f", first token after {row.ttft:.3f} s"
        if row.chunks_per_s == row.chunks_per_s:
            line += f", {row.chunks_per_s:.1f} chunks/s"
        if row.finish_reason:
            line += f", finished: {row.finish_reason}"
        if row.error:
            line += f", error: {row.error}"
        summary.append(line + ".")
    if tools:
        summary.append(f"{len(tools)} tool call(s) assembled.")
    if not summary:
        summary.append(f"Dialect {name}, but no token chunks were found.")
    return Result(
        f"LLM stream ({name})",
        summary=summary,
        tables={
            "messages": messages,
            "tokens": pd.DataFrame(toks, columns=tok_cols),
            "tool_calls": pd.DataFrame(tools, columns=tool_cols),
        },
        facts={
            "dialect": name,
            "text": "".join(messages["text"]) if len(messages) else "",
        },
        notes=[prep.scale_note],
    )
