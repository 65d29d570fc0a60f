"""How the kernel that runs a shared notebook talks to ssenb: never in plain TCP.

By default jupyter_client connects to a kernel over TCP on 127.0.0.1, and ipykernel 7
then warns on stderr that the traffic is not encrypted. ssenb asks for what that
warning recommends:

- on POSIX, the IPC transport: Unix sockets in a private folder (``mkdtemp``, mode
  0700) with the connection file beside them, removed with the folder when the
  notebook has run;
- where there is no IPC (Windows), or the temporary folder cannot hold a socket (a
  path too long for one, a file system without sockets), TCP encrypted with CurveZMQ
  keys the kernel manager provisions (``KernelManager.transport_encryption``,
  jupyter_client 8.10) when this jupyter_client, pyzmq and the kernel support them;
  else TCP as jupyter_client does by default.

nbclient makes the kernel manager from this configuration, so it owns the kernel and
shuts it down when the notebook has run, or failed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

__all__ = ["kernel_config"]


def _ipc_available() -> bool:
    import zmq

    return os.name == "posix" and bool(zmq.has("ipc"))


def _curve_available() -> bool:
    import zmq
    from jupyter_client.manager import KernelManager

    return (
        bool(zmq.has("curve"))
        and KernelManager.class_traits().get("transport_encryption") is not None
    )


def _socket_binds(path: str) -> bool:
    """Whether a Unix socket can be bound at ``path`` (in a folder removed later)."""
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    try:
        sock.bind(f"ipc://{path}")
    except zmq.ZMQError:
        return False
    finally:
        sock.close(linger=0)
        ctx.term()
    return True


def _tcp_config() -> dict[str, Any]:
    """TCP with CurveZMQ keys where this jupyter_client, pyzmq and kernel support
    them, else jupyter_client's default."""
    return {"transport_encryption": "auto"} if _curve_available() else {}


@contextlib.contextmanager
def kernel_config() -> Iterator[dict[str, Any]]:
    """The traitlets configuration of the kernel manager, for ``NotebookClient(...,
    config=...)``: IPC in a private folder (removed on exit) where a Unix socket can
    live there, else CurveZMQ-encrypted TCP where it is supported, else nothing."""
    from traitlets.config import Config

    # short names: a Unix socket path is limited to about 100 bytes
    folder = tempfile.mkdtemp(prefix="ssenb-k") if _ipc_available() else None
    try:
        if folder is None or not _socket_binds(os.path.join(folder, "probe")):
            yield Config({"KernelManager": _tcp_config()})
            return
        yield Config(
            {
                "KernelManager": {
                    "transport": "ipc",
                    "connection_file": os.path.join(folder, "kernel.json"),
                    "ip": os.path.join(folder, "k"),
                }
            }
        )
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
