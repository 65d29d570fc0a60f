"""The catalogue as data: the families, the patterns that recognise rows, and the
dialects (known systems) with the clues that give them away.

Rules of this module:

- Data and its registries only: no frame is read here. ``_classify`` applies the
  patterns, ``_dialect`` weighs the clues.
- Users add their own with :func:`register_pattern` and :func:`register_dialect`;
  theirs are tried first and replace a built-in one of the same name. A change to the
  patterns empties ``_compiled``, the compiled form ``_classify`` keeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .._endings import DONE_DATA, DONE_TYPES, DONE_WORDS

__all__ = [
    "Clue",
    "DIALECTS",
    "Dialect",
    "FAMILIES",
    "FAMILY_DESCRIPTIONS",
    "PATTERNS",
    "Pattern",
    "catalog",
    "normalise_type",
    "register_dialect",
    "register_pattern",
]

#: The families, in the order the ``family`` categorical uses.
FAMILIES = (
    "keepalive",
    "control",
    "state",
    "progress",
    "error",
    "metadata",
    "auth",
    "data",
    "unknown",
)

#: What each family is and why servers send it: the explanation people read next to
#: the rows a family holds (tutorial notebooks, reports). One sentence or three each.
FAMILY_DESCRIPTIONS: dict[str, str] = {
    "keepalive": (
        "Keep-alives carry no data for the application: ping or heartbeat events, "
        "comment lines and blank lines that a server writes while it has nothing to "
        "say. They keep proxies and load balancers from closing an idle connection, "
        "and they tell the client that the connection is still alive."
    ),
    "control": (
        "Control events mark the life of the stream itself: a start or init event "
        "that announces the session and its settings, a ready event, and a done or "
        "complete event (or OpenAI's data: [DONE]) that says the server has finished "
        "on purpose, so the client should not reconnect."
    ),
    "state": (
        "State events report the condition of the server or the connection: status "
        "(health, queue depth), system notices such as rate-limit warnings, and "
        "configuration the client should follow."
    ),
    "progress": (
        "Progress events follow a long task: a percentage or a current/total count, "
        "incremental updates, and checkpoints a client can resume from."
    ),
    "error": (
        "Error events are failures reported inside a healthy HTTP 200 stream: an "
        "error or warning event, an error object in the data, or an operational "
        "disconnect that tells the client to reconnect after a backoff. A good one "
        "carries a code, a human message and retry information."
    ),
    "metadata": (
        "Metadata events describe the stream rather than the application's data: "
        "versions, capabilities, limits, the server's region or latency."
    ),
    "auth": (
        "Auth events speak of the session: who is signed in, when the credentials "
        "expire, and when the client must refresh them."
    ),
    "data": (
        "Data is the application's payload: unnamed message events and named events "
        "the catalogue does not know. Everything the stream exists for is here."
    ),
    "unknown": "Rows with no kind, which the parser did not produce itself.",
}


@dataclass(frozen=True)
class Pattern:
    """One convention of the catalogue and the rules that recognise it.

    A row matches a pattern when any one of its rules matches; patterns are tried in
    catalogue order (registered ones first). Event types are compared after
    :func:`normalise_type` (case, ``_``/space → ``-``), also with a ``namespace:``
    prefix removed.

    Attributes:
        family: one of :data:`FAMILIES`.
        name: the pattern's name, unique in the catalogue (``"heartbeat"``).
        types: event types that mean this pattern (``"heartbeat"``, ``"hb"``).
        words: a word that means it inside a compound name (``build-progress``,
            ``job-complete``); checked after every exact type of every pattern.
        comments: comment texts that mean it (compared stripped, lowercase).
        comment_regex: a regex searched in the comment text (case-insensitive).
        data: whole ``data`` values of unnamed events (stripped, lowercase): ``[done]``.
        json: ``(key, value)`` string pairs found in JSON data: ``("type", "ping")``.
        json_objects: keys whose value is a JSON object in the data: ``"error"``.
        blank: blank lines that dispatch nothing.
        empty_data: unnamed events with empty data.
        description: one line for people.
    """

    family: str
    name: str
    types: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()
    comment_regex: str | None = None
    data: tuple[str, ...] = ()
    json: tuple[tuple[str, str], ...] = ()
    json_objects: tuple[str, ...] = ()
    blank: bool = False
    empty_data: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(
                f"Pattern family must be one of {FAMILIES}, got {self.family!r}"
            )
        if not self.name:
            raise ValueError("a Pattern needs a non-empty name")


def normalise_type(name: str) -> str:
    """An event type in the form the catalogue compares: stripped, lowercase, ``_`` and
    spaces as ``-`` (``"Keep_Alive"`` → ``"keep-alive"``)."""
    return re.sub(r"[\s_]+", "-", str(name).strip().lower())


_P = Pattern
_BUILTIN_PATTERNS: tuple[Pattern, ...] = (
    # keepalive
    _P(
        "keepalive",
        "ping",
        types=("ping", "pong"),
        comments=("ping",),
        data=("ping",),
        json=(("type", "ping"),),
        description="a ping event, bare ping data or a ping comment",
    ),
    _P(
        "keepalive",
        "heartbeat",
        types=("heartbeat", "heart-beat", "hb", "beat"),
        words=("heartbeat",),
        comments=("heartbeat", "hb"),
        data=("heartbeat",),
        json=(("type", "heartbeat"),),
        description="a heartbeat event or a ': heartbeat' comment (Play, Express)",
    ),
    _P(
        "keepalive",
        "keep-alive",
        types=("keep-alive", "keepalive", "alive"),
        words=("keepalive",),
        comments=("keep-alive", "keepalive", "keep-alive signal", "keep alive"),
        comment_regex=r"keep[- ]?alive",
        data=("keep-alive", "keepalive"),
        json=(("type", "keep-alive"), ("type", "keepalive")),
        description="a keep-alive event or comment (nginx, X)",
    ),
    _P(
        "keepalive",
        "blank-line",
        blank=True,
        description="a blank line that dispatches nothing (X sends one every 10-20 s)",
    ),
    _P(
        "keepalive",
        "empty",
        empty_data=True,
        description="an unnamed event with empty data",
    ),
    _P(
        "keepalive",
        "comment",
        description="any other comment: invisible to EventSource, it keeps the "
        "connection busy",
    ),
    # control
    _P(
        "control",
        "start",
        types=("start", "init", "stream-start", "open", "begin", "hello", "started"),
        words=("start", "started", "init", "begin"),
        description="the stream announces itself: start, init, stream-start",
    ),
    _P(
        "control",
        "done",
        types=DONE_TYPES,  # one list with capture's end of stream (_endings.py)
        words=DONE_WORDS,
        data=DONE_DATA,
        description="the stream says it is finished: [DONE], done, complete",
    ),
    _P(
        "control",
        "ready",
        types=("ready",),
        description="the server is ready",
    ),
    _P("control", "retry", description="a retry: line setting the reconnection delay"),
    _P(
        "control",
        "id-only",
        description="a block that only set the last event id",
    ),
    # state
    _P(
        "state",
        "status",
        types=("status", "health", "state"),
        words=("status",),
        description="connection or server status",
    ),
    _P(
        "state",
        "system",
        types=("system", "notice", "rate-limit"),
        description="system notices (X rate-limit notices)",
    ),
    _P(
        "state",
        "config",
        types=("config", "configuration", "settings"),
        words=("config",),
        description="configuration the client should apply",
    ),
    # progress
    _P(
        "progress",
        "progress",
        types=("progress",),
        words=("progress",),
        description="progress of a task: percentage, current/total, eta",
    ),
    _P(
        "progress",
        "update",
        types=("update", "patch"),
        words=("update", "updated"),
        description="incremental update of a state",
    ),
    _P(
        "progress",
        "checkpoint",
        types=("checkpoint",),
        words=("checkpoint",),
        description="a resumable position",
    ),
    # error
    _P(
        "error",
        "operational-disconnect",
        types=("operational-disconnect", "disconnect"),
        description="the server announces it will close the connection (X)",
    ),
    _P(
        "error",
        "error",
        types=("error", "err", "failure", "failed", "fatal"),
        words=("error", "failed", "failure"),
        json=(("type", "error"),),
        json_objects=("error",),
        description="an error event, or an error object inside ordinary data",
    ),
    _P(
        "error",
        "warning",
        types=("warning", "warn"),
        words=("warning",),
        description="a warning",
    ),
    # metadata
    _P(
        "metadata",
        "metadata",
        types=("metadata", "meta"),
        description="versions, capabilities, limits",
    ),
    _P("metadata", "info", types=("info",), description="server information"),
    # auth
    _P(
        "auth",
        "auth",
        types=("auth", "login", "logout", "token-refresh", "authenticated"),
        words=("auth",),
        description="authentication state",
    ),
    _P(
        "auth",
        "session",
        types=("session",),
        words=("session",),
        description="session life cycle",
    ),
    # data
    _P(
        "data",
        "chat.completion.chunk",
        json=(("object", "chat.completion.chunk"),),
        description="an OpenAI-style token chunk",
    ),
    _P("data", "message", description="an unnamed event: ordinary payload"),
    _P("data", "event", description="a named event the catalogue does not know"),
    _P("unknown", "unknown", description="a row with no kind"),
)

_registered_patterns: list[Pattern] = []

#: The compiled form of the patterns in force (``_classify`` fills it); emptied
#: whenever the patterns change.
_compiled: dict[str, Any] = {}


def register_pattern(pattern: Pattern) -> None:
    """Add a pattern to the catalogue; it is tried before the built-in ones, and it
    replaces a pattern of the same name.

    Example:
        >>> register_pattern(Pattern("keepalive", "tick", types=("tick",)))
    """
    if not isinstance(pattern, Pattern):
        raise TypeError(
            f"register_pattern() takes a Pattern, got {type(pattern).__name__}"
        )
    _registered_patterns[:] = [
        p for p in _registered_patterns if p.name != pattern.name
    ]
    _registered_patterns.insert(0, pattern)
    _compiled.clear()


def catalog() -> list[Pattern]:
    """The patterns in force, in the order they are tried: registered ones first, then
    the built-in ones they do not replace."""
    names = {p.name for p in _registered_patterns}
    return _registered_patterns + [p for p in _BUILTIN_PATTERNS if p.name not in names]


#: The built-in catalogue (registered patterns come on top: see ``register_pattern``).
PATTERNS: tuple[Pattern, ...] = _BUILTIN_PATTERNS


# ------------------------------------------------------------------ dialects


@dataclass(frozen=True)
class Clue:
    """One thing that gives a system away. A clue holds when any of its rules matches a
    row (or, for ``data_only``, when the whole stream fits).

    Attributes:
        what: a short sentence for people ("chunks with object chat.completion.chunk").
        weight: how much it counts.
        required: the dialect is ruled out without it.
        types: exact event types.
        json: a regex searched in the data of events.
        comment: a regex searched in comment texts.
        id: a regex matched against event ids.
        blank: blank-line keep-alives.
        data_only: every event is unnamed (``message``).
    """

    what: str
    weight: float = 1.0
    required: bool = False
    types: tuple[str, ...] = ()
    json: str | None = None
    comment: str | None = None
    id: str | None = None
    blank: bool = False
    data_only: bool = False


@dataclass(frozen=True)
class Dialect:
    """A known system: a name, what it is, and the clues that recognise it."""

    name: str
    title: str
    clues: tuple[Clue, ...]
    aliases: tuple[str, ...] = ()
    token_stream: bool = False
    description: str = ""


def _D(name: str, title: str, *clues: Clue, **kw: Any) -> Dialect:
    return Dialect(name, title, tuple(clues), **kw)


_CHUNK = r'"object"[ \t\r\n]*:[ \t\r\n]*"chat\.completion\.chunk"'
_BUILTIN_DIALECTS: tuple[Dialect, ...] = (
    _D(
        "openai",
        "OpenAI chat completions",
        Clue("data is chat.completion.chunk JSON", 3, True, json=_CHUNK),
        Clue("ends with data: [DONE]", 2, json=r"^[ \t\r\n]*\[DONE\][ \t\r\n]*$"),
        Clue("data-only events (no event: names)", 1, data_only=True),
        Clue(
            "ids like chatcmpl-<alphanumeric>",
            1,
            json=r'"id"[ \t\r\n]*:[ \t\r\n]*"chatcmpl-[A-Za-z0-9]{12,}"',
        ),
        token_stream=True,
    ),
    _D(
        "groq",
        "Groq (OpenAI-compatible chat completions)",
        Clue("data is chat.completion.chunk JSON", 3, True, json=_CHUNK),
        Clue("x_groq object in a chunk", 3, json=r'"x_groq"[ \t\r\n]*:'),
        Clue(
            "ids like chatcmpl-<uuid>",
            2,
            json=r'"id"[ \t\r\n]*:[ \t\r\n]*"chatcmpl-[0-9a-f]{8}-[0-9a-f]{4}-',
        ),
        token_stream=True,
    ),
    _D(
        "openrouter",
        "OpenRouter (OpenAI-compatible chat completions)",
        Clue("data is chat.completion.chunk JSON", 3, True, json=_CHUNK),
        Clue("': OPENROUTER PROCESSING' comments", 3, comment=r"OPENROUTER PROCESSING"),
        Clue(
            "ids like gen-… and a provider field",
            2,
            json=r'"id"[ \t\r\n]*:[ \t\r\n]*"gen-',
        ),
        token_stream=True,
    ),
    _D(
        "openai-compatible",
        "OpenAI-compatible chat completions",
        Clue(
            "data is JSON with a choices list",
            2,
            True,
            json=r'"choices"[ \t\r\n]*:[ \t\r\n]*\[',
        ),
        Clue(
            "choices carry delta, text or finish_reason",
            1,
            json=r'"(?:delta|finish_reason)"[ \t\r\n]*:',
        ),
        Clue("ends with data: [DONE]", 0.5, json=r"^[ \t\r\n]*\[DONE\][ \t\r\n]*$"),
        Clue("data-only events (no event: names)", 0.5, data_only=True),
        token_stream=True,
        description=(
            "vLLM, TGI, llama.cpp, Ollama, LM Studio, DeepSeek, Mistral and other "
            "servers that stream choices[].delta the way OpenAI does, whatever their "
            "object and id values; the vendor is named when the data says so."
        ),
    ),
    _D(
        "openai-responses",
        "OpenAI Responses API",
        Clue(
            "response.* event names",
            3,
            True,
            types=("response.created", "response.completed", "response.in_progress"),
        ),
        Clue(
            "delta events",
            1,
            types=(
                "response.output_text.delta",
                "response.function_call_arguments.delta",
            ),
        ),
        Clue("object: response", 1, json=r'"object"[ \t\r\n]*:[ \t\r\n]*"response"'),
        token_stream=True,
    ),
    _D(
        "bedrock",
        "AWS Bedrock (OpenAI-compatible Responses)",
        Clue(
            "response.* event names",
            3,
            True,
            types=("response.created", "response.completed", "response.in_progress"),
        ),
        Clue(
            "delta events",
            1,
            types=(
                "response.output_text.delta",
                "response.function_call_arguments.delta",
            ),
        ),
        Clue("object: response", 1, json=r'"object"[ \t\r\n]*:[ \t\r\n]*"response"'),
        Clue(
            "model ids with a provider prefix (openai.…, anthropic.…)",
            3,
            True,
            json=r'"model"[ \t\r\n]*:[ \t\r\n]*"'
            r"(?:openai|anthropic|amazon|meta|mistral|cohere)\.",
        ),
        token_stream=True,
    ),
    _D(
        "anthropic",
        "Anthropic Messages",
        Clue(
            "message_start / content_block_delta / message_stop events",
            4,
            True,
            types=("message_start", "content_block_delta", "message_stop"),
        ),
        Clue(
            "ping events with {type: ping}",
            1,
            json=r'"type"[ \t\r\n]*:[ \t\r\n]*"ping"',
        ),
        Clue("message_delta with a stop_reason", 1, json=r'"stop_reason"'),
        token_stream=True,
    ),
    _D(
        "gemini",
        "Google Gemini streamGenerateContent",
        Clue(
            "candidates or promptFeedback JSON",
            3,
            True,
            json=r'^[ \t\r\n]*\{[ \t\r\n]*"(?:candidates|promptFeedback)"[ \t\r\n]*:',
        ),
        Clue(
            "finishReason / safetyRatings", 2, json=r'"(?:finishReason|safetyRatings)"'
        ),
        Clue("data-only events", 1, data_only=True),
        token_stream=True,
    ),
    _D(
        "wikimedia",
        "Wikimedia EventStreams",
        Clue(
            "$schema /mediawiki/…",
            3,
            True,
            json=r'"\$schema"[ \t\r\n]*:[ \t\r\n]*"/mediawiki/',
        ),
        Clue("ids are JSON arrays of Kafka topic/partition", 2, id=r'^\[\{"topic"'),
        Clue(
            "a meta object with a stream name", 1, json=r'"meta"[ \t\r\n]*:[ \t\r\n]*\{'
        ),
    ),
    _D(
        "github-actions",
        "GitHub Actions live logs",
        Clue(
            "job-start / job-complete events",
            3,
            True,
            types=("job-start", "job-complete"),
        ),
        Clue("log events", 2, types=("log",)),
        Clue("step-complete events", 2, types=("step-complete",)),
        Clue("ping keep-alives", 1, types=("ping",)),
    ),
    _D(
        "vercel",
        "Vercel deployments",
        Clue(
            "deployment-created / build-progress events",
            3,
            True,
            types=("deployment-created", "build-progress"),
        ),
        Clue("build-log events", 2, types=("build-log",)),
        Clue("ready event", 1, types=("ready",)),
        Clue("ping keep-alives", 1, types=("ping",)),
    ),
    _D(
        "twitter",
        "Twitter/X streams",
        Clue("operational-disconnect events", 3, types=("operational-disconnect",)),
        Clue("blank-line keep-alives", 2, blank=True),
        Clue(
            "': keep-alive signal' comments",
            2,
            comment=r"^[ \t\r\n]*keep-alive signal[ \t\r\n]*$",
        ),
        Clue(
            "system rate-limit notices",
            2,
            types=("system",),
        ),
        aliases=("x",),
    ),
    _D(
        "shopify",
        "Shopify Live Map",
        Clue("stream-start event", 2, True, types=("stream-start",)),
        Clue(
            "session_id, region and shard in stream-start",
            3,
            json=r'"shard"[ \t\r\n]*:',
        ),
    ),
    _D(
        "chatgpt",
        "ChatGPT web conversation",
        Clue("ping events keep the connection open", 3, True, types=("ping",)),
        Clue("unnamed data events between the pings", 1, types=("message",)),
        Clue("conversation_id in the data", 2, json=r'"conversation_id"[ \t\r\n]*:'),
        Clue(
            "delta / delta_encoding events",
            2,
            types=("delta", "delta_encoding"),
        ),
        Clue("ends with data: [DONE]", 1, json=r"^[ \t\r\n]*\[DONE\][ \t\r\n]*$"),
        token_stream=True,
    ),
    _D(
        "express",
        "Express.js / Play Framework",
        Clue(
            "': heartbeat' comments",
            3,
            True,
            comment=r"^[ \t\r\n]*heartbeat[ \t\r\n]*$",
        ),
        aliases=("play", "express/play"),
    ),
    _D(
        "nginx",
        "nginx-fronted server",
        Clue(
            "': keep-alive' comments",
            3,
            True,
            comment=r"^[ \t\r\n]*keep-alive[ \t\r\n]*$",
        ),
    ),
    _D(
        "analytics",
        "Real-time analytics dashboard",
        Clue("init with dashboard_id", 3, True, json=r'"dashboard_id"[ \t\r\n]*:'),
        Clue("metrics events", 2, types=("metrics",)),
        Clue("alert events", 2, types=("alert",)),
        Clue("comment heartbeats", 1, comment=r"heartbeat"),
        Clue("done event", 1, types=("done",)),
    ),
)

_registered_dialects: list[Dialect] = []

#: The built-in dialects (registered ones come on top: see ``register_dialect``).
DIALECTS: tuple[Dialect, ...] = _BUILTIN_DIALECTS


def register_dialect(d: Dialect) -> None:
    """Add a system to those :func:`dialect` recognises; it replaces one of the same
    name.

    Example:
        >>> register_dialect(Dialect("acme", "ACME feed",
        ...     (Clue("acme-tick events", 3, True, types=("acme-tick",)),)))
    """
    if not isinstance(d, Dialect):
        raise TypeError(f"register_dialect() takes a Dialect, got {type(d).__name__}")
    if not d.clues:
        raise ValueError(f"dialect {d.name!r} needs at least one Clue")
    _registered_dialects[:] = [x for x in _registered_dialects if x.name != d.name]
    _registered_dialects.insert(0, d)


def _dialects() -> list[Dialect]:
    names = {d.name for d in _registered_dialects}
    return _registered_dialects + [d for d in _BUILTIN_DIALECTS if d.name not in names]
