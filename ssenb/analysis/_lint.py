"""Lint: findings against the catalogue's best practices, each with a severity, a
one-line why, and the rows that show it."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ..value import CaptureLike
from ._heartbeats import heartbeats
from ._input import prepare
from ._prepare import kept
from ._result import Result
from ._schema import parsed_sample, schema

__all__ = ["lint"]

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?::[a-z0-9]+(?:-[a-z0-9]+)*)?$")
_TIME_KEY = re.compile(
    r"(?:^|[._])(?:time|timestamp|ts|date|datetime)$|_at$|^(?:created|updated)$", re.I
)
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?$"
)
_VERSION = re.compile(r"version|^v$|\$schema|schema_version|api_version", re.I)
# what names an error for a machine; X's operational-disconnect says its kind in
# disconnect_type
_CODE_KEYS = (
    "code",
    "error_code",
    "status_code",
    "status",
    "type",
    "errno",
    "error_type",
    "disconnect_type",
)
_RETRY_KEYS = (
    "retry_after",
    "backoff_ms",
    "retry",
    "retry_ms",
    "retryable",
    "reconnect",
)
_MESSAGE_KEYS = ("message", "detail", "title", "description", "error_description")

SEVERITIES = ("error", "warning", "info")


def _rows(seqs: Any, limit: int = 10) -> list[int]:
    return [int(s) for s in list(seqs)[:limit]]


def lint(capture: CaptureLike, *, sample: int = 2000) -> Result:
    """Findings against the catalogue's best practices.

    Rules: ``event-name`` (lowercase-hyphen, ``namespace:`` allowed), ``data-not-json``,
    ``timestamp-not-iso``, ``inconsistent-fields``, ``no-version``,
    ``error-without-code``, ``error-without-retry``, ``error-without-message``,
    ``heartbeat-missing``, ``heartbeat-interval`` (outside 30-60 s), ``proxy-timeout``
    (a silence a common proxy would cut), ``no-ids`` (not resumable).

    Tables:
        findings: rule, severity (error, warning, info), why, count, rows (``seq`` of up
            to ten rows that show it), detail — errors first.
    """
    prep = prepare(capture)
    return kept(prep, f"lint:{sample!r}", lambda: _lint(prep, sample))


def _lint(prep: Any, sample: int) -> Result:
    ev = prep.events
    events = ev.loc[ev["kind"] == "event", ["seq", "type", "id"]]
    found: list[tuple[str, str, str, int, list[int], str]] = []

    def add(rule: str, sev: str, why: str, count: int, rows: Any, detail: str) -> None:
        found.append((rule, sev, why, int(count), _rows(rows), detail))

    if len(events):
        names = [str(t) for t in events["type"].unique() if str(t) != "message"]
        bad = [t for t in names if not _NAME.match(t)]
        if bad:
            sel = events[events["type"].isin(bad)]
            add(
                "event-name",
                "info",
                "event names read best as lowercase-hyphen words (user-connected), "
                "with an optional namespace (auth:login)",
                len(sel),
                sel["seq"],
                ", ".join(bad[:8]),
            )
        ps = parsed_sample(prep, sample)
        _data_rules(ps, add)
        sch = schema(prep, sample=sample)
        inc = sch.tables["inconsistencies"]
        if len(inc):
            add(
                "inconsistent-fields",
                "warning",
                "events of one type should carry the same fields with the same types",
                len(inc),
                [],
                "; ".join(
                    f"{t}.{k}: {p}"
                    for t, k, p in zip(
                        inc["type"], inc["key"], inc["problem"], strict=True
                    )
                )[:300],
            )
        has_version = any(_VERSION.search(k) for k in sch.tables["keys"]["key"]) or any(
            "version" in t.lower() for t in names
        )
        if not has_version:
            add(
                "no-version",
                "info",
                "a version field (stream_version, api_version) lets clients cope with "
                "format changes",
                0,
                [],
                "no key or event type mentions a version",
            )
        _error_rules(ps, ev, add)
        if events["id"].isna().all():
            add(
                "no-ids",
                "warning",
                "without id: fields a reconnecting client cannot resume with "
                "Last-Event-ID, so events are lost or repeated",
                len(events),
                events["seq"].head(3),
                f"none of {len(events)} events has an id",
            )
    if len(ev) and prep.has_time:
        _heartbeat_rules(prep, add)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    table = pd.DataFrame(
        found, columns=["rule", "severity", "why", "count", "rows", "detail"]
    )
    table = table.sort_values(
        "severity", key=lambda s: s.map(order), kind="stable"
    ).reset_index(drop=True)
    counts = table["severity"].value_counts().to_dict()
    if not len(ev):
        summary = ["No records in this capture: nothing to lint."]
    elif not len(table):
        summary = ["No findings: the stream follows the catalogue's best practices."]
    else:
        summary = [
            f"{len(table)} finding(s): "
            + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if s in counts)
            + "."
        ]
        summary += [f"[{r.severity}] {r.rule}: {r.why}." for r in table.itertuples()][
            :5
        ]
    return Result(
        "Lint",
        summary=summary,
        tables={"findings": table},
        facts={"errors": counts.get("error", 0), "warnings": counts.get("warning", 0)},
        notes=[prep.scale_note],
    )


def _data_rules(ps: pd.DataFrame, add: Any) -> None:
    payload = ps[~ps["family"].isin(["keepalive"]) & (ps["pattern"] != "done")]
    not_json = payload[[o is None for o in payload["obj"]]]
    if len(not_json):
        add(
            "data-not-json",
            "warning",
            "JSON data can be parsed and extended without breaking clients",
            len(not_json),
            not_json["seq"],
            f"{len(not_json)} of {len(payload)} sampled payload events",
        )
    bad_rows, bad_keys = [], set()
    for seq, obj in zip(ps["seq"], ps["obj"], strict=True):
        if not isinstance(obj, dict):
            continue
        for k, v in _walk(obj):
            if not _TIME_KEY.search(k):
                continue
            if (isinstance(v, int | float) and not isinstance(v, bool)) or (
                isinstance(v, str) and not _ISO.match(v.strip())
            ):
                bad_rows.append(seq)
                bad_keys.add(k)
                break
    if bad_rows:
        add(
            "timestamp-not-iso",
            "info",
            "ISO 8601 timestamps (2024-01-01T00:00:00Z) are unambiguous; epoch numbers "
            "need a unit",
            len(bad_rows),
            bad_rows,
            ", ".join(sorted(bad_keys)[:8]),
        )


def _walk(
    obj: dict[str, Any], prefix: str = "", depth: int = 2
) -> list[tuple[str, Any]]:
    out = []
    for k, v in obj.items():
        out.append((f"{prefix}{k}", v))
        if isinstance(v, dict) and depth:
            out += _walk(v, f"{prefix}{k}.", depth - 1)
    return out


def _error_rules(ps: pd.DataFrame, ev: pd.DataFrame, add: Any) -> None:
    errs = ps[ps["family"] == "error"]
    if not len(errs):
        return
    no_code, no_retry, no_msg = [], [], []
    stream_has_retry = bool((ev["kind"] == "retry").any())
    for seq, obj in zip(errs["seq"], errs["obj"], strict=True):
        body = obj if isinstance(obj, dict) else {}
        inner = body.get("error") if isinstance(body.get("error"), dict) else {}
        keys = set(body) | set(inner)
        if not keys & set(_CODE_KEYS):
            no_code.append(seq)
        if not keys & set(_RETRY_KEYS) and not stream_has_retry:
            no_retry.append(seq)
        if not keys & set(_MESSAGE_KEYS):
            no_msg.append(seq)
    if no_code:
        add(
            "error-without-code",
            "warning",
            "a machine-readable error code lets clients react without parsing text",
            len(no_code),
            no_code,
            "",
        )
    if no_retry:
        add(
            "error-without-retry",
            "info",
            "retry information (retry_after, backoff_ms) tells clients when to come "
            "back",
            len(no_retry),
            no_retry,
            "",
        )
    if no_msg:
        add(
            "error-without-message",
            "info",
            "a human-readable message helps whoever reads the logs",
            len(no_msg),
            no_msg,
            "",
        )


def _heartbeat_rules(prep: Any, add: Any) -> None:
    hb = heartbeats(prep)
    f = hb.facts
    duration = float(prep.events["t"].max() - prep.events["t"].min())
    if f["cut_by"]:
        missed = hb.tables["missed"]
        add(
            "proxy-timeout",
            "error",
            f"the stream was silent for {f['max_silence']:.0f} s; idle proxies close "
            f"a connection after 60-100 s",
            len(f["cut_by"]),
            missed["seq"] if len(missed) else [],
            "would be cut by " + ", ".join(f["cut_by"]),
        )
    if f["count"] == 0:
        add(
            "heartbeat-missing",
            "warning" if duration >= 30 else "info",
            "a heartbeat every 30-60 s keeps proxies from closing an idle stream and "
            "lets the client notice a dead one",
            0,
            [],
            f"no keep-alive in {duration:.0f} s of stream",
        )
    else:
        med = f["median_interval"]
        if med == med and not 30 <= med <= 60:
            beats = hb.tables["beats"]
            add(
                "heartbeat-interval",
                "warning" if med > 60 else "info",
                "the catalogue advises a heartbeat every 30-60 s",
                f["count"],
                beats["seq"],
                f"typical interval {med:.1f} s",
            )
