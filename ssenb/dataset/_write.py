"""Writing captures into a dataset, a few whole streams per part, memory bounded by a
part.

``DatasetWriter`` takes captures one at a time (``add``), so a recording of many
streams can hand each finished stream over as it ends and never hold the fleet in
memory; ``save_dataset`` is that loop over a list or mapping of captures.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce
from ..value import Capture, load
from . import _layout as L

__all__ = ["DatasetWriter"]

#: Rows per part file unless told otherwise: a part is what one worker (or the pandas
#: fallback) holds at once, about 100-300 MB in memory.
ROWS_PER_PART = 1_000_000


class DatasetWriter:
    """Write captures into a new dataset folder, stream by stream.

    Each stream gets a unique key: its name when it has one not yet taken, else
    ``"<label>/<name>"`` (or ``"<label>"`` for an unnamed stream), where the label is
    the one given to :meth:`add` (a mapping key, a file name, or the capture's
    number). Streams are gathered into parts of about ``rows_per_part`` rows; a
    stream is never split. ``close`` writes the streams table and then the manifest.

    Example:
        >>> with DatasetWriter("fleet/") as w:  # doctest: +SKIP
        ...     for path in paths:
        ...         w.add(ssenb.load(path), label=Path(path).stem)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        rows_per_part: int = ROWS_PER_PART,
        overwrite: bool = False,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        if rows_per_part < 1:
            raise ValueError(f"rows_per_part must be at least 1, got {rows_per_part}")
        self.url = os.fspath(path)
        self.storage_options = dict(storage_options or {})
        self._fs, self._root = L.filesystem(self.url, self.storage_options)
        if self._fs.exists(L.join(self._root, L.MANIFEST)) and not overwrite:
            raise FileExistsError(
                f"{self.url} already holds a dataset; pass overwrite=True to replace "
                f"it, or choose another path"
            )
        for kind in ("events", "connections"):
            self._fs.makedirs(L.join(self._root, kind), exist_ok=True)
        self.rows_per_part = int(rows_per_part)
        self._events: list[pd.DataFrame] = []
        self._conns: list[pd.DataFrame] = []
        self._held = 0
        self._part = 0
        self._streams: list[dict[str, Any]] = []
        self._keys: set[str] = set()
        self._added = 0
        self._rows = 0
        self._closed = False

    def _key(self, name: str, label: str) -> str:
        if name and name not in self._keys:
            key = name
        else:
            key = f"{label}/{name}" if name else label
        base, n = key, 1
        while key in self._keys:
            n += 1
            key = f"{base}#{n}"
        self._keys.add(key)
        return key

    def add(self, capture: Any, *, label: str | None = None) -> list[str]:
        """Add a capture (a ``Capture`` or a capture file path); returns the keys its
        streams got in the dataset."""
        if self._closed:
            raise ValueError("this DatasetWriter is closed; open a new one")
        if isinstance(capture, str | os.PathLike):
            label = label if label is not None else L.file_label(os.fspath(capture))
            capture = load(Path(capture))
        if not isinstance(capture, Capture):
            raise TypeError(
                f"add() takes a Capture or a capture file path, got "
                f"{type(capture).__name__}"
            )
        label = str(label if label is not None else self._added)
        self._added += 1
        events = coerce(capture.events, EVENTS_SCHEMA, what="events")
        conns = coerce(capture.connections, CONNECTIONS_SCHEMA, what="connections")
        keys = []
        for name, ev, con in L.split_streams(events, conns):
            key = self._key(name, label)
            keys.append(key)
            ev = ev.assign(stream=key)
            con = con.assign(stream=key, url=L.redact_urls(con["url"]))
            meta = L.stream_meta(capture.meta, name)
            if self._held and self._held + len(ev) > self.rows_per_part:
                self._flush()
            self._streams.append(
                L.stream_row(key, self._part, label, name, meta, con, len(ev))
            )
            self._events.append(ev)
            self._conns.append(con)
            self._held += len(ev)
            self._rows += len(ev)
        return keys

    def _flush(self) -> None:
        if not self._events:
            return
        for kind, frames in (("events", self._events), ("connections", self._conns)):
            frame = pd.concat(frames, ignore_index=True)
            frame["stream"] = frame["stream"].astype(str)
            L.write_frame(
                self._fs, L.join(self._root, L.part_name(kind, self._part)), frame
            )
        self._events, self._conns, self._held = [], [], 0
        self._part += 1

    def close(self) -> None:
        """Write the last part, the streams table and the manifest (idempotent)."""
        if self._closed:
            return
        self._flush()
        L.write_frame(
            self._fs, L.join(self._root, L.STREAMS), L.streams_frame(self._streams)
        )
        L.write_manifest(
            self._fs, self._root, self._part, len(self._streams), self._rows
        )
        self._closed = True

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()


def save_dataset(
    captures: Any,
    path: str | os.PathLike[str],
    *,
    rows_per_part: int = ROWS_PER_PART,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """Write captures as one partitioned Parquet dataset; returns it opened.

    Why: a fleet of streams recorded for days outgrows one capture in memory; as a
    dataset, each analysis runs per stream, part by part, on pandas or on Dask.

    Args:
        captures: a Capture, capture file paths, a list (or any iterable, read one at
            a time) of Captures, or a mapping of labels to Captures or paths.
        path: a folder, local or any fsspec URL (``s3://bucket/fleet``).
        rows_per_part: rows gathered into one part file (whole streams only).
        overwrite: replace a dataset already at ``path``.
        storage_options: passed to fsspec (credentials stay out of the dataset).

    Raises:
        FileExistsError: a dataset is at ``path`` and ``overwrite`` is false.
        TypeError: an item is neither a Capture nor a path.

    Example:
        >>> ds = save_dataset({"a": a, "b": b}, "fleet/")  # doctest: +SKIP
        >>> ssenb.analysis.timing(ds).compute().connections  # doctest: +SKIP
    """
    from ._dataset import open_dataset

    if isinstance(captures, Capture | str | Path):
        items: Iterable[tuple[str | None, Any]] = [(None, captures)]
    elif isinstance(captures, Mapping):
        items = ((str(k), v) for k, v in captures.items())
    else:
        items = ((None, c) for c in captures)
    with DatasetWriter(
        path,
        rows_per_part=rows_per_part,
        overwrite=overwrite,
        storage_options=storage_options,
    ) as writer:
        for label, cap in items:
            writer.add(cap, label=label)
    return open_dataset(path, storage_options=storage_options)
