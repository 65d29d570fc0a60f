"""The small result object every analysis returns: tables plus a few sentences.

Compute, then render: a :class:`Result` holds its data (``.tables``, ``.facts``,
``.summary``); text and HTML are made only when asked for, once, and every payload
string is escaped on the way into HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import pandas as pd

from .. import _html

__all__ = ["Result"]


class Result:
    """Tables and findings of one analysis.

    Attributes:
        title: what the analysis is.
        summary: sentences for a person, most important first.
        tables: named DataFrames, tidy (one row per observation), in display order;
            also reachable as attributes (``result.stats``).
        facts: named scalars (``result.facts["max_silence"]``), also attributes.
        notes: caveats (time compression, inferred connections).

    ``result.table`` is the first table. ``to_dict()`` gives plain data.
    """

    def __init__(
        self,
        title: str,
        *,
        summary: list[str] | None = None,
        tables: dict[str, pd.DataFrame] | None = None,
        facts: dict[str, Any] | None = None,
        notes: list[str] | None = None,
        empty: str = "Nothing to show.",
    ) -> None:
        self.title = title
        self.summary = list(summary or [])
        self.tables = dict(tables or {})
        self.facts = dict(facts or {})
        self.notes = [n for n in (notes or []) if n]
        self.empty = empty
        self._rendered: dict[str, str] = {}

    def _copy(self) -> Result:
        """A copy that can be changed without changing this one (tables are
        copy-on-write copies, so nothing is copied until changed)."""
        import copy

        out = copy.copy(self)
        out.summary = list(self.summary)
        out.tables = {k: v.copy(deep=False) for k, v in self.tables.items()}
        out.facts = copy.deepcopy(self.facts)
        out.notes = list(self.notes)
        out._rendered = {}
        return out

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        d = self.__dict__
        if name in d.get("tables", {}):
            return d["tables"][name]
        if name in d.get("facts", {}):
            return d["facts"][name]
        raise AttributeError(
            f"{type(self).__name__} {d.get('title', '')!r} has no table or fact "
            f"{name!r}; tables: {list(d.get('tables', {}))}, facts: "
            f"{list(d.get('facts', {}))}"
        )

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.tables, *self.facts})

    @property
    def table(self) -> pd.DataFrame:
        """The first (main) table."""
        return next(iter(self.tables.values())) if self.tables else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """Plain data: title, summary, notes, facts and each table as records."""
        return {
            "title": self.title,
            "summary": list(self.summary),
            "notes": list(self.notes),
            "facts": dict(self.facts),
            "tables": {k: v.to_dict("records") for k, v in self.tables.items()},
        }

    def text(self, *, max_rows: int = 15, skip_notes: Collection[str] = ()) -> str:
        """The result as plain text (what a terminal shows); a report that shows
        the notes once passes them as ``skip_notes``."""
        key = f"text:{max_rows}:{hash(tuple(skip_notes))}"
        if key not in self._rendered:
            lines = [self.title, "=" * len(self.title)]
            lines += self.summary or [self.empty]
            lines += [f"note: {n}" for n in self.notes if n not in skip_notes]
            for name, frame in self.tables.items():
                if frame is None or not len(frame):
                    continue
                lines += ["", f"[{name}]", _html.text_table(frame, max_rows=max_rows)]
            self._rendered[key] = "\n".join(lines)
        return self._rendered[key]

    def html(self, *, max_rows: int = 15) -> str:
        """The result as a self-contained, escaped HTML block."""
        if f"html:{max_rows}" not in self._rendered:
            self._rendered[f"html:{max_rows}"] = _html.block(
                self.title, self.html_parts(max_rows)
            )
        return self._rendered[f"html:{max_rows}"]

    def html_parts(
        self,
        max_rows: int = 15,
        *,
        skip_notes: Collection[str] = (),
        skip_summary: int = 0,
    ) -> list[str]:
        """The escaped HTML of the body (for embedding in a report); a report that
        shows the headline and the notes once passes ``skip_summary`` (how many
        leading sentences) and ``skip_notes``."""
        summary = self.summary[skip_summary:] if self.summary else [self.empty]
        parts = [_html.html_list(summary)]
        parts += [_html.note_html(n) for n in self.notes if n not in skip_notes]
        for name, frame in self.tables.items():
            if frame is None or not len(frame):
                continue
            parts.append(f"<h5>{_html.escape(name)}</h5>")
            parts.append(
                _html.html_table(frame, max_rows=max_rows, markup=_markup(frame))
            )
        return parts

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        head = self.summary[0] if self.summary else self.empty
        return f"<{type(self).__name__} {self.title!r}: {head}>"

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str]:
        return _html.mimebundle(self.text(), self.html())


def _severity(value: Any) -> str:
    """A lint severity as a marked chip: errors and warnings must stand out."""
    text = _html.escape(value)
    if text in ("error", "warning"):
        color = _html.ERROR if text == "error" else _html.WARN
        return (
            f'<span style="border-left:4px solid {color};padding-left:4px;'
            f'font-weight:600;white-space:nowrap">{text}</span>'
        )
    return text


def _markup(frame: pd.DataFrame) -> dict[str, Callable[[Any], str]]:
    """Cells drawn as more than text: the severity of a finding."""
    return {"severity": _severity} if "severity" in frame.columns else {}
