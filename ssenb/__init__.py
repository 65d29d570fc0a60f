"""ssenb: record, look at and understand Server-Sent Events streams, in Jupyter first.

The everyday entry points are re-exported here; the rest lives in public submodules
(``ssenb.parse``, ``ssenb.frames``, ...).
"""

from __future__ import annotations

from .capture import (
    Capture,
    Recorder,
    acapture,
    acapture_many,
    capture,
    capture_many,
    load,
)
from .errors import (
    CaptureFileError,
    EventTooLarge,
    NotAnEventStream,
    SSENBError,
    StreamError,
)
from .frames import read_sse
from .parse import Record, RecordBatch, SSEParser, encode_event
from .server import demo_server

__version__ = "0.1.0"

__all__ = [
    "Capture",
    "CaptureFileError",
    "EventTooLarge",
    "NotAnEventStream",
    "Record",
    "RecordBatch",
    "Recorder",
    "SSENBError",
    "SSEParser",
    "StreamError",
    "__version__",
    "acapture",
    "acapture_many",
    "capture",
    "capture_many",
    "demo_server",
    "encode_event",
    "load",
    "read_sse",
]
