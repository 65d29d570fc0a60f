"""Latency metrics of LLM requests: each definition checked against values computed
by hand on a small stream with known timings."""

from __future__ import annotations

from typing import Any

import pytest
from _streams import FakeCapture, connections, ev, frame

from ssenb.analysis import llm

CID = "chatcmpl-9f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    return ev(
        {
            "id": CID,
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "delta": delta,
                    "finish_reason": finish,
                    "stop_reason": None,
                }
            ],
            **extra,
        }
    )


def _timed(usage: bool = True, scale: float = 1.0) -> FakeCapture:
    """Request sent at 0.0; role-only chunk at 0.2; reasoning at 0.5 and 0.7; answer
    text at 1.0, 1.25 and 1.5; finish (with usage: 6 tokens) at 1.6; [DONE] at 1.7."""
    extra = {"usage": {"completion_tokens": 6}} if usage else {}
    rows = [
        (0.2, _chunk({"role": "assistant", "content": ""})),
        (0.5, _chunk({"reasoning_content": "ab"})),
        (0.7, _chunk({"reasoning_content": "cd"})),
        (1.0, _chunk({"content": "Hello"})),
        (1.25, _chunk({"content": " world"})),
        (1.5, _chunk({"content": "!"})),
        (1.6, _chunk({}, "stop", **extra)),
        (1.7, ev("[DONE]")),
    ]
    f = frame([(t / scale, raw) for t, raw in rows])
    conns = connections(
        [{"connection": 1, "start": 0.0, "end": 1.7 / scale, "time_scale": scale}]
    )
    return FakeCapture(f, conns, {"time_scale": scale})


@pytest.mark.parametrize(
    ("definition", "ttft", "itl", "tpot"),
    [
        # first output chunk (reasoning) 0.5; gaps 0.2, 0.3, 0.25, 0.25; (1.7-0.5)/5
        ("vllm", 0.5, 0.25, 0.24),
        # first answer text 1.0; (last answer chunk 1.5 - start 0) / 6 tokens
        ("llmperf", 1.0, 0.25, 0.25),
        # first non-empty response 0.5; (1.7 - 0.5) / (6 - 1)
        ("genai-perf", 0.5, 0.24, 0.24),
    ],
)
def test_llm_metric_definitions_by_hand(
    definition: str, ttft: float, itl: float, tpot: float
) -> None:
    r = llm(_timed(), definition=definition)
    req = r.requests.iloc[0]
    assert req["definition"] == definition
    assert req["ttft"] == pytest.approx(ttft)
    assert req["ttfat"] == pytest.approx(1.0)  # after the reasoning, in every one
    assert req["itl"] == pytest.approx(itl)
    assert req["tpot"] == pytest.approx(tpot)
    assert req["e2e"] == pytest.approx(1.7)
    assert req["output_tokens"] == 6 and req["tokens_source"] == "usage"
    assert req["tokens_per_s"] == pytest.approx(6 / 1.7)
    assert req["chunks"] == 5 and req["start_from"] == "request"
    assert not req["setup_scaled"]
    assert any(definition in n for n in r.notes)
    pct = r.percentiles.set_index("metric")
    assert pct.loc["ttft", "p50"] == pytest.approx(ttft)
    if definition == "vllm":  # vllm pools the gaps for its ITL percentiles
        assert pct.loc["itl", "over"] == "gaps" and pct.loc["itl", "n"] == 4
        assert pct.loc["itl", "max"] == pytest.approx(0.3)


def test_llm_tokens_from_a_tokenizer_or_estimated_and_labelled() -> None:
    cap = _timed(usage=False)
    words = llm(cap, tokenizer=str.split).requests.iloc[0]
    # "abcdHello world!" -> two words
    assert (words["output_tokens"], words["tokens_source"]) == (2, "tokenizer (split)")
    assert words["tpot"] == pytest.approx((1.7 - 0.5) / 1)
    est = llm(cap, tokenizer=False)
    req = est.requests.iloc[0]
    assert req["output_tokens"] == 4  # 16 characters / 4
    assert req["tokens_source"] == "estimate (characters / 4)"
    assert any("estimated" in n for n in est.notes)


def test_llm_flags_scaled_setup_on_compressed_captures() -> None:
    r = llm(_timed(scale=100.0))
    req = r.requests.iloc[0]
    assert req["setup_scaled"] and req["ttft"] == pytest.approx(0.5)
    assert any("real setup" in n for n in r.notes)


def test_llm_bare_frame_times_requests_from_their_first_record() -> None:
    r = llm(_timed().events)
    req = r.requests.iloc[0]
    assert req["start_from"] == "first record"
    assert req["ttft"] == pytest.approx(0.3) and req["e2e"] == pytest.approx(1.5)


def test_llm_bad_definition_and_tokenizer() -> None:
    with pytest.raises(ValueError, match="definition must be one of"):
        llm(_timed(), definition="mlperf")
    with pytest.raises(TypeError, match="tokenizer must be"):
        llm(_timed(usage=False), tokenizer="cl100k")
