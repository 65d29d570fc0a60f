"""Events frames of JSON rows for the envelope tests (``ssenb._envelope``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssenb import _envelope
from ssenb.frames import EVENTS_SCHEMA, coerce
from ssenb.patterns import _classify

#: The envelope path's defaults, as users get them.
DEFAULTS = {name: getattr(_envelope, name) for name in ("MIN_RUN", "MIN_ASKS")}
CLASSIFY_MIN = _classify.ENVELOPE_MIN


@pytest.fixture(autouse=True)
def small_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The envelope path on the few rows of a test's frames (by default it waits
    for runs long enough to pay for themselves)."""
    monkeypatch.setattr(_envelope, "MIN_RUN", 1)
    monkeypatch.setattr(_classify, "ENVELOPE_MIN", 0)
    yield


def as_users_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the envelope path's defaults back."""
    for name, value in DEFAULTS.items():
        monkeypatch.setattr(_envelope, name, value)
    monkeypatch.setattr(_classify, "ENVELOPE_MIN", CLASSIFY_MIN)


def chat_chunk(
    cid: str, delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> str:
    """An OpenAI chat.completion.chunk, as the API writes it (compact, UTF-8)."""
    body = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": 1727346171,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        ],
        **extra,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def events_frame(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    """An events frame of (connection, type, data) rows, one event each."""
    n = len(rows)
    frame = pd.DataFrame(
        {
            "stream": "",
            "connection": [c for c, _, _ in rows],
            "seq": np.arange(n),
            "time": pd.NaT,
            "elapsed": np.arange(n) * 0.01,
            "kind": "event",
            "type": [t for _, t, _ in rows],
            "data": [d for _, _, d in rows],
            "id": None,
            "last_event_id": "",
            "retry": None,
            "size": 10,
            "offset": 0,
        }
    )
    return coerce(frame, EVENTS_SCHEMA, what="events")
