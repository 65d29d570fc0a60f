"""The payload of a record in a few words: the token, the tweet, the log line.

Standard library only, so every view (a capture's repr, the widgets) can use it.

Driven by the catalogue's dialects: each known system names where its payload sits
in the data (``choices.0.delta.content`` for OpenAI chat chunks, ``data.text`` for
X); any other JSON falls back to the first of a few common keys, found at any depth;
non-JSON data is shown as it came. Comments show their text; blank lines nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["DIALECT_PATHS", "summarize", "summary_column"]

_CHAT = (
    "choices.0.delta.content",
    "choices.0.delta.reasoning_content",
    "choices.0.delta.reasoning",
    "choices.0.delta.tool_calls.0.function.arguments",
    "choices.0.delta.tool_calls.0.function.name",
    "choices.0.finish_reason",
    "choices.0.delta.role",
    "error.message",
)

#: Per dialect of the catalogue, where its payload sits in a record's JSON data,
#: first found wins (dotted paths; numbers index lists).
DIALECT_PATHS: dict[str, tuple[str, ...]] = {
    "openai": _CHAT,
    "groq": _CHAT,
    "openrouter": _CHAT,
    "openai-responses": ("delta", "text", "item.name", "response.status", "type"),
    "bedrock": ("delta", "text", "item.name", "response.status", "type"),
    "anthropic": (
        "delta.text",
        "delta.thinking",
        "delta.partial_json",
        "content_block.name",
        "delta.stop_reason",
        "error.message",
        "message.model",
    ),
    "gemini": (
        "candidates.0.content.parts.0.text",
        "candidates.0.finishReason",
        "promptFeedback.blockReason",
    ),
    "wikimedia": ("title", "comment", "meta.uri"),
    "github-actions": ("message", "step", "name", "status"),
    "vercel": ("text", "phase", "url", "progress"),
    "twitter": ("data.text", "title", "detail", "message"),
}

#: Keys that usually hold what a person wants to read, in order.
COMMON_KEYS = (
    "text",
    "message",
    "content",
    "delta",
    "token",
    "title",
    "detail",
    "step",
    "name",
    "status",
    "phase",
    "reason",
    "percentage",
    "progress",
)


def _path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, Mapping):
            obj = obj.get(part)
        elif isinstance(obj, Sequence) and not isinstance(obj, str) and part.isdigit():
            i = int(part)
            obj = obj[i] if i < len(obj) else None
        else:
            return None
        if obj is None:
            return None
    return obj


def _common(obj: Any, depth: int = 4) -> Any:
    """The first common key's plain value, breadth first, up to ``depth`` levels."""
    level: list[Any] = [obj]
    for _ in range(depth):
        nxt: list[Any] = []
        for node in level:
            if isinstance(node, Mapping):
                for key in COMMON_KEYS:
                    value = node.get(key)
                    if isinstance(value, str | int | float) and value != "":
                        return value
                nxt.extend(v for v in node.values() if isinstance(v, Mapping | list))
            elif isinstance(node, list):
                nxt.extend(v for v in node[:5] if isinstance(v, Mapping | list))
        level = nxt
    return None


def summarize(kind: Any, data: Any, dialect: str | None = None) -> str:
    """A record's payload in a few words (not cut: the views cut it)."""
    kind = str(kind)
    if kind == "blank" or data is None:
        return ""
    text = str(data)
    if text in ("<NA>", "nan", "None"):
        return ""
    if kind != "event":
        return text
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return text
    try:
        obj = json.loads(text)
    except ValueError:
        return text
    for path in DIALECT_PATHS.get(dialect or "", ()):
        value = _path(obj, path)
        if isinstance(value, str | int | float) and value != "":
            return str(value)
    value = _common(obj)
    if value is not None:
        return str(value)
    return _fields(obj) or json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _fields(obj: Any) -> str:
    """``key=value`` of the top-level plain fields, leaving out times and ids (the
    table has its own time and id columns)."""
    if not isinstance(obj, Mapping):
        return ""
    pairs = [
        f"{k}={v}"
        for k, v in obj.items()
        if isinstance(v, str | int | float | bool)
        and not any(w in str(k).lower() for w in ("time", "date", "_at"))
        and str(k).lower() not in ("id", "ts")
    ]
    return " · ".join(pairs[:5])


def summary_column(
    kinds: Iterable[Any], datas: Iterable[Any], dialect: str | None = None
) -> list[str]:
    """:func:`summarize` of each row (for the rows a view shows, not a whole file)."""
    return [summarize(k, d, dialect) for k, d in zip(kinds, datas, strict=True)]
