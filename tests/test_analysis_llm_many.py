"""Many requests, one table: ``llm()`` of a ``capture_many`` capture, one stream per
request, against a local POST endpoint whose delays are known; the percentiles come
out as the delays were built (measured latency only adds the local overhead)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

import ssenb
from ssenb.analysis import llm
from ssenb.server._thread import serve_in_thread

TOKENS = 5
ITL = 0.03
# the local overhead a measured latency may add to a built one (shared machine)
SLACK = 0.3


def _chunk(i: int, delta: dict[str, Any], finish: str | None = None, **kw: Any) -> str:
    body = {
        "id": f"chatcmpl-{i:032x}",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish, "stop_reason": None}
        ],
        **kw,
    }
    return f"data: {json.dumps(body)}\n\n"


async def completions(request: Request) -> StreamingResponse:
    """An OpenAI-compatible stream: the first token after ``ttft`` seconds (from the
    JSON body), then one token every ``ITL`` seconds, usage, ``[DONE]``."""
    spec = await request.json()
    ttft, n = float(spec["ttft"]), int(spec["tokens"])

    async def body() -> Any:
        yield _chunk(0, {"role": "assistant", "content": ""})
        await asyncio.sleep(ttft)
        for k in range(n):
            if k:
                await asyncio.sleep(ITL)
            yield _chunk(0, {"content": f" w{k}"})
        yield _chunk(0, {}, "stop", usage={"completion_tokens": n})
        yield "data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


APP = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def _requests(base: str, ttfts: list[float]) -> dict[str, Any]:
    return {
        f"r{i:03d}": {
            "url": base + "/v1/chat/completions",
            "method": "POST",
            "json": {"model": "test-model", "stream": True, "ttft": t, "tokens": TOKENS},
        }
        for i, t in enumerate(ttfts)
    }


def _check_as_built(cap: Any, ttfts: list[float]) -> None:
    r = llm(cap)
    req = r.requests.set_index("stream").sort_index()
    assert len(req) == len(ttfts) and (req["tokens_source"] == "usage").all()
    assert (req["output_tokens"] == TOKENS).all()
    measured = req["ttft"].to_numpy()
    built = np.asarray(ttfts)
    # never earlier than built, never later than the local overhead allows
    assert (measured >= built - 0.005).all(), (measured - built).min()
    assert (measured <= built + SLACK).all(), (measured - built).max()
    pct = r.percentiles.set_index("metric")
    for q in ("p50", "p90", "p99"):
        want = np.percentile(built, int(q[1:]))
        assert want - 0.005 <= pct.loc["ttft", q] <= want + SLACK
    # the decode phase: TOKENS - 1 gaps of ITL after the first token
    assert pct.loc["e2e", "p50"] >= np.percentile(built, 50) + (TOKENS - 1) * ITL
    assert ITL - 0.005 <= pct.loc["tpot", "p50"] <= ITL + SLACK / (TOKENS - 1)
    assert pct.loc["itl", "over"] == "gaps"
    assert pct.loc["itl", "n"] == len(ttfts) * (TOKENS - 1)
    assert r.messages["text"].eq("".join(f" w{k}" for k in range(TOKENS))).all()
    assert any(line.startswith("time to first token:") for line in r.summary)


def test_llm_many_requests_at_once_percentiles_as_built() -> None:
    ttfts = [0.1 + 0.02 * i for i in range(20)]
    with serve_in_thread(APP) as base:
        cap = ssenb.capture_many(
            _requests(base, ttfts),
            until="[DONE]",
            reconnect=False,
            progress=False,
            duration=30,
        )
    _check_as_built(cap, ttfts)


def _accepts_concurrency() -> bool:
    """Whether this ssenb's capture_many takes ``concurrency=``: an unknown option
    is refused by name before anything is sent."""
    try:
        ssenb.capture_many({}, concurrency=1)
    except TypeError as exc:
        return "concurrency" not in str(exc) or "unknown" not in str(exc)
    except Exception:
        return True
    return True


@pytest.mark.skipif(
    not _accepts_concurrency(), reason="capture_many has no concurrency= here"
)
@pytest.mark.timeout(120)
def test_llm_hundred_requests_concurrency_ten_percentiles_as_built() -> None:
    ttfts = [0.05 + 0.01 * (i % 10) for i in range(100)]
    with serve_in_thread(APP) as base:
        cap = ssenb.capture_many(
            _requests(base, ttfts),
            concurrency=10,
            until="[DONE]",
            reconnect=False,
            progress=False,
            duration=100,
        )
    _check_as_built(cap, ttfts)


def test_llm_demo_server_llm_scenarios_many_requests() -> None:
    srv = ssenb.demo_server(speed=100)
    try:
        urls = {f"r{i}": srv.url("openai", events=5) for i in range(6)}
        cap = ssenb.capture_many(urls, until="[DONE]", progress=False, duration=30)
    finally:
        srv.stop()
    r = llm(cap)
    assert len(r.requests) == 6 and r.requests["setup_scaled"].all()
    assert r.facts["requests"] == 6
    assert any("real setup" in n for n in r.notes)
    assert set(r.percentiles["metric"]) >= {"ttft", "ttfat", "itl", "tpot", "e2e"}
