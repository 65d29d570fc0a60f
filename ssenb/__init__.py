"""ssenb: record, look at and understand Server-Sent Events streams, in Jupyter first.

The everyday entry points are re-exported here; the rest lives in public submodules
(``ssenb.parse``, ``ssenb.frames``, ...).
"""

from __future__ import annotations

from .analysis import report
from .errors import (
    CaptureFileError,
    EventTooLarge,
    NotAnEventStream,
    SSENBError,
    StreamError,
)
from .frames import read_sse
from .parse import Record, RecordBatch, SSEParser, encode_event
from .patterns import classify, dialect

__version__ = "0.1.0"

__all__ = [
    "CaptureFileError",
    "EventTooLarge",
    "NotAnEventStream",
    "Record",
    "RecordBatch",
    "SSENBError",
    "SSEParser",
    "StreamError",
    "__version__",
    "classify",
    "dialect",
    "encode_event",
    "read_sse",
    "report",
]
