"""Widgets made static for an exported page: each live view as its last state.

An HTML export cannot run widgets offline (nbconvert would fetch a widget manager
from a CDN, and shows nothing without one). This walks the widget state the kernel
saved with the notebook (``metadata.widgets``) and writes each displayed widget as
plain HTML: HTML widgets as their value (ssenb's own views escape every payload),
images inline, boxes and tabs as boxes and headed sections; buttons and pickers are
left out, they do nothing on a page. An output whose state was not saved keeps the
``text/html`` the widget put in its own bundle; the widget repr never shows.

Rules: pure functions over the notebook's JSON; nothing fetched, nothing executed.
"""

from __future__ import annotations

import copy
import html
from typing import Any

__all__ = ["static_widgets"]

_VIEW = "application/vnd.jupyter.widget-view+json"
_STATE = "application/vnd.jupyter.widget-state+json"
_REF = "IPY_MODEL_"
_MISSING = (
    '<p style="font-style:italic">A live view: it shows in a running notebook '
    "(JupyterLab, Notebook, VS Code, Colab).</p>"
)


def _models(nb: Any) -> dict[str, Any]:
    widgets = nb.get("metadata", {}).get("widgets", {})
    state = widgets.get(_STATE, {}) if isinstance(widgets, dict) else {}
    models = state.get("state", {}) if isinstance(state, dict) else {}
    return models if isinstance(models, dict) else {}


def _png_of(model: dict[str, Any]) -> str | None:
    for buf in model.get("buffers", []) or []:
        if buf.get("path") == ["value"] and buf.get("encoding") == "base64":
            return str(buf.get("data", ""))
    return None


def _render(model_id: str, models: dict[str, Any], depth: int = 0) -> str:
    model = models.get(model_id)
    if not isinstance(model, dict) or depth > 30:
        return ""
    name = str(model.get("model_name", ""))
    state = model.get("state", {}) or {}
    kids = [
        str(c)[len(_REF) :]
        for c in state.get("children", []) or []
        if str(c).startswith(_REF)
    ]
    classes = " ".join(html.escape(str(c)) for c in state.get("_dom_classes", []))
    if name in ("VBoxModel", "BoxModel", "GridBoxModel"):
        inner = "".join(_render(k, models, depth + 1) for k in kids)
        return f"<div>{inner}</div>"
    if name == "HBoxModel":
        shown = [x for x in (_render(k, models, depth + 1) for k in kids) if x]
        if len(shown) == 1:
            return shown[0]
        inner = "".join(f'<div style="flex:1 1 0;min-width:0">{x}</div>' for x in shown)
        return f'<div style="display:flex;gap:8px;align-items:flex-start">{inner}</div>'
    if name in ("TabModel", "AccordionModel", "StackModel"):
        titles = list(state.get("titles", []) or [])
        parts = []
        for i, k in enumerate(kids):
            title = titles[i] if i < len(titles) and titles[i] else f"part {i + 1}"
            body = _render(k, models, depth + 1)
            if body:
                parts.append(f"<h4>{html.escape(str(title))}</h4>{body}")
        return "".join(parts)
    if name in ("HTMLModel", "HTMLMathModel"):
        return str(state.get("value", ""))
    if name == "LabelModel":
        return f"<p>{html.escape(str(state.get('value', '')))}</p>"
    if name == "ImageModel":
        data = _png_of(model)
        if not data:
            return ""
        fmt = html.escape(str(state.get("format", "png")))
        return (
            f'<img class="{classes}" style="max-width:100%;height:auto" '
            f'src="data:image/{fmt};base64,{data}" alt="chart">'
        )
    if name in ("IntProgressModel", "FloatProgressModel"):
        value, top = state.get("value", 0), state.get("max", 100)
        return f'<progress value="{value}" max="{top}"></progress>'
    if name == "OutputModel":
        out = []
        for o in state.get("outputs", []) or []:
            data = o.get("data", {}) if isinstance(o, dict) else {}
            if "text/html" in data:
                out.append(str(data["text/html"]))
            elif "text/plain" in data:
                out.append(f"<pre>{html.escape(str(data['text/plain']))}</pre>")
            elif o.get("output_type") == "stream":
                out.append(f"<pre>{html.escape(str(o.get('text', '')))}</pre>")
        return "".join(out)
    return ""  # buttons, pickers, sliders: nothing to do on a page


def static_widgets(nb: Any, *, in_place: bool = False) -> Any:
    """``nb`` (a copy, unless ``in_place``) whose widget outputs are static HTML of
    their last saved state (or the widget's own ``text/html``), and without the
    widget state, so an exported page loads no widget manager from the network."""
    if not in_place:
        nb = copy.deepcopy(nb)
    models = _models(nb)
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data")
            if not isinstance(data, dict) or _VIEW not in data:
                continue
            view = data[_VIEW] or {}
            snapshot = _render(str(view.get("model_id", "")), models)
            if not snapshot:
                snapshot = str(data.get("text/html") or _MISSING)
            text = str(data.get("text/plain", ""))
            if text.startswith(("VBox(", "HBox(", "Tab(", "HTML(", "Image(")):
                text = "(a live view)"
            out["data"] = {"text/html": snapshot, "text/plain": text}
    widgets = nb.get("metadata", {}).get("widgets")
    if isinstance(widgets, dict):
        del nb["metadata"]["widgets"]
    return nb
