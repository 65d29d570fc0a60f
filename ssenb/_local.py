"""The servers this process started, whose ``SSENB-Time-Scale`` header capture trusts.

Rules of this module: pure and stdlib only; the demo and replay servers add their
origin when they start serving and remove it when they stop; capture asks
``is_ours(url)``. Any other server's time scale is ignored unless the user opts in: a
foreign header must not be able to remove every wait of a reconnecting client.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

__all__ = ["forget", "is_ours", "origin", "remember"]

_lock = threading.Lock()
_ours: dict[str, int] = {}


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, lowercase, with the default port filled in."""
    parts = urlsplit(str(url))
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme, 0)
    host = (parts.hostname or "").lower()
    return f"{scheme}://{host}:{port}"


def remember(url: str) -> None:
    """Mark a server this process started (its base URL)."""
    with _lock:
        key = origin(url)
        _ours[key] = _ours.get(key, 0) + 1


def forget(url: str) -> None:
    """The server stopped: its port may now belong to anyone."""
    with _lock:
        key = origin(url)
        left = _ours.get(key, 0) - 1
        if left > 0:
            _ours[key] = left
        else:
            _ours.pop(key, None)


def is_ours(url: str) -> bool:
    """Whether ``url`` points to a server this process started and still runs."""
    with _lock:
        return origin(url) in _ours
