"""The pure reconnection policy: retry, backoff with jitter, 204, statuses, scaling."""

from __future__ import annotations

import random

import pytest

from ssenb._reconnect import (
    Backoff,
    Reconnector,
    ReconnectPolicy,
    parse_retry_after,
    parse_time_scale,
    requested_backoff,
    stream_headers,
)


def make(**kw: object) -> Reconnector:
    backoff = kw.pop("backoff", Backoff(initial=1.0, factor=2.0, maximum=8.0, jitter=0))
    return Reconnector(
        ReconnectPolicy(default_retry=3.0, backoff=backoff, **kw),  # type: ignore[arg-type]
        rng=random.Random(1),
    )


def test_stream_headers_omit_an_empty_last_event_id() -> None:
    assert stream_headers("") == {
        "Accept": "text/event-stream",
        "Cache-Control": "no-cache",
    }
    assert stream_headers("41")["Last-Event-ID"] == "41"


def test_reconnector_waits_the_default_then_the_streams_retry() -> None:
    r = make()
    r.begin_attempt()
    assert r.end_attempt("eof", healthy=True).delay == 3.0
    r.begin_attempt()
    assert r.end_attempt("eof", healthy=True, retry_ms=1500).delay == 1.5
    r.begin_attempt()  # the retry value persists across connections
    assert r.end_attempt("eof", healthy=True).delay == 1.5


def test_reconnector_backoff_grows_caps_and_resets_after_a_healthy_connection() -> None:
    r = make(max_failures=None)
    delays = []
    for _ in range(6):
        r.begin_attempt()
        delays.append(r.end_attempt("error", healthy=False).delay)
    # grown from the stream's wait (3 s): 3, 6, then the cap (8)
    assert delays == [3.0, 6.0, 8.0, 8.0, 8.0, 8.0]
    r.begin_attempt()
    assert r.end_attempt("eof", healthy=True).delay == 3.0


def test_backoff_jitter_stays_within_its_band() -> None:
    b = Backoff(initial=2.0, factor=2.0, maximum=100.0, jitter=0.5)
    rng = random.Random(7)
    got = [b.extra(3, rng) for _ in range(200)]
    assert all(4.0 <= g <= 8.0 for g in got)
    assert len({round(g, 6) for g in got}) > 100


def test_reconnector_stops_for_good_on_204_and_final_outcomes() -> None:
    for outcome in ("http-204", "stopped", "until", "max-events", "duration"):
        r = make()
        r.begin_attempt()
        d = r.end_attempt(outcome, healthy=True)
        assert (d.reconnect, d.reason) == (False, outcome)


@pytest.mark.parametrize(
    ("status", "again"),
    [
        pytest.param(500, True, id="500"),
        pytest.param(503, True, id="503"),
        pytest.param(429, True, id="429"),
        pytest.param(404, False, id="404"),
        pytest.param(401, False, id="401"),
    ],
)
def test_reconnector_retries_5xx_and_429_but_not_other_4xx(
    status: int, again: bool
) -> None:
    r = make()
    r.begin_attempt()
    d = r.end_attempt("http-status", healthy=False, status=status)
    assert d.reconnect is again
    if not again:
        assert d.reason == f"http-{status}"


def test_reconnector_wrong_content_type_is_not_retried_by_default() -> None:
    r = make()
    r.begin_attempt()
    assert not r.end_attempt("not-event-stream", healthy=False, status=200).reconnect
    r = make(retry_not_event_stream=True)
    r.begin_attempt()
    assert r.end_attempt("not-event-stream", healthy=False, status=200).reconnect


def test_reconnector_requested_waits_are_divided_by_the_time_scale() -> None:
    r = make(backoff=Backoff(initial=0))
    r.begin_attempt()
    d = r.end_attempt("eof", healthy=True, retry_ms=5000, time_scale=10.0)
    assert d.delay == pytest.approx(0.5)
    r.begin_attempt()
    d = r.end_attempt(
        "http-status", healthy=False, status=429, requested=20.0, time_scale=10.0
    )
    assert d.delay == pytest.approx(2.0)


def test_reconnector_default_retry_and_backoff_follow_the_time_scale_too() -> None:
    # with no retry from the stream, the client's default (3 s) is stream time too:
    # at a 100x server it waits 0.03 s, recorded as 3 s of stream time
    r = make(backoff=Backoff(initial=0))
    r.begin_attempt()
    assert r.end_attempt("eof", healthy=True, time_scale=100.0).delay == pytest.approx(
        0.03
    )
    jittered = make(backoff=Backoff(initial=2.0, jitter=0))
    jittered.begin_attempt()
    real = jittered.end_attempt("error", healthy=False).delay
    jittered = make(backoff=Backoff(initial=2.0, jitter=0))
    jittered.begin_attempt()
    fast = jittered.end_attempt("error", healthy=False, time_scale=4.0).delay
    assert fast == pytest.approx(real / 4)


def test_reconnector_limits_reconnects_and_failures() -> None:
    r = make(max_reconnects=1)
    r.begin_attempt()
    assert r.end_attempt("eof", healthy=True).reconnect
    r.begin_attempt()
    assert r.end_attempt("eof", healthy=True).reason == "max-reconnects"
    r = make(max_failures=2)
    r.begin_attempt()
    assert r.end_attempt("error", healthy=False).reconnect
    r.begin_attempt()
    assert r.end_attempt("error", healthy=False).reason == "max-failures"
    r = make(reconnect=False)
    r.begin_attempt()
    assert r.end_attempt("eof", healthy=True).reason == "no-reconnect"


def test_policy_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="max_reconnects"):
        ReconnectPolicy(max_reconnects=-1)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=2)
    with pytest.raises(ValueError, match="factor"):
        Backoff(factor=0.5)


def test_parse_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after(date, now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after(date, now=1445412490.0) == 0.0


def test_parse_time_scale() -> None:
    assert parse_time_scale("10") == 10.0
    assert parse_time_scale("0.5") == 0.5
    for bad in (None, "", "x", "0", "-2", "inf"):
        assert parse_time_scale(bad) == 1.0


def test_requested_backoff_from_operational_disconnect() -> None:
    body = '{"title": "operational-disconnect", "backoff_ms": 5000}'
    assert requested_backoff("operational-disconnect", body) == 5.0
    assert (
        requested_backoff("operational-disconnect", '{"data": {"backoff_ms": 10}}')
        == 0.01
    )
    assert requested_backoff("message", body) is None
    assert requested_backoff("operational-disconnect", "not json") is None
    assert requested_backoff("operational-disconnect", '{"backoff_ms": "5"}') is None
