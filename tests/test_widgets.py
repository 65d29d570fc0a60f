"""Live views without a front end: real ipywidgets models, a real server on 127.0.0.1,
state asserted from the widgets (values, options, counters)."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import ssenb  # noqa: E402
from ssenb.analysis._prepare import KIND_LABELS  # noqa: E402
from ssenb.server._thread import serve_in_thread  # noqa: E402
from ssenb.widgets import Explorer, LiveChart, LiveFeed, watch  # noqa: E402
from ssenb.widgets._env import choose_frontend  # noqa: E402
from ssenb.widgets._render import Renderer, check_rate  # noqa: E402
from ssenb.widgets._state import ChartState, FeedState, Tap  # noqa: E402
from tests._livesource import _block, app  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def server() -> Iterator[str]:
    before = {t.ident for t in threading.enumerate()}
    with serve_in_thread(app) as base:
        yield base
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [
            t.name
            for t in threading.enumerate()
            if t.ident not in before and t.is_alive()
        ]
        if not left:
            break
        time.sleep(0.02)
    assert not left, f"threads left behind: {left}"


def _rows_of(table_html: str) -> list[list[str]]:
    body = table_html.split("<tbody>", 1)[-1]
    rows = re.findall(r"<tr>(.*?)</tr>", body)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]


def _text(cell: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", cell))


def _expected(n: int) -> dict[str, int]:
    ev = ssenb.frames.read_sse(b"".join(_block(i) for i in range(n)))
    kinds = ev["kind"].astype(str)
    named = kinds.map(KIND_LABELS).fillna(kinds)
    labels = ev["type"].astype(str).where(kinds == "event", named)
    return labels.value_counts().to_dict()


# -- the pure parts ----------------------------------------------------------------


def test_check_rate_allows_up_to_the_cap() -> None:
    assert check_rate(4) == 4.0
    assert check_rate(10) == 10.0
    for bad in (0, -1, 10.5, "fast"):
        with pytest.raises(ValueError, match="rate"):
            check_rate(bad)


def test_renderer_counts_draws_that_changed_something() -> None:
    calls: list[int] = []

    def draw() -> bool:
        calls.append(1)
        return len(calls) % 2 == 0

    r = Renderer(draw, rate=10)
    assert r.render_now() is False
    assert r.render_now() is True
    assert r.renders == 1


def test_renderer_keeps_drawing_after_an_error_and_reports_it() -> None:
    seen: list[BaseException] = []
    count = {"n": 0}
    done = threading.Event()

    def draw() -> bool:
        count["n"] += 1
        if count["n"] == 1:
            raise RuntimeError("first draw fails")
        done.set()
        return True

    r = Renderer(draw, rate=10, on_error=seen.append)
    r.start()
    assert done.wait(5)
    r.stop()
    assert not r.running
    assert isinstance(r.error, RuntimeError)
    assert seen == [r.error]
    assert r.renders >= 1


def test_feed_state_counts_and_filters() -> None:
    ev = ssenb.frames.read_sse(b"".join(_block(i) for i in range(50)))
    from ssenb.analysis import label_rows

    state = FeedState(keep=20)
    state.ingest(label_rows(ev.iloc[:30]))
    state.ingest(label_rows(ev.iloc[30:]))
    assert state.records == 50
    assert dict(state.by_label) == _expected(50)
    assert state.events == 40  # 8 of every 10 records are events
    assert len(state.recent) == 20
    latest = state.rows(3)
    assert latest["seq"].tolist() == [49, 48, 47]
    comments = state.rows(50, kind="comment")
    assert comments["seq"].tolist() == [45, 35]
    # keep-alives: the ping events, the comments and the blank lines
    keep = state.rows(6, family="keepalive")
    assert keep["label"].tolist() == ["(blank line)", "(comment)", "ping"] * 2
    assert state.find(47)["seq"] == 47
    assert state.find(2) is None  # no longer kept
    with pytest.raises(ValueError, match="keep"):
        FeedState(keep=0)


def test_chart_state_keeps_arrivals_in_stream_seconds() -> None:
    from ssenb.analysis import label_rows

    ev = ssenb.frames.read_sse(b"".join(_block(i) for i in range(100)))
    ev["elapsed"] = [i * 0.5 for i in range(100)]  # 2 records/s for 50 s
    state = ChartState(window=10)
    state.ingest(label_rows(ev))
    assert sum(state.by_label.values()) == 100
    assert sum(len(v) for v in state.times.values()) == 100
    assert state.latest == 49.5
    # keep-alives: ping (3), comment (5), blank (7), ping (13)... at 0.5 s a record
    assert {round(iv, 3) for _, iv, _ in state.beats} == {1.0, 3.0}

    # a server that plays 100x fast: every time in stream seconds
    fast = ChartState(window=10)
    fast.scale = 100.0
    fast.ingest(label_rows(ev))
    assert {round(iv, 3) for _, iv, _ in fast.beats} == {100.0, 300.0}
    assert fast.latest == 4950.0
    with pytest.raises(ValueError, match="window"):
        ChartState(window=0)


def test_live_and_batch_keepalive_intervals_are_equal_on_one_capture() -> None:
    from ssenb.analysis import label_rows

    cap = ssenb.load(DATA / "twitter.jsonl")
    state = ChartState()
    state.scale = 100.0  # the server's announced time scale
    ev = cap.events
    for start in range(0, len(ev), 7):  # batch by batch, as a live view reads them
        state.ingest(label_rows(ev.iloc[start : start + 7]))
    live = sorted(round(iv, 6) for _, iv, _ in state.beats)
    beats = ssenb.analysis.heartbeats(cap).beats
    batch = sorted(round(float(x), 6) for x in beats["interval"].dropna())
    assert live == batch and len(live) >= 8
    # never across a reconnect: one interval fewer than keep-alives per connection
    per_conn = beats.groupby("connection").size()
    assert len(live) == int((per_conn - 1).clip(lower=0).sum())


def test_livechart_on_a_compressed_stream_shows_stream_seconds() -> None:
    with ssenb.demo_server(speed=100) as srv:
        rec = ssenb.Recorder(srv.url("keepalive", duration=400), reconnect=False)
        chart = LiveChart(rec, frontend="widgets", rate=2)
        assert rec.wait(30)
        assert rec.stats()["time_scale"] == 100.0
        chart.stop()
    assert chart.state.scale == 100.0
    intervals = sorted(iv for _, iv, _ in chart.state.beats)
    # the same order as the analysis, which works in stream seconds (in real ones
    # they would be a hundred times smaller)
    expected = ssenb.analysis.heartbeats(chart.capture).facts["median_interval"]
    median = intervals[len(intervals) // 2]
    assert expected / 2 < median < expected * 2


# -- LiveFeed against a real stream ---------------------------------------------------


def test_livefeed_shows_counters_table_and_final_capture(server: str) -> None:
    feed = LiveFeed(
        server + "/mixed?n=300&rate=3000", reconnect=False, frontend="widgets", rows=25
    )
    assert feed.wait(10)
    cap = feed.capture
    assert isinstance(cap, ssenb.Capture)
    assert len(cap.events) == 300
    assert dict(feed.state.by_label) == _expected(300)
    st = feed.status
    assert st["state"] == "stopped"
    assert (st["records"], st["events"], st["connection"]) == (300, 240, 1)
    assert st["last_type"] == "progress"
    assert "300 records" in feed._status_line.value
    for label, n in _expected(300).items():
        assert f"{html.escape(label)} <b>{n:,}</b>" in feed._counters.value
    rows = _rows_of(feed._table.value)
    assert len(rows) == 25
    assert [r[0] for r in rows[:3]] == ["299", "298", "297"]
    # payloads are escaped, never live HTML
    assert "&lt;b&gt;x&lt;/b&gt;" in feed._table.value
    assert "<b>x</b>" not in feed._table.value
    # the selected record (the latest by default) is its data as pretty JSON
    assert "&quot;percentage&quot;: 99" in feed._record.value
    assert feed._stop_button.disabled and feed._start_button.disabled


def test_livefeed_filters_by_kind_type_and_family(server: str) -> None:
    feed = LiveFeed(
        server + "/mixed?n=200&rate=5000", reconnect=False, frontend="widgets", rows=100
    )
    assert feed.wait(10)
    assert set(feed.type_filter.options) >= {("ping", "ping"), ("progress", "progress")}
    feed.kind_filter.value = "comment"
    rows = _rows_of(feed._table.value)
    assert len(rows) == 20 and {_text(r[3]) for r in rows} == {"(comment)"}
    feed.kind_filter.value = ""
    feed.type_filter.value = "ping"
    rows = _rows_of(feed._table.value)
    assert len(rows) == 20 and {_text(r[3]) for r in rows} == {"ping"}
    feed.type_filter.value = ""
    feed.family_filter.value = "keepalive"
    rows = _rows_of(feed._table.value)
    assert len(rows) == 60
    assert {_text(r[3]) for r in rows} == {"(comment)", "(blank line)", "ping"}
    feed.family_filter.value = ""
    feed.record_picker.value = 193  # a ping
    assert "&quot;t&quot;: 193" in feed._record.value
    assert "<b>193</b>" in feed._record.value


def test_livefeed_redraws_under_its_cap_and_ends_exact(server: str) -> None:
    # 10 k records/s for 1.5 s: thousands of events, a handful of redraws
    url = server + "/mixed?n=15000&rate=10000"
    started = time.monotonic()
    feed = LiveFeed(url, reconnect=False, frontend="widgets", rate=4, chart=True)
    assert feed.source.wait(20)
    took = time.monotonic() - started
    cap = feed.stop()
    assert len(cap.events) == 15000
    assert feed.state.records == 15000
    assert dict(feed.state.by_label) == _expected(15000)
    # the cap: at most 4 redraws a second, plus the final one from stop()
    assert feed.renders <= 4 * took + 2
    assert feed.chart.renders <= 1 * took + 2
    assert feed.renderer.ticks <= 4 * took + 1
    assert feed.chart.image.value.tobytes().startswith(PNG)


def test_livefeed_pause_freezes_the_view_and_resume_catches_up(server: str) -> None:
    feed = LiveFeed(
        server + "/mixed?n=400&rate=800", reconnect=False, frontend="widgets"
    )
    feed.pause()
    assert feed._pause_button.description == "Resume"
    frozen = feed._table.value
    assert feed.source.wait(10)
    time.sleep(0.3)  # let ticks pass while paused
    assert feed._table.value == frozen
    assert "paused" in feed._status_line.value
    feed.resume()
    feed.stop()
    assert _rows_of(feed._table.value)[0][0] == "399"


def test_livefeed_shows_a_stream_error_beside_what_was_shown(server: str) -> None:
    feed = LiveFeed(server + "/broken", reconnect=False, frontend="widgets")
    assert feed.wait(10)
    cap = feed.capture
    assert len(cap.events) == 3
    assert feed.errors and "connection 1" in feed.errors[0]
    assert "RemoteProtocolError" in feed._error_box.value
    assert "ssenb-error" in feed._error_box.value
    # what was shown stays: the records and counters
    assert len(_rows_of(feed._table.value)) == 3
    assert "error <b>1</b>" in feed._counters.value
    assert feed.status["errors"] == 1


def test_livefeed_reraises_a_recorder_crash_on_stop() -> None:
    # httpx refuses the scheme inside the recorder's thread: the thread dies
    feed = LiveFeed("ftp://127.0.0.1:1/x", frontend="widgets", rate=10)
    deadline = time.monotonic() + 10
    while "unsupported protocol" not in feed._error_box.value:
        assert time.monotonic() < deadline, feed._error_box.value
        time.sleep(0.02)
    # shown before anyone calls stop()
    assert "error" in feed._status_line.value
    with pytest.raises(ValueError, match="unsupported protocol"):
        feed.stop()
    assert feed.status["state"] == "error"
    feed.stop()  # a second stop does not raise again


def test_livefeed_stop_button_stops_and_errors_show_in_the_box(server: str) -> None:
    feed = LiveFeed(server + "/mixed?n=100000&rate=2000", frontend="widgets")
    deadline = time.monotonic() + 10
    while not len(feed.source):  # recording
        assert time.monotonic() < deadline
        time.sleep(0.01)
    feed._stop_button.click()
    assert not feed.source.running
    assert feed.capture.connections["outcome"].astype(str).tolist() == ["stopped"]
    assert feed.status["state"] == "stopped"
    feed._start_button.click()  # a stopped feed cannot start again: said in the box
    assert "make a new LiveFeed" in feed._error_box.value


def test_livefeed_text_frontend_prints_a_final_line(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = LiveFeed(server + "/mixed?n=50&rate=5000", reconnect=False, frontend="text")
    assert feed.wait(10)
    assert feed.widget is None
    err = capsys.readouterr().err
    assert "ssenb: stopped" in err and "50 records" in err
    assert feed._repr_mimebundle_() == {"text/plain": repr(feed)}
    assert "message=30" in repr(feed)


def test_frontend_is_text_outside_a_kernel() -> None:
    assert choose_frontend(None) == "text"
    assert choose_frontend("widgets") == "widgets"
    with pytest.raises(ValueError, match="frontend"):
        choose_frontend("qt")


def test_livefeed_rejects_options_with_a_recorder_and_bad_inputs(server: str) -> None:
    rec = ssenb.Recorder(server + "/mixed?n=1", autostart=False)
    with pytest.raises(TypeError, match="capture options"):
        LiveFeed(rec, duration=3)
    with pytest.raises(TypeError, match="or an ssenb.Recorder"):
        LiveFeed(42)
    with pytest.raises(TypeError, match=r"ssenb\.Explorer\(capture\)"):
        LiveFeed(ssenb.Capture())
    with pytest.raises(ValueError, match="rate"):
        LiveFeed(rec, rate=50, frontend="widgets", autostart=False)
    with pytest.raises(ValueError, match="rate"):
        LiveChart(rec, rate=5, frontend="widgets", autostart=False)


def test_livechart_alone_renders_png(server: str) -> None:
    rec = ssenb.Recorder(server + "/mixed?n=500&rate=5000", reconnect=False)
    chart = LiveChart(rec, frontend="widgets", rate=2)
    assert rec.wait(10)
    assert isinstance(chart.stop(), ssenb.Capture)
    assert chart.image.value.tobytes().startswith(PNG)
    assert sum(chart.state.by_label.values()) == 500
    assert chart.renders >= 1


def test_watch_shows_feed_and_chart(server: str) -> None:
    rec = ssenb.Recorder(server + "/mixed?n=100&rate=5000", reconnect=False)
    feed = watch(rec, frontend="widgets")
    assert feed.wait(10)
    assert len(feed.capture.events) == 100
    assert feed.chart is not None
    assert feed.chart.image in feed.widget.children
    assert feed.chart.image.value.tobytes().startswith(PNG)
    bundle = feed._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_ssenb_watch_makes_the_recorder_and_hands_it_to_the_feed(server: str) -> None:
    feed = ssenb.watch(
        server + "/mixed?n=60&rate=5000",
        reconnect=False,  # an option of the recording
        rows=7,  # options of the view
        frontend="widgets",
    )
    assert isinstance(feed.source, ssenb.Recorder)
    assert feed.chart is not None and feed.rows == 7
    assert feed.wait(10)
    assert len(feed.stop().events) == feed.state.records == 60
    with pytest.raises(TypeError, match="watch takes a URL"):
        ssenb.watch(42)
    rec = ssenb.Recorder(server + "/mixed?n=1", autostart=False)
    with pytest.raises(TypeError, match="capture options"):
        ssenb.watch(rec, duration=3)


def test_livefeed_on_the_demo_server_follows_reconnects() -> None:
    with ssenb.demo_server() as srv:
        feed = LiveFeed(srv.url("twitter"), frontend="widgets", max_reconnects=2)
        assert feed.wait(60)
    cap = feed.capture
    assert feed.status["connection"] == len(cap.connections) >= 2
    assert feed.state.records == len(cap.events)
    # the operational-disconnect event is an error-family chip, in the error colour
    chip = re.search(
        r"#d62728;[^>]*>operational-disconnect <b>(\d+)</b>", feed._counters.value
    )
    assert chip and int(chip.group(1)) == int(
        (cap.events["type"].astype(str) == "operational-disconnect").sum()
    )
    ex = Explorer(cap, frontend="widgets")
    assert ex.timeline.value.tobytes().startswith(PNG)
    assert "ssenb-report" in ex.report.value
    ex.family_filter.value = "keepalive"
    assert ex.count.value.endswith(f"of {len(cap.events)} records")


def test_livefeed_records_several_named_streams(server: str) -> None:
    streams = {"a": server + "/mixed?n=30", "b": server + "/mixed?n=50"}
    feed = LiveFeed(streams, reconnect=False, frontend="widgets")
    assert feed.wait(20)
    assert feed.state.records == 80
    assert sorted(feed.capture.events["stream"].astype(str).unique()) == ["a", "b"]


# -- Explorer ------------------------------------------------------------------------


DATA = Path(__file__).resolve().parent.parent / "data"


def _finished_capture() -> Any:
    ev = ssenb.frames.read_sse(b"".join(_block(i) for i in range(120)))
    ev["elapsed"] = [i * 0.25 for i in range(120)]
    return ev


def test_explorer_filters_pages_and_shows_a_record() -> None:
    ex = Explorer(_finished_capture(), rows=10, frontend="widgets")
    assert ex.count.value == "120 of 120 records"
    assert len(_rows_of(ex.table.value)) == 10
    assert ex.timeline.value.tobytes().startswith(PNG)
    ex.kind_filter.value = "comment"
    assert ex.count.value == "12 of 120 records"
    assert {_text(r[3]) for r in _rows_of(ex.table.value)} == {"(comment)"}
    ex.kind_filter.value = ""
    ex.type_filter.value = "progress"
    ex.page.value = 10
    rows = _rows_of(ex.table.value)
    assert [r[0] for r in rows] == ["109", "119"]
    ex.record_picker.value = 119
    assert "&quot;percentage&quot;: 19" in ex.record.value
    assert [ex.tabs.get_title(i) for i in range(3)] == ["Records", "Timeline", "Report"]


def test_explorer_as_text_and_bad_input() -> None:
    ex = Explorer(_finished_capture(), frontend="text")
    assert ex.widget is None
    assert "120 records" in repr(ex)
    with pytest.raises(TypeError, match=r"Explorer: expected a Capture .*got list"):
        Explorer([1, 2])


def _unid(page: str) -> str:
    return re.sub(r"-[0-9a-f]{8}-\d+\b", "-ID", page)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_explorer_of_a_saved_file_shows_what_the_loaded_capture_shows(
    tmp_path: Path, suffix: str
) -> None:
    cap = ssenb.load(DATA / "twitter.jsonl")
    path = tmp_path / f"saved{suffix}"
    cap.save(path)
    shown = Explorer(ssenb.load(path), rows=10, frontend="widgets")
    for given in (path, str(path)):  # a Path and a str are paths alike
        ex = Explorer(given, rows=10, frontend="widgets")
        assert isinstance(ex.capture, ssenb.Capture)
        pd.testing.assert_frame_equal(ex.events, shown.events)
        assert len(ex.events) == len(cap.events) > 0
        assert ex.count.value == shown.count.value
        assert ex.table.value == shown.table.value
        assert ex.counts.value == shown.counts.value
        # the same report, but for the id each rendering gets for its own styles
        assert _unid(ex.report.value) == _unid(shown.report.value)
        ex.type_filter.value = "operational-disconnect"
        shown.type_filter.value = "operational-disconnect"
        assert _rows_of(ex.table.value) == _rows_of(shown.table.value) != []
        shown.type_filter.value = ""
    assert repr(Explorer(path, frontend="text")) == repr(shown)


def test_explorer_of_a_url_or_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/stream"
    with pytest.raises(TypeError, match=r"Explorer: .*is a URL, not a capture: record"):
        Explorer(url)
    with pytest.raises(FileNotFoundError, match="no such capture file"):
        Explorer(tmp_path / "missing.jsonl")


def test_tap_reads_each_row_once_for_every_subscriber(server: str) -> None:
    rec = ssenb.Recorder(server + "/mixed?n=77&rate=5000", reconnect=False).start()
    rec.wait(10)
    tap = Tap(rec)
    got_a: list[pd.DataFrame] = []
    got_b: list[pd.DataFrame] = []
    tap.subscribe(got_a.append)
    tap.subscribe(got_b.append)
    assert tap.pull() == 77
    assert tap.pull() == 0
    rec.stop()
    assert sum(len(f) for f in got_a) == sum(len(f) for f in got_b) == 77
    assert {"label", "family"} <= set(got_a[0].columns)
    json.dumps(list(got_a[0]["label"]))  # plain strings


def test_livefeed_of_a_finished_recorder_shows_what_it_recorded(server: str) -> None:
    rec = ssenb.Recorder(server + "/mixed?n=40", reconnect=False).start()
    assert rec.wait(10)
    feed = LiveFeed(rec, frontend="widgets")
    cap = feed.stop()
    assert len(cap.events) == feed.state.records == 40
    assert _rows_of(feed._table.value)[0][0] == "39"
