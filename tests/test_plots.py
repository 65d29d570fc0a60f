"""Plots: every plot runs on small, empty and edge-case captures under Agg, draws what
it should (counted artists, not pixels) and leaves rcParams as it found them."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import ssenb  # noqa: E402
from ssenb import plots  # noqa: E402
from ssenb.frames import empty_connections, empty_events  # noqa: E402
from ssenb.parse import encode_event  # noqa: E402

ALL_PLOTS = [
    plots.plot_timeline,
    plots.plot_rate,
    plots.plot_types,
    plots.plot_connections,
    plots.plot_heartbeats,
    plots.plot_task_progress,
    plots.plot_interarrival,
]


def _events(blocks: list[bytes], elapsed: list[float], conn: list[int] | None = None):
    ev = ssenb.frames.read_sse(b"".join(blocks))
    assert len(ev) == len(elapsed), "one elapsed time per record"
    ev["elapsed"] = np.asarray(elapsed, dtype=float)
    if conn is not None:
        ev["connection"] = np.asarray(conn, dtype="int64")
    return ev


def _connections(rows: list[tuple[int, float, float, str]]) -> pd.DataFrame:
    frame = empty_connections()
    data = pd.DataFrame(
        {
            "stream": [""] * len(rows),
            "connection": [r[0] for r in rows],
            "start": [r[1] for r in rows],
            "end": [r[2] for r in rows],
            "outcome": [r[3] for r in rows],
        }
    )
    for col in frame.columns:
        if col not in data:
            data[col] = pd.Series([None] * len(rows), dtype=object)
    return data[list(frame.columns)]


def small_capture() -> Any:
    blocks, el, conn = [], [], []
    for i in range(40):
        r = i % 8
        if r == 0:
            blocks.append(b": keep-alive\n\n")
        elif r == 4:
            blocks.append(b"\r\n")
        elif r == 6:
            payload = json.dumps({"task_id": "build", "percentage": i * 2.5})
            blocks.append(encode_event(payload, event="progress"))
        else:
            blocks.append(encode_event(f"hello {i}"))
        el.append(i * 5.0 + (10 if i >= 20 else 0))
        conn.append(1 if i < 20 else 2)
    ev = _events(blocks, el, conn)
    conns = _connections([(1, 0.0, 96.0, "error"), (2, 105.0, 206.0, "eof")])
    return SimpleNamespace(events=ev, connections=conns, meta={"url": "http://x"})


def one_event() -> Any:
    return _events([encode_event("only")], [1.0])


def all_comments() -> Any:
    return _events([b": a\n\n", b": b\n\n", b": c\n\n"], [0.0, 30.0, 61.0])


def untimed() -> Any:
    return ssenb.frames.read_sse(b"data: a\n\n: c\n\ndata: b\n\n")  # elapsed NaN


CASES = {
    "small": small_capture,
    "empty-frame": empty_events,
    "empty-capture": lambda: SimpleNamespace(
        events=empty_events(), connections=empty_connections(), meta={}
    ),
    "one-event": one_event,
    "all-comments": all_comments,
    "untimed": untimed,
}


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    plt.close("all")


@pytest.mark.parametrize("plot", ALL_PLOTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_every_plot_runs_and_leaves_rcparams_untouched(plot: Any, case: str) -> None:
    capture = CASES[case]()
    before = dict(matplotlib.rcParams)
    ax = plot(capture)
    assert ax.get_title()
    assert dict(matplotlib.rcParams) == before


@pytest.mark.parametrize("plot", ALL_PLOTS, ids=lambda f: f.__name__)
def test_plot_draws_on_the_given_axes(plot: Any) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert plot(small_capture(), ax=ax) is ax
    assert fig.axes == [ax]


def test_timeline_has_a_mark_per_record_and_a_row_per_type() -> None:
    cap = small_capture()
    ax = plots.plot_timeline(cap, ax=Figure().add_subplot())
    marks = sum(len(c.get_offsets()) for c in ax.collections)
    assert marks == len(cap.events) == 40
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(rows) == ["(blank line)", "(comment)", "message", "progress"]
    # one shaded band per connection, one dashed line at the reconnect
    assert len(ax.patches) == 2
    assert len(ax.lines) == 1


def test_timeline_colours_marks_by_family() -> None:
    ax = plots.plot_timeline(small_capture(), ax=Figure().add_subplot())
    colours = {
        tuple(np.round(c, 3))
        for col in ax.collections
        for c in col.get_facecolors()
        if len(col.get_offsets())
    }
    expected = {
        tuple(np.round(matplotlib.colors.to_rgba(plots.FAMILY_COLORS[f]), 3))
        for f in ("keepalive", "data")
    }
    assert expected <= colours


def test_unclassified_events_are_coloured_by_their_pattern_family() -> None:
    # a ping event is a keep-alive and a progress event is progress, not data
    ev = _events(
        [encode_event("{}", event="ping"), encode_event("{}", event="progress")],
        [0.0, 1.0],
    )
    assert "family" not in ev.columns
    ax = plots.plot_timeline(ev, ax=Figure().add_subplot())
    colours = {
        tuple(np.round(c, 3))
        for col in ax.collections
        for c in col.get_facecolors()
        if len(col.get_offsets())
    }
    assert colours == {
        tuple(np.round(matplotlib.colors.to_rgba(plots.FAMILY_COLORS[f]), 3))
        for f in ("keepalive", "progress")
    }


def test_types_counts_each_label() -> None:
    ax = plots.plot_types(small_capture(), ax=Figure().add_subplot())
    widths = {
        t.get_text(): p.get_width()
        for t, p in zip(ax.get_yticklabels(), ax.patches, strict=False)
    }
    assert widths["message"] == 25
    assert widths["(comment)"] == 5


def test_rate_integrates_to_the_record_count() -> None:
    ax = plots.plot_rate(
        small_capture(), ax=Figure().add_subplot(), bin=10, kind="rate"
    )
    total = sum(float(np.sum(line.get_ydata())) * 10 for line in ax.lines)
    assert total == pytest.approx(40)


def test_rate_rejects_a_bad_bin() -> None:
    with pytest.raises(ValueError, match="bin"):
        plots.plot_rate(small_capture(), bin=-1)


def test_connections_draws_a_bar_per_attempt_and_its_end_reason() -> None:
    ax = plots.plot_connections(small_capture(), ax=Figure().add_subplot())
    assert len(ax.patches) == 2
    texts = {t.get_text() for t in ax.texts}
    assert {"error", "eof", "9 s"} <= texts  # the reconnect gap, 96 -> 105


def test_heartbeats_series_and_histogram() -> None:
    cap = small_capture()
    beats = plots.heartbeat_intervals(cap)
    # keep-alives: comments and blank lines, 10 of them over 2 connections
    assert len(beats) == 10
    assert beats["interval"].notna().sum() == 8
    ax = plots.plot_heartbeats(cap, ax=Figure().add_subplot())
    ys = np.asarray(ax.lines[0].get_ydata(), dtype=float)
    # 8 intervals, and one break between the two connections: no line joins them
    assert (~np.isnan(ys)).sum() == 8 and np.isnan(ys).sum() == 1
    assert [ln.get_ydata()[0] for ln in ax.lines[1:]] == [60.0, 100.0]
    # each proxy line has its own style
    assert len({(ln.get_color(), ln.get_linestyle()) for ln in ax.lines[1:]}) == 2
    hist = plots.plot_heartbeats(cap, ax=Figure().add_subplot(), kind="hist")
    assert sum(p.get_height() for p in hist.patches[:-1] if p.get_height() % 1 == 0)
    with pytest.raises(ValueError, match="kind"):
        plots.plot_heartbeats(cap, kind="pie")


def test_heartbeats_draws_a_line_per_stream() -> None:
    beats = pd.DataFrame(
        {
            "stream": ["a", "a", "a", "b", "b"],
            "connection": [1] * 5,
            "t": [0.0, 10.0, 20.0, 5.0, 35.0],
            "interval": [np.nan, 10.0, 10.0, np.nan, 30.0],
        }
    )
    ax = plots.plot_heartbeats(beats, ax=Figure().add_subplot())
    drawn = {ln.get_label(): ln.get_ydata().tolist() for ln in ax.lines[:2]}
    assert drawn == {"a": [10.0, 10.0], "b": [30.0]}


def test_heartbeats_of_an_unclassified_capture_count_ping_events() -> None:
    # a capture as recorded has no family column: event: ping is still a keep-alive
    ping = encode_event('{"timestamp": 1}', event="ping")
    data = encode_event('{"x": 1}', event="log")
    ev = _events([data, ping, data, ping, ping], [0.0, 15.0, 20.0, 30.0, 45.0])
    assert "family" not in ev.columns
    beats = plots.heartbeat_intervals(ev)
    assert beats["t"].tolist() == [15.0, 30.0, 45.0]
    ax = plots.plot_heartbeats(ev, ax=Figure().add_subplot())
    assert list(ax.lines[0].get_ydata()) == [15.0, 15.0]


def test_heartbeats_takes_a_table() -> None:
    table = pd.DataFrame({"t": [0.0, 40.0, 75.0], "interval": [np.nan, 40.0, 35.0]})
    ax = plots.plot_heartbeats(table, ax=Figure().add_subplot())
    assert list(ax.lines[0].get_ydata()) == [40.0, 35.0]


def test_progress_draws_one_curve_per_task() -> None:
    series = plots.task_progress_series(small_capture())
    assert list(series["task"].unique()) == ["build"]
    assert series["percentage"].tolist() == [15.0, 35.0, 55.0, 75.0, 95.0]
    ax = plots.plot_task_progress(small_capture(), ax=Figure().add_subplot())
    assert len(ax.get_legend().get_texts()) == 1


def test_interarrival_counts_gaps_within_connections() -> None:
    ax = plots.plot_interarrival(small_capture(), ax=Figure().add_subplot())
    # one layer of bars per family; each bar's height is its own layer's count
    layers = {
        c.patches[0].get_label(): sum(b.get_height() for b in c) for c in ax.containers
    }
    assert sum(layers.values()) == 38  # 19 gaps in each of the two connections
    assert layers["keepalive"] == 8  # comments and blank lines that follow a record


def test_empty_plot_says_so() -> None:
    ax = plots.plot_timeline(empty_events(), ax=Figure().add_subplot())
    assert "no records" in ax.texts[0].get_text()


def test_overview_is_one_figure_not_registered_with_pyplot() -> None:
    before = plt.get_fignums()
    fig = plots.plot_overview(small_capture())
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before
    assert len(fig.axes) == 6  # with progress curves: the capture reports progress
    assert "http://x" in fig.get_suptitle()


def test_new_figures_go_through_pyplot_so_notebooks_show_them() -> None:
    before = len(plt.get_fignums())
    plots.plot_types(small_capture())
    assert len(plt.get_fignums()) == before + 1


def test_plot_accessor_binds_every_plot() -> None:
    acc = plots.PlotAccessor(small_capture())
    for name in ("timeline", "rate", "types", "connections", "heartbeats"):
        fig = Figure()
        assert getattr(acc, name)(ax=fig.add_subplot()).figure is fig
    assert isinstance(acc(), Figure)
    assert "timeline" in repr(acc)


def test_family_colours_are_stable_and_complete() -> None:
    assert list(plots.FAMILY_COLORS) == [
        "keepalive", "control", "state", "progress", "error",
        "metadata", "auth", "data", "unknown",
    ]  # fmt: skip
    assert len(set(plots.FAMILY_COLORS.values())) == len(plots.FAMILY_COLORS)
    assert plots.color_of("nonsense") == plots.FAMILY_COLORS["unknown"]


def test_plots_reject_what_is_not_a_capture() -> None:
    with pytest.raises(TypeError, match="Capture or an events DataFrame"):
        plots.plot_timeline([1, 2, 3])


def test_capture_plot_namespace() -> None:
    cap = ssenb.Capture(small_capture().events, meta={"url": "http://x"})
    assert isinstance(cap.plot, plots.PlotAccessor)
    ax = cap.plot.timeline(ax=Figure().add_subplot())
    assert sum(len(c.get_offsets()) for c in ax.collections) == 40
    assert isinstance(cap.plot(), Figure)


def _drawn(ax: Any) -> int:
    """Data artists on an axes: lines, collections, bars and images."""
    return len(ax.lines) + len(ax.collections) + len(ax.patches) + len(ax.images)


@pytest.mark.parametrize(
    "name", ["openai", "twitter", "github-actions", "progress", "analytics"]
)
def test_overview_draws_no_empty_panel(name: str) -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "data" / f"{name}.jsonl"
    fig = plots.plot_overview(ssenb.load(path))
    for ax in fig.axes:
        if ax.axison:
            assert _drawn(ax), f"an empty panel is drawn: {ax.get_title()!r}"
        else:  # replaced by one line of text
            assert len(ax.texts) == 1
    width, height = fig.get_size_inches()
    assert width <= 10.5  # a notebook column, not a poster
    titles = [ax.get_title() for ax in fig.axes]
    if name == "openai":  # an LLM stream: the answer growing, first token marked
        assert "The answer as it grew" in titles
        ax = fig.axes[titles.index("The answer as it grew")]
        assert any(t.get_text().startswith("first token") for t in ax.texts)
    else:
        assert "Records so far by type" in titles


def test_an_empty_panel_is_one_line_of_text() -> None:
    ax = plots.plot_heartbeats(
        small_capture().events.iloc[:1], ax=Figure().add_subplot()
    )
    assert not ax.axison and len(ax.texts) == 1


def test_live_chart_draws_no_empty_panel() -> None:
    from ssenb.analysis import label_rows
    from ssenb.widgets._chart import chart_figure
    from ssenb.widgets._state import ChartState

    state = ChartState()
    fig = chart_figure(state)
    assert [ax.axison for ax in fig.axes] == [False, False, False]
    cap = ssenb.load(
        __import__("pathlib").Path(__file__).resolve().parent.parent
        / "data"
        / "twitter.jsonl"
    )
    state.scale = 100.0
    state.ingest(label_rows(cap.events))
    fig = chart_figure(state)
    for ax in fig.axes:
        assert ax.axison and _drawn(ax)
        legend = ax.get_legend()
        if legend is not None:  # legends sit under the panel, off the data
            assert legend.get_bbox_to_anchor().y0 < ax.get_window_extent().y0
    # labels are ellipsized, never cut silently
    ticks = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert "operational-dis…" in ticks
    # a line break at the reconnect: no keep-alive line joins two connections
    ys = fig.axes[2].lines[0].get_ydata()
    assert np.isnan(np.asarray(ys, dtype=float)).any()
