"""Many requests, one table: ``llm()`` of a ``capture_many`` capture, one stream per
request, against a local POST endpoint whose delays are known; the percentiles come
out as the delays were built (measured latency only adds the local overhead)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

import ssenb  # noqa: E402
from ssenb.analysis import llm  # noqa: E402
from ssenb.plots import plot_llm_latency  # noqa: E402
from ssenb.server._thread import serve_in_thread  # noqa: E402

TOKENS = 5
ITL = 0.03
# local overhead (connect, scheduling) on a shared, loaded machine: 0.33 s was seen
SLACK = 0.8


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
            "json": {
                "model": "test-model",
                "stream": True,
                "ttft": t,
                "tokens": TOKENS,
            },
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


AT_ONCE = [0.1 + 0.02 * i for i in range(20)]


@pytest.fixture(scope="module")
def at_once() -> Any:
    """20 requests sent at once, their first tokens 0.10 to 0.48 s after them."""
    with serve_in_thread(APP) as base:
        return ssenb.capture_many(
            _requests(base, AT_ONCE),
            until="[DONE]",
            reconnect=False,
            progress=False,
            duration=30,
        )


def test_llm_many_requests_at_once_percentiles_as_built(at_once: Any) -> None:
    _check_as_built(at_once, AT_ONCE)


def test_plot_llm_latency_marks_the_percentiles(at_once: Any) -> None:
    r = llm(at_once)
    ax = plot_llm_latency(r)
    try:
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels[0] == "time to first token" and len(labels) == 5
        # the three percentile marks of the top row sit at the summary's values
        pct = r.percentiles.set_index("metric")
        marks = sorted(
            float(c.get_segments()[0][0][0])
            for c in ax.collections
            if hasattr(c, "get_segments") and c.get_segments()[0][0][1] > 3.5
        )
        want = [pct.loc["ttft", q] for q in ("p50", "p90", "p99")]
        assert marks == pytest.approx(want)
        assert "20 request(s)" in ax.get_title()
        ax2 = plot_llm_latency(at_once, metrics=["tokens_per_s"], definition="llmperf")
        assert ax2.get_xlabel() == "tokens/s" and "llmperf" in ax2.get_title()
        with pytest.raises(ValueError, match="unknown metric"):
            plot_llm_latency(r, metrics=["latency"])
    finally:
        plt.close("all")


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
