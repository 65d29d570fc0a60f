"""Text for markdown cells: escaping of stream strings, static tables, wire excerpts.

Rules of this module:

- Every string that comes from a stream (types, data, comments, URLs, ids) is
  untrusted. In markdown prose, HTML characters and the characters that start
  markdown or math (``*``, ``_``, backquotes, brackets, ``$``...) become numeric
  character references: every renderer shows them as the characters, none reads
  them as markup (backslash escapes are not honoured inside ``<code>`` everywhere).
  Inside an HTML block (``<table>``, ``<pre>``) only HTML is escaped, because
  markdown is not read there.
- HTML blocks are written on one line, or inside ``<pre>``, so no blank line ends
  them early in any CommonMark renderer (GitHub, JupyterLab, nbconvert).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

__all__: list[str] = []

# ":" too: no renderer turns an escaped URL into a link.
_MD_SPECIAL = {c: f"&#{c};" for c in map(ord, "&<>\"'\\`*_[]|~!$#{}:")}
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {
    10: "\\n",
    13: "\\r",
    9: "\\t",
}


def plain(value: Any, width: int = 120) -> str:
    """One value as one line of text: control characters shown escaped, cut."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    try:
        if value != value:  # pandas NA / NaT
            return ""
    except (TypeError, ValueError):
        pass
    text = str(value).translate(_CONTROL)
    return text if len(text) <= width else text[: width - 1] + "…"


def md(value: Any, width: int = 120) -> str:
    """A stream string safe to put in markdown prose (markdown and HTML escaped)."""
    return plain(value, width).translate(_MD_SPECIAL)


def code(value: Any, width: int = 80) -> str:
    """A stream string as inline code (``<code>``), safe in markdown prose."""
    return f"<code>{md(value, width)}</code>"


def table(rows: list[list[Any]], header: list[str], width: int = 80) -> str:
    """A one-line HTML table (an HTML block in markdown) with escaped cells."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(plain(v, width), quote=True)}</td>" for v in r)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def wire(raw: bytes, limit: int = 600) -> str:
    """Raw stream bytes as an escaped ``<pre>`` block: one line per wire line, each
    ending shown (``\\n``, ``\\r\\n``, ``\\r``), control characters and bytes that are
    not UTF-8 shown escaped."""
    cut = len(raw) > limit
    text = raw[:limit].decode("utf-8", errors="backslashreplace")
    lines = []
    for line in re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        lines.append(body.translate(_CONTROL) + ending.translate(_CONTROL))
    if cut:
        lines.append(f"… ({len(raw) - limit} more bytes)")
    inner = "\n".join(html.escape(x, quote=True) for x in lines)
    return f"<pre>{inner}</pre>"
