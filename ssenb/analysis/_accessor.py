"""The ``.sse`` DataFrame accessor: ``events.sse.heartbeats()`` and friends, for people
who start from a frame."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..patterns import DialectResult, classify, dialect
from ._event_types import event_types
from ._heartbeats import heartbeats
from ._lint import lint
from ._llm import llm
from ._progress import task_progress
from ._reconnects import reconnects
from ._report import Report, report
from ._result import Result
from ._schema import schema
from ._timing import timing

__all__ = ["SSEAccessor"]


@pd.api.extensions.register_dataframe_accessor("sse")
class SSEAccessor:
    """``frame.sse.<analysis>()``: the analyses of :mod:`ssenb.analysis` on an events
    frame (connections are inferred from its ``connection`` column).

    Example:
        >>> ev = ssenb.frames.read_sse("stream.sse")
        >>> ev.sse.heartbeats().stats
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in ("kind", "type", "data") if c not in frame.columns]
        if missing:
            raise AttributeError(
                f"the .sse accessor needs an events frame; this one lacks {missing} "
                "(make one with ssenb.frames.read_sse or a capture)"
            )
        self._frame = frame

    def classify(self) -> pd.DataFrame:
        """See :func:`ssenb.classify`."""
        return classify(self._frame)

    def dialect(self) -> DialectResult:
        """See :func:`ssenb.patterns.dialect`."""
        return dialect(self._frame)

    def heartbeats(self, **kw: Any) -> Result:
        """See :func:`ssenb.analysis.heartbeats`."""
        return heartbeats(self._frame, **kw)

    def event_types(self, **kw: Any) -> Result:
        """See :func:`ssenb.analysis.event_types`."""
        return event_types(self._frame, **kw)

    def reconnects(self) -> Result:
        """See :func:`ssenb.analysis.reconnects`."""
        return reconnects(self._frame)

    def timing(self) -> Result:
        """See :func:`ssenb.analysis.timing`."""
        return timing(self._frame)

    def llm(self, **kw: Any) -> Result:
        """See :func:`ssenb.analysis.llm`."""
        return llm(self._frame, **kw)

    def task_progress(self) -> Result:
        """See :func:`ssenb.analysis.task_progress`."""
        return task_progress(self._frame)

    def progress(self) -> Result:
        """Deprecated: ``task_progress``."""
        import warnings

        warnings.warn(
            ".sse.progress() is now .sse.task_progress(); the old name goes away in "
            "the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return task_progress(self._frame)

    def schema(self, **kw: Any) -> Result:
        """See :func:`ssenb.analysis.schema`."""
        return schema(self._frame, **kw)

    def lint(self, **kw: Any) -> Result:
        """See :func:`ssenb.analysis.lint`."""
        return lint(self._frame, **kw)

    def report(self, **kw: Any) -> Report:
        """See :func:`ssenb.report`."""
        return report(self._frame, **kw)
