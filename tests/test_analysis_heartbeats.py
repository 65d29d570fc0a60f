"""Heartbeats: exact intervals, declared intervals, missed beats, proxy verdicts, and
time-compressed captures."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from _streams import FakeCapture, connections, ev, frame, untimed

import ssenb
from ssenb.analysis import heartbeats


def _pings(times: list[float], raw: bytes | None = None) -> pd.DataFrame:
    raw = raw if raw is not None else ev("{}", event="ping")
    return frame([(t, raw) for t in times])


def test_heartbeats_exact_intervals_and_stats() -> None:
    hb = heartbeats(_pings([0, 15, 30, 45, 60]))
    assert hb.beats["interval"].tolist()[1:] == [15.0] * 4
    assert math.isnan(hb.beats["interval"].iloc[0])
    row = hb.stats.iloc[0]
    assert (row["count"], row["mean"], row["median"], row["max"], row["jitter"]) == (
        5,
        15.0,
        15.0,
        15.0,
        0.0,
    )
    assert row["missed"] == 0
    assert hb.facts["verdict"] == "frequent"  # 15 s is below the 30-60 s advice
    assert "below" in hb.summary[0]


@pytest.mark.parametrize(
    "raw",
    [ev(comment="heartbeat"), ev(comment="keep-alive"), b"\r\n", ev("ping")],
    ids=["comment-heartbeat", "comment-keep-alive", "blank-line", "bare-ping"],
)
def test_heartbeats_every_form_counts(raw: bytes) -> None:
    hb = heartbeats(_pings([0, 40, 80], raw))
    assert hb.facts["count"] == 3
    assert hb.facts["median_interval"] == 40.0
    assert hb.facts["verdict"] == "ok"


def test_heartbeats_declared_interval_and_missed_beats() -> None:
    beat = ev(
        {"type": "heartbeat", "interval": 30000, "sequence": 1}, event="heartbeat"
    )
    hb = heartbeats(_pings([0, 30, 60, 150, 180], beat))
    assert hb.facts["declared_interval"] == 30.0
    assert hb.stats["declared"].iloc[0] == 30.0
    missed = hb.missed
    assert missed[["seq", "gap", "expected", "missed_beats"]].values.tolist() == [
        [3, 90.0, 30.0, 2]
    ]
    assert hb.facts["missed"] == 1


def test_heartbeats_declared_by_some_keepalives_only() -> None:
    beat = ev({"type": "heartbeat", "interval": 30000}, event="heartbeat")
    ping = ev({"timestamp": 1704067200}, event="ping")
    hb = heartbeats(frame([(0, beat), (30, ping), (60, beat), (90, ping)]))
    assert hb.beats["declared"].tolist()[::2] == [30.0, 30.0]
    assert hb.beats["declared"].isna().tolist()[1::2] == [True, True]
    assert hb.facts["declared_interval"] == 30.0


def test_heartbeats_proxy_verdict_names_who_cuts() -> None:
    hb = heartbeats(_pings([0, 30, 105]))
    assert hb.facts["max_silence"] == 75.0
    assert hb.facts["cut_by"] == ["nginx proxy_read_timeout", "AWS ALB idle timeout"]
    assert hb.proxies["cut"].tolist() == [True, True, False]
    assert hb.facts["verdict"] == "cut"
    assert hb.summary[0].startswith("This stream would be cut by nginx")


def test_heartbeats_silence_counts_data_too() -> None:
    # keep-alives 90 s apart, but data in between: no proxy would cut it
    f = frame([(0, ev(comment="hb")), (45, ev({"x": 1})), (90, ev(comment="hb"))])
    hb = heartbeats(f)
    assert hb.facts["median_interval"] == 90.0
    assert hb.facts["max_silence"] == 45.0
    assert hb.facts["cut_by"] == []


def test_heartbeats_silence_until_connection_end() -> None:
    f = frame([(0, ev(comment="hb")), (10, ev(comment="hb"))])
    cap = FakeCapture(f, connections([{"connection": 1, "start": 0.0, "end": 80.0}]))
    hb = heartbeats(cap)
    assert hb.facts["max_silence"] == 70.0
    assert "nginx proxy_read_timeout" in hb.facts["cut_by"]


def test_heartbeats_time_compressed_capture_reports_stream_time() -> None:
    f = _pings([0, 0.3, 0.6, 0.9])
    cap = FakeCapture(
        f,
        connections([{"connection": 1, "start": 0.0, "end": 0.9, "time_scale": 100.0}]),
        {"time_scale": 100.0},
    )
    hb = heartbeats(cap)
    assert hb.beats["interval"].dropna().round(9).tolist() == [30.0, 30.0, 30.0]
    assert hb.facts["verdict"] == "ok"
    assert hb.facts["time_scale"] == 100.0
    assert "100x faster than real time" in hb.text()
    assert "100x faster" in hb._repr_mimebundle_()["text/html"]


def test_heartbeats_per_connection() -> None:
    beat = ev(comment="hb")
    f = frame([(0, beat, 1), (10, beat, 1), (20, beat, 2), (50, beat, 2)])
    hb = heartbeats(f)
    assert hb.stats[["connection", "count", "median"]].values.tolist() == [
        [1, 2, 10.0],
        [2, 2, 30.0],
    ]


def test_heartbeats_none_is_a_finding_not_an_error() -> None:
    hb = heartbeats(frame([(0, ev({"x": 1})), (5, ev({"x": 2}))]))
    assert hb.facts["count"] == 0 and hb.facts["verdict"] == "missing"
    assert len(hb.stats) == 0
    assert "No keep-alives" in hb.text()


def test_heartbeats_without_times() -> None:
    hb = heartbeats(untimed(ev(comment="hb") * 3))
    assert hb.facts["count"] == 3
    assert math.isnan(hb.facts["median_interval"])
    assert "No arrival times" in hb.summary[0]


def test_heartbeats_empty_capture() -> None:
    hb = heartbeats(untimed(b""))
    assert hb.facts["count"] == 0 and hb.facts["verdict"] == "empty"
    bundle = hb._repr_mimebundle_()
    assert "No records" in bundle["text/plain"] and "No records" in bundle["text/html"]


def test_heartbeats_nat_times_and_nan_elapsed_are_unknown() -> None:
    f = _pings([0, 30, 60])
    f["elapsed"] = float("nan")
    f["time"] = pd.NaT
    hb = heartbeats(f)
    assert math.isnan(hb.facts["median_interval"])


def test_heartbeats_uses_wall_times_when_elapsed_missing() -> None:
    f = _pings([0, 30, 60])
    f["elapsed"] = float("nan")
    hb = heartbeats(f)
    assert hb.facts["median_interval"] == 30.0


def test_heartbeats_some_beats_declare_an_interval_and_some_do_not() -> None:
    raw = (
        b'event: heartbeat\ndata: {"interval": 30}\n\n'
        b"event: heartbeat\ndata: {}\n\n"
        b'event: heartbeat\ndata: {"interval": 30}\n\n'
    )
    events = ssenb.frames.read_sse(raw)
    events["elapsed"] = [0.0, 30.0, 60.0]
    hb = heartbeats(events)
    assert hb.facts["declared_interval"] == 30.0
    assert hb.beats["declared"].isna().tolist() == [False, True, False]


def test_heartbeats_bare_frame_time_scale_from_attrs_or_prepare() -> None:
    from ssenb.analysis import prepare

    f = _pings([0, 0.3, 0.6])
    assert heartbeats(prepare(f, time_scale=100)).facts["median_interval"] == (
        pytest.approx(30.0)
    )
    f.attrs["time_scale"] = 100.0
    hb = heartbeats(f)
    assert hb.facts["median_interval"] == pytest.approx(30.0)
    assert "100x faster" in hb.text()
