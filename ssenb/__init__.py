"""ssenb: record, look at and understand Server-Sent Events streams, in Jupyter first.

The everyday entry points are re-exported here; the rest lives in public submodules
(``ssenb.parse``, ``ssenb.frames``, ...).
"""

from __future__ import annotations

from .errors import (
    CaptureFileError,
    EventTooLarge,
    NotAnEventStream,
    SSENBError,
    StreamError,
)
from .frames import read_sse
from .parse import Record, RecordBatch, SSEParser, encode_event
from .plots import plot_overview
from .widgets import Explorer, LiveChart, LiveFeed, watch

__version__ = "0.1.0"

__all__ = [
    "CaptureFileError",
    "EventTooLarge",
    "Explorer",
    "LiveChart",
    "LiveFeed",
    "NotAnEventStream",
    "Record",
    "RecordBatch",
    "SSENBError",
    "SSEParser",
    "StreamError",
    "__version__",
    "encode_event",
    "plot_overview",
    "read_sse",
    "watch",
]
