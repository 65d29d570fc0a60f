"""Analysis of a capture: the questions people ask of a stream, answered as tables.

Every function takes a Capture (``.events``, ``.connections``, ``.meta``) or a bare
events frame, and returns a :class:`Result`: named tidy DataFrames (``.tables``, also
attributes), a few sentences (``.summary``), and a rendering for notebooks (text and
escaped HTML). Nothing prints.

Times are stream times: when the server played faster than real time (its connections
carry a ``time_scale``), measured seconds are multiplied by that scale, and every result
says so in its notes. A bare events frame has no connections: give its scale with
``events.attrs["time_scale"] = 100`` or ``heartbeats(prepare(events, time_scale=100))``.
Several analyses of one capture share one :func:`prepare`: it is computed once per
capture and cached (classification runs once), and its frames are read-only.

Each of ``event_types``, ``heartbeats``, ``lint``, ``llm``, ``reconnects`` and
``timing`` also takes a dataset of captures (``ssenb.dataset.open_dataset``) and
then runs per stream, on Dask when it is installed (see :mod:`ssenb.dataset`).

Importing this module registers the ``.sse`` DataFrame accessor
(``events.sse.heartbeats()``).
"""

from __future__ import annotations

from .._renamed import renamed
from ._accessor import SSEAccessor
from ._delivery import delivery
from ._event_types import event_types
from ._heartbeats import PROXY_TIMEOUTS, heartbeats
from ._input import Prepared, per_stream, prepare
from ._lint import lint
from ._llm import llm
from ._prepare import label_rows
from ._progress import task_progress
from ._reconnects import reconnects
from ._report import Report, report
from ._result import Result
from ._schema import schema
from ._timing import timing

# the analyses that also take a dataset and run per stream (ssenb.dataset)
event_types = per_stream(event_types)
heartbeats = per_stream(heartbeats)
lint = per_stream(lint)
llm = per_stream(llm)
reconnects = per_stream(reconnects)
timing = per_stream(timing)

__all__ = [
    "PROXY_TIMEOUTS",
    "Prepared",
    "Report",
    "Result",
    "SSEAccessor",
    "delivery",
    "event_types",
    "heartbeats",
    "label_rows",
    "lint",
    "llm",
    "prepare",
    "reconnects",
    "report",
    "schema",
    "task_progress",
    "timing",
]


#: Old names of this module: where each went (they warn for one release).
_RENAMED = {"progress": "task_progress"}


_WHY = ' ("progress" alone is the progress bar option of capture)'

__getattr__ = renamed(__name__, globals(), _RENAMED, _WHY)
