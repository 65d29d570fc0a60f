"""Capture in a real Jupyter kernel (nbclient + ipykernel), where a loop is running:
blocking capture() with its progress widget, top-level ``await acapture()``, a
Recorder that keeps recording between cells, and capture_many on its own thread."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

CELLS = [
    f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
    "import time, ssenb\n"
    "from ssenb.server import demo_server\n"
    "server = demo_server()\n"
    "srv = server.__enter__()",
    "cap = ssenb.capture(srv.url('openai'), until='[DONE]')\n"
    "print('sync', cap.events['data'].iloc[-1], cap.connections['outcome'].tolist())",
    "cap2 = await ssenb.acapture(srv.url('openai'), until='[DONE]', progress=False)\n"
    "print('async', cap2.events['data'].iloc[-1])",
    "rec = ssenb.Recorder(srv.url('keepalive', loop=1)).start()",
    "deadline = time.monotonic() + 20\n"
    "while len(rec) < 3 and time.monotonic() < deadline:\n"
    "    time.sleep(0.05)\n"
    "print('between cells', rec.running, len(rec) >= 3)",
    "final = rec.stop()\n"
    "print('stopped', final.connections['outcome'].tolist(), rec.running)",
    "many = ssenb.capture_many({'a': srv.url('openai'), 'b': srv.url('control')},\n"
    "                          until='[DONE]', duration=20, progress=False)\n"
    "print('many', sorted(many.events['stream'].astype(str).unique()))\n"
    "server.__exit__(None, None, None)\n"
    "cap",
]


@pytest.mark.notebook
@pytest.mark.timeout(120)
def test_capture_in_a_real_kernel(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": tmp_path}},
    ).execute()
    text = ""
    for cell in nb.cells:
        for out in cell.outputs:
            assert out.output_type != "error", out
            if out.output_type == "stream":
                assert out.name == "stdout" or "Kernel" in out.text, out.text
                text += out.text
    assert "sync [DONE] ['until']" in text
    assert "async [DONE]" in text
    assert "between cells True True" in text
    assert "stopped ['stopped'] False" in text
    assert "many ['a', 'b']" in text
    progress = [o for o in nb.cells[1].outputs if o.output_type == "display_data"]
    assert progress, "capture() in a kernel shows a progress widget"
    last = nb.cells[-1].outputs[-1]
    assert last.output_type == "execute_result"
    assert "ssenb capture" in last.data["text/html"]
