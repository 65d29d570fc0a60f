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

import numpy as np
import pandas as pd

from .. import _html
from .._payload import summary_column
from ..plots import color_of

__all__: list[str] = []

_BOX = f"font-family:{_html.FONT};font-size:13px;line-height:1.4;color:{_html.FG}"
_MUTED = _html.FG_MUTED
_JSON_BG = "var(--jp-cell-editor-background,#f5f5f5)"
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
    if status.get("elapsed"):
        parts.insert(3, f"{float(status['elapsed']):,.1f} s")
    scale = float(status.get("scale", 1.0) or 1.0)
    if abs(scale - 1.0) > 1e-9:
        parts.append(f"stream time (played {scale:g}x faster)")
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
        f'<div class="ssenb-error" role="alert" style="{_BOX};'
        f"background:{_html.BG_ALT};border-left:4px solid {_html.ERROR};"
        f'padding:4px 8px">'
        f"<b>error</b>{items}</div>"
    )


def counters_html(by_label: Mapping[str, int], family_of: Mapping[str, str]) -> str:
    """One chip per type with its count, coloured by family, most frequent first."""
    if not by_label:
        return f'<div style="{_BOX};color:{_MUTED}"><i>no records yet</i></div>'
    chips = []
    for label, n in sorted(by_label.items(), key=lambda kv: (-kv[1], kv[0]))[:30]:
        color = color_of(family_of.get(label, "unknown"))
        chips.append(
            f'<span style="display:inline-block;margin:1px 6px 1px 0;padding:0 6px;'
            f"border-left:4px solid {color};background:{_html.BG_ALT};"
            f'color:{_html.FG}">'
            f"{esc(cut(label, 40))} <b>{n:,}</b></span>"
        )
    return f'<div class="ssenb-counters" style="{_BOX}">{"".join(chips)}</div>'


_HEADS = {"seq": "#", "connection": "conn", "t": "t (s)", "label": "type",
          "payload": "payload", "id": "id"}  # fmt: skip


def stream_times(rows: pd.DataFrame, scale: float = 1.0) -> pd.Series:
    """The rows' stream seconds: their ``t`` when they have it (a prepared capture),
    else measured ``elapsed`` x the server's time scale."""
    if "t" in rows.columns:
        return rows["t"].astype("float64")
    if "elapsed" in rows.columns:
        return rows["elapsed"].astype("float64") * float(scale or 1.0)
    return pd.Series(np.nan, index=rows.index)


def _type_chip(family_of: Mapping[int, str]) -> Any:
    def chip(value: Any) -> str:
        label, i = value
        return (
            f'<span style="border-left:4px solid {color_of(family_of[i])};'
            f'padding-left:4px;white-space:nowrap">{esc(cut(str(label), 40))}</span>'
        )

    return chip


def _payload(value: Any) -> str:
    text = str(value or "").replace("\r", " ").replace("\n", " ")
    title = f' title="{esc(cut(text, 2000))}"' if len(text) > 100 else ""
    return (
        f'<code style="white-space:nowrap;font-size:12px"{title}>'
        f"{esc(cut(text, 100))}</code>"
    )


def table_html(
    rows: pd.DataFrame,
    *,
    height: int = 300,
    scale: float = 1.0,
    dialect: str | None = None,
) -> str:
    """The rows (newest first) as one escaped, scrolling table: ``seq``, connection,
    stream time, type, the payload in a few words (per dialect) and the id (in full
    on hover)."""
    if not len(rows):
        return f'<div style="{_BOX};color:{_MUTED}"><i>no records match</i></div>'
    fams = rows["family"] if "family" in rows.columns else ["unknown"] * len(rows)
    family_of = dict(enumerate(str(f) for f in fams))
    labels = rows["label"] if "label" in rows.columns else rows["kind"]
    kinds = rows["kind"] if "kind" in rows.columns else ["event"] * len(rows)
    datas = rows["data"] if "data" in rows.columns else [None] * len(rows)
    shown = pd.DataFrame(
        {
            "#": rows["seq"].to_numpy() if "seq" in rows.columns else range(len(rows)),
            "conn": rows["connection"].to_numpy()
            if "connection" in rows.columns
            else [None] * len(rows),
            "t (s)": stream_times(rows, scale).round(3).to_numpy(),
            "type": list(zip(labels.astype(str), range(len(rows)), strict=True)),
            "payload": summary_column(kinds, datas, dialect),
            "id": rows["id"].to_numpy() if "id" in rows.columns else [None] * len(rows),
        }
    )
    table = _html.html_table(
        shown,
        max_rows=len(shown),
        height=height,
        width=24,
        markup={"type": _type_chip(family_of), "payload": _payload},
    )
    return f'<div class="ssenb-block ssenb-feed">{_html.STYLE}{table}</div>'


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
        return f'<div style="{_BOX};color:{_MUTED}"><i>no record selected</i></div>'
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
    t = row.get("t")
    if isinstance(t, float) and t == t:
        fields += f" · at <b>{t:,.3f} s</b>"
    body = esc(cut(pretty_data(row.get("data")), 20_000))
    return (
        f'<div class="ssenb-record" style="{_BOX}">{fields}'
        f'<pre class="ssenb-json" style="max-height:300px;overflow:auto;'
        f"background:{_JSON_BG};color:{_html.FG};font-family:{_html.MONO};"
        f"font-size:12px;padding:6px;margin:4px 0;white-space:pre-wrap;"
        f'overflow-wrap:break-word;word-break:normal">{body}</pre></div>'
    )


def counters_text(by_label: Mapping[str, int]) -> str:
    """The counters as one line of text."""
    top = sorted(by_label.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    return ", ".join(f"{k}={v:,}" for k, v in top)


def static_bundle(
    widget: Any, text: str, html_text: str, png: bytes | None = None, **kwargs: Any
) -> Any:
    """The widget's own bundle plus a static copy of what it shows: ``text/html``
    (and ``image/png`` for a chart) for places that cannot run widgets, and a
    ``text/plain`` that reads as a sentence, never a widget repr."""
    bundle = widget._repr_mimebundle_(**kwargs)
    data, meta = bundle if isinstance(bundle, tuple) else (bundle, None)
    data = dict(data or {})
    data["text/plain"] = text
    data["text/html"] = html_text
    if png is not None:
        import base64

        data["image/png"] = base64.b64encode(png).decode("ascii")
    return (data, meta) if meta is not None else data


def png_html(png: bytes, alt: str) -> str:
    """A PNG as an inline image that follows the theme (class ``ssenb-chart``)."""
    import base64

    data = base64.b64encode(png).decode("ascii")
    return (
        f'<div class="ssenb-block">{_html.STYLE}<img class="ssenb-chart" '
        f'style="max-width:100%;height:auto" alt="{esc(alt)}" '
        f'src="data:image/png;base64,{data}"></div>'
    )
