"""The throttled, coalescing renderer behind every live view.

Rules (measured, see the project's notebook notes):

- The recorder only appends rows to its own locked buffer; it never touches a widget.
- Widgets change only here: a thread wakes ``rate`` times a second (default 4 Hz, at
  most 10 Hz), draws the *latest* state once, however many events arrived since the
  last tick, and sends each changed widget once under ``hold_sync``. One front-end
  update per event would overrun the Jupyter server's message rate limit (about 1,000
  messages/s), which silently drops updates.
- Drawing happens under one lock, so a final draw from the calling cell (``stop()``)
  never interleaves with a tick.
- A slow draw slows the ticks down instead of eating the kernel: the thread draws at
  most ``busy`` of the time (default a quarter), so a 0.3 s chart on a busy machine
  redraws about once a second at most, whatever ``rate`` says.
- An exception while drawing is kept (``error``) and handed to ``on_error``; the loop
  goes on, so what was shown stays and the next tick can recover.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["DEFAULT_RATE", "MAX_RATE", "Renderer", "check_rate"]

#: Redraws per second of a live view unless told otherwise.
DEFAULT_RATE = 4.0
#: The highest redraw rate a live view accepts.
MAX_RATE = 10.0


def check_rate(rate: float, max_rate: float = MAX_RATE) -> float:
    """``rate`` as a float, or a ValueError saying what is allowed."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ValueError(
            f"rate must be a number of redraws per second, got {rate!r}"
        ) from None
    if not 0 < value <= max_rate:
        raise ValueError(
            f"rate must be above 0 and at most {max_rate:g} redraws per second, got "
            f"{rate!r}; faster redraws overrun the notebook server's message limit"
        )
    return value


class Renderer:
    """Call ``draw()`` at most ``rate`` times a second on a background thread.

    ``draw`` returns whether it changed anything; ``renders`` counts those draws (the
    ticks that found nothing new are not counted). ``render_now()`` draws at once
    under the same lock, from any thread.
    """

    def __init__(
        self,
        draw: Callable[[], bool],
        *,
        rate: float = DEFAULT_RATE,
        max_rate: float = MAX_RATE,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "ssenb-render",
        busy: float = 0.25,
    ) -> None:
        self.rate = check_rate(rate, max_rate)
        if not 0 < busy <= 1:
            raise ValueError(f"busy must be a fraction in (0, 1], got {busy!r}")
        self.busy = busy
        self.lock = threading.RLock()
        self.renders = 0
        self.ticks = 0
        self.error: BaseException | None = None
        self._draw = draw
        self._on_error = on_error
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the background thread is drawing."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the background thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        period = 1.0 / self.rate
        due = time.monotonic() + period
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            started = time.monotonic()
            self.ticks += 1
            try:
                self.render_now()
            except Exception as exc:  # shown by on_error; the loop goes on
                self.error = exc
                if self._on_error is not None:
                    try:
                        self._on_error(exc)
                    except Exception:  # pragma: no cover - the error view failed too
                        pass
            # Never burst to catch up after a slow draw, and keep the share of time
            # spent drawing under ``busy``.
            now = time.monotonic()
            took = now - started
            due = max(due + period, now + period * 0.5, started + took / self.busy)

    def render_now(self) -> bool:
        """Draw now, under the lock; returns whether anything changed."""
        with self.lock:
            changed = self._draw()
            if changed:
                self.renders += 1
            return changed

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and wait for it (a draw in progress finishes first)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():  # pragma: no cover - a draw hung
                raise TimeoutError(f"the {self._name} thread did not stop in time")
