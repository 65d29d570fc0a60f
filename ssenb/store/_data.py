"""What reading a capture file gives back, and the repairs reading may make."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce

__all__ = ["CaptureData", "RawChunks"]

#: Raw body bytes as received: (stream, connection) -> [(elapsed seconds, chunk)].
RawChunks = dict[tuple[str, int], list[tuple[float, bytes]]]

#: The outcome given to connections whose end the file does not record.
INTERRUPTED = "interrupted"


class CaptureData(NamedTuple):
    """The contents of a capture file, as ``read_capture`` returns them.

    Attributes:
        meta: the capture's metadata, as it was written.
        events: the events frame (``frames.EVENTS_SCHEMA``).
        connections: the connections frame (``frames.CONNECTIONS_SCHEMA``), with a
            row of outcome ``'interrupted'`` for each connection the file has events
            for but no row (the recording process died while it was open).
        raw: the body bytes as received, ``{(stream, connection): [(elapsed,
            chunk), ...]}``; empty when the capture kept no raw bytes.
        rows_recovered: how many event rows were recovered from a file whose
            recording did not finish (no end line, or a partial last line); 0 for a
            complete file.
        notes: what reading found and did, one sentence each (recovery, dropped
            bytes, synthesized rows); empty for a complete, clean file.
    """

    meta: dict[str, Any]
    events: pd.DataFrame
    connections: pd.DataFrame
    raw: RawChunks
    rows_recovered: int
    notes: list[str]


def _synthesized_row(
    key: tuple[str, int], group: pd.DataFrame | None, nbytes: int
) -> dict[str, Any]:
    stream, connection = key
    row: dict[str, Any] = dict.fromkeys(CONNECTIONS_SCHEMA)
    row.update(
        stream=stream,
        connection=connection,
        outcome=INTERRUPTED,
        error="the recording stopped before this connection ended",
        bytes=nbytes,
        records=0,
        events=0,
        discarded=0,
        delay=np.nan,
        start=np.nan,
        end=np.nan,
        time_scale=np.nan,
    )
    if group is not None and len(group):
        ends = (group["offset"] + group["size"]).max()
        row.update(
            bytes=max(nbytes, int(ends)),
            records=len(group),
            events=int((group["kind"] == "event").sum()),
            start=group["elapsed"].min(),
            end=group["elapsed"].max(),
            t_first_byte=group["time"].min(),
        )
        retry = group["retry"].dropna()
        if len(retry):
            row["retry"] = int(retry.iloc[-1])
    return row


def add_interrupted_connections(
    events: pd.DataFrame, connections: pd.DataFrame, raw: RawChunks
) -> tuple[pd.DataFrame, list[str]]:
    """Add a connections row (outcome 'interrupted') for each connection that has
    events or raw bytes but no row, computed from what the file does hold."""
    have = set(
        zip(
            connections["stream"].astype(object),
            connections["connection"].tolist(),
            strict=True,
        )
    )
    pairs = events[["stream", "connection"]].drop_duplicates()
    seen = set(zip(pairs["stream"].astype(object), pairs["connection"], strict=True))
    missing = sorted((seen | set(raw)) - have, key=lambda k: (str(k[0]), k[1]))
    if not missing:
        return connections, []
    rows = []
    for key in missing:
        group = None
        if key in seen:
            mask = (events["stream"] == key[0]) & (events["connection"] == key[1])
            group = events[mask]
        nbytes = sum(len(chunk) for _, chunk in raw.get(key, []))
        rows.append(_synthesized_row(key, group, nbytes))
    added = coerce(pd.DataFrame(rows), CONNECTIONS_SCHEMA, what="connections")
    frame = added if connections.empty else _concat(connections, added)
    names = ", ".join(f"stream {s!r} connection {c}" for s, c in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    note = (
        f"added {len(missing)} connections row(s) with outcome 'interrupted' for "
        f"connections whose end was not recorded ({names}{more}); their counts come "
        f"from the events and raw bytes in the file"
    )
    return frame, [note]


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    cats = [n for n, d in CONNECTIONS_SCHEMA.items() if str(d) == "category"]
    a = a.astype(dict.fromkeys(cats, object))
    b = b.astype(dict.fromkeys(cats, object))
    return coerce(pd.concat([a, b], ignore_index=True), CONNECTIONS_SCHEMA, what="")


def check_frames(
    events: pd.DataFrame, connections: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both frames coerced to their schemas."""
    return (
        coerce(events, EVENTS_SCHEMA, what="events"),
        coerce(connections, CONNECTIONS_SCHEMA, what="connections"),
    )
