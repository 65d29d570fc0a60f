"""ssenb: record, look at and understand Server-Sent Events streams, in Jupyter first.

The everyday entry points are re-exported here; the rest lives in public submodules
(``ssenb.parse``, ``ssenb.frames``, ...).
"""

from __future__ import annotations

from ._iter import aiter_records, iter_records
from .analysis import report
from .capture import (
    Capture,
    Recorder,
    acapture,
    acapture_many,
    capture,
    capture_many,
    load,
)
from .dataset import open_dataset, save_dataset
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
from .plots import PlotAccessor, plot_overview
from .proxy import Proxy, proxy
from .server import demo_server
from .share import to_notebook
from .widgets import Explorer, LiveChart, LiveFeed, watch

__version__ = "0.1.0"

# ``capture.plot.timeline()`` and the other plots, bound to a capture. Registered here
# because plots sit above capture in the layering and capture may not import them.
setattr(Capture, "plot", property(PlotAccessor, doc=PlotAccessor.__doc__))  # noqa: B010

__all__ = [
    "Capture",
    "CaptureFileError",
    "EventTooLarge",
    "Explorer",
    "LiveChart",
    "LiveFeed",
    "NotAnEventStream",
    "Proxy",
    "Record",
    "RecordBatch",
    "Recorder",
    "SSENBError",
    "SSEParser",
    "StreamError",
    "__version__",
    "acapture",
    "acapture_many",
    "aiter_records",
    "capture",
    "capture_many",
    "classify",
    "demo_server",
    "dialect",
    "encode_event",
    "iter_records",
    "load",
    "open_dataset",
    "plot_overview",
    "proxy",
    "read_sse",
    "report",
    "save_dataset",
    "to_notebook",
    "watch",
]
