"""The cells of a shared notebook, section by section, from one capture.

Rules of this module:

- Markdown cells say what the capture showed when the notebook was written, with
  figures computed here from the capture (never typed by hand), so the notebook reads
  well where no kernel runs; code cells recompute the same tables and plots live.
- Every stream string that lands in a markdown cell goes through ``_text``; code cells
  hold no stream strings at all except the embedded capture, which is base64.
- A section with nothing to say is left out.
- Nothing here depends on the clock, the host or a random source: the same capture
  gives the same cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import analysis
from ..patterns import DIALECTS, FAMILY_DESCRIPTIONS, catalog
from . import _text as T

__all__: list[str] = []

KINDS = ("event", "comment", "retry", "blank")

#: Section name -> heading; the tests and readers find sections by these.
SECTIONS = {
    "summary": "Summary",
    "capture": "The capture",
    "dialect": "Dialect",
    "wire": "The wire",
    "families": "Pattern families",
    "heartbeats": "Heartbeats",
    "event-types": "Event types",
    "reconnects": "Reconnects",
    "llm": "LLM token stream",
    "lint": "Lint findings",
    "live": "Watch it live",
    "look-for": "What to look for in other services",
}

#: What to check when a family shows up in another service (teaching text, per
#: family; the family's explanation itself is ``patterns.FAMILY_DESCRIPTIONS``).
LOOK_FOR = {
    "keepalive": (
        "how often keep-alives come (30-60 s is the usual advice), whether they stop "
        "while data flows, and whether the longest silence stays under your proxies' "
        "idle timeouts (nginx and AWS ALB cut at 60 s)."
    ),
    "control": (
        "whether the stream says when it is done (an explicit done/complete event or "
        "a [DONE] sentinel), so a client can tell a finished stream from a dropped one."
    ),
    "state": (
        "rate-limit and system notices: a client should slow down or warn the user "
        "before the server cuts it off."
    ),
    "progress": (
        "whether progress only moves forward, whether it reaches 100 %, and whether "
        "checkpoints let a client resume instead of starting again."
    ),
    "error": (
        "errors sent inside an HTTP 200 stream: they need a code, a message and a "
        "retry hint (retry_after, backoff_ms); clients that only check the status "
        "code miss them."
    ),
    "metadata": (
        "a version field: it lets clients cope when the format of the stream changes."
    ),
    "auth": (
        "expiry times and refresh requests: a long-lived stream outlives its token "
        "unless the client renews it."
    ),
    "data": (
        "event names (lowercase-hyphen), JSON data with the same fields in every "
        "event of a type, ISO 8601 timestamps, and id: fields so a reconnecting "
        "client can resume with Last-Event-ID."
    ),
}


@dataclass
class Source:
    """A capture's parts, redacted, plus what loading it takes in the notebook."""

    meta: dict[str, Any]
    events: pd.DataFrame
    connections: pd.DataFrame
    raw: dict[tuple[str, int], list[tuple[float, bytes]]]
    load_cells: list[Any] = field(default_factory=list)


def md(text: str, section: str | None = None) -> Any:
    import nbformat  # here, not at import: it takes about a second to load

    cell = nbformat.v4.new_markdown_cell(text)
    cell.pop("id", None)
    if section:
        cell.metadata["tags"] = [f"ssenb-{section}"]
    return cell


def code(source: str, section: str | None = None) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    cell.pop("id", None)
    if section:
        cell.metadata["tags"] = [f"ssenb-{section}"]
    return cell


def _seconds(value: float) -> str:
    if value != value:
        return "an unknown time"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _duration(src: Source) -> float:
    ends = [0.0]
    con, ev = src.connections, src.events
    if len(con) and con["end"].notna().any():
        ends.append(float(con["end"].max()))
    if len(ev) and ev["elapsed"].notna().any():
        ends.append(float(ev["elapsed"].max()))
    return max(ends)


def _scale(src: Source) -> float:
    scale = src.meta.get("time_scale") or 1.0
    con = src.connections
    if len(con) and con["time_scale"].notna().any():
        scale = float(con["time_scale"].max()) or 1.0
    return float(scale)


def _has_time(src: Source) -> bool:
    return bool(len(src.events) and src.events["elapsed"].notna().any())


def default_title(src: Source, found: Any) -> str:
    if found is not None and found.name != "unknown":
        name = found.title.removesuffix(" streams").removesuffix(" stream")
        return f"What a {name} stream does"
    url = str(src.meta.get("url") or "")
    where = url.split("://", 1)[-1].split("?", 1)[0] if url else ""
    return f"What the stream at {where} does" if where else "What this stream does"


# -- sections ---------------------------------------------------------------------


def summary(src: Source, title: str) -> list[Any]:
    ev, con = src.events, src.connections
    url = src.meta.get("url") or ""
    lines = [f"# {T.md(title, 200)}", ""]
    lines.append(
        "This notebook was written by ssenb from a recorded Server-Sent Events "
        "stream. It explains what the stream does to a reader who has never seen "
        "it, and runs anywhere: the recording travels with the notebook, so neither "
        "the original server nor a network is needed."
    )
    lines.append("")
    facts = []
    if url:
        facts.append(f"- **Source:** {T.code(url, 200)} (secrets redacted)")
    if src.meta.get("started"):
        facts.append(f"- **Recorded:** {T.md(src.meta['started'])}")
    if _has_time(src):
        scale = _scale(src)
        d = _duration(src)
        if scale != 1.0:
            facts.append(
                f"- **Length:** {_seconds(d * scale)} of stream time, played "
                f"{scale:g}x faster than real time ({_seconds(d)} to record)"
            )
        else:
            facts.append(f"- **Length:** {_seconds(d)}")
    else:
        facts.append("- **Length:** unknown (the recording holds no arrival times)")
    outcomes = con["outcome"].astype(str).value_counts() if len(con) else None
    if len(con):
        ends = ", ".join(f"{T.md(k)} ×{v}" for k, v in outcomes.items() if v)
        facts.append(f"- **Connections:** {len(con)} (endings: {ends})")
    streams = [str(s) for s in ev["stream"].astype(str).unique()] if len(ev) else []
    if len(streams) > 1:
        facts.append(f"- **Streams:** {', '.join(T.code(s) for s in streams)}")
    lines += facts
    cells = [md("\n".join(lines), "summary")]
    if len(ev):
        counts = ev["kind"].astype(str).value_counts()
        rows = [[k, int(counts.get(k, 0))] for k in KINDS if counts.get(k, 0)]
        cells.append(
            md(
                "Records per kind (an *event* is what a browser's `EventSource` "
                "dispatches; comments, `retry:` lines and blank lines are the rest "
                "of the wire):\n\n" + T.table(rows, ["kind", "records"]),
                "summary",
            )
        )
    return cells


def capture_cells(src: Source) -> list[Any]:
    return [
        md(
            f"## {SECTIONS['capture']}\n\n"
            "Loading the recording is the one line `capture = ...` below; every "
            "later cell works from `capture`. To study your own stream instead, "
            "record it with `ssenb.capture(url)` and run the notebook again.",
            "capture",
        ),
        *src.load_cells,
    ]


def dialect_cells(found: Any) -> list[Any]:
    head = f"## {SECTIONS['dialect']}\n\n"
    if found.name == "unknown":
        text = (
            head + "ssenb does not recognise this stream: the dialect is **unknown**. "
            f"None of the {len(DIALECTS)} systems in its catalogue ("
            + ", ".join(T.md(d.title) for d in DIALECTS[:4])
            + ", ...) fits well enough, so the sections below read the stream by "
            "its generic patterns only. The code cell shows how close the nearest "
            "candidates came."
        )
    else:
        ev = found.evidence
        rows = [
            [r.clue, "yes" if r.matched else "no", ", ".join(map(str, r.rows))]
            for r in ev.itertuples()
        ]
        text = (
            head + f"ssenb recognises **{T.md(found.title)}** "
            f"({T.code(found.name)}) with confidence {found.confidence:.2f}, the "
            "share of the dialect's clues this stream shows. The clues, and the rows "
            "(`seq`) that show them:\n\n"
            + T.table(rows, ["clue", "seen", "rows (seq)"])
        )
    return [
        md(text, "dialect"),
        code(
            "found = ssenb.patterns.dialect(capture)\nprint(found)\n"
            + (
                "found.candidates.head()"
                if found.name == "unknown"
                else "found.evidence"
            ),
            "dialect",
        ),
    ]


def _raw_of(src: Source, stream: str, connection: int) -> bytes | None:
    chunks = src.raw.get((stream, connection))
    if not chunks:
        return None
    return b"".join(c for _, c in chunks)


def _reencode(row: Any) -> bytes:
    kind = str(row.kind)
    if kind == "comment":
        return f":{' ' if row.data else ''}{row.data}\n".encode()
    if kind == "retry":
        return f"retry: {row.retry}\n".encode()
    if kind == "blank":
        return b"\n"
    out = ""
    if str(row.type) != "message":
        out += f"event: {row.type}\n"
    if isinstance(row.id, str):
        out += f"id: {row.id}\n"
    for line in str(row.data).split("\n"):
        out += f"data: {line}\n"
    return (out + "\n").encode()


def wire_cells(src: Source) -> list[Any]:
    ev = src.events
    if not len(ev):
        return []
    parts = [
        f"## {SECTIONS['wire']}\n\n"
        "What the server wrote, byte for byte: one short excerpt for each kind of "
        "record that occurs, shown as text with line endings and control characters "
        "escaped (`\\n`, `\\r\\n`)."
    ]
    kinds = ev["kind"].astype(str)
    for kind in KINDS:
        rows = ev[kinds == kind]
        if not len(rows):
            continue
        row = next(rows.head(1).itertuples())
        raw = _raw_of(src, str(row.stream), int(row.connection))
        if raw is not None and int(row.offset) + int(row.size) <= len(raw):
            start = int(row.offset)
            excerpt = raw[start : start + max(int(row.size), 1)]
            how = (
                f"bytes {start}-{start + int(row.size)} of connection {row.connection}"
            )
        else:
            excerpt = _reencode(row)
            how = "re-encoded from the recorded fields (no raw bytes were kept)"
        label = {
            "event": "An event (dispatched to the application)",
            "comment": "A comment (a line starting with `:`; never dispatched)",
            "retry": "A `retry:` line (the reconnection delay, in milliseconds)",
            "blank": "A blank line that dispatched nothing (a keep-alive)",
        }[kind]
        parts.append(
            f"**{label}**, {len(rows)} in the capture; the first, row "
            f"{int(row.seq)} ({how}):\n\n{T.wire(excerpt)}"
        )
    return [md("\n\n".join(parts), "wire")]


def family_cells(events: pd.DataFrame) -> list[Any]:
    if not len(events):
        return []
    descriptions = {p.name: p.description for p in catalog()}
    fam = events["family"].astype(str)
    pat = events["pattern"].astype(str)
    present = [f for f in FAMILY_DESCRIPTIONS if (fam == f).any()]
    cells = [
        md(
            f"## {SECTIONS['families']}\n\n"
            "ssenb's catalogue sorts every record into a family (keep-alive, "
            "control, state, progress, error, metadata, auth, or plain data) and a "
            "pattern. This stream shows "
            + ", ".join(f"**{f}**" for f in present)
            + ".",
            "families",
        ),
        code(
            "events = ssenb.classify(capture)\n"
            'events.groupby(["family", "pattern"], observed=True).size()'
            '.rename("records").to_frame()',
            "families",
        ),
    ]
    for f in present:
        counts = pat[fam == f].value_counts()
        rows = [
            [name, int(n), descriptions.get(name, "")] for name, n in counts.items()
        ]
        text = f"### {f}\n\n{FAMILY_DESCRIPTIONS[f]}\n\n" + T.table(
            rows, ["pattern", "records", "what it is"]
        )
        cells.append(md(text, "families"))
        cells.append(
            code(
                f'columns = ["seq", "kind", "type", "data", "pattern"]\n'
                f'events.loc[events.family == "{f}", columns].head(8)',
                "families",
            )
        )
    return cells


def _sentences(result: Any) -> str:
    return "\n".join(f"- {T.md(s, 400)}" for s in result.summary)


def heartbeat_cells(src: Source, prep: Any, events: pd.DataFrame) -> list[Any]:
    if not _has_time(src) or not len(events):
        return []
    hb = analysis.heartbeats(prep)
    if hb.facts["verdict"] in ("empty", "unknown") and hb.facts["count"] < 2:
        return []
    text = (
        f"## {SECTIONS['heartbeats']}\n\n"
        "How the stream shows it is alive while nothing happens. ssenb's verdict: "
        f"**{T.md(hb.facts['verdict'])}**.\n\n{_sentences(hb)}"
    )
    cells = [
        md(text, "heartbeats"),
        code("ssenb.analysis.heartbeats(capture)", "heartbeats"),
    ]
    if hb.facts["count"] >= 2:
        cells.append(
            md(
                "Each keep-alive's interval over time; the green band is the advised "
                "30-60 s and the dashed lines are the idle timeouts of common "
                "proxies.",
                "heartbeats",
            )
        )
        cells.append(code("ax = ssenb.plots.plot_heartbeats(capture)", "heartbeats"))
    return cells


def event_type_cells(prep: Any, events: pd.DataFrame) -> list[Any]:
    if not (events["kind"].astype(str) == "event").any():
        return []
    et = analysis.event_types(prep)
    text = (
        f"## {SECTIONS['event-types']}\n\n"
        "Which records the stream is made of, and how many of each.\n\n"
        f"{_sentences(et)}"
    )
    return [
        md(text, "event-types"),
        code("ssenb.analysis.event_types(capture)", "event-types"),
        code("ax = ssenb.plots.plot_types(capture)", "event-types"),
    ]


def reconnect_cells(src: Source, prep: Any) -> list[Any]:
    if len(src.connections) < 2:
        return []
    rc = analysis.reconnects(prep)
    text = (
        f"## {SECTIONS['reconnects']}\n\n"
        "The recording opened more than one connection: the server ended the "
        "stream (or failed) and the client reconnected, honouring `retry:` and "
        "sending `Last-Event-ID` when the stream had ids.\n\n"
        f"{_sentences(rc)}"
    )
    return [
        md(text, "reconnects"),
        code("ssenb.analysis.reconnects(capture)", "reconnects"),
        md(
            "Each connection as a bar in time, coloured by how it ended.",
            "reconnects",
        ),
        code("ax = ssenb.plots.plot_connections(capture)", "reconnects"),
    ]


def llm_cells(prep: Any, found: Any) -> list[Any]:
    if found is None or not found.token_stream:
        return []
    res = analysis.llm(prep, dialect=found.name)
    text = (
        f"## {SECTIONS['llm']}\n\n"
        f"{T.md(found.title)} streams an answer token by token. ssenb rebuilds the "
        "text from the deltas and measures the time to the first token and the "
        f"chunk rate.\n\n{_sentences(res)}"
    )
    return [
        md(text, "llm"),
        code(f'ssenb.analysis.llm(capture, dialect="{found.name}")', "llm"),
    ]


def lint_cells(prep: Any) -> list[Any]:
    res = analysis.lint(prep)
    table = res.tables["findings"]
    if not len(table):
        body = "No findings: the stream follows the catalogue's best practices."
    else:
        body = "Each finding, and why it matters:\n\n" + "\n".join(
            f"- **{T.md(r.rule)}** ({T.md(r.severity)}): {T.md(r.why, 400)}."
            for r in table.itertuples()
        )
    text = (
        f"## {SECTIONS['lint']}\n\n"
        "ssenb checks the stream against the best practices of its catalogue. " + body
    )
    return [md(text, "lint"), code("ssenb.analysis.lint(capture)", "lint")]


def _replay_plan(src: Source) -> tuple[float, int | None, float]:
    """(speed, max_events, duration) for replaying the capture in a few seconds."""
    ev = src.events
    stream = str(ev["stream"].astype(str).iloc[0]) if len(ev) else ""
    mine = ev[ev["stream"].astype(str) == stream]
    if _has_time(src):
        stream_seconds = _duration(src) * _scale(src)
    else:
        stream_seconds = len(mine) * 0.05  # replay's UNTIMED_GAP
    speed = max(1.0, stream_seconds / 2.0)  # about two seconds to watch
    speed = float(f"{speed:.2g}")
    events = int((mine["kind"].astype(str) == "event").sum())
    duration = math.ceil(stream_seconds / speed * 2 + 5)
    return speed, (events or None), float(duration)


def live_cells(src: Source) -> list[Any]:
    if not len(src.events):
        return []
    speed, max_events, duration = _replay_plan(src)
    limit = f"max_events={max_events}, " if max_events else ""
    streams = src.events["stream"].astype(str).unique()
    which = (
        f" It replays the first of the {len(streams)} streams, "
        f"{T.code(streams[0] or '(main)')}."
        if len(streams) > 1
        else ""
    )
    return [
        md(
            f"## {SECTIONS['live']}\n\n"
            "The next cell replays the recording through ssenb's local replay server "
            "(on 127.0.0.1, as the original server sent it, "
            f"{speed:g}x faster) and shows it arriving in a live feed. Where widgets "
            "cannot run (GitHub, an HTML export) the feed shows as it stood when it "
            "finished; the cell after it prints a summary of what arrived." + which,
            "live",
        ),
        code(
            f"srv = ssenb.demo_server(replay=capture, speed={speed:g})\n"
            f'feed = ssenb.widgets.LiveFeed(srv.url("replay"), {limit}'
            f"duration={duration:g})\n"
            "feed",
            "live",
        ),
        code(
            f"feed.wait(timeout={duration + 10:g})\n"
            "srv.stop()\n"
            "feed.capture  # what the replay delivered",
            "live",
        ),
    ]


def look_for_cells(events: pd.DataFrame, found: Any) -> list[Any]:
    if not len(events):
        return []
    fam = events["family"].astype(str)
    present = [f for f in LOOK_FOR if (fam == f).any()]
    lines = [
        f"## {SECTIONS['look-for']}",
        "",
        "When the same patterns show up in another service, check:",
        "",
    ]
    lines += [f"- **{f}**: {LOOK_FOR[f]}" for f in present]
    if found is not None and found.name != "unknown":
        lines += [
            "",
            f"To check whether another stream is a {T.md(found.title)} stream too, "
            "record it and ask `ssenb.patterns.dialect(capture)`; "
            "`ssenb.analysis.lint` gives "
            "the same findings as above for any stream.",
        ]
    return [md("\n".join(lines), "look-for")]


def empty_cells(src: Source, title: str) -> list[Any]:
    return [
        *summary(src, title),
        md(
            "**This capture is empty: it holds no records**, so there is nothing to "
            "teach about the stream. The server may have sent nothing before the "
            "recording stopped, or refused the connection (see the connections "
            "table below). Record it again for longer, e.g. "
            "`ssenb.capture(url, duration=60)`.",
            "summary",
        ),
        *capture_cells(src),
        code("capture.connections", "capture"),
    ]


def build(src: Source, title: str | None) -> list[Any]:
    """Every cell of the notebook, in the order a reader asks."""
    ev = src.events
    if not len(ev):
        return empty_cells(src, title or default_title(src, None))
    prep = analysis.prepare(src)  # classified once, shared by every analysis
    found = prep.dialect()
    events = prep.events
    return [
        *summary(src, title or default_title(src, found)),
        *capture_cells(src),
        *dialect_cells(found),
        *wire_cells(src),
        *family_cells(events),
        *heartbeat_cells(src, prep, events),
        *event_type_cells(prep, events),
        *reconnect_cells(src, prep),
        *llm_cells(prep, found),
        *lint_cells(prep),
        *live_cells(src),
        *look_for_cells(events, found),
    ]
