"""The on-disk layout of a dataset of captures, and reading and writing its parts.

Rules of this module:

- A dataset is a folder (any fsspec URL) holding ``ssenb-dataset.json`` (the manifest,
  written last: a dataset without it is incomplete), ``streams.parquet`` (one row per
  stream: its key, its part, where it came from and its capture metadata, redacted),
  and ``events/part-NNNNN.parquet`` with ``connections/part-NNNNN.parquet``: the rows
  of whole streams. A stream never spans two parts, so a per-stream analysis of a
  part needs nothing from any other part (no shuffle).
- Part files are plain Parquet with the columns of ``EVENTS_SCHEMA`` and
  ``CONNECTIONS_SCHEMA`` (``stream`` holds the dataset's stream key), so DuckDB,
  Polars or ``dask.dataframe.read_parquet`` read them as they are.
- Without fsspec only local paths are understood.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce
from ..redact import redact_mapping, redact_url
from ..store import SCHEMA_VERSION

__all__: list[str] = []

MANIFEST = "ssenb-dataset.json"
STREAMS = "streams.parquet"
DATASET_SCHEMA = 1

#: The columns of the streams table, in order.
STREAM_COLUMNS = [
    "stream",  # the dataset's key of the stream (unique)
    "part",  # the part (file number) that holds its rows
    "source",  # the capture it came from (a label, a file name or a number)
    "name",  # its name inside that capture ("" for a single stream)
    "url",  # redacted
    "time_scale",  # the factor its server announced (1 = real time)
    "schema",  # the capture file schema version of its rows
    "rows",  # events rows
    "meta",  # the capture metadata narrowed to this stream, redacted, as JSON
]


class _LocalFS:
    """The few filesystem calls a dataset needs, for local paths without fsspec."""

    protocol = "file"

    def open(self, path: str, mode: str = "rb") -> Any:
        return open(path, mode)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        os.makedirs(path, exist_ok=exist_ok)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def ls(self, path: str, detail: bool = False) -> list[str]:
        return sorted(str(p) for p in Path(path).iterdir())


def filesystem(url: str | os.PathLike[str], options: Mapping[str, Any] | None) -> Any:
    """(filesystem, root path) for ``url``: fsspec when installed, else local only."""
    text = os.fspath(url)
    try:
        import fsspec
    except ImportError:
        if "://" in text and not text.startswith("file://"):
            raise ImportError(
                f"{text!r} is not a local path: reading or writing it needs fsspec "
                f'(pip install "ssenb[dask]" or pip install fsspec)'
            ) from None
        return _LocalFS(), text.removeprefix("file://")
    fs, root = fsspec.core.url_to_fs(text, **dict(options or {}))
    return fs, root.rstrip("/") or root


def join(root: str, *names: str) -> str:
    return "/".join([root.rstrip("/"), *names])


def part_name(kind: str, index: int) -> str:
    return f"{kind}/part-{index:05d}.parquet"


def write_frame(fs: Any, path: str, frame: pd.DataFrame) -> None:
    """One Parquet file (written whole to memory first: no half-written part)."""
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    with fs.open(path, "wb") as fh:
        fh.write(buf.getvalue())


def read_frame(fs: Any, path: str) -> pd.DataFrame:
    with fs.open(path, "rb") as fh:
        frame: pd.DataFrame = pq.read_table(fh).to_pandas()
    return frame


def read_part(fs: Any, root: str, index: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events and connections of one part, in the frame schemas (``stream`` as a
    plain string column holding the dataset's keys)."""
    events = coerce(
        read_frame(fs, join(root, part_name("events", index))),
        EVENTS_SCHEMA,
        what="events",
    )
    conns = coerce(
        read_frame(fs, join(root, part_name("connections", index))),
        CONNECTIONS_SCHEMA,
        what="connections",
    )
    return events, conns


def redact_urls(urls: pd.Series) -> pd.Series:
    """A URL column with secrets redacted (missing values kept)."""
    return urls.map(lambda u: u if pd.isna(u) else redact_url(u)).astype(urls.dtype)


def stream_meta(meta: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A capture's metadata narrowed to one stream (as ``Capture.select`` does), with
    secrets redacted once more."""
    out = dict(meta)
    urls = out.get("streams")
    if isinstance(urls, Mapping):
        url = urls.get(name)
        out["streams"] = {name: redact_url(url) if url else url} if name in urls else {}
        if url:
            out["url"] = url
    if isinstance(out.get("url"), str):
        out["url"] = redact_url(out["url"])
    return dict(redact_mapping(out))


def stream_row(
    key: str,
    part: int,
    source: str,
    name: str,
    meta: Mapping[str, Any],
    conns: pd.DataFrame,
    rows: int,
) -> dict[str, Any]:
    """One row of the streams table."""
    url = meta.get("url")
    scales = conns["time_scale"].dropna() if "time_scale" in conns else pd.Series()
    scale = meta.get("time_scale") or (float(scales.max()) if len(scales) else 1.0)
    return {
        "stream": key,
        "part": part,
        "source": source,
        "name": name,
        "url": redact_url(url) if url else None,
        "time_scale": float(scale),
        "schema": SCHEMA_VERSION,
        "rows": int(rows),
        "meta": json.dumps(meta, default=str, sort_keys=True),
    }


def streams_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=STREAM_COLUMNS)
    return frame.astype(
        {
            "stream": object,
            "part": "int64",
            "source": object,
            "name": object,
            "time_scale": "float64",
            "schema": "int64",
            "rows": "int64",
        }
    )


def write_manifest(fs: Any, root: str, parts: int, streams: int, rows: int) -> None:
    doc = {
        "ssenb": "dataset",
        "schema": DATASET_SCHEMA,
        "capture_schema": SCHEMA_VERSION,
        "parts": parts,
        "streams": streams,
        "rows": rows,
    }
    with fs.open(join(root, MANIFEST), "wb") as fh:
        fh.write(json.dumps(doc, indent=1).encode())


def read_manifest(fs: Any, root: str) -> dict[str, Any] | None:
    """The manifest, or ``None`` when ``root`` holds none."""
    path = join(root, MANIFEST)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as fh:
        doc = json.loads(fh.read())
    if not isinstance(doc, dict) or doc.get("ssenb") != "dataset":
        raise ValueError(f"{path} is not an ssenb dataset manifest")
    if int(doc.get("schema", 0)) > DATASET_SCHEMA:
        raise ValueError(
            f"{path} was written by a newer ssenb (dataset schema {doc['schema']}, "
            f"this one reads up to {DATASET_SCHEMA}): upgrade ssenb"
        )
    return doc


CAPTURE_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")


def capture_files(root: str) -> list[str]:
    """The capture files directly in a local folder, sorted by name."""
    return sorted(
        str(p)
        for p in Path(root).iterdir()
        if p.is_file()
        and p.name.endswith(CAPTURE_SUFFIXES)
        and not p.name.startswith(".")
    )


def file_label(path: str) -> str:
    name = Path(path).name
    for suffix in CAPTURE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def split_streams(
    events: pd.DataFrame, conns: pd.DataFrame
) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(stream, its events, its connections) for each stream of a part, in order of
    first appearance; one pass of ``groupby`` (no copy per lookup)."""
    ev_key = events["stream"].astype(str)
    con_key = conns["stream"].astype(str)
    con_groups = dict(tuple(conns.groupby(con_key.to_numpy(), sort=False)))
    seen = set()
    for key, rows in events.groupby(ev_key.to_numpy(), sort=False):
        seen.add(key)
        yield str(key), rows, con_groups.get(key, conns.iloc[:0])
    for key, rows in con_groups.items():
        if key not in seen:  # a stream whose connections recorded no rows
            yield str(key), events.iloc[:0], rows
