"""How each LLM stream shape carries its answer: one reader per vendor format.

Rules:

- A reader takes one event (its type and its parsed JSON) and yields pieces
  ``(what, choice, key, value)``; it keeps no state, so rows can be read in any
  grouping. ``choice`` is the index of the answer (``n > 1``, Gemini candidates);
  ``None`` means the whole request (an error or a usage block outside any choice).
- ``what`` is one of: ``seen`` (the row carries this choice), ``text``,
  ``reasoning``, ``refusal``, ``redacted`` (a redacted thinking block), ``tool``
  (``key`` names the call, ``value`` is ``{"id", "name", "arguments"}`` with an
  arguments fragment; a key ``(WHOLE, part)`` is a call that arrived whole, told
  apart by its row), ``finish``, ``error``, ``usage`` (``value`` is the output token
  count the stream reports so far), ``replace`` (the full text so far, ChatGPT).
- Shapes follow the vendors' published stream formats; unknown fields are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

__all__: list[str] = []

Piece = tuple[str, Any, Any, Any]
#: a tool key ``(WHOLE, part)``: a call that arrived whole, named by its row and part
WHOLE = "whole-call"
Reader = Callable[[str, Any], Iterator[Piece]]


def _error_text(err: Any) -> str:
    if isinstance(err, dict):
        parts = [err.get("type"), err.get("code"), err.get("message")]
        return " ".join(str(p) for p in parts if p not in (None, "")) or "error"
    return str(err)


def _content_parts(parts: list[Any], ci: int) -> Iterator[Piece]:
    """Typed content parts (Mistral, some compatibles): text, thinking, refusal."""
    for part in parts:
        if isinstance(part, str):
            if part:
                yield ("text", ci, None, part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            yield ("text", ci, None, part["text"])
        elif kind == "thinking":
            # Mistral: {"type": "thinking", "thinking": [{"type": "text", ...}]}
            inner = part.get("thinking")
            if isinstance(inner, str) and inner:
                yield ("reasoning", ci, None, inner)
            elif isinstance(inner, list):
                for p in inner:
                    if isinstance(p, dict) and p.get("text"):
                        yield ("reasoning", ci, None, p["text"])
        elif kind == "refusal" and part.get("refusal"):
            yield ("refusal", ci, None, part["refusal"])


def chat(ty: str, obj: Any) -> Iterator[Piece]:
    """OpenAI chat completions and every compatible server (vLLM, TGI, llama.cpp,
    Ollama, LM Studio, DeepSeek, Mistral, Groq, OpenRouter), plus legacy completions
    (``choices[].text``)."""
    if not isinstance(obj, dict):
        return
    if obj.get("error") not in (None, ""):
        yield ("error", None, None, _error_text(obj["error"]))
    for pos, ch in enumerate(obj.get("choices") or []):
        if not isinstance(ch, dict):
            continue
        ci = ch.get("index", pos)
        ci = ci if isinstance(ci, int) else pos
        yield ("seen", ci, None, None)
        delta = ch.get("delta")
        if not isinstance(delta, dict):
            delta = ch.get("message") if isinstance(ch.get("message"), dict) else {}
        content = delta.get("content")
        if isinstance(content, str) and content:
            yield ("text", ci, None, content)
        elif isinstance(content, list):
            yield from _content_parts(content, ci)
        if isinstance(ch.get("text"), str) and ch["text"]:
            yield ("text", ci, None, ch["text"])
        for key in ("reasoning_content", "reasoning"):
            if isinstance(delta.get(key), str) and delta[key]:
                yield ("reasoning", ci, None, delta[key])
        if isinstance(delta.get("refusal"), str) and delta["refusal"]:
            yield ("refusal", ci, None, delta["refusal"])
        for pos_tc, tc in enumerate(delta.get("tool_calls") or []):
            if not isinstance(tc, dict):
                continue
            fn = tc.get("function") or {}
            yield (
                "tool",
                ci,
                tc.get("index", pos_tc),
                {
                    "id": tc.get("id"),
                    "name": fn.get("name"),
                    "arguments": fn.get("arguments") or "",
                },
            )
        fc = delta.get("function_call")
        if isinstance(fc, dict):
            yield (
                "tool",
                ci,
                "function_call",
                {
                    "id": None,
                    "name": fc.get("name"),
                    "arguments": fc.get("arguments") or "",
                },
            )
        if ch.get("finish_reason"):
            yield ("finish", ci, None, ch["finish_reason"])
        if ch.get("error") not in (None, ""):
            yield ("error", ci, None, _error_text(ch["error"]))
    usage = obj.get("usage")
    if not isinstance(usage, dict):
        usage = (obj.get("x_groq") or {}).get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        yield ("usage", None, None, usage["completion_tokens"])


def anthropic(ty: str, obj: Any) -> Iterator[Piece]:
    """Anthropic Messages: text, thinking, redacted thinking, tool use."""
    if not isinstance(obj, dict):
        return
    kind = obj.get("type", ty)
    if kind == "content_block_start":
        block = obj.get("content_block") or {}
        btype = block.get("type")
        yield ("seen", 0, None, None)
        if btype in ("tool_use", "server_tool_use"):
            yield (
                "tool",
                0,
                obj.get("index"),
                {"id": block.get("id"), "name": block.get("name"), "arguments": ""},
            )
        elif btype == "text" and block.get("text"):
            yield ("text", 0, None, block["text"])
        elif btype == "thinking" and block.get("thinking"):
            yield ("reasoning", 0, None, block["thinking"])
        elif btype == "redacted_thinking":
            yield ("redacted", 0, None, 1)
    elif kind == "content_block_delta":
        delta = obj.get("delta") or {}
        dtype = delta.get("type")
        yield ("seen", 0, None, None)
        if dtype == "text_delta" and delta.get("text"):
            yield ("text", 0, None, delta["text"])
        elif dtype == "thinking_delta" and delta.get("thinking"):
            yield ("reasoning", 0, None, delta["thinking"])
        elif dtype == "input_json_delta":
            yield (
                "tool",
                0,
                obj.get("index"),
                {"id": None, "name": None, "arguments": delta.get("partial_json", "")},
            )
    elif kind == "message_delta":
        yield ("seen", 0, None, None)
        reason = (obj.get("delta") or {}).get("stop_reason")
        if reason:
            yield ("finish", 0, None, reason)
        usage = obj.get("usage") or {}
        if isinstance(usage.get("output_tokens"), int):
            yield ("usage", None, None, usage["output_tokens"])
    elif kind == "error":
        yield ("error", None, None, _error_text(obj.get("error") or obj))


def responses(ty: str, obj: Any) -> Iterator[Piece]:
    """OpenAI Responses (and Bedrock's compatible endpoint): output text, reasoning
    summaries and reasoning text, function calls, refusals."""
    if not isinstance(obj, dict):
        return
    kind = obj.get("type", ty)
    if not isinstance(kind, str):
        return
    delta = obj.get("delta")
    if kind == "response.output_text.delta" and delta:
        yield ("text", 0, None, delta)
    elif kind in (
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
    ) and isinstance(delta, str):
        yield ("reasoning", 0, None, delta)
    elif kind == "response.refusal.delta" and delta:
        yield ("refusal", 0, None, delta)
    elif kind == "response.output_item.added":
        item = obj.get("item") or {}
        yield ("seen", 0, None, None)
        if item.get("type") == "function_call":
            yield (
                "tool",
                0,
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
            0,
            obj.get("item_id"),
            {"id": None, "name": None, "arguments": delta or ""},
        )
    elif kind in ("response.completed", "response.incomplete", "response.failed"):
        resp = obj.get("response") or {}
        detail = resp.get("incomplete_details") or {}
        reason = detail.get("reason") if isinstance(detail, dict) else None
        yield ("finish", 0, None, reason or resp.get("status") or kind.split(".")[-1])
        if resp.get("error"):
            yield ("error", 0, None, _error_text(resp["error"]))
        usage = resp.get("usage") or {}
        if isinstance(usage.get("output_tokens"), int):
            yield ("usage", None, None, usage["output_tokens"])
    elif kind == "error":
        yield ("error", None, None, _error_text(obj.get("error") or obj))
    if kind.endswith(".delta"):
        yield ("seen", 0, None, None)


def gemini(ty: str, obj: Any) -> Iterator[Piece]:
    """Gemini streamGenerateContent: text, thoughts (``"thought": true``), function
    calls, finish reasons per candidate, prompt feedback."""
    if not isinstance(obj, dict):
        return
    for pos, cand in enumerate(obj.get("candidates") or []):
        if not isinstance(cand, dict):
            continue
        ci = cand.get("index", pos)
        ci = ci if isinstance(ci, int) else pos
        yield ("seen", ci, None, None)
        for j, part in enumerate((cand.get("content") or {}).get("parts") or []):
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str) and part["text"]:
                what = "reasoning" if part.get("thought") is True else "text"
                yield (what, ci, None, part["text"])
            fc = part.get("functionCall")
            if isinstance(fc, dict):
                # a call arrives whole; without an id, its place names it
                yield (
                    "tool",
                    ci,
                    fc.get("id") or (WHOLE, j),
                    {
                        "id": fc.get("id"),
                        "name": fc.get("name"),
                        "arguments": json.dumps(fc.get("args", {})),
                    },
                )
        if cand.get("finishReason"):
            yield ("finish", ci, None, cand["finishReason"])
    fb = obj.get("promptFeedback") or {}
    if isinstance(fb, dict) and fb.get("blockReason"):
        yield ("seen", 0, None, None)
        yield ("finish", 0, None, f"blocked: {fb['blockReason']}")
    if isinstance(obj.get("error"), dict):
        yield ("error", None, None, _error_text(obj["error"]))
    usage = obj.get("usageMetadata") or {}
    if isinstance(usage, dict) and isinstance(usage.get("candidatesTokenCount"), int):
        thoughts = usage.get("thoughtsTokenCount")
        extra = thoughts if isinstance(thoughts, int) else 0
        yield ("usage", None, None, usage["candidatesTokenCount"] + extra)


def chatgpt(ty: str, obj: Any) -> Iterator[Piece]:
    """The ChatGPT web conversation stream (delta events, or the full text so far)."""
    if not isinstance(obj, dict):
        return
    if isinstance(obj.get("v"), str) and ty == "delta":
        yield ("text", 0, None, obj["v"])
    elif isinstance(obj.get("message"), dict):
        parts = (obj["message"].get("content") or {}).get("parts") or []
        if parts and isinstance(parts[0], str):
            yield ("replace", 0, None, parts[0])
        finish = (obj["message"].get("metadata") or {}).get("finish_details") or {}
        if finish.get("type"):
            yield ("finish", 0, None, finish["type"])
    elif isinstance(obj.get("delta"), str):
        yield ("text", 0, None, obj["delta"])


READERS: dict[str, Reader] = {
    "openai": chat,
    "openai-compatible": chat,
    "groq": chat,
    "openrouter": chat,
    "openai-responses": responses,
    "bedrock": responses,
    "anthropic": anthropic,
    "gemini": gemini,
    "chatgpt": chatgpt,
}
