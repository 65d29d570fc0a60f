"""HTML of the live views' parts: status line, counters, record table, one record.

Every string from a stream is escaped: SSE payloads are untrusted. The text versions
serve the terminal front end.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..plots import color_of

__all__: list[str] = []

_BOX = "font-family:system-ui,sans-serif;font-size:13px;line-height:1.4"
_STATE_COLORS = {
    "open": "#2ca02c",
    "connecting": "#ff7f0e",
    "waiting": "#ff7f0e",
    "paused": "#1f77b4",
    "done": "#7f7f7f",
    "stopped": "#7f7f7f",
    "error": "#d62728",
}


def esc(value: Any) -> str:
    """Any value as escaped HTML text; missing values empty."""
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    ):
        return ""
    return html.escape(str(value), quote=True)


def cut(text: str, width: int) -> str:
    """``text`` shortened to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def status_text(status: Mapping[str, Any]) -> str:
    """One line: state, connection, counts, rate, last type, errors."""
    parts = [
        str(status.get("state", "")),
        f"connection {status.get('connection', 0)}",
        f"{status.get('events', 0):,} events ({status.get('records', 0):,} records)",
        f"{status.get('rate', 0.0):,.1f}/s",
    ]
    if status.get("last_type"):
        parts.append(f"last: {status['last_type']}")
    parts.append(f"{status.get('errors', 0)} error(s)")
    return " · ".join(parts)


def status_html(status: Mapping[str, Any]) -> str:
    """The status line with a coloured state dot."""
    state = str(status.get("state", ""))
    color = _STATE_COLORS.get(state, "#7f7f7f")
    dot = f'<span style="color:{color};font-size:15px">●</span>'
    text = esc(status_text(status))
    return f'<div class="ssenb-status" style="{_BOX}">{dot} {text}</div>'


def error_html(messages: list[str]) -> str:
    """An error box (empty when there is nothing to say); it sits beside the rest."""
    if not messages:
        return ""
    items = "".join(f"<div>{esc(cut(m, 500))}</div>" for m in messages[-3:])
    return (
        f'<div class="ssenb-error" style="{_BOX};color:#a31515;background:#fde8e8;'
        f'border:1px solid #d62728;border-radius:3px;padding:4px 8px">'
        f"<b>error</b>{items}</div>"
    )


def counters_html(by_label: Mapping[str, int], family_of: Mapping[str, str]) -> str:
    """One chip per type with its count, coloured by family, most frequent first."""
    if not by_label:
        return f'<div style="{_BOX};color:#666"><i>no records yet</i></div>'
    chips = []
    for label, n in sorted(by_label.items(), key=lambda kv: (-kv[1], kv[0]))[:30]:
        color = color_of(family_of.get(label, "unknown"))
        chips.append(
            f'<span style="display:inline-block;margin:1px 6px 1px 0;padding:0 6px;'
            f'border-left:4px solid {color};background:#f5f5f5">'
            f"{esc(cut(label, 40))} <b>{n:,}</b></span>"
        )
    return f'<div class="ssenb-counters" style="{_BOX}">{"".join(chips)}</div>'


_TD = "padding:1px 6px;border-top:1px solid #eee;vertical-align:top"
# The type column says the kind too: "(comment)", "(blank line)", "(retry)".
_COLUMNS = ("seq", "connection", "elapsed", "label", "id", "data")
_HEADS = ("#", "conn", "t (s)", "type", "id", "data")
# A fixed layout: the data column takes what is left and cuts long text with an
# ellipsis, so the table never spills out of its widget.
_WIDTHS = ("3.5em", "3.5em", "4.5em", "8em", "3.5em", "auto")


def table_html(rows: pd.DataFrame, *, height: int = 300) -> str:
    """The rows (newest first) as an escaped, scrolling HTML table."""
    if not len(rows):
        return f'<div style="{_BOX};color:#666"><i>no records match</i></div>'
    head = "".join(
        f'<th style="position:sticky;top:0;background:#f3f3f3;text-align:left;'
        f'padding:2px 6px">{h}</th>'
        for h in _HEADS
    )
    cols_html = "".join(f'<col style="width:{w}">' for w in _WIDTHS)
    body = []
    cols = [rows[c] if c in rows.columns else [None] * len(rows) for c in _COLUMNS]
    fams = rows["family"] if "family" in rows.columns else ["unknown"] * len(rows)
    for values, fam in zip(zip(*cols, strict=True), fams, strict=True):
        seq, conn, t, label, ident, data = values
        t_text = "" if t is None or t != t else f"{float(t):.3f}"
        data_text = "" if data is None or data is pd.NA else str(data)
        cells = [
            esc(seq),
            esc(conn),
            t_text,
            f'<span style="border-left:4px solid {color_of(fam)};padding-left:4px">'
            f"{esc(cut(str(label), 40))}</span>",
            esc(cut(str(ident), 24))
            if ident is not None and ident is not pd.NA
            else "",
            # one line per record: the whole record is in the record pane
            f"<code>{esc(cut(data_text.replace(chr(10), ' '), 300))}</code>",
        ]
        tds = [
            f'<td style="{_TD};white-space:nowrap;overflow:hidden;'
            f'text-overflow:ellipsis">{c}</td>'
            for c in cells
        ]
        body.append(f"<tr>{''.join(tds)}</tr>")
    return (
        f'<div class="ssenb-table" style="{_BOX};max-height:{height}px;'
        f'overflow-y:auto;width:100%;box-sizing:border-box;border:1px solid #ddd">'
        f'<table style="border-collapse:collapse;width:100%;table-layout:fixed">'
        f"<colgroup>{cols_html}</colgroup>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def pretty_data(data: Any) -> str:
    """A record's data pretty-printed as JSON when it is JSON, else as it came."""
    if data is None or data is pd.NA:
        return ""
    text = str(data)
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def record_html(row: Mapping[str, Any] | None) -> str:
    """One record: its fields, and its data pretty-printed as JSON."""
    if row is None:
        return f'<div style="{_BOX};color:#666"><i>no record selected</i></div>'
    fields = " · ".join(
        f"{name} <b>{esc(row.get(key))}</b>"
        for name, key in (
            ("#", "seq"),
            ("conn", "connection"),
            ("kind", "kind"),
            ("type", "label"),
            ("id", "id"),
        )
        if esc(row.get(key))
    )
    body = esc(cut(pretty_data(row.get("data")), 20_000))
    return (
        f'<div class="ssenb-record" style="{_BOX}">{fields}'
        f'<pre style="max-height:300px;overflow:auto;background:#f7f7f7;'
        f'padding:6px;margin:4px 0;white-space:pre-wrap">{body}</pre></div>'
    )


def counters_text(by_label: Mapping[str, int]) -> str:
    """The counters as one line of text."""
    top = sorted(by_label.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    return ", ".join(f"{k}={v:,}" for k, v in top)
