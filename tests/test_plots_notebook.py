"""In a real kernel with matplotlib's default notebook backend, each plot shows once:
``plot_overview`` returns a figure that displays as one image, and a ``plot_*`` called
without axes shows its new figure at the end of the cell, as pandas plots do."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

SETUP = """\
import numpy as np
import ssenb
raw = b"data: a\\n\\n: ping\\n\\nevent: x\\ndata: b\\n\\n" * 20
events = ssenb.frames.read_sse(raw)
events["elapsed"] = np.arange(len(events)) * 0.5
"""


@pytest.mark.notebook
@pytest.mark.timeout(120)
def test_each_plot_shows_exactly_once_in_a_kernel(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell("ssenb.plots.plot_overview(events)"),
        nbformat.v4.new_code_cell("ssenb.plots.plot_timeline(events)"),
        nbformat.v4.new_code_cell("ax = ssenb.plots.plot_types(events)"),
    ]
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the backend a user's kernel has
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    client = NotebookClient(
        nb,
        timeout=100,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env)
    images = []
    for cell in nb.cells[1:]:
        outs = cell.outputs
        assert not [o for o in outs if o.output_type == "error"], outs
        images.append(sum("image/png" in o.get("data", {}) for o in outs))
    assert images == [1, 1, 1]
