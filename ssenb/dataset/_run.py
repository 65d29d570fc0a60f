"""Running an analysis on a dataset: per stream, one part at a time, on Dask or pandas.

Rules of this module:

- The unit of work is a part: its streams are whole, so each task reads one part,
  runs the pandas analysis on each of its streams as a capture of its own, and
  returns that part's slice of every table. No task needs another's rows.
- Every table gets a ``stream`` column holding the dataset's key; the scalar findings
  of each stream become rows of a ``facts`` table. The tables equal those of the
  pandas analysis run on each stream's capture, concatenated in stream order.
- Output metadata is declared before anything runs: the analysis is run once on a
  small built-in stream and its tables, emptied, are the ``meta`` Dask is given
  (columns in order; values are not cast, so a column that is all missing in one
  stream may carry another dtype there).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._progress import progress_wanted
from ..frames import CONNECTIONS_SCHEMA, coerce, read_sse
from ..value import Capture
from ._parts import part_captures

__all__ = ["DatasetResult"]

Analysis = Callable[..., Any]


def dask_available() -> bool:
    """Dask's DataFrame and its distributed scheduler can be imported."""
    try:
        import dask.dataframe  # noqa: F401
    except ImportError:
        return False
    return True


def need_dask(what: str) -> None:
    if not dask_available():
        raise ImportError(
            f'{what} needs Dask: pip install "ssenb[dask]"; without it, use '
            f".compute() (pandas, one part at a time) or dataset.iter_captures()"
        )


# -- the built-in stream the output metadata is declared from ---------------------


_SAMPLE = (
    b'retry: 3000\n\n: keep-alive\n\nid: 1\nevent: update\ndata: {"n": 1}\n\n\n'
    b'id: 2\ndata: {"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
    b': keep-alive\n\nid: 3\nevent: update\ndata: {"n": 2}\n\n'
    b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)


def sample_capture() -> Capture:
    """A small two-connection stream with every kind of record and arrival times."""
    ev = read_sse(_SAMPLE, stream="sample")
    n = len(ev)
    elapsed = np.arange(n, dtype="float64") * 0.5 + 0.1
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    ev["elapsed"] = elapsed
    ev["time"] = t0 + pd.to_timedelta(elapsed, unit="s")
    ev["connection"] = np.where(np.arange(n) < n // 2, 1, 2).astype("int64")
    ev["seq"] = np.arange(n, dtype="int64")
    half = float(elapsed[n // 2])
    rows = []
    for conn, start, end in ((1, 0.0, half - 0.2), (2, half - 0.1, float(elapsed[-1]))):
        t = [t0 + pd.Timedelta(seconds=start + d) for d in (0.0, 0.01, 0.02)]
        rows.append(
            {
                "stream": "sample",
                "connection": conn,
                "url": "http://127.0.0.1/sample",
                "method": "GET",
                "status": 200,
                "content_type": "text/event-stream",
                "last_event_id_sent": "1" if conn == 2 else None,
                "delay": 0.0 if conn == 1 else 0.05,
                "t_request": t[0],
                "t_headers": t[1],
                "t_first_byte": t[2],
                "t_closed": t0 + pd.Timedelta(seconds=end),
                "start": start,
                "end": end,
                "bytes": 100,
                "records": n // 2,
                "events": 3,
                "outcome": "eof",
                "error": None,
                "retry": 3000,
                "time_scale": 1.0,
                "discarded": 0,
            }
        )
    conns = coerce(pd.DataFrame(rows), CONNECTIONS_SCHEMA, what="connections")
    return Capture(ev, conns, {"url": "http://127.0.0.1/sample", "time_scale": 1.0})


def _with_stream(table: pd.DataFrame, key: str) -> pd.DataFrame:
    out = table.reset_index(drop=True)
    if "stream" in out.columns:
        out = out.assign(stream=key)
        cols = ["stream", *[c for c in out.columns if c != "stream"]]
        return out[cols]
    out.insert(0, "stream", key)
    return out


def _facts_row(key: str, result: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"stream": key}
    row.update(result.facts)
    row["summary"] = " ".join(result.summary)
    row["notes"] = " ".join(result.notes)
    return row


def declare(
    func: Analysis, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[str, dict[str, pd.DataFrame]]:
    """(title, empty table per name) of ``func``'s output, from the sample stream."""
    result = func(sample_capture(), *args, **kwargs)
    metas = {
        name: _with_stream(table, "").iloc[:0] for name, table in result.tables.items()
    }
    facts = pd.DataFrame([_facts_row("", result)])
    metas["facts"] = facts.iloc[:0].astype({"stream": object})
    return str(result.title), metas


def conform(frame: pd.DataFrame, meta: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` with the declared columns first (missing ones empty). Values keep
    the dtypes the analysis gave them: casting could turn a missing value into
    ``False`` or ``""`` and make the table differ from the pandas one."""
    if meta is None:
        return frame.reset_index(drop=True)
    extra = [c for c in frame.columns if c not in meta.columns]
    return frame.reindex(columns=[*meta.columns, *extra]).reset_index(drop=True)


def analyse_part(
    captures: Iterator[tuple[str, Capture]],
    func: Analysis,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    metas: Mapping[str, pd.DataFrame],
    tick: Callable[[], None] | None = None,
    wanted: Collection[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables of ``func`` (``wanted``, or all) over the streams of one part, plus
    ``facts``."""
    keep = set(metas if wanted is None else wanted)
    pieces: dict[str, list[pd.DataFrame]] = {n: [] for n in metas if n in keep}
    facts = []
    for key, cap in captures:
        result = func(cap, *args, **kwargs)
        for name, table in result.tables.items():
            if name in keep:
                pieces.setdefault(name, []).append(_with_stream(table, key))
        if "facts" in keep:
            facts.append(_facts_row(key, result))
        if tick is not None:
            tick()
    if "facts" in keep:
        pieces["facts"] = [pd.DataFrame(facts)] if facts else []
    out = {}
    for name, frames in pieces.items():
        meta = metas.get(name)
        frames = [f for f in frames if len(f)] or ([meta] if meta is not None else [])
        if frames:
            out[name] = conform(pd.concat(frames, ignore_index=True), meta)
    return out


def _analyse_spec(
    spec: Any,
    func: Analysis,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    metas: Mapping[str, pd.DataFrame],
    wanted: list[str] | None = None,
) -> dict[str, pd.DataFrame]:

    return analyse_part(part_captures(spec), func, args, kwargs, metas, wanted=wanted)


class DatasetResult:
    """An analysis of every stream of a dataset, not yet computed.

    ``compute()`` runs it (on Dask's active scheduler when Dask is installed, else with
    pandas one part at a time) and returns a :class:`ssenb.analysis.Result` whose
    tables are the per-stream tables concatenated, each with a ``stream`` column, plus
    ``facts`` (one row per stream: the analysis's facts, summary and notes).
    ``to_dask()`` gives the same tables as lazy Dask DataFrames with declared
    ``meta``, to reduce or write where the data is; ``result.<table>`` is one of them.

    Example:
        >>> r = ssenb.analysis.timing(ds)  # doctest: +SKIP
        >>> r.compute().connections  # doctest: +SKIP
        >>> r.inter_arrival.groupby("stream").interval.max().compute()  # doctest: +SKIP
    """

    def __init__(
        self,
        dataset: Any,
        func: Analysis,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.func = func
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.title, self.meta = declare(func, self.args, self.kwargs)
        self._delayed: dict[tuple[str, ...] | None, list[Any]] = {}

    # -- Dask ---------------------------------------------------------------------

    def _parts(self, wanted: list[str] | None = None) -> list[Any]:
        """One delayed task per part, making the ``wanted`` tables (all: None)."""
        need_dask("running an analysis on Dask")
        key = None if wanted is None else tuple(wanted)
        if key not in self._delayed:
            from dask.delayed import delayed

            run = delayed(_analyse_spec, pure=True)
            self._delayed[key] = [
                run(spec, self.func, self.args, self.kwargs, self.meta, wanted)
                for spec in self.dataset._specs()
            ]
        return self._delayed[key]

    def to_dask(self) -> dict[str, Any]:
        """Each table as a Dask DataFrame (one partition per part, declared meta);
        computing several together with ``dask.compute`` runs each part once."""
        import dask.dataframe as dd
        from dask.delayed import delayed

        parts = self._parts()
        return {
            name: dd.from_delayed(
                [delayed(operator.getitem)(p, name) for p in parts],
                meta=meta,
                verify_meta=False,
            )
            for name, meta in self.meta.items()
        }

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.__dict__.get("meta", {}):
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r}; its tables are "
                f"{list(self.__dict__.get('meta', {}))}"
            )
        return self.to_dask()[name]

    # -- computing ----------------------------------------------------------------

    def compute(
        self,
        *tables: str,
        engine: str = "auto",
        progress: bool | None = None,
    ) -> Any:
        """The tables as pandas, in one :class:`~ssenb.analysis.Result`.

        Args:
            tables: the tables to bring back (all when none is named); the rest are
                dropped where they are computed.
            engine: ``"dask"`` (the active Dask scheduler: a ``distributed.Client``
                when one is set, else threads), ``"pandas"`` (this process, one part
                at a time, with a progress bar), or ``"auto"`` (Dask when installed).
            progress: the pandas engine's progress bar (``None``: on in a terminal or
                a notebook).

        Raises:
            ValueError: an unknown table or engine. ImportError: ``"dask"`` without
                Dask installed.
        """
        from ..analysis import Result

        unknown = [t for t in tables if t not in self.meta]
        if unknown:
            raise ValueError(
                f"{self.title} has no tables {unknown}; it has {list(self.meta)}"
            )
        if engine not in ("auto", "dask", "pandas"):
            raise ValueError(
                f"engine must be 'auto', 'dask' or 'pandas', got {engine!r}"
            )
        wanted = list(tables) or list(self.meta)
        use_dask = engine == "dask" or (engine == "auto" and dask_available())
        if use_dask:
            from dask.base import compute

            todo = self._parts(wanted if tables else None)
            parts = compute(*todo)  # type: ignore[no-untyped-call]
            where = "Dask"
        else:
            parts = list(self._pandas_parts(wanted, progress))
            where = "pandas"
        out = {}
        for name in wanted:
            frames = [p[name] for p in parts if name in p and len(p[name])]
            out[name] = conform(
                pd.concat(frames, ignore_index=True) if frames else self.meta[name],
                self.meta[name],
            )
        n = len(out["facts"]) if "facts" in out else None
        notes = []
        if "facts" in out and "notes" in out["facts"]:
            notes = [x for x in dict.fromkeys(out["facts"]["notes"]) if x]
        summary = [
            f"{self.title} of {n if n is not None else 'every'} streams of "
            f"{self.dataset.url}, each stream analysed on its own ({where})."
        ]
        return Result(
            f"{self.title} per stream",
            summary=summary,
            tables=out,
            facts={"streams": n, "engine": where},
            notes=notes,
        )

    def _pandas_parts(
        self, wanted: list[str], progress: bool | None
    ) -> Iterator[dict[str, pd.DataFrame]]:

        bar: Any = None
        if progress_wanted(progress):
            from tqdm.auto import tqdm

            bar = tqdm(
                total=self.dataset.stream_count,
                unit="stream",
                desc=self.title,
                mininterval=0.25,
            )
        try:
            for spec in self.dataset._specs():
                part = analyse_part(
                    part_captures(spec),
                    self.func,
                    self.args,
                    self.kwargs,
                    self.meta,
                    tick=None if bar is None else lambda: bar.update(1),
                    wanted=wanted,
                )
                yield part
        finally:
            if bar is not None:
                bar.close()

    def __repr__(self) -> str:
        tables = ", ".join(
            f"{name}[{', '.join(map(str, meta.columns))}]"
            for name, meta in self.meta.items()
        )
        return (
            f"<DatasetResult {self.title!r} of {self.dataset.url} "
            f"({self.dataset.npartitions} parts), not computed: .compute() or "
            f".to_dask(); tables {tables}>"
        )
