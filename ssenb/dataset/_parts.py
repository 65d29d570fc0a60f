"""One part of a dataset read as (stream key, capture) pairs: what both the dataset's
frames and its per-stream analyses read, in a module of its own so neither imports the
other."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce
from ..value import Capture, load
from . import _layout as L

__all__ = ["part_captures"]


def _stream_capture(
    key: str, ev: pd.DataFrame, con: pd.DataFrame, meta: dict[str, Any]
) -> Capture:
    """One stream's rows as a capture of its own (categories narrowed to it)."""
    ev = ev.reset_index(drop=True)
    con = con.reset_index(drop=True)
    for frame in (ev, con):
        codes = np.zeros(len(frame), dtype=np.int8)
        frame["stream"] = pd.Categorical.from_codes(codes, categories=pd.Index([key]))
    ev["type"] = ev["type"].astype("category").cat.remove_unused_categories()
    con["outcome"] = con["outcome"].astype("category").cat.remove_unused_categories()
    meta = dict(meta)
    urls = meta.get("streams")
    if isinstance(urls, Mapping) and len(urls) == 1:
        meta["streams"] = {key: next(iter(urls.values()))}
    return Capture(ev, con, meta)


def _file_key(label: str, name: str) -> str:
    return f"{label}/{name}" if name else label


def part_captures(spec: tuple[Any, ...]) -> Iterator[tuple[str, Capture]]:
    """(stream key, capture) for every stream of one part, read once."""
    if spec[0] == "parquet":
        _, url, options, index, metas = spec
        fs, root = L.filesystem(url, options)
        events, conns = L.read_part(fs, root, index)
        for key, ev, con in L.split_streams(events, conns):
            meta = json.loads(metas[key]) if key in metas else {}
            yield key, _stream_capture(key, ev, con, meta)
    else:
        _, path, label = spec
        cap = load(path)
        events = coerce(cap.events, EVENTS_SCHEMA, what="events")
        conns = coerce(cap.connections, CONNECTIONS_SCHEMA, what="connections")
        for name, ev, con in L.split_streams(events, conns):
            key = _file_key(label, name)
            yield key, _stream_capture(key, ev, con, L.stream_meta(cap.meta, name))
