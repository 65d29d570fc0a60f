"""The report, rendering (text + escaped HTML, unique ids, empty states), the ``.sse``
accessor and the ``ssenb report`` command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _streams import REPO, FakeCapture, connections, data_real, ev, frame, untimed

import ssenb
from ssenb import _html
from ssenb.analysis import Result, heartbeats, report
from ssenb.cli import main

REAL = data_real()
EVIL = "<script>alert('x')</script>"


def _capture() -> FakeCapture:
    beat = ev(comment="heartbeat")
    chunks = [
        (0.0, ev({"n": 1}, event="user-created", id="1"), 1),
        (0.3, beat, 1),
        (0.6, beat, 1),
        (1.0, ev({"n": 2}, event="user-created", id="2"), 2),
    ]
    conns = connections(
        [
            {"connection": 1, "start": 0.0, "end": 0.7, "time_scale": 100.0},
            {
                "connection": 2,
                "start": 0.9,
                "end": 1.1,
                "delay": 3.0,
                "last_event_id_sent": "1",
                "time_scale": 100.0,
            },
        ]
    )
    return FakeCapture(frame(chunks), conns, {"url": "http://127.0.0.1/x"})


def test_report_summary_first_then_sections() -> None:
    r = report(_capture())
    assert r.summary[0].startswith("4 records (2 events, 2 comments, 0 blank lines)")
    assert list(r.sections) == [
        "heartbeats",
        "event_types",
        "reconnects",
        "timing",
        "delivery",
        "schema",
        "lint",
    ]
    assert r.heartbeats.facts["median_interval"] == pytest.approx(30.0)
    assert r.overview.loc[0, "time_scale"] == 100.0
    text = r.text()
    assert (
        text.index("SSE capture report") < text.index("Heartbeats") < text.index("Lint")
    )
    assert "time-compressed" in text and "100x faster" in text
    # latencies say that the scale multiplied the real connection setup too
    assert any("reads as 2 s" in n for n in r.timing.notes)
    assert not any("first byte" in n for n in r.heartbeats.notes)


def test_report_adds_llm_and_progress_when_relevant() -> None:
    from _streams import openai_bytes

    assert "llm" in report(untimed(openai_bytes())).sections
    prog = ev({"task_id": "a", "percentage": 50}, event="progress")
    assert "progress" in report(untimed(prog)).sections


def test_report_html_escapes_untrusted_payloads() -> None:
    raw = ev(EVIL, event=EVIL) + ev(comment=EVIL) + ev({"k": EVIL}, event="e")
    r = report(untimed(raw))
    html = r._repr_mimebundle_()["text/html"]
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert EVIL in r._repr_mimebundle_()["text/plain"]


def test_rendered_blocks_have_unique_dom_ids() -> None:
    f = frame([(0, ev(comment="hb")), (30, ev(comment="hb"))])
    a, b = heartbeats(f).html(), heartbeats(f).html()
    ids = re.findall(r'id="([^"]+)"', a + b)
    assert len(ids) == 2 and ids[0] != ids[1]


def test_rendering_is_computed_once() -> None:
    hb = heartbeats(frame([(0, ev(comment="hb"))]))
    assert hb.html() is hb.html()
    assert hb._repr_mimebundle_()["text/html"] == hb.html()


@pytest.mark.parametrize(
    "raw",
    [b"", ev("x"), ev(comment="only") * 3, b"\n\n\n"],
    ids=["empty", "one-event", "only-comments", "only-blank-lines"],
)
def test_report_edge_cases_render(raw: bytes) -> None:
    r = report(untimed(raw))
    bundle = r._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "Traceback" not in bundle["text/plain"]
    for section in r.sections.values():
        assert isinstance(section, Result)
        section._repr_mimebundle_()


def test_report_of_empty_capture_says_so() -> None:
    r = report(untimed(b""))
    assert r.summary == ["This capture is empty: no records were recorded."]
    assert "No records" in r.html()


def test_result_to_dict_and_attribute_errors() -> None:
    hb = heartbeats(frame([(0, ev(comment="hb")), (30, ev(comment="hb"))]))
    d = hb.to_dict()
    assert d["title"] == "Heartbeats" and d["tables"]["beats"][1]["interval"] == 30.0
    with pytest.raises(AttributeError, match="no table or fact 'nope'"):
        _ = hb.nope
    assert "stats" in dir(hb)


def test_html_table_empty_and_truncation() -> None:
    assert "Nothing to show" in _html.html_table(pd.DataFrame())
    big = pd.DataFrame({"a": range(30)})
    assert "10 more rows" in _html.html_table(big, max_rows=20)
    assert "10 more rows" in _html.text_table(big, max_rows=20)
    assert _html.cell("a\nb") == "a\\nb"


def test_accessor_matches_functions() -> None:
    beat = ev(comment="heartbeat")
    f = frame([(0, beat), (30, beat), (31, ev("x"))])
    assert f.sse.heartbeats().stats.equals(heartbeats(f).stats)
    assert f.sse.classify()["pattern"].astype(str).tolist() == [
        "heartbeat",
        "heartbeat",
        "message",
    ]
    assert f.sse.dialect().name == "express"
    for name in (
        "event_types",
        "reconnects",
        "timing",
        "llm",
        "task_progress",
        "schema",
    ):
        assert isinstance(getattr(f.sse, name)(), Result)
    assert isinstance(f.sse.lint(), Result) and isinstance(f.sse.report(), Result)


def test_accessor_refuses_other_frames() -> None:
    with pytest.raises(AttributeError, match="needs an events frame"):
        _ = pd.DataFrame({"x": [1]}).sse


def test_top_level_exports() -> None:
    ev_ = untimed(ev("[DONE]"))
    assert ssenb.classify(ev_)["pattern"].iloc[0] == "done"
    assert ssenb.patterns.dialect(ev_).name == "unknown"
    assert isinstance(ssenb.report(ev_), Result)


def test_cli_report_prints_the_text_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.sse"
    path.write_bytes(ev(comment="keep-alive") + ev({"n": 1}) + ev(comment="keep-alive"))
    html = tmp_path / "r.html"
    assert main(["report", str(path), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SSE capture report")
    assert "nginx" in out
    assert html.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_cli_report_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing.sse")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.skipif(REAL is None, reason="shared data-real is absent")
def test_cli_report_runs_as_a_command_on_a_real_stream() -> None:
    assert REAL is not None
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ssenb",
            "report",
            str(REAL / "anthropic-messages-basic.sse"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Anthropic Messages" in done.stdout
    assert "Hello there!" in done.stdout


def test_html_keeps_sentences_whole_and_cuts_only_table_cells() -> None:
    long = "x" * 200
    r = Result(
        "T",
        summary=[f"a sentence ending in {long}"],
        tables={"t": pd.DataFrame({"data": [long]})},
    )
    html = r.html()
    assert f"a sentence ending in {long}</li>" in html
    assert f"<td>{long}</td>" not in html and "…</td>" in html
