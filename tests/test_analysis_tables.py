"""Event types, timing, LLM streams, progress, schema and lint: known answers on
hand-built captures and on the real recorded streams."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _streams import (
    FakeCapture,
    connections,
    data_real,
    ev,
    frame,
    openai_bytes,
    untimed,
)

import ssenb
from ssenb.analysis import event_types, lint, llm, schema, timing
from ssenb.analysis import task_progress as progress

REAL = data_real()
needs_real = pytest.mark.skipif(REAL is None, reason="shared data-real is absent")


# ---------------------------------------------------------------- event_types


def test_event_types_counts_share_bytes_rate() -> None:
    a, b = ev({"x": 1}, event="a"), ev({"y": 22}, event="b")
    f = frame([(0, a), (1, a), (2, b), (3, a), (4, ev(comment="hb"))])
    et = event_types(f, window=2.0)
    t = et.table.set_index("type")
    assert t.loc["a", "count"] == 3 and t.loc["b", "count"] == 1
    assert t.loc["a", "share"] == 3 / 5
    assert t.loc["a", "bytes"] == 3 * len(a)
    assert t.loc["a", "rate"] == 3 / 4.0
    assert (t.loc["a", "first_seen"], t.loc["a", "last_seen"]) == (0.0, 3.0)
    assert t.loc["(comment)", "family"] == "keepalive"
    over = et.over_time
    assert over[over["type"] == "a"][["window", "count"]].values.tolist() == [
        [0.0, 2],
        [2.0, 1],
    ]
    assert et.per_connection["count"].sum() == 5


def test_event_types_rate_over_the_capture_duration_and_named() -> None:
    # one answer: 15.7 s of capture, its 28 chunks within 0.1 s at the end
    parts = [(15.5 + i * 0.1 / 27, ev({"n": i})) for i in range(28)]
    conns = connections([{"connection": 1, "start": 0.0, "end": 15.7}])
    et = event_types(FakeCapture(frame(parts), conns))
    assert et.table.set_index("type").loc["message", "rate"] == pytest.approx(28 / 15.7)
    assert (et.facts["span"], et.facts["duration"]) == ("capture's duration", 15.7)
    assert "over the capture's duration (15.7 s" in et.summary[1]
    bare = event_types(frame(parts))
    assert bare.facts["span"] == "span from the first to the last record"
    assert bare.table.loc[0, "rate"] == pytest.approx(28 / 0.1)
    assert "first to the last record (0.1 s" in bare.summary[1]


def test_event_types_events_only_and_bad_kinds() -> None:
    f = frame([(0, ev("x")), (1, ev(comment="c"))])
    assert event_types(f, kinds="events").table["type"].tolist() == ["message"]
    with pytest.raises(ValueError, match="kinds must be"):
        event_types(f, kinds="nope")


def test_event_types_done_counts_apart_from_payload() -> None:
    et = event_types(untimed(openai_bytes()))
    rows = et.table[["type", "pattern", "count"]].values.tolist()
    assert ["message", "chat.completion.chunk", 3] in rows
    assert ["message", "done", 1] in rows
    assert "message [done] (1, " in et.summary[0]


def test_event_types_empty() -> None:
    et = event_types(untimed(b""))
    assert len(et.table) == 0 and et.facts["rows"] == 0


# ---------------------------------------------------------------- timing


def test_timing_ttfb_ttfe_and_rates() -> None:
    f = frame(
        [(0.5, ev(comment="open")), (1.0, ev("a")), (2.0, ev("b")), (4.0, ev("c"))]
    )
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    conns = connections(
        [
            {
                "connection": 1,
                "start": 0.0,
                "end": 5.0,
                "t_request": t0,
                "t_first_byte": t0 + pd.Timedelta(seconds=0.25),
                "bytes": 500,
            }
        ]
    )
    tm = timing(FakeCapture(f, conns))
    row = tm.connections.iloc[0]
    assert (row["ttfb"], row["ttfe"], row["bytes_per_s"], row["events_per_s"]) == (
        0.25,
        1.0,
        100.0,
        0.6,
    )
    assert tm.inter_arrival["interval"].dropna().tolist() == [1.0, 2.0]
    dist = dict(tm.distribution.values.tolist())
    assert dist["max"] == 2.0 and dist["p50"] == 1.5


def test_timing_scaled() -> None:
    f = frame([(0.0, ev("a")), (0.01, ev("b"))])
    conns = connections(
        [{"connection": 1, "start": 0.0, "end": 0.02, "time_scale": 100}]
    )
    tm = timing(FakeCapture(f, conns))
    assert tm.inter_arrival["interval"].dropna().round(9).tolist() == [1.0]


def test_timing_untimed_and_empty() -> None:
    assert "no arrival times" in timing(untimed(ev("a"))).summary[0]
    assert "No records" in timing(untimed(b"")).summary[0]


# ---------------------------------------------------------------- llm


def test_llm_openai_text_ttft_and_finish() -> None:
    raw = openai_bytes()
    parts = [p + b"\n\n" for p in raw.split(b"\n\n") if p]
    f = frame([(0.5 + i * 0.1, p) for i, p in enumerate(parts)])
    conns = connections([{"connection": 1, "start": 0.0, "end": 1.0}])
    r = llm(FakeCapture(f, conns))
    m = r.messages.iloc[0]
    assert (m["dialect"], m["text"], m["finish_reason"], m["chunks"]) == (
        "openai",
        "Hello",
        "stop",
        3,
    )
    assert m["ttft"] == 0.5
    assert r.tokens["text"].tolist() == ["Hel", "lo"]


@needs_real
def test_llm_openai_tool_call_assembled_from_real_stream() -> None:
    assert REAL is not None
    r = llm(ssenb.frames.read_sse(REAL / "openai-chat-completions-tool-call.sse"))
    call = r.tool_calls.iloc[0]
    assert call["name"] == "GetWeatherArgs" and call["valid_json"]
    assert json.loads(call["arguments"])["city"] == "Edinburgh"
    assert r.messages.loc[0, "finish_reason"] == "tool_calls"


@needs_real
@pytest.mark.parametrize(
    ("file", "text", "finish"),
    [
        ("anthropic-messages-basic.sse", "Hello there!", "end_turn"),
        ("gemini-prompt-blocked-crlf.sse", "", "blocked: SAFETY"),
        ("openai-chat-completions-max-tokens.sse", '{"', "length"),
    ],
)
def test_llm_real_streams_text_and_finish(file: str, text: str, finish: str) -> None:
    assert REAL is not None
    r = llm(ssenb.frames.read_sse(REAL / file))
    assert r.messages.loc[0, "text"] == text
    assert r.messages.loc[0, "finish_reason"] == finish


@needs_real
def test_llm_anthropic_tool_use_and_responses_function_call() -> None:
    assert REAL is not None
    a = llm(ssenb.frames.read_sse(REAL / "anthropic-messages-tool-use.sse")).tool_calls
    assert a["valid_json"].all() and a["name"].notna().all()
    o = llm(ssenb.frames.read_sse(REAL / "openai-responses-api-stream.sse")).tool_calls
    assert len(o) == 1 and o["valid_json"].all()


@needs_real
def test_llm_midstream_error_is_reported() -> None:
    assert REAL is not None
    r = llm(
        ssenb.frames.read_sse(
            REAL / "openrouter-keepalive-comments-midstream-error.sse"
        )
    )
    assert "Token limit reached" in r.messages.loc[0, "error"]


def test_llm_not_a_token_stream() -> None:
    r = llm(untimed(ev(comment="keep-alive") + ev("x")))
    assert len(r.messages) == 0 and "Not a token stream" in r.summary[0]
    assert r.facts["text"] == ""  # the same facts as for a token stream


# ---------------------------------------------------------------- progress


def test_progress_series_and_eta_against_actual() -> None:
    def p(pct: float, eta: float) -> bytes:
        return ev(
            {"task_id": "t1", "percentage": pct, "eta_seconds": eta}, event="progress"
        )

    f = frame([(0, p(0, 20)), (10, p(50, 10)), (25, p(100, 0))])
    r = progress(f)
    assert r.series["percentage"].tolist() == [0.0, 50.0, 100.0]
    task = r.tasks.iloc[0]
    assert (
        task["task"],
        task["finished"],
        task["predicted_end"],
        task["actual_end"],
    ) == (
        "t1",
        True,
        20.0,
        25.0,
    )
    assert task["eta_error"] == 5.0
    assert "late" in r.summary[1]


def test_progress_fraction_and_current_total() -> None:
    f = frame(
        [
            (0, ev({"phase": "build", "progress": 0.25}, event="build-progress")),
            (1, ev({"task_id": "x", "current": 3, "total": 4}, event="progress")),
        ]
    )
    r = progress(f)
    assert r.series["percentage"].tolist() == [25.0, 75.0]


def test_progress_none() -> None:
    assert "No progress" in progress(untimed(ev("x"))).summary[0]


# ---------------------------------------------------------------- schema


def test_schema_keys_presence_and_inconsistencies() -> None:
    raw = (
        ev({"a": 1, "b": "x", "err": {"code": 1}}, event="t")
        + ev({"a": "one", "b": "y"}, event="t")
        + ev("not json", event="t")
    )
    s = schema(untimed(raw))
    assert s.types.values.tolist() == [["t", 3, 2, 1]]
    keys = s.keys.set_index("key")
    assert keys.loc["a", "json_types"] == "number|string"
    assert keys.loc["err", "presence"] == 0.5
    assert keys.loc["err.code", "present"] == 1
    problems = s.inconsistencies[["key", "problem"]].values.tolist()
    assert ["a", "mixed JSON types"] in problems
    assert ["err", "missing in some events"] in problems
    assert all(k != "err.code" for k, _ in problems)


# ---------------------------------------------------------------- lint


def _rules(result: object) -> dict[str, dict[str, object]]:
    table = result.findings  # type: ignore[attr-defined]
    return {r["rule"]: r for r in table.to_dict("records")}


def test_lint_findings_with_rows() -> None:
    raw = (
        ev({"ts": 1704067200, "n": 1}, event="User_Created")
        + ev("plain text", event="note")
        + ev({"message": "bad"}, event="error")
    )
    rules = _rules(lint(untimed(raw)))
    assert rules["event-name"]["rows"] == [0]
    assert rules["event-name"]["detail"] == "User_Created"
    assert rules["data-not-json"]["rows"] == [1]
    assert rules["timestamp-not-iso"]["detail"] == "ts"
    assert rules["error-without-code"]["rows"] == [2]
    assert rules["error-without-retry"]["rows"] == [2]
    assert "error-without-message" not in rules
    assert rules["no-ids"]["count"] == 3
    assert rules["no-version"]["severity"] == "info"
    for r in rules.values():
        assert r["severity"] in ("error", "warning", "info") and r["why"]


def test_lint_heartbeat_rules_need_times() -> None:
    beat = ev(comment="heartbeat")
    f = frame([(0, ev({"x": 1}, id="1")), (0, beat), (90, beat), (180, beat)])
    rules = _rules(lint(f))
    assert rules["proxy-timeout"]["severity"] == "error"
    assert rules["heartbeat-interval"]["detail"] == "typical interval 90.0 s"
    assert lint(f).findings["severity"].iloc[0] == "error"
    quiet = frame([(0, ev({"x": 1}, id="1")), (45, ev({"x": 2}, id="2"))])
    assert _rules(lint(quiet))["heartbeat-missing"]["severity"] == "warning"


def test_lint_clean_stream_has_only_expected_findings() -> None:
    beat = ev(comment="heartbeat")
    payload = ev(
        {"stream_version": "1", "at": "2024-01-01T00:00:00Z"},
        event="user-created",
        id="1",
    )
    f = frame([(0, payload), (30, beat), (60, beat), (90, payload)])
    assert _rules(lint(f)) == {}
    assert "No findings" in lint(f).summary[0]


def test_lint_reads_an_x_disconnect_type_as_its_error_code() -> None:
    notice = ev(
        {
            "title": "Operational Disconnect",
            "disconnect_type": "OperationalDisconnect",
            "detail": "This stream has been disconnected for operational reasons.",
            "backoff_ms": 5000,
        },
        event="operational-disconnect",
    )
    rules = _rules(lint(untimed(notice)))
    for rule in ("error-without-code", "error-without-retry", "error-without-message"):
        assert rule not in rules


def test_lint_empty_and_comments_only() -> None:
    assert "nothing to lint" in lint(untimed(b"")).summary[0]
    rules = _rules(lint(untimed(ev(comment="x") * 3)))
    assert "no-ids" not in rules


@needs_real
def test_lint_real_groq_error_event() -> None:
    assert REAL is not None
    rules = _rules(
        lint(ssenb.frames.read_sse(REAL / "groq-error-event-tool-use-failed.sse"))
    )
    assert "error-without-code" not in rules  # error.code tool_use_failed
    assert rules["error-without-retry"]["count"] == 1


def test_llm_chat_text_with_escapes_matches_json_decoding() -> None:
    pieces = ['say "hi"', "\n", "caf\u00e9 \\ done", "\u2028", ""]
    raw = b"".join(
        ev(
            {
                "id": "chatcmpl-AbCdEfGhIjKlMnOpQr",
                "object": "chat.completion.chunk",
                "choices": [
                    {"index": 0, "delta": {"content": p}, "finish_reason": None}
                ],
            }
        )
        for p in pieces
    )
    two_choices = ev(
        {
            "object": "chat.completion.chunk",
            "choices": [
                {"index": 0, "delta": {"content": "A"}},
                {"index": 1, "delta": {"content": "B"}},
            ],
        }
    )
    r = llm(untimed(raw + two_choices + ev("[DONE]")), dialect="openai")
    # each choice is its own message: choice 1 does not leak into choice 0
    m = r.messages.set_index("choice")
    assert m.loc[0, "text"] == "".join(pieces) + "A"
    assert m.loc[1, "text"] == "B"
    assert m.loc[0, "chunks"] == 6 and m.loc[1, "chunks"] == 1


def test_progress_fast_path_matches_row_by_row_parsing() -> None:
    # above 1000 rows flat objects are read with string kernels; the answer must be
    # the one of parsing each row (small frames take that path)
    shapes = [
        {"task_id": "a", "percentage": 10, "eta_seconds": 5, "message": "go"},
        {"task_id": "b", "progress": 0.5, "phase": "build"},
        {"job_id": "c", "current": 3, "total": 4, "message": ""},
        {"task_id": 7, "percentage": 20},
        {"task_id": "d", "percentage": "30"},
        {"task_id": "e", "percent": 1e1, "message": 'say "hi"'},
        {"task_id": "f", "percentage": 40, "detail": {"nested": True}},
        {"task": "g", "eta": 3.5},
        {"task_id": "h", "percentage": None, "eta_seconds": 2},
        {"unrelated": 1},
    ]
    f = untimed(
        b"".join(ev(shapes[i % len(shapes)], event="progress") for i in range(1200))
    )
    f["elapsed"] = f["seq"].astype(float)
    whole = progress(f).series
    parts = [progress(f.iloc[i : i + 400]).series for i in range(0, 1200, 400)]
    expected = pd.concat(parts, ignore_index=True)
    assert len(whole) == len(expected) > 0
    cols = ["t", "task", "percentage", "current", "total", "eta_seconds", "message"]
    pd.testing.assert_frame_equal(
        whole[cols].reset_index(drop=True),
        expected[cols].reset_index(drop=True),
        check_dtype=False,
    )


@needs_real
def test_llm_reasoning_kept_apart_from_the_answer() -> None:
    assert REAL is not None
    r = llm(ssenb.frames.read_sse(REAL / "groq-error-event-tool-use-failed.sse"))
    m = r.messages.iloc[0]
    assert m["text"] == "" and m["reasoning"].startswith("We need")
    assert "tool_use_failed" in m["error"]
