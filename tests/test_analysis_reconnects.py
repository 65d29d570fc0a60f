"""Reconnects: durations, endings, delays against the server's hints, downtime, and
resume quality with numeric and opaque ids."""

from __future__ import annotations

import math

import pandas as pd
from _streams import FakeCapture, connections, ev, frame

from ssenb.analysis import reconnects


def _numbered(conn: int, ids: list[int], t0: float) -> list[tuple[float, bytes, int]]:
    return [(t0 + i, ev({"n": n}, id=str(n)), conn) for i, n in enumerate(ids)]


def _three_connections() -> FakeCapture:
    chunks = (
        [(0.0, b"retry: 3000\n\n", 1)]
        + _numbered(1, [1, 2, 3, 4, 5], 0.5)
        + _numbered(2, [7, 8, 9], 10.0)
        + _numbered(3, [9, 10], 20.0)
    )
    conns = connections(
        [
            {
                "connection": 1,
                "start": 0.0,
                "end": 5.0,
                "outcome": "eof",
                "retry": 3000,
            },
            {
                "connection": 2,
                "start": 8.0,
                "end": 13.0,
                "delay": 3.0,
                "last_event_id_sent": "5",
                "outcome": "error",
                "retry": 3000,
            },
            {
                "connection": 3,
                "start": 14.0,
                "end": 22.0,
                "delay": 1.0,
                "last_event_id_sent": "9",
                "outcome": "stopped",
                "retry": 3000,
            },
        ]
    )
    return FakeCapture(frame(chunks), conns)


def test_reconnects_connections_table() -> None:
    r = reconnects(_three_connections())
    t = r.connections
    assert t["duration"].tolist() == [5.0, 5.0, 8.0]
    assert t["outcome"].tolist() == ["eof", "error", "stopped"]
    assert t["last_id"].tolist() == ["5", "9", "10"]
    assert t["hint"].tolist()[:2] == [3.0, 3.0]
    assert t["hint_source"].tolist()[:2] == ["retry", "retry"]
    assert t["next_delay"].tolist()[:2] == [3.0, 1.0]
    assert t["delay_vs_hint"].round(3).tolist()[:2] == [1.0, 0.333]
    assert t["downtime"].tolist()[:2] == [3.0, 1.0]
    assert math.isnan(t["downtime"].iloc[2])
    assert r.facts["downtime"] == 4.0
    assert r.facts["reconnects"] == 2
    assert any("sooner than asked" in s for s in r.summary)


def test_reconnects_resume_gaps_and_duplicates_numeric() -> None:
    r = reconnects(_three_connections())
    res = r.resume
    assert res[
        ["connection", "sent", "last_before", "resumed", "first_after"]
    ].values.tolist() == [
        [2, "5", "5", True, "7"],
        [3, "9", "9", True, "9"],
    ]
    assert res["gap"].tolist() == [1.0, -1.0]
    assert res["duplicates"].tolist() == [0, 1]
    assert r.facts["ids_missing"] == 1 and r.facts["duplicates"] == 1


def test_reconnects_sparse_numeric_ids_are_not_gaps() -> None:
    # snowflake-like ids: numeric, increasing, but never consecutive
    ids = [1744067200000000000 + k * 10**12 for k in range(5)]
    chunks = [(t, ev("x", id=str(i)), 1 if t < 3 else 2) for t, i in enumerate(ids)]
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 2.5},
            {"connection": 2, "start": 2.6, "end": 5.0},
        ]
    )
    conns.loc[1, "last_event_id_sent"] = str(ids[2])
    r = reconnects(FakeCapture(frame(chunks), conns))
    row = r.resume.iloc[0]
    assert row["numeric"] and math.isnan(row["gap"])
    assert r.facts["ids_missing"] == 0
    assert not any("skipped ids" in s for s in r.summary)


def test_reconnects_opaque_ids_count_duplicates_not_gaps() -> None:
    chunks = [
        (0, ev("a", id="x-a"), 1),
        (1, ev("b", id="x-b"), 1),
        (5, ev("b", id="x-b"), 2),
        (6, ev("c", id="x-c"), 2),
    ]
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 2.0},
            {"connection": 2, "start": 4.0, "end": 7.0, "last_event_id_sent": "x-a"},
        ]
    )
    r = reconnects(FakeCapture(frame(chunks), conns))
    row = r.resume.iloc[0]
    assert not row["numeric"] and math.isnan(row["gap"])
    assert row["duplicates"] == 1
    assert row["resumed"] is False or row["resumed"] == False  # noqa: E712
    assert any("did not send the last id" in s for s in r.summary)


def test_reconnects_sparse_numeric_ids_are_no_gap() -> None:
    # X-style snowflake ids are numbers but do not count 1, 2, 3: a jump is no loss
    chunks = _numbered(1, [1000, 2000, 3000], 0.0) + _numbered(2, [7000, 8000], 5.0)
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 3.0},
            {"connection": 2, "start": 4.0, "end": 7.0, "last_event_id_sent": "3000"},
        ]
    )
    r = reconnects(FakeCapture(frame(chunks), conns))
    row = r.resume.iloc[0]
    assert math.isnan(row["gap"])
    assert bool(row["resumed"]) and r.facts["ids_missing"] == 0
    assert not any("skipped ids" in s for s in r.summary)


def test_reconnects_operational_disconnect_backoff_hint() -> None:
    disc = ev(
        {"title": "operational-disconnect", "reconnect": True, "backoff_ms": 5000},
        event="operational-disconnect",
    )
    chunks = [(0, b"retry: 1000\n\n", 1), (1, disc, 1), (10, ev("x"), 2)]
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 2.0, "retry": 1000},
            {"connection": 2, "start": 7.0, "end": 11.0, "delay": 5.0},
        ]
    )
    r = reconnects(FakeCapture(frame(chunks), conns))
    first = r.connections.iloc[0]
    assert (first["hint"], first["hint_source"], first["delay_vs_hint"]) == (
        5.0,
        "backoff_ms",
        1.0,
    )
    assert r.facts["operational_disconnects"] == 1


def test_reconnects_retry_after_in_error_data() -> None:
    err = ev({"code": "rate_limited", "retry_after": 30}, event="error")
    chunks = [(0, err, 1), (40, ev("x"), 2)]
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 1.0},
            {"connection": 2, "start": 31.0, "end": 41.0, "delay": 30.0},
        ]
    )
    r = reconnects(FakeCapture(frame(chunks), conns))
    assert r.connections.loc[0, "hint_source"] == "retry_after"
    assert r.connections.loc[0, "hint"] == 30.0


def test_reconnects_time_scale_scales_durations_not_declared_delays() -> None:
    cap = _three_connections()
    cap.connections["time_scale"] = 10.0
    r = reconnects(cap)
    assert r.connections["duration"].tolist() == [50.0, 50.0, 80.0]
    assert r.connections["next_delay"].tolist()[:2] == [3.0, 1.0]
    assert "10x faster" in r.text()


def test_reconnects_bare_frame_infers_connections() -> None:
    chunks = _numbered(1, [1, 2], 0.0) + _numbered(2, [4], 10.0)
    r = reconnects(frame(chunks))
    assert r.connections["connection"].tolist() == [1, 2]
    assert r.connections["downtime"].iloc[0] == 9.0
    assert r.resume["gap"].tolist() == [1.0]
    assert r.resume["sent"].isna().all()
    assert any("inferred" in s for s in r.summary)


def test_reconnects_empty() -> None:
    r = reconnects(frame([]))
    assert r.facts["attempts"] == 0
    assert "No connections" in r.text()


def test_reconnects_sparse_numeric_ids_are_not_counted_as_missing() -> None:
    # ids like X's snowflakes grow by large steps: a resume shows no missing ids
    chunks = _numbered(1, [1000, 2000, 3000], 0.0) + _numbered(2, [4000, 5000], 5.0)
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 3.0},
            {"connection": 2, "start": 4.0, "end": 7.0, "last_event_id_sent": "3000"},
        ]
    )
    r = reconnects(FakeCapture(frame(chunks), conns))
    row = r.resume.iloc[0]
    assert row["numeric"] and row["resumed"]
    assert math.isnan(row["gap"])
    assert r.facts["ids_missing"] == 0
    assert not any("skipped ids" in s for s in r.summary)


def test_reconnects_retry_after_header_in_connection_error() -> None:
    chunks = [(0, ev("a"), 1), (20, ev("b"), 2)]
    conns = connections(
        [
            {
                "connection": 1,
                "start": 0.0,
                "end": 1.0,
                "status": 503,
                "outcome": "error",
                "error": "HTTP 503 Service Unavailable (Retry-After: 10)",
            },
            {"connection": 2, "start": 11.0, "end": 21.0, "delay": 10.0},
        ]
    )
    r = reconnects(FakeCapture(frame(chunks), conns))
    first = r.connections.iloc[0]
    assert (first["hint"], first["hint_source"], first["delay_vs_hint"]) == (
        10.0,
        "retry_after",
        1.0,
    )


def test_reconnects_keeps_streams_apart() -> None:
    a = frame(_numbered(1, [1, 2], 0.0) + _numbered(2, [3], 5.0), stream="a")
    b = frame(_numbered(1, [10], 1.0), stream="b")
    b["seq"] += len(a)
    events = pd.concat([a, b], ignore_index=True)
    events["stream"] = events["stream"].astype("category")
    conns = connections(
        [
            {"stream": "a", "connection": 1, "start": 0.0, "end": 2.0},
            {"stream": "a", "connection": 2, "start": 4.0, "end": 6.0, "delay": 2.0},
            {"stream": "b", "connection": 1, "start": 0.5, "end": 3.0},
        ]
    )
    r = reconnects(FakeCapture(events, conns))
    assert r.facts["reconnects"] == 1
    t = r.connections
    assert t[["stream", "connection", "downtime"]].fillna(-1).values.tolist() == [
        ["a", 1, 2.0],
        ["a", 2, -1],
        ["b", 1, -1],
    ]
    assert r.resume[["stream", "connection", "gap"]].values.tolist() == [["a", 2, 0.0]]


def test_reconnects_ids_with_a_leading_zero_are_text_not_their_value() -> None:
    # "07" and "7" are different ids (compared as text); "0" itself is a number
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 2.0},
            {"connection": 2, "start": 4.0, "end": 7.0, "last_event_id_sent": "7"},
        ]
    )

    def duplicates(second: str) -> list[int]:
        chunks = [
            (0, ev("a", id="0"), 1),
            (1, ev("b", id="7"), 1),
            (5, ev("c", id=second), 2),
            (6, ev("d", id="8"), 2),
        ]
        out: list[int] = (
            reconnects(FakeCapture(frame(chunks), conns)).resume["duplicates"].tolist()
        )
        return out

    assert duplicates("07") == [0]
    assert duplicates("7") == [1]
