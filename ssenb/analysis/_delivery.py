"""Delivery: does the stream arrive as it is sent, or does something in between hold it?

Rules of this module:

- The evidence is what the client saw: records completed by the same network read
  share their arrival time; ``connections`` keeps how many reads a body took, how
  many ended inside a record, and the response headers; ``raw`` (when kept) the size
  of every read. No guess about the server's own timing is made.
- One verdict per connection: ``compressed`` (a ``Content-Encoding`` on the event
  stream), ``buffered`` (events come in bursts of several per read, in pieces cut
  inside records or of one fixed size: a buffer in between lets them out when it is
  full), ``streamed`` (anything else), or ``unknown`` (no arrival times).
- Header findings each come with their fix. Times are stream seconds.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from ..value import CaptureLike
from ._input import Prepared, prepare
from ._result import Result

__all__ = ["delivery"]

#: Events per read (median over the reads that completed an event) from which a
#: connection arrives in bursts.
BURST = 3
#: A connection silent this long (stream seconds) before the server closed it was
#: likely cut by an idle timeout in between.
IDLE_CUT = 30.0
#: The largest read a client makes; reads of this size say the client was behind,
#: not that a buffer in between let them out.
_CLIENT_READ = 65536
#: A gap (real seconds) after which several events at once are a burst.
_SILENCE = 0.05
#: Without a record of reads, arrivals this close (real seconds) count as one read.
_SAME_READ = 0.002

_FIX = {
    "content-encoding": (
        "Do not compress text/event-stream: exclude it from the compression "
        "middleware (or flush the compressor after each event), and send "
        "Cache-Control: no-transform so that proxies and CDNs leave it alone."
    ),
    "content-length": (
        "Send no Content-Length on an event stream: it is either buffered whole "
        "before it is sent or cut at that length. Let the server use chunked "
        "transfer (HTTP/1.1) or plain DATA frames (HTTP/2)."
    ),
    "cache-control": (
        "Send Cache-Control: no-cache (the HTML standard's advice for event "
        "streams), with no-transform, so that caches and proxies neither store nor "
        "rewrite it."
    ),
    "nginx": (
        "Send X-Accel-Buffering: no with the stream (nginx then passes it through "
        "unbuffered), or set proxy_buffering off for this location."
    ),
    "buffered": (
        "Find the layer that holds the stream: a reverse proxy (nginx "
        "proxy_buffering, X-Accel-Buffering: no), a compression middleware, a "
        "serverless or platform response buffer; and flush after every event in "
        "the server."
    ),
    "idle": (
        "Send a comment line (': ping') every 15-30 s while there is nothing to "
        "say, so that no idle timeout in between (Cloudflare 100 s, load balancers "
        "and nginx 60 s) closes the stream."
    ),
}


def _headers(text: Any) -> dict[str, str]:
    if text is None or (isinstance(text, float) and text != text) or pd.isna(text):
        return {}
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return (
        {str(k).lower(): str(v) for k, v in value.items()}
        if isinstance(value, dict)
        else {}
    )


def _reads_of(raw: Any, key: tuple[str, int]) -> list[int] | None:
    if not isinstance(raw, dict):
        return None
    chunks = raw.get(key)
    if chunks is None:
        return None
    return [len(c) for _, c in chunks]


def _evidence(
    con: pd.Series, ev: pd.DataFrame, sizes: list[int] | None
) -> dict[str, Any]:
    """The figures of one connection (``ev``: its records, in order)."""
    is_event = (ev["kind"] == "event").to_numpy(dtype=bool, na_value=False)
    n_events = int(is_event.sum())
    out: dict[str, Any] = {
        "stream": con["stream"],
        "connection": int(con["connection"]),
        "events": n_events,
        "reads": con.get("reads") if pd.notna(con.get("reads", np.nan)) else np.nan,
    }
    t = ev["t"].to_numpy(dtype=float)
    known = ~np.isnan(t)
    timed = bool(known.any())
    out["timed"] = timed
    if timed and n_events:
        te = pd.DataFrame({"t": t[is_event]})
        te = te[te["t"].notna()].sort_values("t")
        if pd.notna(out["reads"]):  # recorded live: one arrival time per read
            te["arrival"] = te["t"]
        else:  # read elsewhere (a browser's HAR): arrivals within 2 ms are one read
            scale = float(con.get("scale", 1.0) or 1.0)
            te["arrival"] = (te["t"].diff() > _SAME_READ * scale).cumsum()
        per_read = te.groupby("arrival", sort=True).agg(n=("t", "size"), t=("t", "min"))
        per_read = per_read.sort_values("t")
        gaps = per_read["t"].diff().to_numpy()
        n = per_read["n"].to_numpy()
        out["reads_with_events"] = len(per_read)
        out["events_per_read"] = float(np.median(n))
        out["max_events_per_read"] = int(n.max())
        bursty = n >= BURST
        out["events_in_bursts"] = float(n[bursty].sum() / n.sum()) if n.sum() else 0.0
        # a burst after a silence: several events at once after 50 ms without one
        scale = float(con.get("scale", 1.0) or 1.0)
        after_silence = bursty & (np.nan_to_num(gaps, nan=0.0) >= _SILENCE * scale)
        out["bursts_after_silence"] = int(after_silence.sum())
        out["longest_silence"] = float(np.nanmax(gaps)) if len(gaps) > 1 else 0.0
    else:
        for k in ("reads_with_events", "events_per_read", "max_events_per_read"):
            out[k] = np.nan
        out["events_in_bursts"] = np.nan
        out["bursts_after_silence"] = 0
        out["longest_silence"] = np.nan
    reads = con.get("reads")
    cut = con.get("reads_cut")
    out["reads_cut_share"] = (
        float(cut) / float(reads)
        if pd.notna(reads) and pd.notna(cut) and float(reads) > 0
        else np.nan
    )
    if sizes and len(sizes) >= 2:
        body = [s for s in sizes[:-1] if 0 < s < _CLIENT_READ] or sizes[:1]
        common, count = Counter(body).most_common(1)[0]
        out["common_read_size"] = int(common)
        out["fixed_size_share"] = count / len(body)
    else:
        out["common_read_size"] = np.nan
        out["fixed_size_share"] = np.nan
    scale = float(con.get("scale", 1.0) or 1.0)
    req, head, first = (con.get(c) for c in ("t_request", "t_headers", "t_first_byte"))
    out["ttfb"] = (
        (first - req).total_seconds() * scale
        if pd.notna(req) and pd.notna(first)
        else np.nan
    )
    out["first_byte_after_headers"] = (
        (first - head).total_seconds() * scale
        if pd.notna(head) and pd.notna(first)
        else np.nan
    )
    start = con.get("start_s")
    first_event = t[is_event & known].min() if timed and n_events else np.nan
    out["ttfe"] = (
        float(first_event - start)
        if pd.notna(start) and first_event == first_event
        else np.nan
    )
    last = float(np.nanmax(t)) if timed else np.nan
    end = con.get("end_s")
    out["silence_at_end"] = (
        float(end - last) if pd.notna(end) and last == last else np.nan
    )
    return out


def _verdict(e: dict[str, Any], headers: dict[str, str]) -> tuple[str, str]:
    """The verdict and the sentence of evidence behind it."""
    enc = headers.get("content-encoding", "").strip().lower()
    if enc and enc != "identity":
        how = (
            f"; it arrives in bursts ({e['events_per_read']:g} events per read)"
            if e["events_per_read"] == e["events_per_read"]
            and e["events_per_read"] >= BURST
            else ""
        )
        return "compressed", f"Content-Encoding: {enc} on the event stream{how}"
    if not e["timed"]:
        return "unknown", "no arrival times were recorded"
    per_read = e["events_per_read"]
    if per_read == per_read and per_read >= BURST and e["reads_with_events"] >= 2:
        cut = e["reads_cut_share"]
        fixed = e["fixed_size_share"]
        clues = []
        if cut == cut and cut >= 0.5:
            clues.append(f"{cut:.0%} of reads end inside a record")
        if fixed == fixed and fixed >= 0.5 and e["common_read_size"] >= 512:
            clues.append(
                f"{fixed:.0%} of reads are exactly {e['common_read_size']} bytes"
            )
        if e["bursts_after_silence"] >= 1:
            clues.append(f"{e['bursts_after_silence']} burst(s) after a silence")
        if clues:
            return "buffered", (
                f"{per_read:g} events per read (up to {e['max_events_per_read']}); "
                + ", ".join(clues)
            )
    if (
        per_read == per_read
        and e["reads_with_events"] == 1
        and e["events"] >= 2 * BURST
    ):
        return "buffered", (
            f"all {e['events']} events came in one read: the stream was let out whole"
        )
    if per_read == per_read and e["reads_with_events"] == 1 and e["events"] >= 2:
        return "unknown", (
            f"all {e['events']} events came in one read: too few to tell a stream "
            f"let out whole from a fast one"
        )
    shown = f"{per_read:g}" if per_read == per_read else "no"
    return "streamed", f"{shown} event(s) per read"


def _findings(
    e: dict[str, Any], headers: dict[str, str], verdict: str
) -> list[dict[str, Any]]:
    out = []

    def add(finding: str, evidence: str, fix: str) -> None:
        out.append(
            {
                "stream": e["stream"],
                "connection": e["connection"],
                "finding": finding,
                "evidence": evidence,
                "fix": _FIX[fix],
            }
        )

    if not headers and verdict == "unknown":
        return out
    enc = headers.get("content-encoding", "").strip().lower()
    if enc and enc != "identity":
        add("compressed event stream", f"Content-Encoding: {enc}", "content-encoding")
    if "content-length" in headers:
        add(
            "Content-Length on an event stream",
            f"Content-Length: {headers['content-length']}",
            "content-length",
        )
    cache = headers.get("cache-control", "").lower()
    if headers and "no-cache" not in cache and "no-store" not in cache:
        add(
            "no Cache-Control: no-cache",
            f"Cache-Control: {headers['cache-control']}" if cache else "none sent",
            "cache-control",
        )
    server = " ".join(headers.get(h, "") for h in ("server", "via")).lower()
    if "nginx" in server and headers.get("x-accel-buffering", "").lower() != "no":
        add(
            "nginx without X-Accel-Buffering: no",
            f"Server: {headers.get('server', '')}".strip(),
            "nginx",
        )
    if verdict == "buffered":
        add("arrives in bursts", e["why"], "buffered")
    silence = e["silence_at_end"]
    if e.get("outcome") == "eof" and silence == silence and silence >= IDLE_CUT:
        add(
            "closed after a long silence",
            f"the connection closed {silence:.0f} s after its last record",
            "idle",
        )
    return out


def delivery(capture: CaptureLike, *, raw: Any = None) -> Result:
    """Does each connection's stream arrive as it is sent? A verdict per connection
    (``streamed``, ``buffered``, ``compressed``) with its evidence, and header
    findings each with the fix.

    Args:
        capture: a Capture (its ``raw`` reads are used when kept), an events frame,
            or a ``Prepared``.
        raw: the raw reads, when ``capture`` is a ``Prepared``.

    Tables:
        connections: stream, connection, verdict, why, events, reads,
            events_per_read (median over reads that completed events),
            max_events_per_read, events_in_bursts (share), bursts_after_silence,
            reads_cut_share, common_read_size, fixed_size_share, ttfb, ttfe,
            first_byte_after_headers, longest_silence, silence_at_end (stream s).
        findings: stream, connection, finding, evidence, fix.

    Example:
        >>> d = ssenb.analysis.delivery(cap); d.verdict; d.findings  # doctest: +SKIP
    """
    if raw is None and not isinstance(capture, Prepared | pd.DataFrame):
        raw = getattr(capture, "raw", None)
    prep = prepare(capture)
    key = f"delivery:{id(raw)}"  # kept with the raw bytes it read
    held = prep.cache.get(key)
    if held is None or held[0] is not raw:
        held = prep.cache[key] = (raw, _delivery(prep, raw))
    out: Result = held[1]._copy()
    return out


def _delivery(prep: Prepared, raw: Any) -> Result:
    ev = prep.events
    conns = prep.connections
    rows = []
    findings: list[dict[str, Any]] = []
    if len(conns):
        # only the columns read per connection: kind and t
        groups = {
            (str(s), int(c)): g
            for (s, c), g in ev[["stream", "connection", "kind", "t"]].groupby(
                ["stream", "connection"], sort=False
            )
        }
        for _, con in conns.iterrows():
            key = (str(con["stream"]), int(con["connection"]))
            status = con.get("status")
            if pd.notna(status) and not 200 <= int(status) < 300:
                continue
            records = groups.get(key)
            if records is None or not len(records):
                continue
            headers = _headers(con.get("headers"))
            e = _evidence(con, records, _reads_of(raw, key))
            e["outcome"] = str(con.get("outcome"))
            verdict, why = _verdict(e, headers)
            e["verdict"], e["why"] = verdict, why
            findings += _findings(e, headers, verdict)
            rows.append(e)
    order = [
        "stream",
        "connection",
        "verdict",
        "why",
        "events",
        "reads",
        "events_per_read",
        "max_events_per_read",
        "events_in_bursts",
        "bursts_after_silence",
        "reads_cut_share",
        "common_read_size",
        "fixed_size_share",
        "ttfb",
        "ttfe",
        "first_byte_after_headers",
        "longest_silence",
        "silence_at_end",
    ]
    table = pd.DataFrame(rows, columns=order) if rows else pd.DataFrame(columns=order)
    found = pd.DataFrame(
        findings, columns=["stream", "connection", "finding", "evidence", "fix"]
    )
    counts = Counter(table["verdict"]) if len(table) else Counter()
    if not len(table):
        verdict = "unknown"
        summary = ["No event-stream connection with records to judge."]
    else:
        worst = [v for v in ("compressed", "buffered") if counts.get(v)]
        verdict = worst[0] if worst else max(counts, key=lambda v: counts[v])
        n = len(table)
        if verdict in ("compressed", "buffered"):
            first = table[table["verdict"] == verdict].iloc[0]
            summary = [
                f"Delivery: {verdict} on {counts[verdict]} of {n} connection(s): "
                f"{first['why']}."
            ]
        elif verdict == "unknown":
            summary = ["Delivery: unknown: no arrival times were recorded."]
        else:
            summary = [
                f"Delivery: streamed: the {n} connection(s) arrive as they are sent "
                f"({', '.join(sorted(set(table['why'])))[:120]})."
            ]
        seen = set()
        for f in found.itertuples():
            if f.finding not in seen:
                seen.add(f.finding)
                summary.append(f"{f.finding} ({f.evidence}): {f.fix}")
    return Result(
        "Delivery",
        summary=summary,
        tables={"connections": table, "findings": found},
        facts={"verdict": verdict},
        notes=[prep.scale_note],
        empty="No event-stream connection with records to judge.",
    )
