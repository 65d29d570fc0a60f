"""One prepare per capture: every analysis, the report, the plots and the Explorer of
one capture classify its rows once; what they return can be changed without changing
what the next one reads."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from _streams import FakeCapture, connections, ev, frame

import ssenb
import ssenb.analysis._prepare as prepare_module
from ssenb import analysis, plots

matplotlib.use("Agg")


def _capture() -> FakeCapture:
    beat = ev(comment="heartbeat")
    chunks = [
        (0.0, ev({"n": 1}, event="user-created", id="1"), 1),
        (0.3, beat, 1),
        (0.6, beat, 1),
        (0.65, ev({"task_id": "a", "percentage": 50}, event="progress", id="2"), 1),
        (1.0, ev({"n": 2}, event="user-created", id="3"), 2),
        (1.05, ev({"task_id": "a", "percentage": 100}, event="progress", id="4"), 2),
    ]
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 0.7, "time_scale": 10.0},
            {"connection": 2, "start": 0.9, "end": 1.1, "time_scale": 10.0},
        ]
    )
    return FakeCapture(frame(chunks), conns, {"url": "http://127.0.0.1/x"})


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the calls to classify made by prepare."""
    seen: list[int] = []
    real = prepare_module.classify_rows

    def counting(obj: Any) -> Any:
        seen.append(len(obj))
        return real(obj)

    monkeypatch.setattr(prepare_module, "classify_rows", counting)
    yield seen


def test_every_analysis_plot_and_view_of_a_capture_classifies_once(
    calls: list[int],
) -> None:
    cap = _capture()
    analysis.heartbeats(cap)
    assert len(calls) == 1
    analysis.event_types(cap)
    analysis.task_progress(cap)
    analysis.lint(cap)
    ssenb.report(cap)
    plots.plot_heartbeats(cap)
    plots.plot_overview(cap)
    ssenb.Explorer(cap, frontend="text")
    assert calls == [6]
    assert analysis.prepare(cap) is analysis.prepare(cap)


def test_a_bare_frame_is_prepared_once_too(calls: list[int]) -> None:
    events = _capture().events
    analysis.heartbeats(events)
    events.sse.timing()
    plots.plot_timeline(events)
    assert calls == [6]


def test_new_frames_get_a_fresh_prepare(calls: list[int]) -> None:
    cap = _capture()
    first = analysis.prepare(cap)
    cap.events = cap.events.iloc[:4].copy()
    second = analysis.prepare(cap)
    assert calls == [6, 4]
    assert len(second.events) == 4 and len(first.events) == 6
    # other connections for the same events: new times, the rows not classified again
    cap.connections = cap.connections.assign(time_scale=1.0)
    third = analysis.prepare(cap)
    assert calls == [6, 4]
    assert third.scale == 1.0 and second.scale == 10.0
    # another time scale in meta or attrs counts too
    assert analysis.prepare(cap, time_scale=5.0).scale == 5.0


def test_rows_added_in_place_get_a_fresh_prepare(calls: list[int]) -> None:
    cap = _capture()
    analysis.prepare(cap)
    cap.events.loc[len(cap.events)] = cap.events.iloc[0]
    assert len(analysis.prepare(cap).events) == 7
    assert calls == [6, 7]


def test_changing_results_does_not_change_the_cache() -> None:
    cap = _capture()
    r = ssenb.report(cap)
    prep = analysis.prepare(cap)
    events, conns = prep.events.copy(), prep.connections.copy()
    labeled = prep.labeled().copy()
    tables = [t for s in [r, *r.sections.values()] for t in s.tables.values()]
    tables += [prep.labeled(), plots.heartbeat_intervals(cap)]
    for table in tables:
        if len(table):
            table.iloc[0, 0] = None  # a value set in place
        for col in list(table.columns):
            table[col] = None  # every column of every result, replaced
    again = analysis.prepare(cap)
    assert again is prep
    pd.testing.assert_frame_equal(again.events, events)
    pd.testing.assert_frame_equal(again.connections, conns)
    pd.testing.assert_frame_equal(again.labeled(), labeled)
    fresh = ssenb.report(_capture())
    assert ssenb.report(cap).text() == fresh.text()


def test_the_cache_lets_a_capture_go() -> None:
    cap = _capture()
    analysis.report(cap)
    key = id(cap.events)
    assert key in prepare_module._CACHE
    del cap
    gc.collect()
    assert key not in prepare_module._CACHE


def test_a_real_capture_is_cached_on_its_frames(calls: list[int]) -> None:
    raw = b"event: ping\ndata: {}\n\n: keep-alive\n\ndata: [DONE]\n\n"
    cap = ssenb.Capture(ssenb.read_sse(raw))
    assert ssenb.report(cap) is not None
    assert analysis.heartbeats(cap).facts is not None
    assert calls == [3]


def _mixed(n: int, seed: int) -> bytes:
    """``n`` records of many kinds and types, with repeated comments and ids."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, 9, n)
    chunks = [
        ev({"object": "chat.completion.chunk", "choices": []}),
        ev({"type": "ping"}, event="ping"),
        ev(comment=f"keep-alive {seed}"),
        b"\n",
        ev({"task_id": "a", "percentage": 5}, event="progress"),
        ev({"error": {"code": 1}}, event="error"),
        ev({"candidates": []}),
        ev(comment="heartbeat"),
        ev({"n": 1}, event="job-start", id="7"),
    ]
    return b"".join(chunks[p] for p in pick)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_cached_dialect_is_the_dialect_of_every_row(seed: int) -> None:
    from ssenb import patterns

    raw = _mixed(9000, seed)
    if seed == 3:  # more than 5000 distinct comments, some repeated
        raw += b"".join(ev(comment=f"c{i % 6500}") for i in range(7000))
    events = ssenb.read_sse(raw)
    prep = analysis.prepare(events)
    assert len(prepare_module.dialect_rows(prep.events)) < len(prep.events)
    got, want = prep.dialect(), patterns.dialect(prep.events)
    assert str(got) == str(want)
    pd.testing.assert_frame_equal(got.candidates, want.candidates)
    pd.testing.assert_frame_equal(got.evidence, want.evidence)


def test_a_result_kept_for_the_capture_is_handed_out_as_a_copy() -> None:
    cap = _capture()
    first = analysis.heartbeats(cap)
    beats = first.beats.copy()
    first.beats["t"] = -1.0
    first.beats.iloc[0, 0] = "changed"
    first.facts["count"] = -1
    first.summary.clear()
    again = analysis.heartbeats(cap)
    pd.testing.assert_frame_equal(again.beats, beats)
    assert again.facts["count"] == len(beats) and again.summary
    assert analysis.lint(cap).facts == analysis.lint(_capture()).facts


def test_progress_read_in_bulk_equals_progress_parsed_row_by_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ssenb.analysis._progress as progress_module

    shapes = [
        {"task_id": "a", "percentage": 10, "eta_seconds": 5},
        {"job_id": "b", "progress": 0.25, "message": "copying"},
        {"task": "c", "current": 3, "total": 12, "phase": "scan"},
        {"task_id": "d", "percent": "40"},  # a quoted number: parsed, not read
        {"task_id": "e\\u00e9", "percentage": 50},  # an escape: parsed
        {"task_id": "f", "percentage": 60, "detail": {"step": 1}},  # nested
        {"task_id": "g", "eta": 7.5e1},
        {"other": 1},
    ]
    raw = b"".join(
        ev(shapes[i % len(shapes)], event="progress" if i % 3 else "update")
        for i in range(2400)
    )
    raw = raw.replace(b"\\\\u00e9", b"\\u00e9")  # json.dumps doubled the backslash
    bulk = analysis.task_progress(ssenb.read_sse(raw))
    monkeypatch.setattr(
        progress_module, "_fast_rows", lambda c: (pd.DataFrame(), np.ones(len(c), bool))
    )
    one_by_one = analysis.task_progress(ssenb.read_sse(raw))
    assert len(bulk.series) > 1500
    for name in ("series", "tasks"):
        # the same values; a missing message may be None or NaN on either path
        got, want = (
            r.tables[name].astype(object).where(r.tables[name].notna(), None)
            for r in (bulk, one_by_one)
        )
        pd.testing.assert_frame_equal(got, want)


#: Data that does and does not name a progress key, in the shapes JSON allows.
_KEY_SHAPES = [
    '{"percentage": 10}',
    '{"percent" : 5}',
    '{"progress"\n:\t0.5}',
    '{"eta_seconds":3}',
    '{"a": {"progress": 1}}',
    '{"percent_done": 10}',  # another key
    '{"progression": 1}',
    '{"x": "percent"}',  # a value, not a key
    '{"x": "eta_seconds"}',
    '{"my_seconds": 2}',
    '"progress":',
    "percentage",
    "",
    '{"choices":[{"delta":{"content":"progress"}}]}',
]


def test_the_progress_prefilter_keeps_every_row_the_key_regex_finds() -> None:
    from ssenb.analysis import _progress, _text

    data = pd.Series(
        pd.array(_KEY_SHAPES * 3 + [None], dtype="string[pyarrow]"), name="data"
    )
    rows = np.ones(len(data), dtype=bool)
    rows[::5] = False
    want = _text.matches(data, _progress._KEYS) & rows
    got = _progress._names_a_key(data, rows, np.full(len(data), -1), [])
    assert got.tolist() == want.tolist()
    assert 0 < want.sum() < rows.sum()


def _key_columns() -> list[pd.Series]:
    """The same values in every layout a data column may come in."""
    values = [*_KEY_SHAPES, '{"x": "per', 'cent": 1}', '{"eta', '_seconds": 2}', None]
    values = values * 4
    large = pa.array(values, type=pa.large_string())
    padded = pa.array(["pad"] * 3 + values, type=pa.large_string()).slice(3)
    # a null whose slot still holds bytes that name a key: they must stay out
    hidden = pa.array(["", '{"percentage": 1}', ""], type=pa.large_string())
    bufs = hidden.buffers()
    nulled = pa.Array.from_buffers(
        hidden.type, 3, [pa.array([True, False, True]).buffers()[1], *bufs[1:]]
    )
    chunks = pa.chunked_array([large.slice(0, 7), large.slice(7)])
    arrow = pd.arrays.ArrowExtensionArray
    return [
        pd.Series(arrow(large)),
        pd.Series(arrow(pa.array(values, type=pa.string()))),
        pd.Series(arrow(padded)),
        pd.Series(arrow(chunks)),
        pd.Series(arrow(pa.concat_arrays([large, nulled, large]))),
        pd.Series(values, dtype=object),
    ]


@pytest.mark.parametrize("layout", range(6))
@pytest.mark.parametrize("step", [1, 2, 5])
def test_the_progress_prefilter_on_runs_of_rows_matches_row_by_row(
    layout: int, step: int
) -> None:
    # runs of neighbouring rows are read as one text: a key split across two rows
    # matches the run, never a row
    from ssenb.analysis import _progress, _text

    data = _key_columns()[layout]
    rows = np.ones(len(data), dtype=bool)
    rows[::step] = step == 1
    got = _progress._names_a_key(data, rows, np.full(len(data), -1), [])
    want = _text.matches(data, _progress._KEYS) & rows
    assert got.tolist() == want.tolist()
    assert 0 < want.sum() < rows.sum()
