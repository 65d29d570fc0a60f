"""What a person sees, in a real JupyterLab (headless Chromium), light and dark:
the quickstart, the Explorer, the report page and a shared notebook's HTML export
(and JupyterLab's dark high-contrast theme for the notebook views).

No MPLBACKEND is set: the kernel draws with the backend a notebook user gets.
Screenshots are kept in test-artifacts/ to be looked at; the assertions read the
DOM: text against its background (WCAG 4.5:1) for table cells, chips and the JSON
pane, no number broken over two lines, and no widget repr on an exported page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._jupyterlab import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    check_readable,
    jupyterlab,
    lab_page,
    require_browser,
    run_all_cells,
    screenshot,
    set_theme,
    write_notebook,
)

pytestmark = [pytest.mark.browser]

DATA = ROOT / "data"
THEMES = (
    ("light", "JupyterLab Light"),
    ("dark", "JupyterLab Dark"),
    ("high-contrast", "JupyterLab Dark High Contrast"),
)
CELLS = ".ssenb-table td, .ssenb-table th"
CHIPS = ".ssenb-counters span"
JSON = ".ssenb-json"


@pytest.mark.timeout(240)
def test_explorer_and_quickstart_read_well_in_light_and_dark(tmp_path: Path) -> None:
    require_browser()
    shutil.copy(ROOT / "notebooks" / "00-quickstart.ipynb", tmp_path / "quick.ipynb")
    write_notebook(
        tmp_path / "explore.ipynb",
        [
            f"import ssenb\ncap = ssenb.load({str(DATA / 'twitter.jsonl')!r})\ncap",
            "ex = ssenb.Explorer(cap)\nex",
        ],
    )
    with jupyterlab(tmp_path) as base:
        with lab_page(base, "explore.ipynb") as page:
            run_all_cells(page)
            page.wait_for_selector(".ssenb-json", timeout=60_000)
            page.wait_for_selector("select", timeout=30_000)
            # clicking a row of the record list shows that record
            options = page.locator(".widget-select select option")
            options.nth(3).click()
            page.wait_for_function(
                "() => document.querySelector('.ssenb-record').innerText"
                ".includes('# ')",
                timeout=10_000,
            )
            for name, theme in THEMES:
                set_theme(page, theme)
                check_readable(page, [CELLS, CHIPS, JSON], f"explorer {name}")
                page.locator(".ssenb-json").scroll_into_view_if_needed()
                page.wait_for_timeout(1000)  # the notebook renders what scrolled in
                assert screenshot(page, f"explorer-{name}").stat().st_size > 10_000
            set_theme(page, "JupyterLab Light")
        with lab_page(base, "quick.ipynb") as page:
            run_all_cells(page)
            try:
                page.wait_for_function(
                    "() => document.querySelectorAll('.jp-OutputArea img').length >= 2",
                    timeout=120_000,
                )
            except Exception:
                screenshot(page, "quickstart-failed")
                errors = page.eval_on_selector_all(
                    "[data-mime-type='application/vnd.jupyter.stderr']",
                    "els => els.map(e => e.innerText.slice(0, 500))",
                )
                raise AssertionError(f"quickstart did not finish: {errors}") from None
            page.wait_for_selector(".ssenb-report", timeout=60_000)
            for name, theme in THEMES:
                set_theme(page, theme)
                check_readable(page, [CELLS], f"quickstart {name}")
                page.locator(".ssenb-report").first.scroll_into_view_if_needed()
                page.wait_for_timeout(1000)  # the notebook renders what scrolled in
                assert screenshot(page, f"quickstart-{name}").stat().st_size > 10_000
                # the overview figure as the inline backend draws it (no Agg)
                figure = page.locator(".jp-OutputArea-output img.ssenb-chart").first
                figure.scroll_into_view_if_needed()
                page.wait_for_timeout(1000)
                width = figure.evaluate("i => i.naturalWidth")
                assert 500 < width <= 1100, width  # sized for a notebook column
                # never a white box on a dark page
                inverted = "invert" in figure.evaluate(
                    "i => getComputedStyle(i).filter"
                )
                assert inverted == (name != "light")
                assert screenshot(page, f"overview-{name}").stat().st_size > 10_000
            set_theme(page, "JupyterLab Light")


def _open(path: Path, scheme: str, width: int = 1180):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page(
        viewport={"width": width, "height": 1400}, color_scheme=scheme
    )
    page.goto(path.as_uri())
    return pw, browser, page


@pytest.mark.timeout(120)
def test_report_page_reads_well_in_light_and_dark(tmp_path: Path) -> None:
    require_browser()
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "ssenb", "report", str(DATA / "twitter.jsonl"),
         "--html", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for scheme in ("light", "dark"):
        pw, browser, page = _open(out, scheme, width=1600)
        try:
            page.evaluate(
                "document.querySelectorAll('details').forEach(d => d.open = true)"
            )
            check_readable(page, [CELLS, ".ssenb-note", ".ssenb-warning"], scheme)
            assert page.locator("figure img").evaluate("i => i.naturalWidth") > 400
            width = page.locator("main").evaluate("m => m.clientWidth")
            assert width <= 1200  # a readable column, not the whole 1600 px window
            assert screenshot(page, f"report-{scheme}").stat().st_size > 10_000
        finally:
            browser.close()
            pw.stop()


@pytest.mark.timeout(240)
def test_shared_notebook_page_shows_no_widget_repr(tmp_path: Path) -> None:
    require_browser()
    import ssenb

    cap = ssenb.load(DATA / "github-actions.jsonl")
    nb = ssenb.share.to_notebook(cap, tmp_path / "shared.ipynb", execute=True)
    page_path = ssenb.share.to_html(nb, tmp_path / "shared.html")
    for scheme in ("light", "dark"):
        pw, browser, page = _open(page_path, scheme)
        try:
            text = page.inner_text("body")
            for repr_start in ("VBox(", "HBox(", "Tab(children", "Image(value"):
                assert repr_start not in text
            assert "application/vnd.jupyter.widget-view+json" not in page.content()
            live = page.locator(".ssenb-status")
            assert live.count() >= 1  # the live cell as its last state
            check_readable(page, [CELLS], f"shared {scheme}")
            live.first.scroll_into_view_if_needed()
            assert screenshot(page, f"shared-html-{scheme}").stat().st_size > 10_000
        finally:
            browser.close()
            pw.stop()
