"""A progress display while capturing: tqdm in a terminal, tqdm's widget in a notebook.

It shows events, their rate, the connection number and the last event type. tqdm
throttles its own redraws (``mininterval``), so calling ``update`` per chunk is cheap.
"""

from __future__ import annotations

import sys
from typing import Any

from ._term import term_safe

__all__ = ["Progress", "progress_wanted"]


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:  # pragma: no cover - a broken IPython install
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def progress_wanted(option: bool | None) -> bool:
    """Resolve ``progress``: ``None`` means on in a terminal or a notebook."""
    if option is not None:
        return bool(option)
    try:
        tty = sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty or _in_kernel()


class Progress:
    """Events, rate, connection number and last event type, on one line.

    Disabled instances do nothing, so callers need no ``if``.
    """

    def __init__(self, enabled: bool, *, total: int | None = None) -> None:
        self._bar: Any = None
        self._shown: tuple[int, str] = (0, "")
        if not enabled:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=total, unit="ev", desc="capture", mininterval=0.25, leave=True
        )

    def update(self, events: int, connection: int, last_type: str) -> None:
        """Add ``events`` new events; show the connection and the last event type."""
        bar = self._bar
        if bar is None:
            return
        if (connection, last_type) != self._shown:
            self._shown = (connection, last_type)
            shown = term_safe(last_type[:24])
            bar.set_postfix_str(f"conn {connection}, last {shown}", False)
        bar.update(events)

    def note(self, text: str) -> None:
        """Say what happened to a connection (a failure, the wait before the next),
        so retries against a dead server are not silent."""
        bar = self._bar
        if bar is None:
            return
        self._shown = (-1, "")
        bar.set_postfix_str(text[:160], False)
        bar.refresh()

    def close(self) -> None:
        """Finish the display (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
