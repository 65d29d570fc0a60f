"""What every plot shares: the family palette, new axes, empty panels, labels.

Rules:

- One colour per family, the same in every plot and widget (``FAMILY_COLORS``); rows
  are classified once per capture by ``ssenb.analysis.prepare``, which plots take
  (or a capture, which they prepare through it: the prepared form is cached).
- Times on every axis are stream seconds since the capture started: measured seconds
  times the server's announced time scale, so a time-compressed demo reads in the
  stream's own time.
- No global state: a plot draws on the axes it is given, or on a new figure made here;
  rcParams are never changed and ``plt.show()`` is never called.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import analysis

if TYPE_CHECKING:  # matplotlib loads when a plot is drawn, not at import
    from matplotlib.axes import Axes

__all__ = ["FAMILY_COLORS", "color_of", "rows_of", "short"]

#: One colour per family of the pattern catalogue, stable across every plot.
FAMILY_COLORS: dict[str, str] = {
    "keepalive": "#8c8c8c",
    "control": "#1f77b4",
    "state": "#17becf",
    "progress": "#2ca02c",
    "error": "#d62728",
    "metadata": "#9467bd",
    "auth": "#bcbd22",
    "data": "#ff7f0e",
    "unknown": "#e377c2",
}


def color_of(family: Any) -> str:
    """The colour of a family (``unknown``'s for a name the catalogue lacks)."""
    return FAMILY_COLORS.get(str(family), FAMILY_COLORS["unknown"])


def rows_of(obj: Any) -> tuple[analysis.Prepared, pd.DataFrame]:
    """The prepared capture (cached: ``ssenb.analysis.prepare``) and its rows as
    plots show them: ``family`` as strings and a ``label`` per row (the event type,
    or ``(comment)``/``(blank line)``/``(retry)``).

    Raises:
        TypeError: ``obj`` is not a Capture, an events frame or a Prepared.
    """
    prep = analysis.prepare(obj)
    return prep, prep.labeled()


_THEMED: Any = None


def themed_figure_class() -> Any:
    """A ``Figure`` subclass that shows in a notebook as its PNG in an ``<img>`` of
    class ``ssenb-chart`` (with ``image/png`` beside it): a dark JupyterLab theme then
    inverts it instead of showing a white box. Built on first use, so importing
    ssenb does not load matplotlib."""
    global _THEMED
    if _THEMED is None:
        import base64
        import io

        from matplotlib.figure import Figure

        from .._html import CHART_CSS

        class ThemedFigure(Figure):
            """A matplotlib figure that follows the notebook's light or dark theme."""

            def _repr_mimebundle_(
                self, include: Any = None, exclude: Any = None
            ) -> dict[str, str]:
                buf = io.BytesIO()
                self.savefig(buf, format="png", bbox_inches="tight")
                png = base64.b64encode(buf.getvalue()).decode("ascii")
                title = self.get_suptitle() or "a figure"
                return {
                    "image/png": png,
                    "text/html": (
                        f'<style>{CHART_CSS}</style><img class="ssenb-chart" '
                        f'style="max-width:100%;height:auto" alt="'
                        f'{title.replace(chr(34), "")}" '
                        f'src="data:image/png;base64,{png}">'
                    ),
                    "text/plain": f"<Figure: {title}>",
                }

        _THEMED = ThemedFigure
    return _THEMED


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new figure of ``figsize`` inches.

    A new figure goes through pyplot so that a notebook shows it at the end of the
    cell, as pandas plots are shown; no rcParams change and nothing is shown here.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, FigureClass=themed_figure_class())
    return fig.add_subplot()


def short(label: Any, width: int = 24) -> str:
    """A label cut to ``width`` characters with an ellipsis (never mid-way silently)."""
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def note(ax: Axes, text: str) -> None:
    """Replace an empty panel by one line of text: no frame, ticks or grid drawn
    around nothing."""
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#808080",
        fontstyle="italic",
    )


def family_legend(ax: Axes, families: Iterable[str], **kwargs: Any) -> None:
    """A legend with one patch per family, in catalogue order."""
    seen = {str(f) for f in pd.unique(pd.Series(families))}
    present = [f for f in FAMILY_COLORS if f in seen]
    if not present:
        return
    from matplotlib.patches import Patch

    handles = [Patch(color=color_of(f), label=f) for f in present]
    kwargs.setdefault("frameon", False)
    ax.legend(handles=handles, title="family", fontsize="small", **kwargs)


def label_order(ev: pd.DataFrame) -> list[str]:
    """Row labels ordered by family (catalogue order), then by count."""
    if not len(ev):
        return []
    fam_rank = {f: i for i, f in enumerate(FAMILY_COLORS)}
    families = main_family(ev)
    counts = {str(k): int(v) for k, v in ev["label"].value_counts().items()}
    return sorted(
        counts, key=lambda k: (fam_rank.get(families.get(k, ""), 99), -counts[k], k)
    )


def main_family(ev: pd.DataFrame) -> dict[str, str]:
    """Each row label's most frequent family."""
    if not len(ev):
        return {}
    sizes = ev.groupby(["label", "family"], sort=False, observed=True).size()
    top = sizes.sort_values(ascending=False, kind="stable")
    out: dict[str, str] = {}
    for key in top.index:
        label, family = key
        out.setdefault(str(label), str(family))
    return out
