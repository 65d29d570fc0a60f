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
    # no MPLBACKEND: the kernel draws with the backend users get in a notebook
    env.pop("MPLBACKEND", None)
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
            # a workspace of its own: a second notebook opened in the same Lab does
            # not come back with the first one's tabs
            space = Path(notebook).stem
            page.goto(f"{base}/lab/workspaces/{space}/tree/{notebook}?{query}")
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


def set_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab to ``theme`` ("JupyterLab Light" or "JupyterLab Dark") and
    wait until the page says it is applied."""
    light = "true" if "Light" in theme else "false"
    page.evaluate(
        "t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})",
        theme,
    )
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=30_000
    )
    page.wait_for_timeout(500)  # the stylesheet swap settles


#: WCAG 2 contrast of every element matched by ``selector``: its text colour
#: against the first opaque background among it and its ancestors. Returns the
#: worst [ratio, description] (ratio 99 when nothing matches).
CONTRAST_JS = """
(selector) => {
  const parse = c => { const m = c.match(/[\\d.]+/g) || []; return m.map(Number); };
  const lum = ([r, g, b]) => { const f = v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bgOf = el => { for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c; }
    return [255, 255, 255]; };
  let worst = [99, 'nothing matched ' + selector];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.offsetParent || !el.textContent.trim()) continue;
    const fg = lum(parse(getComputedStyle(el).color)), bg = lum(bgOf(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < worst[0]) worst = [ratio, el.textContent.trim().slice(0, 40) +
      ' | ' + getComputedStyle(el).color + ' on ' + bgOf(el).join(',')];
  }
  return worst;
}
"""

#: Number cells whose text wraps onto more than one line: [count, examples].
WRAPPED_NUMBERS_JS = """
() => { const bad = [];
  for (const td of document.querySelectorAll('td.ssenb-num')) {
    if (!td.offsetParent || !td.textContent.trim()) continue;
    const r = document.createRange(); r.selectNodeContents(td);
    const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
    if (tops.size > 1) bad.push(td.textContent); }
  return [bad.length, bad.slice(0, 5)]; }
"""


def check_readable(page: Any, selectors: list[str], label: str) -> None:
    """Assert contrast >= 4.5:1 for ``selectors`` and no wrapped number cell."""
    for selector in selectors:
        assert page.locator(selector).count(), f"{label}: nothing matches {selector}"
        ratio, where = page.evaluate(CONTRAST_JS, selector)
        assert ratio >= 4.5, f"{label}: contrast {ratio:.2f} for {selector}: {where}"
    count, examples = page.evaluate(WRAPPED_NUMBERS_JS)
    assert count == 0, f"{label}: numbers broken over lines: {examples}"
