"""Every notebook in notebooks/ is stored clean and runs to the end in a real kernel.

Clean: valid per nbformat, no outputs, no execution counts, no saved widget state.
Runs: nbclient executes it with a fresh ipykernel in a temporary folder; an error output
or a traceback on stderr fails the test (a background thread's exception only shows as
stderr text, and nbclient would otherwise call the run a success).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_stored_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "saved widget state: clear it before commit"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: strip them"
            assert cell.execution_count is None, f"cell {i} has an execution count"


def run_notebook(
    path: Path, workdir: Path, timeout: int = 120
) -> nbformat.NotebookNode:
    """Execute a notebook in ``workdir`` with a fresh kernel; fail on any error."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for extra in ("data",):
        if (ROOT / extra).is_dir() and not (workdir.parent / extra).exists():
            shutil.copytree(ROOT / extra, workdir.parent / extra)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    env["MPLBACKEND"] = "Agg"
    client.execute(env=env)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", (
                f"cell {i} raised {out.get('ename')}: {out.get('evalue')}"
            )
            if out.output_type == "stream" and out.name == "stderr":
                assert "Traceback" not in out.text, f"cell {i} stderr:\n{out.text}"
                # notebooks use the current names, not the ones kept for a release
                assert (
                    "DeprecationWarning" not in out.text or "ssenb" not in out.text
                ), f"cell {i} uses a deprecated ssenb name:\n{out.text}"
    return nb


@pytest.mark.notebook
@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    run_notebook(path, workdir)
    # notebooks a tutorial writes (ssenb.share.to_notebook) must be valid notebooks too
    for written in workdir.glob("*.ipynb"):
        nbformat.validate(nbformat.read(written, as_version=4))


def test_quickstart_ends_by_sharing_its_capture() -> None:
    nb = nbformat.read(ROOT / "notebooks" / "00-quickstart.ipynb", as_version=4)
    last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "ssenb.share.to_notebook(cap" in last_code.source
