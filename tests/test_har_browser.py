"""A HAR recorded by a real Chromium (through Playwright) loads as a capture: a page
on the demo server's origin reads an LLM-style stream with fetch and POST."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _jupyterlab import CHROMIUM, CHROMIUM_ARGS

import ssenb

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PAGE = """<!doctype html><body><script>
fetch("/openai", {method: "POST", headers: {"content-type": "application/json"},
                  body: JSON.stringify({model: "m", stream: true})})
  .then(r => r.text()).then(t => { document.title = "read " + t.length; });
</script></body>"""


def test_chromium_har_of_a_fetch_stream_loads(tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    har = tmp_path / "session.har"
    with ssenb.demo_server(speed=20) as srv:
        direct = ssenb.capture(srv.url("openai"), until="[DONE]", progress=False)
        with playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                ctx = browser.new_context(
                    record_har_path=str(har), record_har_content="embed"
                )
                page = ctx.new_page()
                page.route(
                    srv.base_url + "/page",
                    lambda route: route.fulfill(body=PAGE, content_type="text/html"),
                )
                page.goto(srv.base_url + "/page")
                page.wait_for_function("document.title.startsWith('read ')")
                ctx.close()  # writes the HAR
            finally:
                browser.close()
    doc = json.loads(har.read_text(encoding="utf-8"))
    assert len(doc["log"]["entries"]) >= 2  # the page and the stream, at least
    cap = ssenb.load(har)
    assert cap.streams == ["POST /openai"]
    assert cap.events["data"].tolist() == direct.events["data"].tolist()
    assert cap.connections["status"].tolist() == [200]
    assert cap.meta["source"]["format"] == "har"
