"""Chat chunks read by their envelope (``ssenb._envelope``): the same tables as
the regex passes give, on every shape a chunk's text and its neighbours can take."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from _envelope_rows import (  # small_runs: an autouse fixture
    chat_chunk,
    events_frame,
    small_runs,  # noqa: F401
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssenb
from ssenb import _envelope, analysis
from ssenb.analysis import _llm, llm
from ssenb.frames import EVENTS_SCHEMA, coerce

STREAMS = Path(__file__).parent / "llm_streams"
TABLES = ("messages", "requests", "tokens", "tool_calls", "gaps")


# texts that look like keys the regex passes watch for, quotes, escapes, wide and
# control characters, empty text, JSON-looking text
TEXTS = [
    "Hel",
    "lo",
    "error",
    "tool_calls",
    "reasoning_content",
    "finish_reason",
    'say "hi"',
    "back\\slash",
    "line\nbreak",
    "tab\there",
    "é😀",
    "",
    '},{"index":1',
    "{}",
    " ",
    "\u2028",
]


def _request(cid: str, texts: list[str]) -> list[str]:
    rows = [chat_chunk(cid, {"role": "assistant", "content": ""})]
    rows += [chat_chunk(cid, {"content": t}) for t in texts]
    rows.append(chat_chunk(cid, {}, "stop"))
    rows.append(
        json.dumps({"id": cid, "choices": [], "usage": {"completion_tokens": 7}})
    )
    return rows


def _frame(requests: list[list[str]], interleave: bool = False) -> pd.DataFrame:
    """An events frame of several requests (one connection each), one after the
    other or interleaved row by row."""
    rows = []
    if interleave:
        longest = max(len(r) for r in requests)
        for i in range(longest):
            rows += [(c + 1, r[i]) for c, r in enumerate(requests) if i < len(r)]
    else:
        rows = [(c + 1, d) for c, r in enumerate(requests) for d in r]
    return events_frame([(c, "message", d) for c, d in rows])


def _both(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, **kw: Any
) -> tuple[Any, Any]:
    """llm() of ``frame`` with the envelope path, then without it (each on a copy
    of the frame: prepared anew, not from the cache)."""
    with_envelope = llm(frame.copy(), tokenizer=False, **kw)
    with monkeypatch.context() as m:
        m.setattr(_envelope, "TRIES", 0)  # no envelope is ever found
        without = llm(frame.copy(), tokenizer=False, **kw)
    return with_envelope, without


def _assert_same(a: Any, b: Any) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.summary == b.summary


def _taken(frame: pd.DataFrame) -> int:
    """How many rows llm reads by their envelope in ``frame``."""
    prep = analysis.prepare(frame.copy())  # a new frame: prepared now
    which = prep.envelopes.per_row(len(prep.events))
    at, _, _ = _llm._enveloped(prep.events, which, prep.envelopes.envelopes)
    return len(at)


def test_envelope_rows_give_the_tables_of_the_regex_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = _frame([_request("chatcmpl-A", TEXTS), _request("chatcmpl-B", TEXTS[::-1])])
    a, b = _both(frame, monkeypatch, dialect="openai")
    _assert_same(a, b)
    assert a.tokens["text"].tolist()[: len(TEXTS) - 1] == [t for t in TEXTS if t]
    # the envelope path read every text whose JSON holds no quote or backslash
    # (not the role chunk, whose keys differ): the test can tell the paths apart
    plain = [
        t
        for t in TEXTS
        if '"' not in json.dumps(t)[1:-1]
        and "\\" not in json.dumps(t, ensure_ascii=False)
    ]
    assert len(plain) == 11
    assert _taken(frame) == 2 * len(plain)


def test_texts_with_quotes_or_backslashes_are_left_to_the_regex_passes() -> None:
    frame = _frame([_request("chatcmpl-A", ["x", 'a "b"', "c\\d", "plain", "y"])])
    # two plain texts side by side give the envelope; the role chunk has another
    # one, and the escaped texts are not taken
    prep = analysis.prepare(frame)
    which = prep.envelopes.per_row(len(prep.events))
    at, texts, fin = _llm._enveloped(prep.events, which, prep.envelopes.envelopes)
    assert texts.tolist() == ["x", "plain", "y"]
    assert fin.tolist() == [None, None, None]
    assert at.tolist() == [1, 4, 5]


def test_interleaved_requests_give_the_same_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests = [_request(f"chatcmpl-{i}", TEXTS[i:] + TEXTS[:i]) for i in range(5)]
    frame = _frame(requests, interleave=True)
    a, b = _both(frame, monkeypatch, dialect="openai")
    _assert_same(a, b)
    # one row per run: no two rows of a run to take an envelope from
    assert _taken(frame) == 0
    assert _taken(_frame(requests)) > 0  # the same requests one after the other


def test_a_request_whose_first_chunks_are_not_simple_still_finds_its_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cid = "chatcmpl-T"
    call = {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f"}}]}
    rows = [chat_chunk(cid, call)] * 3 + _request(cid, ["x", "y", "z"])
    frame = _frame([rows])
    a, b = _both(frame, monkeypatch, dialect="openai")
    _assert_same(a, b)
    assert _taken(frame) == 3  # x, y, z (the role chunk has keys of its own)


def test_a_finish_in_the_envelope_is_every_row_s_finish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cid = "chatcmpl-F"
    rows = [chat_chunk(cid, {"content": t}, "length") for t in ("a", "b", "c")]
    frame = _frame([rows])
    a, b = _both(frame, monkeypatch, dialect="openai")
    _assert_same(a, b)
    assert _taken(frame) == 3
    assert a.messages.loc[0, "finish_reason"] == "length"


def test_a_column_in_several_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame([_request("chatcmpl-A", TEXTS), _request("chatcmpl-B", TEXTS)])
    data = frame["data"].astype(str).tolist()
    half = len(data) // 2 + 3  # inside the second request
    chunked = pa.chunked_array(
        [
            pa.array(data[:half], pa.large_string()),
            pa.array(data[half:], pa.large_string()),
        ]
    )
    frame["data"] = pd.Series(pd.arrays.ArrowExtensionArray(chunked), index=frame.index)
    frame = coerce(frame, EVENTS_SCHEMA, what="events")
    assert frame["data"].array._pa_array.num_chunks == 2
    a, b = _both(frame, monkeypatch, dialect="openai")
    _assert_same(a, b)
    assert _taken(frame) > 0


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in STREAMS.glob("openai*.sse")),
    ids=lambda n: n.removesuffix(".sse"),
)
def test_recorded_shapes_give_the_same_tables(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = ssenb.frames.read_sse(STREAMS / name)
    a, b = _both(frame, monkeypatch)
    _assert_same(a, b)


_SHAPES = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=6)),
    st.tuples(st.just("role"), st.just("")),
    st.tuples(st.just("finish"), st.sampled_from(["stop", "length"])),
    st.tuples(st.just("tool"), st.just("")),
    st.tuples(st.just("usage"), st.just("")),
    st.tuples(st.just("reasoning"), st.text(max_size=4)),
)


def _row(cid: str, shape: tuple[str, str]) -> str:
    what, value = shape
    if what == "text":
        return chat_chunk(cid, {"content": value})
    if what == "role":
        return chat_chunk(cid, {"role": "assistant", "content": ""})
    if what == "finish":
        return chat_chunk(cid, {}, value)
    if what == "tool":
        call = {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}
        return chat_chunk(cid, {"tool_calls": [call]})
    if what == "usage":
        return json.dumps({"id": cid, "choices": [], "usage": {"completion_tokens": 1}})
    return chat_chunk(cid, {"reasoning_content": value})


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    requests=st.lists(
        st.lists(_SHAPES, min_size=1, max_size=12), min_size=1, max_size=3
    ),
    interleave=st.booleans(),
)
def test_any_mix_of_chunks_gives_the_tables_of_the_regex_passes(
    requests: list[list[tuple[str, str]]],
    interleave: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = _frame(
        [
            [_row(f"chatcmpl-{i}", s) for s in shapes]
            for i, shapes in enumerate(requests)
        ],
        interleave=interleave,
    )
    a, b = _both(frame, monkeypatch, dialect="openai")
    _assert_same(a, b)
