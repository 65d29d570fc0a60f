"""LiveFeed: a stream as it arrives, in a notebook, throttled and robust."""

from __future__ import annotations

import contextlib
import sys
import time
from collections import deque
from typing import Any

from ..patterns import dialect as _find_dialect
from ._env import choose_frontend
from ._render import DEFAULT_RATE, Renderer
from ._source import resolve_source
from ._state import FeedState, Tap, row_dict
from ._views import (
    counters_html,
    counters_text,
    cut,
    error_html,
    record_html,
    static_bundle,
    status_html,
    status_text,
    table_html,
)

__all__ = ["LiveFeed"]

_ALL = ""
_LATEST = -1
_RATE_WINDOW = 5.0  # seconds the status line's rate is averaged over


class LiveFeed:
    """A live view of an event stream: status, counters, filters, the latest records.

    Give it a URL (a ``Recorder`` is made with ``capture_options``) or a ``Recorder``.
    Recording runs on the recorder's thread; this view redraws from the latest state
    at ``rate`` times a second (default 4, at most 10), whatever the event rate, so a
    fast stream never floods the notebook. ``stop()`` ends the recording, draws the
    final state from the calling cell and returns the ``Capture``; an error of the
    recording is shown beside what was already shown and re-raised by ``stop()``.

    In a Jupyter kernel it shows ipywidgets (core widgets only); in a terminal or a
    script (``frontend="text"``) it writes a throttled status line to stderr instead.

    Args:
        url_or_recorder: the stream's URL, or a ``Recorder`` (started or not).
        rate: redraws per second (0 < rate <= 10).
        rows: how many of the latest records the table shows.
        keep: how many of the latest records the filters search.
        chart: also show a :class:`LiveChart` of the same stream below the feed.
        frontend: ``"widgets"``, ``"text"`` or ``None`` (chosen from the environment).
        autostart: start recording now.
        **capture_options: options of ``ssenb.capture`` for the Recorder of a URL.

    Example:
        >>> feed = ssenb.widgets.LiveFeed(url, duration=60)  # doctest: +SKIP
        >>> feed  # shows the widget; later, in another cell:
        >>> capture = feed.stop()
    """

    def __init__(
        self,
        url_or_recorder: Any,
        *,
        rate: float = DEFAULT_RATE,
        rows: int = 50,
        keep: int = 10_000,
        chart: bool = False,
        frontend: str | None = None,
        autostart: bool = True,
        **capture_options: Any,
    ) -> None:
        if rows < 1:
            raise ValueError(f"rows must be at least 1, got {rows!r}")
        self.frontend = choose_frontend(frontend)
        self.source, self._owned = resolve_source(url_or_recorder, capture_options)
        self.tap = Tap(self.source)
        self.state = FeedState(keep=keep)
        self.tap.subscribe(self.state.ingest)
        self.rows = rows
        self.errors: list[str] = []
        self.error: BaseException | None = None
        self.paused = False
        self._started = False
        self._stopped = False
        self._finished = False
        self._final: Any = None
        self._seen_errors: set[tuple[str, int, str]] = set()
        self._samples: deque[tuple[float, int]] = deque(maxlen=128)
        self._status: dict[str, Any] = {"state": "not started"}
        self._dirty = True
        self._drawn_version = -1
        self._last_print = 0.0
        self.renderer = Renderer(
            self._draw, rate=rate, on_error=self._show_error, name="ssenb-feed"
        )
        self.chart: Any = None
        if chart:
            from ._livechart import LiveChart

            self.chart = LiveChart(_tap=self.tap, frontend=self.frontend)
        self.widget: Any = None
        if self.frontend == "widgets":
            self._build()
        if autostart:
            self.start()

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> LiveFeed:
        """Start recording (if the recorder is not running yet) and redrawing."""
        if self._stopped:
            raise RuntimeError(
                "this LiveFeed was stopped; its records stay in .capture; make a new "
                "LiveFeed to record again"
            )
        if self._started:
            return self
        self._started = True
        if not getattr(self.source, "running", False):
            try:
                self.source.start()
            except RuntimeError:  # a Recorder given that already ran: show it
                if self._owned:  # pragma: no cover - a fresh Recorder always starts
                    raise
        self._status["state"] = "connecting"
        self.renderer.start()
        if self.chart is not None:
            self.chart.renderer.start()
        self._sync_buttons()
        return self

    def stop(self) -> Any:
        """Stop recording and redrawing; draw the final state from this (the
        calling) thread and return the ``Capture``.

        Raises:
            Exception: what the recording raised in the background, after showing it.
        """
        if self._stopped:
            self._raise()
            return self.capture
        self._stopped = True
        self.renderer.stop()
        if self.chart is not None:
            self.chart.renderer.stop()
        try:
            self._final = self.source.stop()
        except BaseException as exc:  # shown, then re-raised below
            self._record_error(exc)
        self._finish_view()
        self._raise()
        return self.capture

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the recording ends by itself (or ``timeout`` seconds); then draw
        the final state from this thread. Returns whether it ended.

        Raises:
            Exception: what the recording raised in the background.
        """
        try:
            done = bool(self.source.wait(timeout))
        except BaseException as exc:
            self._record_error(exc)
            done = True
        if done:
            self.stop()
        return done

    def _finish_view(self) -> None:
        self.tap.pull()
        self._dirty = True
        self.renderer.render_now()
        if self.chart is not None:
            self.chart.finish()
        if self.widget is not None:
            for w in self._all_widgets():
                w.send_state()
        elif self.frontend == "text":
            print(f"ssenb: {self.text()}", file=sys.stderr, flush=True)

    def _raise(self) -> None:
        err = self.error
        if err is not None:
            self.error = None
            raise err

    def __enter__(self) -> LiveFeed:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def capture(self) -> Any:
        """Everything recorded so far (a ``Capture``; the final one after stop)."""
        if self._final is not None:
            return self._final
        return self.source.capture

    @property
    def renders(self) -> int:
        """How many times the view was redrawn."""
        return self.renderer.renders

    @property
    def status(self) -> dict[str, Any]:
        """The status line's figures: state, connection, events, records, rate,
        last_type, errors."""
        return dict(self._status)

    def pause(self) -> None:
        """Freeze the view (recording goes on); :meth:`resume` catches up."""
        self.paused = True
        self._refresh()

    def resume(self) -> None:
        """Redraw again after :meth:`pause`."""
        self.paused = False
        self._refresh()

    # -- state --------------------------------------------------------------------

    def _record_error(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.errors.append(f"{type(exc).__name__}: {exc}")
        self._dirty = True

    def _show_error(self, exc: BaseException) -> None:
        self._record_error(exc)
        with contextlib.suppress(Exception):
            if self.widget is not None:
                self._error_box.value = error_html(self.errors)

    def _update_status(self) -> None:
        stats = self.source.stats()
        streams = stats.get("streams") or {}
        states = [s.get("state", "") for s in streams.values()]
        ended = [str(s.get("ended") or "") for s in streams.values()]
        finished = [e for e in ended if e.startswith("finished")]
        for name, s in streams.items():
            msg = s.get("last_error")
            if msg:
                key = (str(name), int(s.get("connection", 0)), str(msg))
                if key not in self._seen_errors:
                    self._seen_errors.add(key)
                    where = f"stream {name!r} " if name else ""
                    self.errors.append(
                        f"{where}connection {s.get('connection', 0)}: {msg}"
                    )
        running = bool(stats.get("running", False))
        if not running and self._started and not self._finished:
            self._finished = True
            if not self._stopped:  # ended by itself: surface its error now
                try:
                    self.source.wait(0)
                except BaseException as exc:
                    self._record_error(exc)
        if self.error is not None:
            state = "error"
        elif self.paused:
            state = "paused"
        elif finished and not running:
            state = finished[-1]  # "finished: [DONE]": the stream said so
        elif self._stopped:
            state = "stopped"
        elif not running:
            state = "done" if self._started else "not started"
        elif "open" in states:
            state = "open"
        else:
            state = next((s for s in states if s), "connecting")
        elapsed = float(stats.get("elapsed", 0.0) or 0.0)
        events = int(stats.get("events", self.state.events))
        self._samples.append((elapsed, events))
        old = next(
            (s for s in self._samples if s[0] >= elapsed - _RATE_WINDOW),
            self._samples[0],
        )
        span = elapsed - old[0]
        rate = (events - old[1]) / span if span > 0 else 0.0
        if not running:
            rate = 0.0
        scale = _time_scale(stats)
        last_types = [
            s.get("last_type") for s in streams.values() if s.get("last_type")
        ]
        self._status = {
            "state": state,
            "connection": int(stats.get("connections", 0) or 0),
            "events": self.state.events,
            "records": self.state.records,
            # one clock: stream seconds (measured x the server's time scale)
            "rate": rate / scale,
            "elapsed": elapsed * scale,
            "scale": scale,
            "last_type": str(last_types[-1]) if last_types else "",
            "errors": len(self.errors),
            "error_events": self.state.by_family.get("error", 0),
        }

    def _draw(self) -> bool:
        new = self.tap.pull()
        self._update_status()
        if self.paused and not self._stopped:
            if self.widget is not None:
                return self._push_status_only()
            return False
        if self.frontend == "text":
            return self._print_line()
        if not new and not self._dirty and self._drawn_version == self.state.version:
            return self._push_status_only()
        self._dirty = False
        self._drawn_version = self.state.version
        return self._push()

    def text(self) -> str:
        """The status line and counters, as text."""
        line = status_text(self._status)
        counts = counters_text(self.state.by_label)
        out = f"{line} | {counts}" if counts else line
        if self.errors:
            out += f" | error: {cut(self.errors[-1], 200)}"
        return out

    def __repr__(self) -> str:
        return f"<LiveFeed {self.text()}>"

    def _print_line(self) -> bool:
        now = time.monotonic()
        if now - self._last_print < 1.0 or not sys.stderr.isatty():
            return False
        self._last_print = now
        print(f"\rssenb: {cut(self.text(), 150)}", end="", file=sys.stderr, flush=True)
        return True

    # -- widgets ----------------------------------------------------------------------

    def _build(self) -> None:
        import ipywidgets as w

        self._start_button = w.Button(description="Start", icon="play")
        self._pause_button = w.Button(description="Pause", icon="pause")
        self._stop_button = w.Button(description="Stop", icon="stop")
        for b in (self._start_button, self._pause_button, self._stop_button):
            b.layout = w.Layout(width="90px")
        self._start_button.on_click(lambda _: self._guard(self.start))
        self._pause_button.on_click(
            lambda _: self._guard(self.resume if self.paused else self.pause)
        )
        self._stop_button.on_click(lambda _: self._guard(self.stop))
        self._status_line = w.HTML(status_html(self._status))
        self._error_box = w.HTML("")
        self._counters = w.HTML(counters_html({}, {}))
        small = {
            "layout": w.Layout(width="210px"),
            "style": {"description_width": "45px"},
        }
        self.kind_filter = w.Dropdown(
            options=[("all", _ALL)]
            + [(k, k) for k in ("event", "comment", "blank", "retry")],
            value=_ALL,
            description="kind",
            **small,
        )
        self.type_filter = w.Dropdown(
            options=[("all", _ALL)], value=_ALL, description="type", **small
        )
        self.family_filter = w.Dropdown(
            options=[("all", _ALL)], value=_ALL, description="family", **small
        )
        self.record_picker = w.Dropdown(
            options=[("latest", _LATEST)],
            value=_LATEST,
            description="record",
            layout=w.Layout(width="260px"),
            style={"description_width": "50px"},
        )
        for d in (self.kind_filter, self.type_filter, self.family_filter):
            d.observe(lambda _: self._refresh(), names="value")
        self.record_picker.observe(lambda _: self._refresh(), names="value")
        self._table = w.HTML(table_html(self.state.rows(0)))
        self._record = w.HTML(record_html(None))
        self._table.layout = w.Layout(width="64%", overflow="auto")
        self._record.layout = w.Layout(width="36%", overflow="hidden")
        parts = [
            w.HBox(
                [self._start_button, self._pause_button, self._stop_button,
                 self._status_line],
                layout=w.Layout(align_items="center"),
            ),
            self._error_box,
            self._counters,
            w.HBox(
                [self.kind_filter, self.type_filter, self.family_filter,
                 self.record_picker]
            ),
            w.HBox([self._table, self._record]),
        ]  # fmt: skip
        if self.chart is not None and self.chart.image is not None:
            parts.append(self.chart.image)
        self.widget = w.VBox(parts)
        self._sync_buttons()

    def _all_widgets(self) -> list[Any]:
        found: list[Any] = []

        def walk(widget: Any) -> None:
            found.append(widget)
            for child in getattr(widget, "children", ()):
                walk(child)

        walk(self.widget)
        return found

    def _guard(self, action: Any) -> None:
        """Run a button's action; an error shows in the error box, never a traceback
        in the kernel log only."""
        try:
            action()
        except Exception as exc:
            if exc is not self.error:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._error_box.value = error_html(self.errors)

    def _sync_buttons(self) -> None:
        if self.widget is None:
            return
        self._start_button.disabled = self._started or self._stopped
        self._pause_button.disabled = self._stopped or not self._started
        self._pause_button.description = "Resume" if self.paused else "Pause"
        self._stop_button.disabled = self._stopped

    def _refresh(self) -> None:
        """Redraw after a user action: at the next tick while live, at once after."""
        self._dirty = True
        self._sync_buttons()
        if not self.renderer.running:
            self.renderer.render_now()

    @staticmethod
    def _set(stack: contextlib.ExitStack, widget: Any, name: str, value: Any) -> bool:
        if getattr(widget, name) == value:
            return False
        stack.enter_context(widget.hold_sync())
        setattr(widget, name, value)
        return True

    def _push_status_only(self) -> bool:
        with contextlib.ExitStack() as stack:
            changed = self._set(
                stack, self._status_line, "value", status_html(self._status)
            )
            changed |= self._set(
                stack, self._error_box, "value", error_html(self.errors)
            )
        return changed

    def _push(self) -> bool:
        st = self.state
        kind = self.kind_filter.value or None
        label = self.type_filter.value or None
        family = self.family_filter.value or None
        rows = st.rows(self.rows, kind=kind, label=label, family=family)
        labels = sorted(st.by_label)
        families = sorted(st.by_family)
        picks = [("latest", _LATEST)] + [
            (f"#{seq} {cut(str(lab), 24)}", int(seq))
            for seq, lab in zip(rows.get("seq", []), rows.get("label", []), strict=True)
        ]
        picked = self.record_picker.value
        row = None
        if picked != _LATEST:
            row = st.find(picked)
        if row is None and len(rows):
            row = row_dict(rows.iloc[0])
        with contextlib.ExitStack() as stack:
            changed = self._set(
                stack, self._status_line, "value", status_html(self._status)
            )
            changed |= self._set(
                stack, self._error_box, "value", error_html(self.errors)
            )
            changed |= self._set(
                stack, self._counters, "value", counters_html(st.by_label, st.family_of)
            )
            for dd, names in (
                (self.type_filter, labels),
                (self.family_filter, families),
            ):
                options = (("all", _ALL), *((n, n) for n in names))
                if tuple(dd.options) != options:
                    changed |= self._set(stack, dd, "options", options)
            if picked not in {p[1] for p in picks}:
                picks.append((f"#{picked}", picked))  # keep a pick that scrolled away
            changed |= self._set(stack, self.record_picker, "options", tuple(picks))
            changed |= self._set(
                stack,
                self._table,
                "value",
                table_html(
                    rows,
                    scale=float(self._status.get("scale", 1.0)),
                    dialect=self._dialect(),
                ),
            )
            changed |= self._set(stack, self._record, "value", record_html(row))
        self._sync_buttons()
        return changed

    def _dialect(self) -> str | None:
        """The stream's dialect for the payload column, judged once on its first
        rows (``None`` until then, or when no known system fits)."""
        if getattr(self, "_dialect_name", None) is None:
            recent = self.state.recent
            if recent is None or len(recent) < 20:
                return None
            try:
                found = _find_dialect(recent.head(500)).name
            except Exception:  # odd rows: the generic payload column
                found = "unknown"
            self._dialect_name = found
        return None if self._dialect_name == "unknown" else self._dialect_name

    def snapshot_html(self) -> str:
        """What the feed shows now, as static HTML (status, counters, records)."""
        st = self.state
        rows = st.rows(self.rows)
        return (
            status_html(self._status)
            + error_html(self.errors)
            + counters_html(st.by_label, st.family_of)
            + table_html(rows, scale=float(self._status.get("scale", 1.0)))
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if self.widget is not None:
            return static_bundle(
                self.widget, repr(self), self.snapshot_html(), **kwargs
            )
        return {"text/plain": repr(self)}


def _time_scale(stats: dict[str, Any]) -> float:
    """The server's announced time scale (1 when it says none)."""
    try:
        scale = float(stats.get("time_scale") or 1.0)
    except (TypeError, ValueError):
        return 1.0
    return scale if scale > 0 else 1.0
