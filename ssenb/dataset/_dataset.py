"""A dataset of captures: opened from a folder, read one part at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._progress import progress_wanted
from ..frames import CONNECTIONS_SCHEMA, coerce, empty_events
from ..patterns import classify
from ..value import Capture
from . import _layout as L
from ._parts import part_captures
from ._run import DatasetResult, need_dask

__all__ = ["Dataset", "open_dataset"]


def _part_events(spec: tuple[Any, ...]) -> pd.DataFrame:
    """The events of one part, ``stream`` holding the dataset's keys."""
    frames = [cap.events for _, cap in part_captures(spec)]
    if not frames:
        return _events_meta()
    out = pd.concat(frames, ignore_index=True)
    out["stream"] = out["stream"].astype(str).astype("category")
    out["type"] = out["type"].astype(str).astype("category")
    return out


def _part_connections(spec: tuple[Any, ...]) -> pd.DataFrame:
    frames = [cap.connections for _, cap in part_captures(spec)]
    out = pd.concat(frames, ignore_index=True) if frames else None
    out = coerce(
        out if out is not None else pd.DataFrame(columns=list(CONNECTIONS_SCHEMA)),
        CONNECTIONS_SCHEMA,
        what="connections",
    )
    return out.assign(stream=out["stream"].astype(str))


def _events_meta() -> pd.DataFrame:
    return empty_events()


class Dataset:
    """Many captures as one dataset: each stream's rows kept together, analysed per
    stream on Dask or, without it, with pandas one part at a time.

    Open one with :func:`open_dataset`; write one with :func:`save_dataset`.
    The analyses of :mod:`ssenb.analysis` take it in place of a capture and return a
    :class:`DatasetResult` (``.compute()`` for pandas tables); ``ssenb.classify``
    gives the classified events (a Dask DataFrame, or pandas without Dask).

    Attributes:
        url: where it lives (a folder, or any fsspec URL for a Parquet dataset).
        streams: one row per stream: ``stream`` (its key), ``part``, ``source``,
            ``name``, ``url`` (redacted), ``time_scale``, ``schema``, ``rows`` and
            ``meta`` (JSON of its capture metadata, redacted).
        npartitions: the number of parts (files); a part holds whole streams.
    """

    def __init__(
        self,
        url: str,
        *,
        kind: str,
        storage_options: Mapping[str, Any] | None = None,
        manifest: Mapping[str, Any] | None = None,
        streams: pd.DataFrame | None = None,
        files: list[str] | None = None,
    ) -> None:
        self.url = url
        self.kind = kind
        self.storage_options = dict(storage_options or {})
        self._manifest = dict(manifest or {})
        self._streams = streams
        self._files = list(files or [])

    # -- shape ---------------------------------------------------------------------

    @property
    def npartitions(self) -> int:
        if self.kind == "parquet":
            return int(self._manifest.get("parts", 0))
        return len(self._files)

    @property
    def stream_count(self) -> int | None:
        """The number of streams when known without reading the data."""
        if self._streams is not None:
            return len(self._streams)
        return None

    @property
    def streams(self) -> pd.DataFrame:
        """One row per stream (for a folder of capture files, each file is read once
        to make it, one at a time)."""
        if self._streams is None:
            rows = []
            for i, spec in enumerate(self._specs()):
                for key, cap in part_captures(spec):
                    rows.append(
                        L.stream_row(
                            key,
                            i,
                            spec[2],
                            key.partition("/")[2],
                            cap.meta,
                            cap.connections,
                            len(cap.events),
                        )
                    )
            self._streams = L.streams_frame(rows)
        return self._streams

    def __len__(self) -> int:
        return len(self.streams)

    def _specs(self) -> list[tuple[Any, ...]]:
        """What a task needs to read each part: small and picklable."""
        if self.kind == "files":
            return [("files", f, L.file_label(f)) for f in self._files]
        streams = self.streams
        metas: dict[int, dict[str, str]] = {}
        for key, part, meta in zip(
            streams["stream"], streams["part"], streams["meta"], strict=True
        ):
            metas.setdefault(int(part), {})[str(key)] = str(meta)
        return [
            ("parquet", self.url, self.storage_options, i, metas.get(i, {}))
            for i in range(self.npartitions)
        ]

    # -- reading -------------------------------------------------------------------

    def iter_captures(self, *, progress: bool | None = None) -> Iterator[Capture]:
        """Every stream as a capture of its own, reading one part at a time (memory
        bounded by a part)."""
        bar: Any = None
        if progress_wanted(progress):
            from tqdm.auto import tqdm

            bar = tqdm(total=self.stream_count, unit="stream", desc="dataset")
        try:
            for spec in self._specs():
                for _, cap in part_captures(spec):
                    yield cap
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()

    def capture(self, stream: str) -> Capture:
        """One stream as a capture (reads only its part).

        Raises:
            KeyError: no stream has that key.
        """
        keys = self.streams["stream"]
        found = self.streams[keys == stream]
        if not len(found):
            sample = ", ".join(map(repr, keys.head(5)))
            raise KeyError(
                f"{stream!r} is not a stream of {self.url}; its streams are "
                f"{sample}{', ...' if len(keys) > 5 else ''} (see .streams)"
            )
        spec = self._specs()[int(found["part"].iloc[0])]
        for key, cap in part_captures(spec):
            if key == stream:
                return cap
        raise KeyError(stream)  # pragma: no cover - the streams table is stale

    @property
    def events(self) -> Any:
        """All events rows as a Dask DataFrame, one partition per part (so a
        ``map_partitions`` sees whole streams); ``stream`` holds the keys."""
        need_dask("Dataset.events")
        import dask.dataframe as dd
        from dask.dataframe.utils import clear_known_categories

        meta = clear_known_categories(  # type: ignore[no-untyped-call]
            _events_meta(), cols=["stream", "type"]
        )
        return dd.from_map(  # type: ignore[no-untyped-call]
            _part_events, self._specs(), meta=meta
        )

    @property
    def connections(self) -> pd.DataFrame:
        """Every connection attempt of every stream (read part by part; small)."""
        frames = [_part_connections(spec) for spec in self._specs()]
        return pd.concat(frames, ignore_index=True)

    # -- analysis ------------------------------------------------------------------

    def analyze(self, func: Any, *args: Any, **kwargs: Any) -> DatasetResult:
        """Any per-capture analysis (a function taking a capture and returning a
        ``Result``), run per stream: ``ds.analyze(ssenb.analysis.schema)``."""
        return DatasetResult(self, getattr(func, "__wrapped__", func), args, kwargs)

    def analyse(self, func: Any, *args: Any, **kwargs: Any) -> DatasetResult:
        """Deprecated spelling of ``analyze``."""
        import warnings

        warnings.warn(
            "Dataset.analyse is now Dataset.analyze; the old spelling goes away in "
            "the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.analyze(func, *args, **kwargs)

    _ssenb_per_stream = analyze

    def _ssenb_classify(self) -> Any:
        """``ssenb.classify(dataset)``: the classified events, per part."""
        meta = classify(_events_meta())
        try:
            events = self.events
        except ImportError:
            frames = [classify(cap.events) for cap in self.iter_captures()]
            return pd.concat(frames, ignore_index=True) if frames else meta
        from dask.dataframe.utils import clear_known_categories

        meta = clear_known_categories(  # type: ignore[no-untyped-call]
            meta, cols=["stream", "type"]
        )
        return events.map_partitions(classify, meta=meta)

    def __repr__(self) -> str:
        n = self.stream_count
        streams = f"{n} streams" if n is not None else "streams"
        return (
            f"<Dataset {self.url}: {streams} in {self.npartitions} parts "
            f"({'ssenb Parquet' if self.kind == 'parquet' else 'capture files'})>"
        )


def open_dataset(
    path: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> Dataset:
    """Open a dataset of captures: a folder written by :func:`save_dataset`
    (local or any fsspec URL), or a local folder of capture files (``.jsonl``,
    ``.jsonl.gz``, ``.parquet``), each file one part.

    Why: per-stream analyses of a fleet of streams, recorded for days, on Dask
    (``pip install "ssenb[dask]"``) or part by part with pandas.

    Raises:
        FileNotFoundError: nothing at ``path``, or a folder with no capture in it.
        ValueError: a dataset written by a newer ssenb.

    Example:
        >>> ds = ssenb.dataset.open_dataset("fleet/")  # doctest: +SKIP
        >>> ssenb.analysis.heartbeats(ds).compute().stats  # doctest: +SKIP
    """
    url = os.fspath(path)
    fs, root = L.filesystem(url, storage_options)
    manifest = L.read_manifest(fs, root)
    if manifest is not None:
        streams = L.read_frame(fs, L.join(root, L.STREAMS))
        return Dataset(
            url,
            kind="parquet",
            storage_options=storage_options,
            manifest=manifest,
            streams=streams.astype({"stream": object, "source": object}),
        )
    local = Path(url.removeprefix("file://"))
    if fs.protocol not in ("file", ("file", "local")) and "file" not in fs.protocol:
        raise FileNotFoundError(
            f"{url} holds no {L.MANIFEST}: it is not a dataset written by "
            f"ssenb.dataset.save_dataset (folders of capture files must be local)"
        )
    if not local.is_dir():
        raise FileNotFoundError(
            f"{url} is not a folder; open_dataset takes a folder written by "
            f"ssenb.dataset.save_dataset or a folder of capture files (ssenb.load "
            f"reads one file)"
        )
    files = L.capture_files(str(local))
    if not files:
        raise FileNotFoundError(
            f"{url} holds neither a dataset ({L.MANIFEST}) nor capture files "
            f"({', '.join(L.CAPTURE_SUFFIXES)})"
        )
    return Dataset(url, kind="files", files=files)
