"""A LiveFeed in a real kernel (nbclient + ipykernel): the widget state saved in the
notebook is the final state, pushed from the cell that waited for the end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

CELLS = [
    "import ssenb\nsrv = ssenb.demo_server()\n"
    'feed = ssenb.widgets.LiveFeed(srv.url("progress"), reconnect=False)\nfeed',
    "feed.wait(60)\nprint(feed.status['records'], feed.renders)",
    f"ssenb.Explorer(ssenb.load({str(ROOT / 'data' / 'twitter.jsonl')!r}))",
]


@pytest.mark.notebook
@pytest.mark.timeout(150)
def test_saved_widget_state_is_the_final_state(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    env["MPLBACKEND"] = "Agg"
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env)
    for cell in nb.cells:
        for out in cell.outputs:
            assert out.output_type != "error", out
            if out.output_type == "stream":
                assert "Traceback" not in out.text, out.text
    printed = nb.cells[1].outputs[0].text.split()
    records, renders = int(printed[0]), int(printed[1])
    assert records > 50  # the progress scenario's whole stream
    assert renders >= 1
    # the feed's widget is what the first cell displayed
    view = nb.cells[0].outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
    models = state["state"]
    assert view["model_id"] in models
    texts = [
        m["state"].get("value", "")
        for m in models.values()
        if m["model_name"] == "HTMLModel"
    ]
    status = [t for t in texts if "ssenb-status" in t]
    assert len(status) == 1
    assert f"({records:,} records)" in status[0]
    assert "stopped" in status[0]
    json.dumps(state)  # the saved state is plain JSON

    # exported, every widget is its last state as static HTML, never a repr
    from ssenb.share import to_html

    page = to_html(nb, tmp_path / "page.html").read_text(encoding="utf-8")
    assert "VBox(" not in page and "HBox(" not in page
    assert "application/vnd.jupyter.widget-view+json" not in page
    assert "unpkg.com" not in page and "jsdelivr" not in page
    assert f"({records:,} records)" in page and "stopped" in page
    assert "Heartbeats every 20 seconds" in page  # Explorer's payload column
    assert 'src="data:image/png;base64,' in page  # its timeline, inline
    # the widgets' own bundles carry a static copy and a readable text
    explorer = nb.cells[2].outputs[0]["data"]
    assert explorer["text/plain"].startswith("<Explorer ")
    assert "ssenb-table" in explorer["text/html"]
