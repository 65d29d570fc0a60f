"""What every view shows: one table renderer, one clock, the payload first, the
theme's colours. Rendered from the sample captures in data/."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

import ssenb
from ssenb import _html
from ssenb._payload import summarize
from ssenb.widgets._views import record_html, table_html

DATA = Path(__file__).resolve().parent.parent / "data"


def test_html_table_keeps_numbers_whole_and_drops_empty_columns() -> None:
    frame = pd.DataFrame(
        {
            "name": ["stream", "connection"],
            "value": [96.859, 1234.5],
            "id": ["1744186385473687961", "17"],
            "empty": [None, None],
            "blank": ["", ""],
        }
    )
    out = _html.html_table(frame)
    assert ">empty<" not in out and ">blank<" not in out
    assert '<td class="ssenb-num">96.9</td>' in out  # one precision per column
    assert '<td class="ssenb-id">1744186385473687961</td>' in out
    assert (
        ".ssenb-table td.ssenb-num{text-align:right;white-space:nowrap" in _html.STYLE
    )
    assert "overflow-wrap:anywhere" not in _html.STYLE
    # colours come from the theme, with light fallbacks outside JupyterLab
    assert "--jp-ui-font-color1" in _html.STYLE and "--jp-layout-color" in _html.STYLE
    assert not re.search(r"background:#", _html.STYLE)


def test_text_table_right_aligns_numbers() -> None:
    out = _html.text_table(pd.DataFrame({"k": ["a", "bb"], "n": [5, 120]}))
    assert out.splitlines() == ["k     n", "a     5", "bb  120"]


def test_payload_summary_follows_the_dialect() -> None:
    chunk = '{"choices":[{"delta":{"content":" Events"}}]}'
    assert summarize("event", chunk, "openai") == " Events"
    tweet = '{"data":{"id":"1744","text":"hello world"}}'
    assert summarize("event", tweet, "twitter") == "hello world"
    assert summarize("event", tweet, None) == "hello world"
    assert summarize("comment", "keep-alive", None) == "keep-alive"
    assert summarize("blank", "", None) == ""
    assert summarize("event", "plain text", None) == "plain text"
    metrics = '{"timestamp":"2024-01-01T00:00:05Z","visitors":112,"page_views":3}'
    assert summarize("event", metrics, None) == "visitors=112 · page_views=3"


def test_feed_table_in_stream_time_with_payload_and_full_ids() -> None:
    cap = ssenb.load(DATA / "twitter.jsonl")
    rows = cap.events.head(3).assign(label="message", family="data")
    out = table_html(rows, scale=100.0, dialect="twitter")
    heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", out)
    assert heads == ["#", "conn", "t (s)", "type", "payload", "id"]
    first = float(cap.events["elapsed"].iloc[0]) * 100
    assert f">{first:.2f}<" in out  # stream seconds, not real ones
    assert "Heartbeats every 20 seconds" in out
    long_id = str(cap.events["id"].iloc[0])
    assert f">{long_id}<" in out  # a snowflake id in full, never "17…"
    longer = rows.assign(id="x" * 60)
    assert f'title="{"x" * 60}"' in table_html(longer)  # cut ones in full on hover


def test_json_pane_wraps_at_word_boundaries_in_theme_colours() -> None:
    out = record_html({"seq": 1, "kind": "event", "data": '{"a": "b c"}'})
    assert "white-space:pre-wrap" in out and "word-break:normal" in out
    assert "overflow-wrap:break-word" in out
    assert "--jp-cell-editor-background" in out


def test_capture_repr_names_dialect_stream_time_and_samples() -> None:
    cap = ssenb.load(DATA / "twitter.jsonl")
    text = repr(cap)
    real = cap.duration
    assert f"{real * 100:,.1f} s of stream time" in text
    assert f"played 100x faster: {real:.2f} s real" in text
    assert "dialect  Twitter/X streams (twitter)" in text
    assert "UTC" in text.splitlines()[2]
    assert "Heartbeats every 20 seconds" in text  # a sample row's payload
    html = cap._repr_mimebundle_()["text/html"]
    assert "Twitter/X streams" in html and "ssenb-table" in html


def test_report_says_each_caveat_once_and_the_answer_in_full() -> None:
    cap = ssenb.load(DATA / "openai.jsonl")
    r = ssenb.report(cap)
    html = r.html()
    assert html.count("This capture was time-compressed") == 1
    assert r.text().count("This capture was time-compressed") == 1
    assert html.count("reads as 2 s") == 1
    assert 'class="ssenb-warning"' in html
    # latencies that compression inflates are flagged where they are printed
    assert html.count("not a measurement at this speed") == 2  # timing and llm
    assert "inflated by time compression, not measurements" in r.text()
    answer = r.llm.messages["text"].iloc[0]
    assert len(answer) > 120 and answer in html.replace("&#x27;", "'")
    assert answer in r.text()  # the terminal report gives it whole too
    # each section's headline is said once
    head = r.heartbeats.summary[0]
    assert html.count(_html.escape(head)) == 1


def test_report_page_has_the_overview_a_readable_width_and_one_title(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "ssenb", "report", str(DATA / "twitter.jsonl"),
         "--html", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(DATA.parent)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count("<h4>SSE capture report</h4>") == 1
    assert page.count('<img class="ssenb-chart"') == 1  # the overview figure
    assert page.index("<figure>") < page.index("<details")
    assert "max-width:70rem" in page and "prefers-color-scheme:dark" in page
    assert page.count("This capture was time-compressed") == 1
    assert "&lt;NA&gt;" not in page
