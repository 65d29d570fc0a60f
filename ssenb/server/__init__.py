"""The demo and replay server: every pattern of the catalogue, faults, and replay.

Three ways in:

- ``with ssenb.demo_server() as srv:`` runs it on 127.0.0.1, on a free port, in a
  background thread; ready when the ``with`` starts, stopped (no thread, no port left)
  when it ends. ``srv.url("openai", events=5)`` is the URL of a scenario.
- ``ssenb serve`` / ``ssenb replay FILE`` on the command line (``serve_forever``).
- ``create_app()`` is the ASGI app itself, to embed.

The scenarios are pure (``ssenb.server.scenarios``); see ``README.md`` in this folder
for how the parts fit.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlencode

import uvicorn

from .. import _local
from ._thread import serve_in_thread
from .app import App, create_app, format_scale

__all__ = ["DemoServer", "create_app", "demo_server", "serve_forever"]


class DemoServer:
    """A running demo server: where it is and what it plays.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``.
        scenarios: the names it plays (``replay`` included when replaying).
        speed: the default time scale (``SSENB-Time-Scale``).
        seed: the default seed.
    """

    def __init__(self, base_url: str, app: App) -> None:
        self.base_url = base_url
        self._app = app
        self.scenarios: list[str] = app.names
        self.speed = app.speed
        self.seed = app.seed
        self._closer: AbstractContextManager[str] | None = None

    @property
    def running(self) -> bool:
        """Whether the server still serves."""
        return self._closer is not None

    def stop(self) -> None:
        """End the open streams and stop serving; a second call does nothing."""
        closer, self._closer = self._closer, None
        if closer is not None:
            _local.forget(self.base_url)
            self._app.stopping.set()
            closer.__exit__(None, None, None)

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, name: str = "", **params: Any) -> str:
        """The URL of a scenario (or ``""`` for the index), with query parameters for
        the scenario's parameters, the faults, ``speed`` and ``seed``.

        Raises:
            ValueError: ``name`` is not something this server plays.

        Example:
            >>> srv.url("openai", events=5, cut=3)  # doctest: +SKIP
            'http://127.0.0.1:53021/openai?events=5&cut=3'
        """
        if name and name not in self.scenarios:
            raise ValueError(
                f"this server plays no {name!r}; it plays {', '.join(self.scenarios)}"
            )
        query = {k: _query_value(v) for k, v in params.items() if v is not None}
        tail = f"?{urlencode(query)}" if query else ""
        return f"{self.base_url}/{name}{tail}"

    def __repr__(self) -> str:
        return (
            f"<DemoServer {self.base_url} speed={format_scale(self.speed)} "
            f"{len(self.scenarios)} scenarios>"
        )


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def demo_server(
    *,
    speed: float = 100.0,
    seed: int = 0,
    replay: Any = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> DemoServer:
    """Start the demo server in a background thread; it serves until ``stop()`` or the
    end of a ``with`` block.

    In a notebook, keep it across cells (``srv = ssenb.demo_server()``) and call
    ``srv.stop()`` when done; in code and tests, prefer ``with``.

    Args:
        speed: how many times faster than real time to play (``SSENB-Time-Scale``);
            payloads keep real-world values whatever the speed.
        seed: the default seed of every scenario.
        replay: a recording to serve at ``/replay``: its ``(delay, bytes)`` writes
            as ``ssenb.store.timeline`` gives them (``ssenb.demo_server`` takes a
            capture, an events frame, raw bytes or a path and makes them).
        host: the address to bind (127.0.0.1 unless told otherwise).
        port: the port (0: a free one).

    Example:
        >>> with demo_server() as srv:  # doctest: +SKIP
        ...     cap = ssenb.capture(srv.url("twitter"))
    """
    app = create_app(speed=speed, seed=seed, replay=replay)
    state: App = app.state.ssenb
    closer = serve_in_thread(app, host=host, port=port)
    server = DemoServer(closer.__enter__(), state)
    server._closer = closer
    _local.remember(server.base_url)  # capture trusts the time scale of our servers
    return server


class _Server(uvicorn.Server):
    """uvicorn that also ends the open streams when asked to stop (Ctrl-C)."""

    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self._stopping = stopping

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._stopping.set()
        super().handle_exit(sig, frame)


def serve_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    speed: float = 1.0,
    seed: int = 0,
    replay: Any = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Run the demo server in this thread until Ctrl-C (what ``ssenb serve`` does).

    ``ready`` is called with the base URL once the port is bound (port 0 picks one).
    """
    app = create_app(speed=speed, seed=seed, replay=replay)
    state: App = app.state.ssenb
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listen now, so that once ``ready`` announces the URL a client's connection
        # waits in the backlog instead of being refused before uvicorn starts serving.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = _Server(config, state.stopping)
    base = f"http://{shown}:{bound_port}"
    _local.remember(base)  # capture trusts the time scale of our servers
    if ready is not None:
        ready(base)
    try:
        server.run(sockets=[sock])
    finally:
        _local.forget(base)
        sock.close()
