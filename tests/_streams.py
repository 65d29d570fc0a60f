"""Hand-built streams and captures for the pattern and analysis tests.

Each system's stream mirrors what the pattern catalogue says it sends, written through
``ssenb.parse.encode_event``; arrival times are set by hand, so intervals are exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ssenb.frames import CONNECTIONS_SCHEMA, build_events, coerce, empty_events
from ssenb.parse import RecordBatch, SSEParser, encode_event

REPO = Path(__file__).resolve().parents[1]


def data_real() -> Path | None:
    """The folder of real recorded streams, when it is there."""
    for cand in (
        REPO / ".." / "shared" / "data-real",
        REPO / ".." / ".." / "shared" / "data-real",
    ):
        if cand.is_dir():
            return cand.resolve()
    return None


def ev(data: Any = None, **kw: Any) -> bytes:
    """One block; dicts become JSON."""
    if isinstance(data, dict | list):
        data = json.dumps(data)
    return encode_event(data, **kw)


def frame(
    chunks: list[tuple[float, bytes] | tuple[float, bytes, int]], *, stream: str = ""
) -> pd.DataFrame:
    """An events frame from ``(elapsed, bytes[, connection])`` chunks; every record
    completed by a chunk arrives at that chunk's elapsed time. A new connection starts
    a new parser."""
    parsers: dict[int, SSEParser] = {}
    parts = []
    seq = 0
    for item in chunks:
        t, data = item[0], item[1]
        conn = item[2] if len(item) > 2 else 1  # type: ignore[misc]
        parser = parsers.setdefault(conn, SSEParser())
        batch = parser.feed_batch(data)
        if not len(batch):
            continue
        part = build_events(
            batch,
            stream=stream,
            connection=conn,
            seq_start=seq,
            elapsed=[float(t)] * len(batch),
            time=[pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=t)]
            * len(batch),
        )
        seq += len(batch)
        parts.append(part)
    if not parts:
        return empty_events()
    out = pd.concat(parts, ignore_index=True)
    out["stream"] = out["stream"].astype("category")
    out["type"] = out["type"].astype(str).astype("category")
    return out


def untimed(raw: bytes) -> pd.DataFrame:
    """An events frame with no arrival times (like ``read_sse``)."""
    parser = SSEParser()
    batch = RecordBatch()
    batch.extend(parser.feed_batch(raw))
    batch.extend(parser.close_batch())
    return build_events(batch)


@dataclass
class FakeCapture:
    """What analysis needs of a Capture: events, connections, meta."""

    events: pd.DataFrame
    connections: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def connections(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A connections frame; missing columns take neutral values."""
    defaults: dict[str, Any] = {
        "stream": "",
        "url": "http://127.0.0.1/stream",
        "method": "GET",
        "status": 200,
        "content_type": "text/event-stream",
        "last_event_id_sent": None,
        "delay": 0.0,
        "t_request": pd.NaT,
        "t_headers": pd.NaT,
        "t_first_byte": pd.NaT,
        "t_closed": pd.NaT,
        "start": 0.0,
        "end": 0.0,
        "bytes": 0,
        "records": 0,
        "events": 0,
        "outcome": "eof",
        "error": None,
        "retry": None,
        "time_scale": 1.0,
        "discarded": 0,
    }
    full = [{**defaults, **r} for r in rows]
    return coerce(pd.DataFrame(full), CONNECTIONS_SCHEMA, what="connections")


# ------------------------------------------------------------------ dialect fixtures


def _chunk(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-9xYzAbCdEfGhIjKlMnOp",
        "object": "chat.completion.chunk",
        "created": 1704067200,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def openai_bytes() -> bytes:
    parts = [ev(_chunk("Hel")), ev(_chunk("lo")), ev(_chunk(None, "stop"))]
    return b"".join(parts) + ev("[DONE]")


def github_actions_bytes() -> bytes:
    return b"".join(
        [
            ev({"job_id": 7, "name": "build", "runner": "ubuntu"}, event="job-start"),
            ev(
                {"timestamp": "2024-01-01T00:00:00Z", "level": "info", "message": "go"},
                event="log",
            ),
            ev(event="ping", data="{}"),
            ev(
                {"step": "test", "status": "success", "duration_ms": 900},
                event="step-complete",
            ),
            ev(
                {"job_id": 7, "status": "success", "total_duration_ms": 1200},
                event="job-complete",
            ),
        ]
    )


def vercel_bytes() -> bytes:
    return b"".join(
        [
            ev({"id": "dpl_1", "url": "app.vercel.app"}, event="deployment-created"),
            ev({"phase": "build", "progress": 0.5}, event="build-progress"),
            ev({"timestamp": 1704067200, "text": "compiled"}, event="build-log"),
            ev("{}", event="ping"),
            ev({"url": "app.vercel.app", "duration_ms": 4000}, event="ready"),
        ]
    )


def twitter_bytes() -> bytes:
    return b"".join(
        [
            ev({"text": "hello"}),
            b"\r\n",
            ev(comment="keep-alive signal"),
            ev(
                {"current": 40, "limit": 50, "reset_at": "2024-01-01T00:15:00Z"},
                event="system",
            ),
            b"\r\n",
            ev(
                {
                    "title": "operational-disconnect",
                    "disconnect_type": "UpstreamOperationalDisconnect",
                    "detail": "reconnect",
                    "reconnect": True,
                    "backoff_ms": 5000,
                },
                event="operational-disconnect",
            ),
        ]
    )


def shopify_bytes() -> bytes:
    return ev(
        {"session_id": "s-1", "region": "us-east", "shard": 3}, event="stream-start"
    ) + ev({"lat": 40.7, "lng": -74.0, "kind": "order"})


def chatgpt_bytes() -> bytes:
    msg = {
        "message": {
            "id": "m1",
            "author": {"role": "assistant"},
            "content": {"content_type": "text", "parts": ["Hi"]},
        },
        "conversation_id": "c-1",
    }
    return ev("{}", event="ping") + ev(msg) + ev("{}", event="ping") + ev("[DONE]")


def express_bytes() -> bytes:
    return ev(comment="heartbeat") + ev({"n": 1}) + ev(comment="heartbeat")


def nginx_bytes() -> bytes:
    return ev(comment="keep-alive") + ev({"n": 1}) + ev(comment="keep-alive")


def analytics_bytes() -> bytes:
    return b"".join(
        [
            ev({"dashboard_id": "d1", "refresh_rate": 5}, event="init"),
            ev(
                {
                    "timestamp": "2024-01-01T00:00:00Z",
                    "visitors": 10,
                    "page_views": 30,
                    "avg_duration": 12.5,
                },
                event="metrics",
            ),
            ev(comment="heartbeat"),
            ev(
                {
                    "type": "spike_detected",
                    "metric": "visitors",
                    "value": 90,
                    "threshold": 50,
                },
                event="alert",
            ),
            ev({"reason": "end"}, event="done"),
        ]
    )


#: (expected dialect, stream bytes): add demo-server captures here as they land.
DIALECT_STREAMS: list[tuple[str, bytes]] = [
    ("openai", openai_bytes()),
    ("github-actions", github_actions_bytes()),
    ("vercel", vercel_bytes()),
    ("twitter", twitter_bytes()),
    ("shopify", shopify_bytes()),
    ("chatgpt", chatgpt_bytes()),
    ("express", express_bytes()),
    ("play", express_bytes()),
    ("nginx", nginx_bytes()),
    ("analytics", analytics_bytes()),
]

#: Real recorded stream file → the dialect it must be recognised as.
REAL_DIALECTS: dict[str, str] = {
    "anthropic-messages-basic.sse": "anthropic",
    "anthropic-messages-padded-json.sse": "anthropic",
    "anthropic-messages-tool-use.sse": "anthropic",
    "bedrock-mantle-responses-data-before-event.sse": "bedrock",
    "gemini-generate-content-utf8-crlf.sse": "gemini",
    "gemini-prompt-blocked-crlf.sse": "gemini",
    "groq-error-event-tool-use-failed.sse": "groq",
    "openai-chat-completions-max-tokens.sse": "openai",
    "openai-chat-completions-tool-call.sse": "openai",
    "openai-responses-api-stream.sse": "openai-responses",
    "openrouter-keepalive-comments-midstream-error.sse": "openrouter",
    "wikimedia-eventstreams-recentchange.sse": "wikimedia",
}
