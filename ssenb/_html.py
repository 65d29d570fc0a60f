"""Escaping and small HTML/text tables for ``_repr_mimebundle_``.

Rules of this module:

- Every string that reaches HTML goes through :func:`escape` first: SSE payloads are
  untrusted, and a capture can hold ``<script>`` as easily as text.
- Every rendered block gets a unique DOM id, so two renderings in one notebook never
  clash.
- An empty table renders a friendly sentence, never a traceback or a bare header.
- Standard library only; values are rendered with ``str()`` so a pandas frame or any
  list of rows works.
"""

from __future__ import annotations

import html
import itertools
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__: list[str] = []

_COUNTER = itertools.count(1)
_PREFIX = uuid.uuid4().hex[:8]

STYLE = (
    "<style>"
    ".ssenb-block{font-family:system-ui,sans-serif;font-size:13px;line-height:1.4}"
    ".ssenb-block table{border-collapse:collapse;margin:4px 0 10px 0}"
    ".ssenb-block th,.ssenb-block td{border:1px solid #ccc;padding:2px 6px;"
    "text-align:left;vertical-align:top;max-width:40em;overflow-wrap:anywhere}"
    ".ssenb-block th{background:#f3f3f3}"
    ".ssenb-block .ssenb-empty{color:#666;font-style:italic}"
    ".ssenb-block .ssenb-note{color:#8a5a00}"
    "</style>"
)


def escape(value: Any) -> str:
    """``value`` as text safe to put inside HTML (quotes included); missing values
    become empty."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def unique_id(prefix: str = "ssenb") -> str:
    """A DOM id unique in this process and across processes."""
    return f"{prefix}-{_PREFIX}-{next(_COUNTER)}"


def cell(value: Any, width: int = 80) -> str:
    """One value as a short line of text: missing values blank, floats rounded, long
    text cut, control characters shown escaped."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value == int(value) and abs(value) < 1e15:
            return f"{value:.1f}"
        return (
            f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.3f}"
        )
    try:
        if value != value:  # pandas NA, NaT
            return ""
    except (TypeError, ValueError):
        pass
    text = str(value)
    if text in ("<NA>", "NaT", "nan"):
        return ""
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= width else text[: width - 1] + "…"


def _rows(table: Any) -> tuple[list[str], list[list[Any]], int]:
    """(columns, rows, total rows) of a DataFrame or a list of mappings."""
    if hasattr(table, "columns") and hasattr(table, "itertuples"):
        columns = [str(c) for c in table.columns]
        rows = [list(r) for r in table.itertuples(index=False, name=None)]
        return columns, rows, len(table)
    items = list(table)
    columns = list(items[0]) if items else []
    return columns, [[m.get(c) for c in columns] for m in items], len(items)


def text_table(table: Any, *, max_rows: int = 20, empty: str = "(nothing)") -> str:
    """A fixed-width text table of the first ``max_rows`` rows."""
    columns, rows, total = _rows(table)
    if not total:
        return empty
    shown = [[cell(v, 40) for v in r] for r in rows[:max_rows]]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in shown
    ]
    if total > max_rows:
        lines.append(f"… {total - max_rows} more rows")
    return "\n".join(line.rstrip() for line in lines)


def html_table(
    table: Any, *, max_rows: int = 20, empty: str = "Nothing to show."
) -> str:
    """An escaped HTML table of the first ``max_rows`` rows, or a friendly sentence."""
    columns, rows, total = _rows(table)
    if not total:
        return f'<p class="ssenb-empty">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell(v))}</td>" for v in r) + "</tr>"
        for r in rows[:max_rows]
    )
    more = (
        f'<p class="ssenb-empty">… {total - max_rows} more rows</p>'
        if total > max_rows
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def html_list(items: Iterable[str]) -> str:
    """An escaped bullet list."""
    inner = "".join(f"<li>{escape(i)}</li>" for i in items)
    return f"<ul>{inner}</ul>" if inner else ""


def block(title: str, parts: Sequence[str], *, kind: str = "result") -> str:
    """Wrap already-escaped HTML parts in one titled block with a unique id."""
    return (
        f'<div class="ssenb-block ssenb-{escape(kind)}" id="{unique_id()}">{STYLE}'
        f"<h4>{escape(title)}</h4>{''.join(parts)}</div>"
    )


def mimebundle(text: str, html_text: str) -> dict[str, str]:
    """The two media every rendered object offers."""
    return {"text/plain": text, "text/html": html_text}


def facts_text(facts: Mapping[str, Any]) -> list[str]:
    """``key: value`` lines of a small mapping."""
    return [f"{k}: {cell(v)}" for k, v in facts.items()]
