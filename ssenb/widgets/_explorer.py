"""Explorer: browse a finished capture with filters, a timeline and the report."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._payload import summary_column
from ..analysis import prepare, report
from ..plots import plot_timeline
from ._chart import CHART_CLASS, MPL_LOCK
from ._env import choose_frontend
from ._finished import finished_capture
from ._state import counts_of, row_dict
from ._views import (
    counters_html,
    counters_text,
    cut,
    record_html,
    static_bundle,
    stream_times,
    table_html,
)

if TYPE_CHECKING:  # the capture only as a type (the layers table)
    from ..value import CaptureLike

__all__ = ["Explorer"]

_ALL = ""


def _report_html(capture: Any) -> str:
    """The capture's report (``ssenb.report``) as self-contained HTML."""
    bundle = report(capture)._repr_mimebundle_()
    return str(bundle.get("text/html", ""))


class Explorer:
    """Browse a finished capture: filter by kind, type and family, page through the
    records, read one record's data as JSON, see the filtered timeline and the report.

    Takes what every function that takes a capture takes: a Capture, an events
    frame, or the path of a capture file (loaded once, as ``ssenb.load`` does).
    Everything is drawn on demand from the calling thread; nothing runs in the
    background. Outside a notebook it shows a text summary.

    Raises:
        TypeError: ``capture`` stands for no capture (a URL must be recorded first).
        FileNotFoundError: a path that names no file.

    Example:
        >>> ssenb.Explorer(capture)  # doctest: +SKIP
        >>> ssenb.Explorer("capture.jsonl")  # doctest: +SKIP
    """

    def __init__(
        self, capture: CaptureLike, *, rows: int = 50, frontend: str | None = None
    ) -> None:
        # a path is loaded here, once: the rows, the report and the timeline read it
        capture = finished_capture(capture, "Explorer")
        if rows < 1:
            raise ValueError(f"rows must be at least 1, got {rows!r}")
        self.capture = capture
        self.rows = rows
        # stream seconds (``t``), family and label, classified once
        self.events = _prepared_rows(capture).reset_index(drop=True)
        self.dialect = _dialect_name(capture)
        self.frontend = choose_frontend(frontend)
        self.widget: Any = None
        if self.frontend == "widgets":
            self._build()

    def filtered(
        self,
        kind: str | None = None,
        label: str | None = None,
        family: str | None = None,
    ) -> pd.DataFrame:
        """The records that pass the filters (all of them for ``None``)."""
        ev = self.events
        mask = pd.Series(True, index=ev.index)
        if kind:
            mask &= ev["kind"].astype(str) == kind
        if label:
            mask &= ev["label"] == label
        if family:
            mask &= ev["family"] == family
        return ev[mask]

    def _build(self) -> None:
        import ipywidgets as w

        ev = self.events
        small = {
            "layout": w.Layout(width="210px"),
            "style": {"description_width": "45px"},
        }
        kinds = sorted(set(ev["kind"].astype(str)))
        self.kind_filter = w.Dropdown(
            options=[("all", _ALL)] + [(k, k) for k in kinds],
            value=_ALL, description="kind", **small,
        )  # fmt: skip
        self.type_filter = w.Dropdown(
            options=[("all", _ALL)] + [(k, k) for k in sorted(set(ev["label"]))],
            value=_ALL, description="type", **small,
        )  # fmt: skip
        self.family_filter = w.Dropdown(
            options=[("all", _ALL)] + [(k, k) for k in sorted(set(ev["family"]))],
            value=_ALL, description="family", **small,
        )  # fmt: skip
        self.page = w.IntSlider(
            value=0, min=0, max=0, step=self.rows, description="from row",
            continuous_update=False, style={"description_width": "60px"},
        )  # fmt: skip
        # a list to click: picking a row shows it in the record pane
        self.record_picker = w.Select(
            options=[("first", -1)], value=-1, rows=12,
            layout=w.Layout(width="42%"),
        )  # fmt: skip
        self.count = w.HTML()
        self.table = w.HTML(layout=w.Layout(width="100%", overflow="auto"))
        self.record = w.HTML(layout=w.Layout(width="58%", overflow="auto"))
        self.timeline = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.timeline.add_class(CHART_CLASS)
        self.report = w.HTML(_report_html(self.capture))
        for d in (self.kind_filter, self.type_filter, self.family_filter):
            d.observe(self._on_filter, names="value")
        self.page.observe(lambda _: self._show_page(), names="value")
        self.record_picker.observe(lambda _: self._show_record(), names="value")
        records = w.VBox(
            [
                w.HBox([self.kind_filter, self.type_filter, self.family_filter]),
                w.HBox([self.page, self.count]),
                self.table,
                # click a record in the list: the pane beside it shows it in full
                w.HBox([self.record_picker, self.record]),
            ]
        )
        self.counts = counts = w.HTML(
            counters_html(
                counts_of(ev["label"]),
                dict(zip(ev["label"], ev["family"], strict=True)),
            )
        )
        self.tabs = w.Tab(children=[records, self.timeline, self.report])
        for i, title in enumerate(("Records", "Timeline", "Report")):
            self.tabs.set_title(i, title)
        self.widget = w.VBox([counts, self.tabs])
        self._on_filter()

    def _current(self) -> pd.DataFrame:
        return self.filtered(
            self.kind_filter.value or None,
            self.type_filter.value or None,
            self.family_filter.value or None,
        )

    def _on_filter(self, _: Any = None) -> None:
        rows = self._current()
        with self.page.hold_sync():
            self.page.max = max(0, len(rows) - 1)
            self.page.value = 0
        self.count.value = f"{len(rows):,} of {len(self.events):,} records"
        self._show_page()
        self.timeline.value = self._timeline_png(rows)

    def _show_page(self) -> None:
        rows = self._current()
        page = rows.iloc[self.page.value : self.page.value + self.rows]
        self.table.value = table_html(page, height=320, dialect=self.dialect)
        payloads = summary_column(page["kind"], page["data"], self.dialect)
        picks = [("first", -1)] + [
            (f"#{s}  {t:.3f} s  {lab}  {cut(pay, 60)}", int(s))
            for s, t, lab, pay in zip(
                page["seq"], stream_times(page), page["label"], payloads, strict=True
            )
        ]
        with self.record_picker.hold_sync():
            self.record_picker.options = picks
            self.record_picker.value = -1
        self._show_record()

    def _show_record(self) -> None:
        rows = self._current()
        page = rows.iloc[self.page.value : self.page.value + self.rows]
        picked = self.record_picker.value
        row = None
        if picked is not None and picked != -1:
            found = page[page["seq"] == picked]
            row = row_dict(found.iloc[0]) if len(found) else None
        elif len(page):
            row = row_dict(page.iloc[0])
        self.record.value = record_html(row)

    def _timeline_png(self, rows: pd.DataFrame) -> bytes:
        # matplotlib loads with the first figure, not at import
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        conns = getattr(self.capture, "connections", None)
        target: Any = rows
        if isinstance(conns, pd.DataFrame):
            target = _Subset(rows, conns, getattr(self.capture, "meta", {}))
        with MPL_LOCK:
            fig = Figure(figsize=(10, 3.6), dpi=80, layout="constrained")
            FigureCanvasAgg(fig)
            plot_timeline(target, ax=fig.add_subplot())
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
        return buf.getvalue()

    def __repr__(self) -> str:
        ev = self.events
        return (
            f"<Explorer {len(ev):,} records: {counters_text(counts_of(ev['label']))}>"
        )

    def snapshot_html(self) -> str:
        """What the Explorer shows now, as static HTML: counts, the records on
        this page and the record picked."""
        parts = [self.counts.value, f"<p>{self.count.value}</p>"]
        return "".join(str(p) for p in [*parts, self.table.value, self.record.value])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if self.widget is not None:
            return static_bundle(
                self.widget, repr(self), self.snapshot_html(), **kwargs
            )
        return {"text/plain": repr(self)}


def _prepared_rows(capture: Any) -> pd.DataFrame:
    """The events with ``t`` (stream seconds), ``family``, ``pattern`` and ``label``,
    in their recorded order."""
    ev = prepare(capture).labeled()  # cached: the report and plots reuse it
    keep = [c for c in ev.columns if c not in ("scale",)]
    return ev[keep]


def _dialect_name(capture: Any) -> str | None:
    """The capture's dialect name, for the payload column (``None`` if unknown)."""
    try:
        name = prepare(capture).dialect().name
    except Exception:  # a frame too odd to judge: the generic payload column
        return None
    return None if name == "unknown" else name


class _Subset:
    """Some rows of a capture, with its connections and meta, for one plot."""

    def __init__(self, events: pd.DataFrame, connections: pd.DataFrame, meta: Any):
        drop = [c for c in ("label", "family", "pattern", "t") if c in events.columns]
        self.events = events.drop(columns=drop)
        self.connections = connections
        self.meta = meta
