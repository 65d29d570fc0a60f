"""``ssenb.demo_server``: the demo server, replaying any recording.

The server plays ``(delay, bytes)`` writes and reads no files and no frames; the
store turns a recording into them (``store.timeline``). This module joins the two for
the top level: ``ssenb.demo_server(replay=capture)`` takes a capture, an events
frame, raw bytes or a path, as it always did.
"""

from __future__ import annotations

from typing import Any

from . import server, store
from .server import replay as _replay

__all__ = ["demo_server"]

# For one release the server still takes a recording itself (with a warning): this
# is how it reads one, handed down rather than imported from below.
_replay._read_old_recordings_with(store.timeline)


def demo_server(
    *,
    speed: float = 100.0,
    seed: int = 0,
    replay: Any = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> server.DemoServer:
    """Start the demo server in a background thread; it serves until ``stop()`` or the
    end of a ``with`` block.

    In a notebook, keep it across cells (``srv = ssenb.demo_server()``) and call
    ``srv.stop()`` when done; in code and tests, prefer ``with``.

    Args:
        speed: how many times faster than real time to play (``SSENB-Time-Scale``);
            payloads keep real-world values whatever the speed.
        seed: the default seed of every scenario.
        replay: a recording to serve at ``/replay``: a ``Capture``, an events frame,
            raw stream bytes, or a path to a ``.sse`` or capture file (read with
            ``ssenb.store.timeline``), or the writes that gives.
        host: the address to bind (127.0.0.1 unless told otherwise).
        port: the port (0: a free one).

    Raises:
        TypeError: ``replay`` is nothing a replay can read.
        FileNotFoundError: ``replay`` is a path that does not exist.

    Example:
        >>> with ssenb.demo_server() as srv:  # doctest: +SKIP
        ...     cap = ssenb.capture(srv.url("twitter"))
    """
    recording = None
    if replay is not None:
        recording = _replay.load_recording(
            replay if _is_writes(replay) else store.timeline(replay),
            name=_name_of(replay),
        )
    return server.demo_server(
        speed=speed, seed=seed, replay=recording, host=host, port=port
    )


def _is_writes(obj: Any) -> bool:
    """Already what the server plays: a Replay, a timeline mapping, or writes."""
    return isinstance(obj, _replay.Replay | dict | list | tuple)


def _name_of(obj: Any) -> str:
    if isinstance(obj, str) or hasattr(obj, "__fspath__"):
        return str(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return "raw bytes"
    if hasattr(obj, "events"):
        return "a capture"
    if hasattr(obj, "columns"):
        return "an events frame"
    return "a recording"
