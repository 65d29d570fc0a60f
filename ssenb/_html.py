"""Escaping and the one HTML/text table renderer of ssenb.

Rules of this module:

- Every string that reaches HTML goes through :func:`escape` first: SSE payloads are
  untrusted, and a capture can hold ``<script>`` as easily as text.
- Every rendered block gets a unique DOM id, so two renderings in one notebook never
  clash.
- An empty table renders a friendly sentence, never a traceback or a bare header.
- One table renderer (:func:`html_table`) for every HTML table ssenb makes: headers
  and numbers stay on one line, numbers are right-aligned with one precision per
  column, text is left-aligned and breaks only between words, all-empty columns are
  left out, and a wide table scrolls inside its own box.
- Colours come from JupyterLab's CSS variables (``--jp-*``) with light fallbacks, so
  a block reads well in the light, dark and high-contrast themes, and in a page
  outside JupyterLab.
- Standard library only; values are rendered with ``str()`` so a pandas frame or any
  list of rows works.
"""

from __future__ import annotations

import html
import itertools
import math
import numbers
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__: list[str] = []

_COUNTER = itertools.count(1)
_PREFIX = uuid.uuid4().hex[:8]

#: Text and background pairs from the JupyterLab theme, with fallbacks for a page
#: outside JupyterLab. Each pair is made to be read together in every theme.
FG = "var(--jp-ui-font-color1,#1f1f1f)"
FG_MUTED = "var(--jp-ui-font-color2,#555)"
BG = "var(--jp-layout-color0,#fff)"
BG_ALT = "var(--jp-layout-color2,#eee)"
BORDER = "var(--jp-border-color2,#ccc)"
WARN = "var(--jp-warn-color1,#f57c00)"
ERROR = "var(--jp-error-color1,#d32f2f)"
INFO = "var(--jp-info-color1,#0288d1)"
MONO = "var(--jp-code-font-family,ui-monospace,SFMono-Regular,Menlo,monospace)"
FONT = "var(--jp-ui-font-family,system-ui,-apple-system,'Segoe UI',sans-serif)"

#: In a dark JupyterLab theme, chart images (class ``ssenb-chart``) are inverted
#: with their hues kept, so a chart is never a white box on a dark page.
CHART_CSS = (
    'body[data-jp-theme-light="false"] .ssenb-chart'
    "{filter:invert(0.88) hue-rotate(180deg)}"
)

STYLE = (
    "<style>"
    f"{CHART_CSS}"
    f".ssenb-block{{font-family:{FONT};font-size:13px;line-height:1.45;color:{FG}}}"
    ".ssenb-block h4{font-size:1.15em;margin:0.2em 0 0.4em 0}"
    ".ssenb-block h5{font-size:1em;margin:0.8em 0 0.2em 0}"
    ".ssenb-scroll{overflow-x:auto;max-width:100%;margin:4px 0 10px 0}"
    # ".ssenb-scroll .ssenb-table" outranks the notebook's own table rules
    # (JupyterLab right-aligns every cell and lets them wrap)
    ".ssenb-scroll .ssenb-table{border-collapse:collapse;margin:0}"
    f".ssenb-scroll .ssenb-table th,.ssenb-scroll .ssenb-table td{{border:1px solid "
    f"{BORDER};padding:2px 8px;vertical-align:top;color:{FG};background:{BG};"
    "line-height:1.4}"
    ".ssenb-scroll .ssenb-table td{text-align:left;max-width:40em;"
    "white-space:normal;overflow-wrap:normal;word-break:normal}"
    f".ssenb-scroll .ssenb-table th{{background:{BG_ALT};font-weight:600;"
    "text-align:left;white-space:nowrap}"
    ".ssenb-scroll .ssenb-table th.ssenb-num{text-align:right}"
    ".ssenb-scroll .ssenb-table td.ssenb-num{text-align:right;white-space:nowrap;"
    "font-variant-numeric:tabular-nums}"
    ".ssenb-scroll .ssenb-table td.ssenb-id{white-space:nowrap}"
    f".ssenb-block .ssenb-empty{{color:{FG_MUTED};font-style:italic}}"
    f".ssenb-block .ssenb-note{{color:{FG};border-left:4px solid {INFO};"
    f"background:{BG_ALT};padding:4px 8px;margin:6px 0}}"
    f".ssenb-block .ssenb-warning{{color:{FG};border-left:4px solid {WARN};"
    f"background:{BG_ALT};padding:4px 8px;margin:6px 0}}"
    f".ssenb-block code,.ssenb-block pre{{font-family:{MONO}}}"
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


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        if value != value:  # NaN, NaT
            return True
    except (TypeError, ValueError):  # pandas NA refuses to be a bool
        pass
    return str(value) in ("<NA>", "NaT", "nan")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _float_text(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{value:.1f}"
    return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.3f}"


def cell(value: Any, width: int = 80) -> str:
    """One value as a short line of text: missing values blank, floats rounded, long
    text cut, control characters shown escaped."""
    if _missing(value):
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return _float_text(value)
    text = str(value).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= width else text[: width - 1] + "…"


def number_format(values: Sequence[Any]) -> Callable[[Any], str]:
    """One format for a column of numbers: integers as integers, floats with as many
    decimals as their size calls for (3 below 1, 2 below 100, else 1); very large or
    very small values in scientific notation."""
    present = [float(v) for v in values if not _missing(v)]
    if not present:
        return lambda v: ""
    if all(isinstance(v, numbers.Integral) for v in values if not _missing(v)) or all(
        p == int(p) and abs(p) < 1e15 for p in present
    ):
        return lambda v: "" if _missing(v) else str(int(v))
    top = max(abs(p) for p in present)
    if top >= 1e7:
        return lambda v: "" if _missing(v) else f"{float(v):.3g}"
    decimals = 3 if top < 1 else 2 if top < 100 else 1
    return lambda v: "" if _missing(v) else f"{float(v):.{decimals}f}"


def _rows(table: Any) -> tuple[list[str], list[list[Any]], int]:
    """(columns, rows, total rows) of a DataFrame or a list of mappings."""
    if hasattr(table, "columns") and hasattr(table, "itertuples"):
        columns = [str(c) for c in table.columns]
        rows = [list(r) for r in table.itertuples(index=False, name=None)]
        return columns, rows, len(table)
    items = list(table)
    columns = list(items[0]) if items else []
    return columns, [[m.get(c) for c in columns] for m in items], len(items)


def _layout(columns: list[str], rows: list[list[Any]]) -> tuple[list[int], list[bool]]:
    """The columns worth showing (not all empty) and which of them hold numbers."""
    keep, numeric = [], []
    for i, _ in enumerate(columns):
        values = [r[i] for r in rows if not _missing(r[i]) and r[i] != ""]
        if not values and rows:
            continue
        keep.append(i)
        numeric.append(bool(values) and all(_is_number(v) for v in values))
    return keep, numeric


def text_table(table: Any, *, max_rows: int = 20, empty: str = "(nothing)") -> str:
    """A fixed-width text table of the first ``max_rows`` rows: all-empty columns
    left out, numbers right-aligned."""
    columns, rows, total = _rows(table)
    if not total:
        return empty
    rows = rows[:max_rows]
    keep, numeric = _layout(columns, rows)
    fmts = [
        number_format([r[i] for r in rows]) if num else (lambda v: cell(v, 40))
        for i, num in zip(keep, numeric, strict=True)
    ]
    heads = [columns[i] for i in keep]
    shown = [[f(r[i]) for i, f in zip(keep, fmts, strict=True)] for r in rows]
    widths = [max([len(h)] + [len(r[j]) for r in shown]) for j, h in enumerate(heads)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        )

    lines = [line(heads)] + [line(r) for r in shown]
    if total > max_rows:
        lines.append(f"… {total - max_rows} more rows")
    return "\n".join(x.rstrip() for x in lines)


def html_table(
    table: Any,
    *,
    max_rows: int = 20,
    empty: str = "Nothing to show.",
    width: int = 120,
    height: int | None = None,
    markup: Mapping[str, Callable[[Any], str]] | None = None,
    row_attrs: Callable[[int], str] | None = None,
    keep_empty: bool = False,
) -> str:
    """An escaped HTML table of the first ``max_rows`` rows, or a friendly sentence.

    Text longer than ``width`` characters is cut with an ellipsis and given in full
    on hover. ``height`` (px) makes the body scroll under a sticky header.
    ``markup`` maps a column to a function giving its cell's HTML (that function
    escapes); ``row_attrs(i)`` gives extra attributes of row ``i``.
    """
    columns, rows, total = _rows(table)
    if not total:
        return f'<p class="ssenb-empty">{escape(empty)}</p>'
    rows = rows[:max_rows]
    markup = dict(markup or {})
    keep, numeric = _layout(columns, rows)
    if keep_empty:
        keep = list(range(len(columns)))
        numeric = [
            all(_is_number(r[i]) for r in rows if not _missing(r[i])) for i in keep
        ]
    fmts: list[Callable[[Any], str] | None] = [
        number_format([r[i] for r in rows]) if num else None
        for i, num in zip(keep, numeric, strict=True)
    ]
    sticky = ' style="position:sticky;top:0;z-index:1"' if height else ""
    head = "".join(
        f'<th class="ssenb-num"{sticky}>{escape(columns[i])}</th>'
        if num
        else f"<th{sticky}>{escape(columns[i])}</th>"
        for i, num in zip(keep, numeric, strict=True)
    )
    body = []
    for n, r in enumerate(rows):
        tds = []
        for i, fmt in zip(keep, fmts, strict=True):
            name, value = columns[i], r[i]
            if name in markup:
                tds.append(f"<td>{markup[name](value)}</td>")
            elif fmt is not None:
                tds.append(f'<td class="ssenb-num">{escape(fmt(value))}</td>')
            else:
                full = cell(value, 1 << 30)
                short = cell(value, width)
                title = f' title="{escape(full)}"' if short != full else ""
                klass = (
                    ' class="ssenb-id"' if len(full) <= 40 and " " not in full else ""
                )
                tds.append(f"<td{klass}{title}>{escape(short)}</td>")
        attrs = f" {row_attrs(n)}" if row_attrs else ""
        body.append(f"<tr{attrs}>{''.join(tds)}</tr>")
    more = (
        f'<p class="ssenb-empty">… {total - len(rows)} more rows</p>'
        if total > len(rows)
        else ""
    )
    box = f' style="max-height:{height}px;overflow-y:auto"' if height else ""
    return (
        f'<div class="ssenb-scroll"{box}><table class="ssenb-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f"{more}"
    )


def html_list(items: Iterable[str]) -> str:
    """An escaped bullet list."""
    inner = "".join(f"<li>{escape(i)}</li>" for i in items)
    return f"<ul>{inner}</ul>" if inner else ""


def note_html(text: str, *, warning: bool = False) -> str:
    """A note (an info bar) or a warning (a warning bar), escaped."""
    kind = "ssenb-warning" if warning else "ssenb-note"
    role = ' role="alert"' if warning else ""
    return f'<p class="{kind}"{role}>{escape(text)}</p>'


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
