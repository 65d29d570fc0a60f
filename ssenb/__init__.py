"""ssenb: record, look at and understand Server-Sent Events streams, in Jupyter first.

The top level holds one way per everyday task:

- record: ``capture`` (``acapture`` in async code), ``capture_many`` for several
  streams, ``Recorder`` in the background; ``Capture`` is what they return and
  ``load`` reads back;
- react: ``iter_records`` / ``aiter_records`` hand out each record as it arrives;
- parse bytes on hand: ``SSEParser`` (records), ``read_sse`` (the events frame);
- understand and look: ``report``, ``classify``, ``capture.plot.overview()``,
  ``Explorer``, ``watch`` (live);
- try it: ``demo_server``; catch ``SSENBError`` (every ssenb error).

The rest lives in public submodules: ``ssenb.parse`` (the parser), ``ssenb.frames``,
``ssenb.errors``, ``ssenb.analysis``, ``ssenb.patterns``, ``ssenb.plots``,
``ssenb.widgets``, ``ssenb.store``, ``ssenb.dataset``, ``ssenb.share``,
``ssenb.proxy``, ``ssenb.server``. The names that used to sit here still work for one
release, with a ``DeprecationWarning`` that names their new place.
"""

from __future__ import annotations

import importlib
import types
import warnings
from typing import Any

from . import dataset, errors, frames, parse, patterns, share  # noqa: F401
from . import proxy as _proxy_module
from ._iter import aiter_records, iter_records
from ._serve import demo_server
from ._watch import watch
from .analysis import report
from .capture import Capture, Recorder, acapture, capture, capture_many, load
from .errors import SSENBError
from .frames import read_sse
from .parse import SSEParser
from .patterns import classify
from .widgets import Explorer

__version__ = "0.1.0"

__all__ = [
    "Capture",
    "Explorer",
    "Recorder",
    "SSENBError",
    "SSEParser",
    "acapture",
    "aiter_records",
    "capture",
    "capture_many",
    "classify",
    "demo_server",
    "iter_records",
    "load",
    "read_sse",
    "report",
    "watch",
]

#: Names that left the top level: where each one lives now. They still work for one
#: release, with a DeprecationWarning.
MOVED: dict[str, str] = {
    "CaptureFileError": "ssenb.errors",
    "EventTooLarge": "ssenb.errors",
    "NotAnEventStream": "ssenb.errors",
    "StreamError": "ssenb.errors",
    "LiveChart": "ssenb.widgets",
    "LiveFeed": "ssenb.widgets",
    "Proxy": "ssenb.proxy",
    "RecordBatch": "ssenb.parse",
    "Record": "ssenb.parse",
    "encode_event": "ssenb.parse",
    "acapture_many": "ssenb.capture",
    "dialect": "ssenb.patterns",
    "open_dataset": "ssenb.dataset",
    "save_dataset": "ssenb.dataset",
    "plot_overview": "ssenb.plots",
    "to_notebook": "ssenb.share",
}


def _moved(name: str, module: str) -> str:
    return (
        f"ssenb.{name} moved to {module}: use `from {module} import {name}`; "
        f"the top-level name goes away in the next release"
    )


def __getattr__(name: str) -> Any:
    module = MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'ssenb' has no attribute {name!r}")
    warnings.warn(_moved(name, module), DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(module), name)


class _ProxyModule(types.ModuleType):
    """``ssenb.proxy`` is the module now; calling it as the function it was at the
    top level still works for one release, with a DeprecationWarning."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            "ssenb.proxy(...) moved: use ssenb.proxy.proxy(...) (or "
            "`from ssenb.proxy import proxy`); calling the module goes away in the "
            "next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.proxy(*args, **kwargs)


_proxy_module.__class__ = _ProxyModule
del _proxy_module
