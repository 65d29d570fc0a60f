"""A capture's report as one readable, self-contained HTML page.

The report's HTML (every payload escaped) with the overview figure inline as PNG, in
a column of readable width, with a heading scale and colours that follow the
reader's light or dark preference. Nothing is fetched from the network.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from .. import _html
from ..value import CaptureLike

__all__ = ["report_page"]

_PAGE_CSS = """
:root{color-scheme:light dark;--jp-ui-font-color1:#1f1f1f;--jp-ui-font-color2:#555;
--jp-layout-color0:#fff;--jp-layout-color2:#eee;--jp-border-color2:#ccc;
--jp-cell-editor-background:#f5f5f5}
@media (prefers-color-scheme:dark){:root{--jp-ui-font-color1:#e6e6e6;
--jp-ui-font-color2:#b0b0b0;--jp-layout-color0:#111;--jp-layout-color2:#2a2a2a;
--jp-border-color2:#555;--jp-cell-editor-background:#1d1d1d}
.ssenb-chart{filter:invert(0.88) hue-rotate(180deg)}}
body{margin:0;background:var(--jp-layout-color0);color:var(--jp-ui-font-color1);
font:15px/1.55 system-ui,-apple-system,'Segoe UI',sans-serif}
main{max-width:70rem;margin:0 auto;padding:1.5rem 1.25rem 3rem}
main .ssenb-block{font-size:14px}
main .ssenb-block h4{font-size:1.6rem;margin:0 0 .6rem}
main .ssenb-block h5{font-size:1.05rem;margin:1rem 0 .3rem}
main details{margin:.6rem 0;border-top:1px solid var(--jp-border-color2);
padding-top:.4rem}
main summary{cursor:pointer;font-size:1.05rem}
main figure{margin:1rem 0}
main figure img{max-width:100%;height:auto;background:#fff}
main figcaption{color:var(--jp-ui-font-color2);font-size:.9rem}
"""


def _overview_png(capture: Any) -> bytes | None:
    """The overview figure as PNG bytes (``None`` when nothing can be drawn)."""
    from ..plots import plot_overview

    try:
        fig = plot_overview(capture)
    except (TypeError, ValueError):
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def report_page(
    capture: CaptureLike,
    *,
    max_rows: int = 10,
    title: str | None = None,
    result: Any = None,
) -> str:
    """The report of ``capture`` (``result``, when already computed) as a whole HTML
    page with its overview figure."""
    from ..analysis import report

    result = result if result is not None else report(capture)
    parts = result.html_parts(max_rows)
    overview = result.tables.get("overview")
    if overview is not None and len(overview) and int(overview.loc[0, "records"]):
        png = _overview_png(capture)
        if png:
            data = base64.b64encode(png).decode("ascii")
            # after the overview and the caveats, before the sections
            where = next(
                (i for i, p in enumerate(parts) if p.startswith("<details")),
                len(parts),
            )
            parts.insert(
                where,
                '<figure><img class="ssenb-chart" alt="overview of the capture" '
                f'src="data:image/png;base64,{data}"><figcaption>Overview: every '
                "record at its arrival, how records accumulate, the connections, "
                "the type mix and the keep-alive intervals, in stream time."
                "</figcaption></figure>",
            )
    name = html.escape(title or "ssenb report")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{name}</title><style>{_PAGE_CSS}</style></head><body><main>"
        + _html.block(result.title, parts, kind="report")
        + "</main></body></html>"
    )
