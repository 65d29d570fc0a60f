"""The README's commands work after the README's install: a fresh venv (no system
packages) with only ``pip install -e .`` runs ``ssenb notebook ... --execute --html``,
which needs a kernel (ipykernel) and a driver (nbclient) as base dependencies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _copy_checkout(dest: Path) -> None:
    """The files a fresh clone has that the install and the command use."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "ssenb",
        dest / "ssenb",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    (dest / "data").mkdir()
    shutil.copy2(ROOT / "data" / "twitter.jsonl", dest / "data" / "twitter.jsonl")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_readme_notebook_command_runs_after_a_plain_install(tmp_path: Path) -> None:
    checkout = tmp_path / "clone"
    checkout.mkdir()
    _copy_checkout(checkout)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(
        env_dir
    )
    python = env_dir / "bin" / "python"
    home = tmp_path / "home"  # no user kernelspecs or configuration leak in
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV", "IPYTHON"))
    }
    env |= {"HOME": str(home), "XDG_CACHE_HOME": str(Path.home() / ".cache")}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-e", "."],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    where = subprocess.run(
        [str(python), "-c", "import ssenb, sys; print(ssenb.__file__, sys.prefix)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert str(checkout) in where.stdout and str(env_dir) in where.stdout
    run = subprocess.run(
        [
            str(env_dir / "bin" / "ssenb"),
            "notebook",
            "data/twitter.jsonl",
            "--execute",
            "--html",
            "out.html",
        ],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    page = (checkout / "out.html").read_text(encoding="utf-8")
    assert "twitter" in page.lower()
    nb = json.loads((checkout / "data" / "twitter.ipynb").read_text())
    assert any(cell.get("outputs") for cell in nb["cells"]), "not executed"
