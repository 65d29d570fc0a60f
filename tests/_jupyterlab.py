"""A real JupyterLab on 127.0.0.1 driven by Playwright with Debian's Chromium.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``, which
scripts/test installs from Debian packages. Outside CI a missing browser skips the
browser tests with the reason; under CI (``CI=true``) it fails them, so they are never
skipped silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skip (or, under CI, fail) when Chromium, Playwright or JupyterLab is missing."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Debian's chromium (apt-get install chromium)")
    for module in ("playwright", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"{module} (pip install -e '.[browser]')")
    if missing:
        message = "browser tests need " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + "; scripts/test installs them")
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def jupyterlab(root_dir: Path, startup_timeout: float = 60) -> Iterator[str]:
    """Start JupyterLab serving ``root_dir``; yield its URL with the token query."""
    port = _free_port()
    token = "ssenb-test"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    env["MPLBACKEND"] = "Agg"
    log = open(root_dir / "jupyterlab.log", "w")  # closed in the finally below
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--expose-app-in-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                if httpx.get(f"{base}/api/status?token={token}").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "JupyterLab did not start; log:\n"
                    + (root_dir / "jupyterlab.log").read_text()
                )
            time.sleep(0.1)
        yield f"{base}?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def write_notebook(path: Path, sources: list[str]) -> Path:
    """Write a notebook of code cells with a python3 kernelspec, so Lab asks nothing."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, path)
    return path


@contextmanager
def lab_page(base_with_token: str, notebook: str) -> Iterator[Any]:
    """Open ``notebook`` in JupyterLab in headless Chromium; wait for an idle kernel."""
    from playwright.sync_api import sync_playwright

    base, query = base_with_token.split("?", 1)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/lab/tree/{notebook}?{query}")
            page.wait_for_function(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell"
                ".currentWidget; const s = w && w.sessionContext && w.sessionContext"
                ".session; return s && s.kernel && s.kernel.status === 'idle'; }",
                timeout=60_000,
            )
            yield page
        finally:
            browser.close()


def run_all_cells(page: Any) -> None:
    """Run every cell of the open notebook (JupyterLab's own command)."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def screenshot(page: Any, name: str) -> Path:
    """Keep a screenshot as a test artifact in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
