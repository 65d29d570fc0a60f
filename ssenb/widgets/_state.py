"""The state a live view shows, computed from the rows as they arrive.

Pure pandas, no widgets and no threads: a :class:`Tap` reads new rows from a source
(a ``Recorder``) once per tick and hands them to the states that subscribed; each state
keeps only what its view draws (counters, the latest rows, per-second bins).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..analysis import label_rows
from ..analysis._heartbeats import keepalive_intervals

__all__ = ["ChartState", "FeedState", "Source", "Tap", "counts_of", "row_dict"]


class Source(Protocol):
    """What a live view reads: ``ssenb.Recorder`` is one.

    ``records_since(n)`` returns the events rows after the first ``n`` (the events
    frame's columns); ``stats()`` the live state (``running``, ``elapsed``,
    ``records``, ``events``, ``time_scale`` and, per stream, ``connection``,
    ``state``, ``last_type``, ``last_error``); ``capture`` a snapshot of everything
    so far;
    ``stop()`` ends the recording and returns the final capture.
    """

    @property
    def running(self) -> bool: ...

    @property
    def capture(self) -> Any: ...

    def start(self) -> Any: ...

    def stop(self) -> Any: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def records_since(self, n: int) -> pd.DataFrame: ...

    def stats(self) -> dict[str, Any]: ...


def counts_of(values: pd.Series) -> dict[str, int]:
    """How many times each value occurs, keyed by its text."""
    return {str(k): int(v) for k, v in values.value_counts().items()}


def row_dict(row: pd.Series) -> dict[str, Any]:
    """One row as a plain dict keyed by column name."""
    return {str(k): v for k, v in row.items()}


class Tap:
    """Reads a source's new rows once and hands them, labelled, to every subscriber."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.cursor = 0
        self.lock = threading.Lock()
        self._subscribers: list[Callable[[pd.DataFrame], None]] = []
        self._version: Any = None

    def subscribe(self, ingest: Callable[[pd.DataFrame], None]) -> None:
        """Hand every later batch of new rows to ``ingest``."""
        with self.lock:
            self._subscribers.append(ingest)

    def pull(self) -> int:
        """Read the rows added since the last pull; returns how many."""
        with self.lock:
            version = getattr(self.source, "version", None)
            if version is not None and version == self._version:
                return 0
            frame = self.source.records_since(self.cursor)
            self._version = version
            if not len(frame):
                return 0
            self.cursor += len(frame)
            frame = label_rows(frame)
            for ingest in self._subscribers:
                ingest(frame)
            return len(frame)


class FeedState:
    """Counters per type, kind and family, and the latest ``keep`` rows."""

    def __init__(self, keep: int = 10_000) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1 row, got {keep!r}")
        self.keep = keep
        self.records = 0
        self.events = 0
        self.by_label: Counter[str] = Counter()
        self.by_kind: Counter[str] = Counter()
        self.by_family: Counter[str] = Counter()
        self.family_of: dict[str, str] = {}
        self.recent: pd.DataFrame | None = None
        self.version = 0
        self.lock = threading.Lock()

    def ingest(self, frame: pd.DataFrame) -> None:
        """Count a batch of labelled rows and keep the latest."""
        with self.lock:
            self.records += len(frame)
            kinds = frame["kind"].astype(str)
            self.events += int((kinds == "event").sum())
            self.by_kind.update(counts_of(kinds))
            self.by_family.update(counts_of(frame["family"]))
            self.by_label.update(counts_of(frame["label"]))
            firsts = frame.drop_duplicates("label")
            for label, fam in zip(firsts["label"], firsts["family"], strict=True):
                self.family_of.setdefault(str(label), str(fam))
            tail = frame.iloc[-self.keep :]
            if self.recent is None or not len(self.recent):
                self.recent = tail.reset_index(drop=True)
            else:
                both = pd.concat([self.recent, tail], ignore_index=True)
                self.recent = both.iloc[-self.keep :].reset_index(drop=True)
            self.version += 1

    def rows(
        self,
        n: int,
        *,
        kind: str | None = None,
        label: str | None = None,
        family: str | None = None,
    ) -> pd.DataFrame:
        """The latest ``n`` kept rows that pass the filters, newest first."""
        with self.lock:
            rows = self.recent
        if rows is None or not len(rows):
            return pd.DataFrame()
        mask = np.ones(len(rows), dtype=bool)
        if kind:
            mask &= (rows["kind"].astype(str) == kind).to_numpy()
        if label:
            mask &= (rows["label"] == label).to_numpy()
        if family:
            mask &= (rows["family"] == family).to_numpy()
        return rows[mask].iloc[-n:][::-1]

    def find(self, seq: int) -> dict[str, Any] | None:
        """The kept row with this ``seq`` (``None`` when it is no longer kept)."""
        with self.lock:
            rows = self.recent
        if rows is None or not len(rows):
            return None
        found = rows[rows["seq"] == seq]
        return row_dict(found.iloc[-1]) if len(found) else None


class ChartState:
    """What a live chart draws, kept small at any event rate: each type's latest
    arrival times (stream seconds) for cumulative counts, the type mix, and the
    keep-alive intervals computed by the analysis's own code
    (:func:`ssenb.analysis.heartbeats` uses the same function)."""

    def __init__(
        self, window: float | None = None, beats: int = 500, times: int = 5000
    ) -> None:
        if window is not None and window <= 0:
            raise ValueError(f"window must be a positive number of seconds: {window!r}")
        #: Stream seconds shown (the latest ``window``); ``None``: since the start.
        self.window = None if window is None else float(window)
        #: The server's time scale (``SSENB-Time-Scale``): every time here is in
        #: stream seconds (measured x scale), as the analyses report them.
        self.scale = 1.0
        #: Where the scale comes from while live (the recorder's stats): read on
        #: every batch, so rows pulled by another view sharing the tap are scaled.
        self.scale_source: Callable[[], float] | None = None
        self.keep_times = times
        self.times: dict[str, deque[float]] = {}
        self.by_label: Counter[str] = Counter()
        self.family_of: dict[str, str] = {}
        #: (stream seconds, interval, (stream, connection)) per keep-alive interval.
        self.beats: deque[tuple[float, float, tuple[str, int]]] = deque(maxlen=beats)
        self._last_beat: dict[tuple[str, int], float] = {}
        self.latest = 0.0
        self.version = 0
        self.lock = threading.Lock()

    def ingest(self, frame: pd.DataFrame) -> None:
        """Add a batch of labelled rows."""
        scale = self.scale_source() if self.scale_source is not None else None
        with self.lock:
            if scale is not None:
                self.scale = scale
            self.by_label.update(counts_of(frame["label"]))
            firsts = frame.drop_duplicates("label")
            for label, fam in zip(firsts["label"], firsts["family"], strict=True):
                self.family_of.setdefault(str(label), str(fam))
            t = frame["elapsed"].astype("float64") * self.scale
            timed = frame.assign(t=t)[t.notna()]
            if len(timed):
                for label, part in timed.groupby("label", sort=False)["t"]:
                    kept = self.times.setdefault(
                        str(label), deque(maxlen=self.keep_times)
                    )
                    kept.extend(part.to_numpy(dtype="float64").tolist())
                self.latest = max(self.latest, float(timed["t"].max()))
                keep = timed[timed["family"] == "keepalive"]
                if len(keep):
                    iv = keepalive_intervals(keep, self._last_beat)
                    for stream, conn, at, gap in zip(
                        keep["stream"].astype(str),
                        keep["connection"],
                        keep["t"],
                        iv,
                        strict=True,
                    ):
                        if gap == gap:
                            self.beats.append(
                                (float(at), float(gap), (stream, int(conn)))
                            )
            self.version += 1
