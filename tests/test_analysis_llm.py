"""LLM streams rebuilt per choice: hand-written streams in each vendor's published
shape (``tests/llm_streams/``), checked field by field against hand-written answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import ssenb
from ssenb.analysis import llm

STREAMS = Path(__file__).parent / "llm_streams"
EXPECTED: dict[str, Any] = json.loads((STREAMS / "expected.json").read_text())


def test_every_stream_file_has_an_answer() -> None:
    assert sorted(p.name for p in STREAMS.glob("*.sse")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n.removesuffix(".sse"))
def test_llm_stream_rebuilt_exactly_per_choice(name: str) -> None:
    want = EXPECTED[name]
    frame = ssenb.frames.read_sse(STREAMS / name)
    found = ssenb.patterns.dialect(frame)
    assert (found.name, found.vendor) == (want["dialect"], want["vendor"]), str(found)
    r = llm(frame)
    got = r.messages.set_index("choice")
    assert sorted(got.index) == [m["choice"] for m in want["messages"]]
    for m in want["messages"]:
        row = got.loc[m["choice"]]
        assert row["text"] == m["text"]
        assert row["reasoning"] == m.get("reasoning", "")
        assert row["refusal"] == m.get("refusal") or (
            m.get("refusal") is None and pd.isna(row["refusal"])
        )
        assert row["finish_reason"] == m["finish_reason"]
        assert (
            pd.isna(row["error"])
            if m.get("error") is None
            else row["error"] == m["error"]
        )
        assert row["redacted_reasoning"] == m.get("redacted_reasoning", 0)
        calls = r.tool_calls[r.tool_calls["choice"] == m["choice"]]
        assert row["tool_calls"] == len(calls)
        want_calls = m.get("tool_calls", [])
        assert [
            {"id": c["id"], "name": c["name"], "arguments": c["arguments"]}
            for c in calls.to_dict("records")
        ] == want_calls
        assert calls["valid_json"].all()
    req = r.requests.iloc[0]
    if "output_tokens" in want:
        assert (req["output_tokens"], req["tokens_source"]) == (
            want["output_tokens"],
            "usage",
        )
    else:
        assert req["tokens_source"].startswith(("estimate", "tokenizer"))


def test_llm_text_of_choices_never_interleaves() -> None:
    r = llm(ssenb.frames.read_sse(STREAMS / "openai-chat-n3.sse"))
    assert r.facts["text"] == '{"city":"San Francisco"}'
    assert r.requests.loc[0, "choices"] == 3


def test_llm_same_answer_in_any_chunking() -> None:
    raw = (STREAMS / "gemini-thoughts-two-candidates-crlf.sse").read_bytes()
    whole = llm(ssenb.frames.read_sse(raw)).messages
    bytewise = llm(
        ssenb.frames.read_sse([raw[i : i + 1] for i in range(len(raw))])
    ).messages
    pd.testing.assert_frame_equal(whole, bytewise)


def test_dialect_unknown_for_other_json_shapes() -> None:
    raw = b"".join(
        ssenb.parse.encode_event(
            json.dumps({"items": [{"delta": "x"}], "finish_reason": 1})
        )
        for _ in range(3)
    )
    d = ssenb.patterns.dialect(ssenb.frames.read_sse(raw))
    assert (d.name, d.vendor) == ("unknown", None)
    assert "Not a token stream" in llm(ssenb.frames.read_sse(raw)).summary[0]


@pytest.mark.parametrize(
    "name",
    sorted(n for n, w in EXPECTED.items() if w["dialect"].startswith("openai")),
    ids=lambda n: n.removesuffix(".sse"),
)
def test_llm_chat_fast_path_matches_the_general_reader(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = ssenb.frames.read_sse(STREAMS / name)
    fast = llm(frame)
    monkeypatch.setattr("ssenb.analysis._llm._COMPLEX", ".")  # every row: general
    slow = llm(frame)
    pd.testing.assert_frame_equal(fast.messages, slow.messages)
    pd.testing.assert_frame_equal(fast.requests, slow.requests)


def test_llm_fast_path_pieces_in_arrival_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Role-only chunks, text with a finish in the same chunk, finish-only chunks
    and rows the general reader takes, interleaved: every table as the general
    reader builds it, tokens in arrival order."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **kw: Any) -> bytes:
        body = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return ssenb.parse.encode_event(json.dumps({**body, **kw}))

    raw = b"".join(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo\n"}),
            chunk({"reasoning_content": "hm"}),
            chunk({"content": " you"}, "length"),
            chunk({"content": "é"}),
            chunk({}, "stop"),
            ssenb.parse.encode_event(
                json.dumps({"choices": [], "usage": {"completion_tokens": 4}})
            ),
            chunk({"content": "after"}),
        ]
    )
    frame = ssenb.frames.read_sse(raw)
    fast = llm(frame, tokenizer=False)
    assert fast.tokens["text"].tolist() == ["Hel", "lo\n", " you", "é", "after"]
    monkeypatch.setattr("ssenb.analysis._llm._COMPLEX", ".")  # every row: general
    slow = llm(frame, tokenizer=False)
    for name in ("messages", "requests", "tokens", "gaps"):
        pd.testing.assert_frame_equal(fast.tables[name], slow.tables[name])


def test_llm_forced_dialect_still_names_the_vendor() -> None:
    frame = ssenb.frames.read_sse(STREAMS / "tgi-text-completion-nospace.sse")
    r = llm(frame, dialect="openai-compatible")
    assert r.facts["vendor"] == "tgi"
    assert "vendor tgi" in str(ssenb.patterns.dialect(frame))
    assert r.messages["choice"].tolist() == [0]


@pytest.mark.parametrize(
    ("raw", "first"),
    [
        pytest.param(b"", "Not a token stream", id="empty"),
        pytest.param(
            ssenb.parse.encode_event("[DONE]"), "Not a token stream", id="done"
        ),
        pytest.param(
            ssenb.parse.encode_event(
                json.dumps(
                    {
                        "object": "chat.completion.chunk",
                        "choices": [],
                        "usage": {"completion_tokens": 3},
                    }
                )
            ),
            "1 request(s), but no choice",
            id="usage-only",
        ),
    ],
)
def test_llm_edge_streams_say_what_they_hold(raw: bytes, first: str) -> None:
    r = llm(ssenb.frames.read_sse(raw))
    assert r.summary[0].startswith(first)
    assert len(r.messages) == 0
    assert r.text() and r.html()  # renders, with every table present
    assert set(r.tables) >= {"messages", "requests", "percentiles", "gaps"}


def test_finish_reasons_read_only_where_they_can_be_equal_a_full_pass() -> None:
    from ssenb.analysis import _llm

    shapes = [
        '{"choices":[{"delta":{},"finish_reason":"stop"}]}',
        '{"choices":[{"delta":{},"finish_reason" :\n "length"}]}',
        '{"choices":[{"delta":{},"finish_reason":null}]}',
        '{"choices":[{"delta":{"content":"finish_reason"}}]}',
        '{"stop_reason":"end_turn"}',
        '{"finish_reason":""}',
        "",
    ]
    d = pd.Series(pd.array(shapes * 2 + [None], dtype="string[pyarrow]"))
    got = _llm._finish_reasons(d)
    want = ssenb.analysis._text.extract(d, _llm._FINISH)
    assert got.tolist() == want.tolist()
    assert got[:3].tolist() == ["stop", "length", None]


def test_llm_a_cut_chunk_with_escaped_text_does_not_fail_the_analysis() -> None:
    # a chunk missing its last brace, whose text holds an escape: the fast path
    # decoded it with json.loads and raised; its text is kept, the rest read on
    raw = (
        b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"a\\nb"}}]\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":" ok"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    res = llm(ssenb.read_sse(raw))
    assert res.tables["messages"]["text"].tolist() == ["a\nb ok"]
