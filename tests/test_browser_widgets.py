"""Real-browser check of the live views: JupyterLab in headless Chromium shows a
LiveFeed's records arriving from the demo server, and its chart image."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests._jupyterlab import (
    check_readable,
    jupyterlab,
    lab_page,
    require_browser,
    run_all_cells,
    screenshot,
    set_theme,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

SETUP = """\
import ssenb

srv = ssenb.demo_server()
"""
# The analytics dashboard at a tenth of real time: about three records a second.
FEED = """\
feed = ssenb.watch(srv.url("analytics", speed=10), reconnect=False)
feed
"""


def _records_shown(page) -> int:  # type: ignore[no-untyped-def]
    text = page.inner_text(".ssenb-status")
    found = re.search(r"\(([\d,]+) records\)", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_livefeed_shows_records_arriving_and_a_chart(tmp_path: Path) -> None:
    require_browser()
    write_notebook(tmp_path / "live.ipynb", [SETUP, FEED])
    with jupyterlab(tmp_path) as base, lab_page(base, "live.ipynb") as page:
        run_all_cells(page)
        page.wait_for_selector(".ssenb-status", timeout=60_000)
        page.wait_for_function(
            "() => /[1-9][\\d,]* records/.test("
            "document.querySelector('.ssenb-status').innerText)",
            timeout=30_000,
        )
        first = _records_shown(page)
        page.wait_for_timeout(1500)
        later = _records_shown(page)
        assert later > first > 0, (first, later)
        # the table shows records (newest first) and the chart is a PNG image
        assert page.locator(".ssenb-table tbody tr").count() >= 2
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-OutputArea img')]"
            ".some(i => i.naturalWidth > 400)",
            timeout=30_000,
        )
        assert "open" in page.inner_text(".ssenb-status")
        news = page.get_by_role("button", name="No")  # JupyterLab's news prompt
        if news.count():
            news.first.click()
        assert screenshot(page, "livefeed").stat().st_size > 10_000
        page.locator(".jp-OutputArea img").last.scroll_into_view_if_needed()
        assert screenshot(page, "livefeed-chart").stat().st_size > 10_000

        # the dark theme: the feed's cells, chips and JSON pane stay readable, and
        # the chart is not a white box
        set_theme(page, "JupyterLab Dark")
        check_readable(
            page,
            [".ssenb-table td", ".ssenb-counters span", ".ssenb-json"],
            "live feed, dark",
        )
        chart = page.locator("img.ssenb-chart").last
        assert "invert" in chart.evaluate("i => getComputedStyle(i).filter")
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        assert screenshot(page, "livefeed-dark").stat().st_size > 10_000
        set_theme(page, "JupyterLab Light")
