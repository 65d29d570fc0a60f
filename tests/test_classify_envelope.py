"""classify reads JSON rows that repeat their connection's envelope without a regex
pass (``ssenb._envelope``): the same families and patterns as the regex passes give,
whatever the value that changes from row to row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _envelope_rows import (  # small_runs: an autouse fixture
    as_users_get_it,
    chat_chunk,
    events_frame,
    small_runs,  # noqa: F401
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ssenb
from ssenb import _envelope, patterns
from ssenb.patterns import Pattern, _classify

HERE = Path(__file__).parent
REAL = HERE.parent.parent / "shared" / "data-real"


def _both(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """classify with envelopes looked for on any number of rows, then with none."""
    with monkeypatch.context() as m:
        m.setattr(_classify, "ENVELOPE_MIN", 0)
        a = patterns.classify(frame)
    with monkeypatch.context() as m:
        m.setattr(_classify, "ENVELOPE_MIN", 10**12)
        b = patterns.classify(frame)
    return a, b


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_series_equal(a["family"], b["family"])
    pd.testing.assert_series_equal(a["pattern"], b["pattern"])


def _taken(frame: pd.DataFrame) -> int:
    """How many rows classify reads by their envelope."""
    c = _classify._compile()
    found = _envelope.repeats(
        frame["data"],
        _envelope.request_codes(frame),
        _classify._rule_envelope(c),
    )
    return len(found.rows)


@pytest.fixture
def clean_registry() -> Iterator[None]:
    saved = list(patterns._registered_patterns)
    yield
    patterns._registered_patterns[:] = saved
    patterns._compiled.clear()


def test_chat_chunks_are_read_by_their_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = ["Hel", "lo", "ping", "error", "chat.completion.chunk", "", 'a "q"', "é"]
    rows = [(1, "message", chat_chunk("chatcmpl-A", {"content": t})) for t in texts]
    rows += [(2, "message", chat_chunk("chatcmpl-B", {"content": t})) for t in texts]
    frame = events_frame(rows)
    a, b = _both(frame, monkeypatch)
    _assert_same(a, b)
    assert set(a["pattern"].astype(str)) == {"chat.completion.chunk"}
    assert _taken(frame) == 2 * (len(texts) - 1)  # not the text with quotes


@pytest.mark.parametrize("key", ["type", "object"])
def test_a_value_a_rule_reads_is_never_an_envelope_s_text(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = ["ping", "pong", "error", "chat.completion.chunk", "heartbeat", "x"]
    rows = [(1, "message", json.dumps({key: v, "n": 1})) for v in values * 3]
    frame = events_frame(rows)
    a, b = _both(frame, monkeypatch)
    _assert_same(a, b)
    assert _taken(frame) == 0
    assert "ping" in set(a["pattern"].astype(str)) or key == "object"


def test_a_registered_rule_on_the_text_s_key_turns_the_envelope_off(
    clean_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["a", "b", "tick", "c", "tick", "d"]
    frame = events_frame(
        [(1, "message", chat_chunk("chatcmpl-A", {"content": t})) for t in texts]
    )
    assert _taken(frame) > 0
    patterns.register_pattern(
        Pattern("keepalive", "content-tick", json=(("content", "tick"),))
    )
    assert _taken(frame) == 0
    a, b = _both(frame, monkeypatch)
    _assert_same(a, b)
    assert a["pattern"].astype(str).tolist().count("content-tick") == 2


def test_rows_that_differ_in_two_places_are_left_to_the_regex_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [
        (
            1,
            "message",
            chat_chunk(
                f"chatcmpl-{i}", {"content": f"t{i}"}, type="ping" if i % 3 else "x"
            ),
        )
        for i in range(12)
    ]
    frame = events_frame(rows)
    a, b = _both(frame, monkeypatch)
    _assert_same(a, b)
    assert _taken(frame) == 0


_VALUES = st.one_of(
    st.sampled_from(
        ["ping", "error", "heartbeat", "keep-alive", "chat.completion.chunk"]
    ),
    st.text(max_size=5),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 3),
            st.sampled_from(["content", "type", "object", "text"]),
            _VALUES,
            st.booleans(),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_json_rows_classify_as_the_regex_passes_do(
    rows: list[tuple[int, str, str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = []
    for conn, key, value, nested in rows:
        body: dict[str, Any] = {"id": f"r{conn}", "object": "thing"}
        if nested:
            body["delta"] = {key: value}
        else:
            body[key] = value
        made.append((conn, "message", json.dumps(body, ensure_ascii=False)))
    frame = events_frame(made)
    a, b = _both(frame, monkeypatch)
    _assert_same(a, b)


def _recorded() -> list[Path]:
    found = sorted(HERE.glob("llm_streams/*.sse"))
    if REAL.is_dir():
        found += sorted(REAL.glob("*.sse"))
    return found


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.stem)
def test_recorded_streams_classify_the_same(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _both(ssenb.frames.read_sse(path), monkeypatch)
    _assert_same(a, b)


def test_a_demo_capture_is_read_by_its_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    as_users_get_it(monkeypatch)
    with ssenb.demo_server(speed=1000) as demo:
        cap = ssenb.capture(demo.url("openai", events=200))
    events = cap.events
    assert _taken(events) >= 190
    a, b = _both(events, monkeypatch)
    _assert_same(a, b)


def test_by_default_short_runs_cost_at_most_a_bounded_number_of_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream that reconnects after every few events, or many streams interleaved
    row by row, leave the envelope path at once; long runs that never give an
    envelope ask a bounded number of rows."""
    as_users_get_it(monkeypatch)
    asked = []

    def envelope_of(row: str, before: str | None) -> _envelope.Envelope | None:
        asked.append(row)
        return None

    short = events_frame(
        [
            (i // 3, "message", chat_chunk(f"c{i // 3}", {"content": str(i)}))
            for i in range(6000)
        ]
    )
    got = _envelope.repeats(short["data"], _envelope.request_codes(short), envelope_of)
    assert len(got.rows) == 0 and not asked
    mixed = events_frame(
        [
            (i % 7, "message", chat_chunk(f"c{i % 7}", {"content": str(i)}))
            for i in range(6000)
        ]
    )
    got = _envelope.repeats(mixed["data"], _envelope.request_codes(mixed), envelope_of)
    assert len(got.rows) == 0 and not asked
    # 200 runs of 300 rows, none giving an envelope: at most max(256, rows / 64)
    long = events_frame(
        [(i // 300, "message", json.dumps({"n": i})) for i in range(60_000)]
    )
    got = _envelope.repeats(long["data"], _envelope.request_codes(long), envelope_of)
    assert len(got.rows) == 0
    assert 0 < len(asked) <= max(_envelope.MIN_ASKS, 60_000 // 64)


def test_progress_reads_enveloped_rows_by_their_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows that repeat an envelope get its answer to the progress key test: the
    same series as a scan of every row, with envelopes that hold a key and some
    that do not, and texts that name a key without being one."""
    texts = ["start", "progress", "percent", '"q"', "eta_seconds", "step 2", "done"]
    rows = []
    for conn in (1, 2):
        body = {"task_id": f"t{conn}", "percent": 40 * conn, "message": ""}
        for t in texts:
            body["message"] = t
            rows.append((conn, "message", json.dumps(body)))
        for t in texts:  # no key: never progress, whatever the text says
            rows.append((conn, "message", json.dumps({"id": conn, "note": t})))
    frame = events_frame(rows)
    with_envelopes = ssenb.analysis.task_progress(frame.copy())
    prep = ssenb.analysis.prepare(frame)
    assert len(prep.envelopes.rows) >= 20  # the test can tell the paths apart
    with monkeypatch.context() as m:
        m.setattr(_envelope, "TRIES", 0)
        without = ssenb.analysis.task_progress(frame.copy())
    for name in ("series", "tasks"):
        pd.testing.assert_frame_equal(with_envelopes.tables[name], without.tables[name])
    assert len(with_envelopes.tables["series"]) == 2 * len(texts)


def test_one_connection_carrying_many_requests_finds_each_one_s_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file of many requests read as one stream: every request has its own
    envelope (its id), and each is found, with the defaults."""
    as_users_get_it(monkeypatch)
    rows = [
        (1, "message", chat_chunk(f"chatcmpl-{r}", {"content": f"t{i}"}))
        for r in range(40)
        for i in range(100)
    ]
    frame = events_frame(rows)
    assert _taken(frame) >= 39 * 99
    a, b = _both(frame, monkeypatch)
    _assert_same(a, b)
