"""LiveChart: rolling rate by type, type mix and keep-alive intervals, as a PNG."""

from __future__ import annotations

from typing import Any

from .. import _html
from ._chart import CHART_CLASS, chart_png
from ._env import choose_frontend
from ._render import Renderer
from ._source import resolve_source
from ._state import ChartState, Tap
from ._views import png_html, static_bundle

__all__ = ["CHART_MAX_RATE", "LiveChart"]

#: A chart costs about 0.1 s to draw, so it redraws at most twice a second.
CHART_MAX_RATE = 2.0


class LiveChart:
    """Live charts of a stream, in stream seconds: records so far by type (over the
    last ``window`` seconds, or since the start), records by type, and keep-alive
    intervals (the same intervals as :func:`ssenb.analysis.heartbeats`).

    Drawn as a matplotlib figure into an ``ipywidgets.Image`` at ``rate`` redraws per
    second (default 1, at most 2), only when something changed. Give it a URL (a
    ``Recorder`` is made with ``capture_options``) or a ``Recorder``; ``stop()`` draws
    the final chart and returns the capture. :func:`ssenb.watch` shows one under a
    :class:`LiveFeed`.

    Example:
        >>> chart = ssenb.widgets.LiveChart(url, duration=30)  # doctest: +SKIP
        >>> chart
    """

    def __init__(
        self,
        url_or_recorder: Any = None,
        *,
        rate: float = 1.0,
        window: float | None = None,
        frontend: str | None = None,
        autostart: bool = True,
        _tap: Tap | None = None,
        **capture_options: Any,
    ) -> None:
        self.frontend = choose_frontend(frontend)
        if _tap is None:
            source, self._owned = resolve_source(url_or_recorder, capture_options)
            _tap = Tap(source)
            self._shared = False
        else:
            self._owned = False
            self._shared = True
        self.tap = _tap
        self.source = _tap.source
        self.state = ChartState(window=window)
        self.state.scale_source = lambda: _time_scale(self.source)
        self.tap.subscribe(self.state.ingest)
        self.error: BaseException | None = None
        self._drawn = -1
        self._final: Any = None
        self._stopped = False
        self.renderer = Renderer(
            self._draw,
            rate=rate,
            max_rate=CHART_MAX_RATE,
            on_error=self._on_error,
            name="ssenb-chart",
        )
        self.image: Any = None
        self.widget: Any = None
        if self.frontend == "widgets":
            import ipywidgets as w

            self.image = w.Image(
                value=chart_png(self.state),
                format="png",
                layout=w.Layout(max_width="100%", height="auto"),
            )
            self.image.add_class(CHART_CLASS)
            # the themed stylesheet travels with the chart when it stands alone
            self.widget = w.VBox(
                [w.HTML(f"<style>{_html.CHART_CSS}</style>"), self.image]
            )
        if autostart and not self._shared:
            self.start()

    def start(self) -> LiveChart:
        """Start recording (if needed) and redrawing."""
        if not self._shared and not getattr(self.source, "running", False):
            try:
                self.source.start()
            except RuntimeError:
                if self._owned:  # pragma: no cover - a fresh Recorder always starts
                    raise
        self.renderer.start()
        return self

    def _on_error(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc

    def _draw(self) -> bool:
        scale = _time_scale(self.source)
        if scale != self.state.scale:
            with self.state.lock:
                self.state.scale = scale
        self.tap.pull()
        if self.image is None or self.state.version == self._drawn:
            return False
        self._drawn = self.state.version
        self.image.value = chart_png(self.state)
        return True

    def finish(self) -> None:
        """Draw the final chart from the calling thread and send it again."""
        self.renderer.stop()
        self.renderer.render_now()
        if self.image is not None:
            self.image.send_state()

    def stop(self) -> Any:
        """Stop redrawing (and the recording this chart started); draw the final
        chart and return the capture.

        Raises:
            Exception: what the recording or a redraw raised in the background.
        """
        if self._stopped:
            return self.capture
        self._stopped = True
        self.renderer.stop()
        err: BaseException | None = None
        if not self._shared:
            try:
                self._final = self.source.stop()
            except BaseException as exc:
                err = exc
        self.finish()
        err = err or self.error
        self.error = None
        if err is not None:
            raise err
        return self.capture

    @property
    def capture(self) -> Any:
        """Everything recorded so far (the final ``Capture`` after stop)."""
        return self._final if self._final is not None else self.source.capture

    @property
    def renders(self) -> int:
        """How many times the chart was redrawn."""
        return self.renderer.renders

    def __repr__(self) -> str:
        return (
            f"<LiveChart {sum(self.state.by_label.values()):,} records, "
            f"{self.renders} redraws>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if self.widget is not None:
            png = bytes(self.image.value)
            return static_bundle(
                self.widget, repr(self), png_html(png, "live chart"), png, **kwargs
            )
        return {"text/plain": repr(self)}


def _time_scale(source: Any) -> float:
    """The time scale the source's server announced (1 when it says none)."""
    try:
        scale = float(source.stats().get("time_scale") or 1.0)
    except Exception:  # a source without stats: real time
        return 1.0
    return scale if scale > 0 else 1.0
