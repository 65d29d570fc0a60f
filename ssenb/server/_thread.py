"""Run an ASGI app under uvicorn on a background thread, bound to a free local port.

The one place that starts a socket server in a thread: the demo server and the tests use
it. ``serve_in_thread`` returns once the server accepts connections (or raises after a
deadline), and stops it on exit, leaving no thread or port behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = ["serve_in_thread"]


@contextmanager
def serve_in_thread(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
    **options: Any,
) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (0: a free port) in a thread; yield its base URL.

    ``options`` go to ``uvicorn.Config`` (a proxy turns off its ``server`` and
    ``date`` headers, so that the upstream's pass through alone).

    Example:
        >>> with serve_in_thread(app) as base:  # doctest: +SKIP
        ...     httpx.get(base + "/")
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
        **options,
    )
    # uvicorn (>= 0.29) installs signal handlers only on the main thread, so a server
    # on this thread leaves Ctrl-C to the caller.
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, name=f"ssenb-server-{host}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the server on {host}:{port} failed to start")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            raise TimeoutError(
                f"the server on {host}:{port} did not start within {startup_timeout} s"
            )
        time.sleep(0.01)
    try:
        sock = server.servers[0].sockets[0]
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield f"http://{shown}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():  # pragma: no cover - a handler refused to finish
            server.force_exit = True
            thread.join(5)
