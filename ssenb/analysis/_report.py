"""The report: one object combining every analysis for a person, summary first."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd

from .. import _html
from ..patterns import DialectResult
from ..value import CaptureLike
from ._delivery import delivery
from ._event_types import event_types
from ._heartbeats import heartbeats
from ._input import Prepared, prepare
from ._lint import lint
from ._llm import llm
from ._progress import task_progress
from ._reconnects import reconnects
from ._result import Result
from ._schema import schema
from ._timing import timing

__all__ = ["Report", "report"]


class Report(Result):
    """Every analysis of a capture, summary first.

    Attributes:
        summary: the overview sentences.
        sections: name → :class:`Result` (``heartbeats``, ``event_types``,
            ``reconnects``, ``timing``, ``delivery``, ``llm``, ``progress``,
            ``schema``, ``lint``);
            also reachable as attributes (``report.lint``).
        dialect: the :class:`~ssenb.patterns.DialectResult`.
        tables: ``overview`` (one row of totals).
    """

    def __init__(
        self,
        *,
        summary: list[str],
        overview: pd.DataFrame,
        sections: dict[str, Result],
        dialect: DialectResult,
        notes: list[str],
    ) -> None:
        super().__init__(
            "SSE capture report",
            summary=summary,
            tables={"overview": overview},
            notes=notes,
        )
        self.sections = sections
        self.dialect = dialect

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        return super().__getattr__(name)

    def all_notes(self) -> list[str]:
        """Every caveat of the report and its sections, each once, in order."""
        seen: dict[str, None] = dict.fromkeys(self.notes)
        for section in self.sections.values():
            seen.update(dict.fromkeys(section.notes))
        return list(seen)

    def text(self, *, max_rows: int = 10, skip_notes: Collection[str] = ()) -> str:
        if f"text:{max_rows}" not in self._rendered:
            notes = self.all_notes()
            head = Result(self.title, summary=self.summary, notes=notes).text()
            parts = [head, "", str(self.dialect)]
            inflated = any(_is_warning(n) for n in notes)
            for name, section in self.sections.items():
                body = section.text(max_rows=max_rows, skip_notes=notes)
                if name == "llm":
                    body += "".join(f"\n\n{a}" for a in _answers_text(section))
                if inflated and name in _LATENCY:
                    body += (
                        "\nwarning: times to a first byte/event/token above are "
                        "inflated by time compression, not measurements"
                    )
                parts += ["", body]
            self._rendered[f"text:{max_rows}"] = "\n".join(parts)
        return self._rendered[f"text:{max_rows}"]

    def html_parts(
        self,
        max_rows: int = 10,
        *,
        skip_notes: Collection[str] = (),
        skip_summary: int = 0,
    ) -> list[str]:
        """The report's body: the overview once, every caveat once, then one
        section per analysis headed by its own first sentence (said only there)."""
        notes = self.all_notes()
        said = {s.summary[0] for s in self.sections.values() if s.summary}
        parts = [_html.html_list(x for x in self.summary if x not in said)]
        parts += [_html.note_html(n, warning=_is_warning(n)) for n in notes]
        parts.append(_html.html_table(self.tables["overview"]))
        parts.append(f'<p class="ssenb-empty">{_html.escape(str(self.dialect))}</p>')
        for name, section in self.sections.items():
            head = section.summary[0] if section.summary else section.empty
            body = ""
            if name == "llm":
                body += _answers_html(section)
            body += "".join(
                section.html_parts(max_rows, skip_notes=notes, skip_summary=1)
            )
            flag = _section_flag(name, section)
            if name in _LATENCY and any(_is_warning(n) for n in notes):
                flag += (
                    f'<span style="color:{_html.WARN};font-weight:700" title="'
                    'inflated by time compression: see the warning above">'
                    "⚠ not a measurement at this speed:</span> "
                )
            opened = " open" if flag or name == "llm" else ""
            parts.append(
                f"<details{opened}><summary><b>{_html.escape(section.title)}</b>: "
                f"{flag}{_html.escape(head)}</summary>{body}</details>"
            )
        return parts

    def html(self, *, max_rows: int = 10) -> str:
        if f"html:{max_rows}" not in self._rendered:
            self._rendered[f"html:{max_rows}"] = _html.block(
                self.title, self.html_parts(max_rows), kind="report"
            )
        return self._rendered[f"html:{max_rows}"]


#: Sections whose headline is a time to a first byte, event or token: time
#: compression multiplies the connection's real setup into them.
_LATENCY = ("timing", "llm")


def _is_warning(note: str) -> bool:
    """Caveats that make printed figures misleading read as warnings."""
    return "Record at speed=1" in note or "reads as" in note


def _section_flag(name: str, section: Result) -> str:
    """A warning mark for a section whose findings need attention."""
    if name == "lint" and (
        section.facts.get("errors") or section.facts.get("warnings")
    ):
        return (
            f'<span style="color:{_html.WARN};font-weight:700" '
            f'title="findings to look at">⚠</span> '
        )
    return ""


def _answers_text(section: Result) -> list[str]:
    """Each LLM answer rebuilt in full, as text."""
    messages = section.tables.get("messages")
    if messages is None or "text" not in messages.columns:
        return []
    return [
        f"answer ({row.get('stream', '')} connection {row.get('connection', '')}):\n"
        f"{row['text']}"
        for _, row in messages.iterrows()
        if isinstance(row.get("text"), str) and row["text"]
    ]


def _answers_html(section: Result) -> str:
    """Each LLM answer rebuilt in full (tables cut long text; this does not)."""
    messages = section.tables.get("messages")
    if messages is None or "text" not in messages.columns:
        return ""
    out = []
    for _, row in messages.iterrows():
        text = row.get("text")
        if not isinstance(text, str) or not text:
            continue
        who = f"{row.get('stream', '')} connection {row.get('connection', '')}"
        out.append(
            f"<h5>answer ({_html.escape(who.strip())})</h5><blockquote "
            f'style="white-space:pre-wrap;overflow-wrap:break-word;margin:4px 0;'
            f"padding:4px 10px;border-left:4px solid {_html.BORDER};"
            f'max-width:60em">{_html.escape(text)}</blockquote>'
        )
    return "".join(out)


def _overview(prep: Prepared) -> tuple[pd.DataFrame, list[str]]:
    ev = prep.events
    kinds = {str(k): int(v) for k, v in ev["kind"].value_counts().items()}
    t = ev["t"]
    duration = float(t.max() - t.min()) if t.notna().any() else float("nan")
    row = {
        "records": len(ev),
        "events": int(kinds.get("event", 0)),
        "comments": int(kinds.get("comment", 0)),
        "blank_lines": int(kinds.get("blank", 0)),
        "retry_lines": int(kinds.get("retry", 0)),
        "bytes": int(ev["size"].sum()) if len(ev) else 0,
        "connections": len(prep.connections),
        "streams": int(ev["stream"].nunique()) if len(ev) else 0,
        "duration": duration,
        "time_scale": prep.scale,
    }
    if not len(ev):
        return pd.DataFrame([row]), ["This capture is empty: no records were recorded."]
    line = (
        f"{row['records']} records ({row['events']} events, {row['comments']} "
        f"comments, {row['blank_lines']} blank lines) in {row['bytes']} bytes over "
        f"{row['connections']} connection(s)"
    )
    if duration == duration:
        line += f", {duration:.1f} s of stream time"
    return pd.DataFrame([row]), [line + "."]


def report(capture: CaptureLike, *, sample: int = 2000) -> Report:
    """Everything ssenb can say about a capture, for a person: an overview, the
    dialect, then heartbeats, event types, reconnects, timing, the LLM answer (for token
    streams), progress (when there is any), schema and lint findings.

    In a notebook it renders as HTML (payloads escaped); ``print(report(c))`` gives the
    text form that ``ssenb report FILE`` prints.

    Example:
        >>> r = report(capture); r.lint.findings; r.heartbeats.stats
    """
    prep = prepare(capture)
    overview, summary = _overview(prep)
    d = prep.dialect()  # computed once per capture
    sections: dict[str, Result] = {}
    if len(prep.events):
        summary.append(
            f"It looks like {d.title} (confidence {d.confidence:.2f})."
            if d.name != "unknown"
            else "It matches no known system."
        )
    sections["heartbeats"] = heartbeats(prep)
    sections["event_types"] = event_types(prep)
    sections["reconnects"] = reconnects(prep)
    sections["timing"] = timing(prep)
    sections["delivery"] = delivery(prep, raw=getattr(capture, "raw", None))
    if d.token_stream:
        sections["llm"] = llm(prep, dialect=d.name)
    prog = task_progress(prep)
    if len(prog.tables["series"]):
        sections["progress"] = prog
    sections["schema"] = schema(prep, sample=sample)
    sections["lint"] = lint(prep, sample=sample)
    if len(prep.events):
        for name in ("heartbeats", "reconnects", "delivery", "llm", "lint"):
            if name == "delivery" and sections[name].facts["verdict"] == "unknown":
                continue
            if name in sections and sections[name].summary:
                summary.append(sections[name].summary[0])
    notes = [prep.scale_note]
    if prep.inferred and len(prep.events):
        notes.append(
            "No connection records came with these events; connections were inferred "
            "from the connection column."
        )
    return Report(
        summary=summary, overview=overview, sections=sections, dialect=d, notes=notes
    )
