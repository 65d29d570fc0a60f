"""Real-browser checks: JupyterLab in headless Chromium shows what the kernel sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._jupyterlab import (
    jupyterlab,
    lab_page,
    require_browser,
    run_all_cells,
    screenshot,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_widget_updated_from_a_thread_renders_in_jupyterlab(tmp_path: Path) -> None:
    # ssenb's live views rest on this: a core widget changed from a background thread
    # reaches the page (NOTEBOOKS.md R1).
    require_browser()
    write_notebook(
        tmp_path / "thread.ipynb",
        [
            "import threading, time\nimport ipywidgets as w\n"
            "h = w.HTML('start')\n"
            "def tick():\n"
            "    for i in range(20):\n"
            "        h.value = f'<b>tick {i}</b>'\n"
            "        time.sleep(0.02)\n"
            "threading.Thread(target=tick).start()\nh",
        ],
    )
    with jupyterlab(tmp_path) as base, lab_page(base, "thread.ipynb") as page:
        run_all_cells(page)
        page.wait_for_selector("text=tick 19", timeout=30_000)
        assert screenshot(page, "widget-thread").stat().st_size > 0
