"""The README's Python examples run as written, in order, the way a notebook user
types them: in a fresh folder (with the clone's ``data/``), each expression shown
(its repr and its rich display), and no warning at all: a DeprecationWarning from
our own README is a bug."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What the examples run: each top-level statement on its own, as a cell would; an
#: expression is shown as Jupyter shows it. Any warning fails the run.
RUNNER = r"""
import ast, sys, warnings
warnings.simplefilter("error")
ns = {"__name__": "__main__"}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as fh:
        src = fh.read()
    for node in ast.parse(src).body:
        if isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), path, "eval"), ns)
            repr(value)
            bundle = getattr(value, "_repr_mimebundle_", None)
            if callable(bundle):
                bundle()
        else:
            exec(compile(ast.Module([node], []), path, "exec"), ns)
    print("ran", path, flush=True)
"""


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.timeout(240)
def test_readme_python_examples_run_without_a_warning(tmp_path: Path) -> None:
    blocks = _python_blocks()
    assert len(blocks) >= 8
    # a cluster's scheduler address is the reader's own: that block shows Dask's API
    runnable = [b for b in blocks if "Client(" not in b]
    assert len(runnable) == len(blocks) - 1
    shutil.copytree(ROOT / "data", tmp_path / "data")
    # the HAR a reader exports from a browser: one ssenb wrote stands in for it
    setup = (
        "import ssenb\n"
        "ssenb.load('data/twitter.jsonl').save('session.har')\n"
        "import matplotlib\nmatplotlib.use('Agg')\n"
    )
    files = []
    for n, body in enumerate([setup, *runnable]):
        path = tmp_path / f"block{n:02d}.py"
        path.write_text(body, encoding="utf-8")
        files.append(path.name)
    run = subprocess.run(
        [sys.executable, "-c", RUNNER, *files],
        capture_output=True,
        text=True,
        timeout=220,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr == ""
    assert run.stdout.count("ran block") == len(files)
    assert "event greeting hello 1 8 35" in run.stdout  # the parser block's comment
    assert (tmp_path / "twitter.jsonl").is_file()
    assert (tmp_path / "twitter-stream.ipynb").is_file()
    assert (tmp_path / "run.har").is_file()
