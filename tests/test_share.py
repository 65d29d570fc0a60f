"""Shared notebooks: ``ssenb.share.to_notebook`` and ``ssenb notebook``.

What runs where (the file stays under a minute on a loaded 2-core machine):

- Every demo-server scenario (17) and every recorded real stream (12, skipped when
  ``shared/data-real`` is absent) gets the cheap checks: the notebook is valid, has
  the sections its capture calls for and a plot cell, is the same file when written
  twice, and its embedded capture round-trips.
- Two notebooks are executed by a real kernel in an empty folder (a kernel run costs
  about ten seconds here): the real OpenRouter stream (keep-alive comments, an error
  inside the data, an LLM token stream, no arrival times) and a hostile stream over
  two connections (markup in types, data and comments, a token and an Authorization
  header; heartbeat, event-type and connection plots), which is also exported to
  HTML and opened in headless Chromium.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from _sse_script import Reply, serve
from _streams import data_real

import ssenb
from ssenb.cli import main
from ssenb.errors import CaptureFileError
from ssenb.server.scenarios import SCENARIOS as ALL_SCENARIOS
from ssenb.share import DATA_TAG, execute_notebook, to_html, unpack

REAL = data_real()
REAL_FILES = sorted(REAL.glob("*.sse")) if REAL else []
SCENARIOS = list(ALL_SCENARIOS)

SECRET_TOKEN = "tok-5ecret-q7"
SECRET_BEARER = "bearer-5ecret-z9"
MARKUP = ['<script>alert("ssenb-xss")</script>', "<img src=x onerror=alert(2)>"]


# -- captures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_captures() -> dict[str, Any]:
    """One short capture of every scenario, recorded side by side."""
    with ssenb.demo_server() as srv:
        assert sorted(srv.scenarios) == sorted(SCENARIOS)

        def record(name: str) -> Any:
            return ssenb.capture(srv.url(name), duration=2, progress=False)

        with ThreadPoolExecutor(len(SCENARIOS)) as pool:
            caps = list(pool.map(record, SCENARIOS))
    return dict(zip(SCENARIOS, caps, strict=True))


def real_capture(path: Path) -> Any:
    """A recorded real stream as a Capture: its frame, and its bytes as raw."""
    data = path.read_bytes()
    return ssenb.Capture(
        ssenb.frames.read_sse(data),
        meta={"url": f"file:{path.name}"},
        raw={("", 1): [(0.0, data)]},
    )


HOSTILE = [
    Reply(
        [
            b"retry: 50\n\n",
            (0.05, b": <b>bold comment</b>\n\n"),
            (
                0.05,
                b"event: <img src=x onerror=alert(2)>\ndata: "
                b'<script>alert("ssenb-xss")</script>\nid: 1\n\n',
            ),
            (0.05, b'event: error\ndata: {"message": "<i>$x$</i> *boom*"}\n\n'),
            (0.05, b'data: {"html": "<script>alert(\\"ssenb-xss\\")</script>"}\n\n'),
            (0.05, b"\n"),
            (0.05, b'data: <script>alert("ssenb-xss")</script>\n\n'),
        ]
    )
]


@pytest.fixture(scope="module")
def hostile_capture() -> Any:
    """Markup in event types, data and comments; a token in the query and an
    Authorization header; recorded with redact=False, so to_notebook must redact."""
    with serve({"/s": HOSTILE}) as (base, _):
        return ssenb.capture(
            f"{base}/s?topic=news&token={SECRET_TOKEN}",
            headers={"Authorization": f"Bearer {SECRET_BEARER}"},
            max_reconnects=1,
            duration=3,
            redact=False,
            progress=False,
        )


# -- helpers ----------------------------------------------------------------------


def expected_sections(cap: Any) -> set[str]:
    ev = cap.events
    found = ssenb.patterns.dialect(ev)
    out = {"summary", "capture", "dialect", "wire", "families", "lint", "live"}
    out.add("look-for")
    if (ev["kind"] == "event").any():
        out.add("event-types")
    if len(cap.connections) >= 2:
        out.add("reconnects")
    if found.token_stream:
        out.add("llm")
    return out


def sections_of(nb: Any) -> set[str]:
    tags = {t for c in nb.cells for t in c.metadata.get("tags", [])}
    return {t.removeprefix("ssenb-") for t in tags if t != DATA_TAG}


def embedded(nb: Any) -> str:
    (cell,) = [c for c in nb.cells if DATA_TAG in c.metadata.get("tags", [])]
    match = re.search(r'"""(.*?)"""', cell.source, re.S)
    assert match, "the capture cell holds no triple-quoted text"
    return match.group(1)


def check_cheap(cap: Any, tmp_path: Path) -> None:
    path = tmp_path / "shared.ipynb"
    nb = ssenb.share.to_notebook(cap, path)
    nbformat.validate(nbformat.read(path, as_version=4))
    assert sections_of(nb) >= expected_sections(cap)
    assert any("ssenb.plots.plot_" in c.source for c in nb.cells)
    again = ssenb.share.to_notebook(cap)
    assert nbformat.writes(again) == nbformat.writes(nbformat.read(path, as_version=4))
    back = ssenb.Capture(**unpack(embedded(nb)))
    pd.testing.assert_frame_equal(
        back.events.reset_index(drop=True), cap.events.reset_index(drop=True)
    )
    if len(cap.connections):  # (a frame without any gets one inferred row)
        assert len(back.connections) == len(cap.connections)
    assert back.raw == cap.raw


def outputs(nb: Any) -> list[Any]:
    return [o for c in nb.cells for o in c.get("outputs", [])]


def check_executed(nb: Any, cap: Any) -> None:
    for out in outputs(nb):
        assert out.output_type != "error", f"{out.get('ename')}: {out.get('evalue')}"
        if out.output_type == "stream" and out.name == "stderr":
            assert "Traceback" not in out.text, out.text
    nbformat.validate(nb)
    assert sections_of(nb) >= expected_sections(cap)
    assert sum("image/png" in o.get("data", {}) for o in outputs(nb)) >= 1
    # the live cell's static summary: the replay delivered what was recorded
    last_live = [c for c in nb.cells if "ssenb-live" in c.metadata.get("tags", [])][-1]
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in last_live.outputs)
    events = int((cap.events["kind"] == "event").sum())
    assert f"({events} events)" in shown or f"{events} events" in shown, shown


# -- cheap checks over every scenario and real stream -------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_to_notebook_demo_scenario(
    name: str, demo_captures: dict[str, Any], tmp_path: Path
) -> None:
    check_cheap(demo_captures[name], tmp_path)


@pytest.mark.skipif(REAL is None, reason="shared/data-real is not here")
@pytest.mark.parametrize("path", REAL_FILES, ids=[p.stem for p in REAL_FILES])
def test_to_notebook_real_stream(path: Path, tmp_path: Path) -> None:
    check_cheap(real_capture(path), tmp_path)


def test_to_notebook_from_a_capture_file_is_the_same_notebook(
    demo_captures: dict[str, Any], tmp_path: Path
) -> None:
    cap = demo_captures["github-actions"]
    saved = cap.save(tmp_path / "gh.jsonl.gz")
    assert nbformat.writes(ssenb.share.to_notebook(saved)) == nbformat.writes(
        ssenb.share.to_notebook(cap)
    )


def test_to_notebook_writes_a_big_capture_beside_the_notebook(
    demo_captures: dict[str, Any], tmp_path: Path
) -> None:
    cap = demo_captures["analytics"]
    nb = ssenb.share.to_notebook(cap, tmp_path / "big.ipynb", embed_limit=100)
    beside = tmp_path / "big.capture.jsonl.gz"
    assert beside.is_file()
    assert not [c for c in nb.cells if DATA_TAG in c.metadata.get("tags", [])]
    assert any("ssenb.load('big.capture.jsonl.gz')" in c.source for c in nb.cells)
    back = ssenb.load(beside)
    pd.testing.assert_frame_equal(back.events, cap.events)


def test_to_notebook_empty_capture_says_so(tmp_path: Path) -> None:
    nb = ssenb.share.to_notebook(ssenb.Capture(), tmp_path / "empty.ipynb")
    nbformat.validate(nb)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "This capture is empty" in text
    assert "ssenb-wire" not in {t for c in nb.cells for t in c.metadata.get("tags", [])}


def test_embedding_and_unpacking_make_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capture goes into the notebook and back out in memory: no temporary
    file or folder is made (each maker raises, and the temp folder stays empty)."""
    import tempfile

    data = b'retry: 10\n\nevent: tick\nid: 1\ndata: {"n": 1}\n\n: ping\n\n'
    cap = ssenb.Capture(
        ssenb.frames.read_sse(data),
        meta={"url": "http://h/s"},
        raw={("", 1): [(0.0, data)]},
    )
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a temporary file was made")

    for name in (
        "TemporaryDirectory",
        "NamedTemporaryFile",
        "TemporaryFile",
        "SpooledTemporaryFile",
        "mkstemp",
        "mkdtemp",
        "mktemp",
    ):
        monkeypatch.setattr(tempfile, name, refuse)
    nb = ssenb.share.to_notebook(cap)
    back = ssenb.Capture(**unpack(embedded(nb)))
    pd.testing.assert_frame_equal(back.events, cap.events)
    assert back.raw == cap.raw and back.meta == cap.meta
    page = to_html(nb, tmp_path / "page.html").read_text()  # its template from memory
    assert "Last-Event-ID" in page and embedded(nb).split()[0] not in page
    assert "require.js" not in page and "mathjax" not in page.lower()
    assert list(temp.iterdir()) == []


def test_unpack_of_damaged_text_names_the_embedded_capture() -> None:
    import base64
    import gzip

    text = base64.b64encode(gzip.compress(b"data: not a capture\n\n")).decode()
    with pytest.raises(CaptureFileError, match="^<embedded capture>, line 1: not an"):
        unpack(text)
    with pytest.raises(CaptureFileError, match="not base64"):
        unpack("!!!")


def test_to_notebook_rejects_a_file_that_is_not_a_capture(tmp_path: Path) -> None:
    bad = tmp_path / "notes.jsonl"
    bad.write_text("hello\n")
    with pytest.raises(CaptureFileError):
        ssenb.share.to_notebook(bad)
    with pytest.raises(CaptureFileError, match="no such capture file"):
        ssenb.share.to_notebook(tmp_path / "missing.jsonl.gz")
    with pytest.raises(TypeError, match="Capture or an events DataFrame"):
        ssenb.share.to_notebook(42)


def test_to_notebook_does_not_overwrite_unless_asked(
    demo_captures: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "n.ipynb"
    out.write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ssenb.share.to_notebook(demo_captures["nginx"], out)
    assert out.read_text() == "mine"
    ssenb.share.to_notebook(demo_captures["nginx"], out, overwrite=True)
    nbformat.validate(nbformat.read(out, as_version=4))


def test_cli_notebook(
    demo_captures: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    saved = demo_captures["play"].save(tmp_path / "play.jsonl")
    assert main(["notebook", str(saved)]) == 0
    written = tmp_path / "play.ipynb"
    nbformat.validate(nbformat.read(written, as_version=4))
    assert main(["notebook", str(saved), "-o", str(written)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["notebook", str(saved), "-o", str(written), "--force"]) == 0
    bad = tmp_path / "x.jsonl"
    bad.write_text("{}\n")
    assert main(["notebook", str(bad), "-o", str(tmp_path / "x.ipynb")]) == 1


# -- executed by a real kernel ----------------------------------------------------


@pytest.mark.notebook
@pytest.mark.timeout(120)
@pytest.mark.skipif(REAL is None, reason="shared/data-real is not here")
def test_executed_real_llm_notebook(tmp_path: Path) -> None:
    assert REAL is not None
    cap = real_capture(REAL / "openrouter-keepalive-comments-midstream-error.sse")
    nb = ssenb.share.to_notebook(cap, tmp_path / "openrouter.ipynb", execute=True)
    check_executed(nb, cap)
    assert "llm" in sections_of(nb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["openrouter.ipynb"]


@pytest.fixture(scope="module")
def hostile_outputs(hostile_capture: Any, tmp_path_factory: Any) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    nb = ssenb.share.to_notebook(hostile_capture, folder / "hostile.ipynb")
    # executed apart from to_notebook, as a user would run what they received
    ran = execute_notebook(
        nbformat.read(folder / "hostile.ipynb", as_version=4), folder
    )
    check_executed(ran, ssenb.Capture(**unpack(embedded(nb))))
    nbformat.write(ran, folder / "hostile-run.ipynb")
    html = to_html(ran, folder / "hostile.html")
    return folder, html


@pytest.mark.notebook
@pytest.mark.timeout(120)
def test_secrets_and_markup_never_reach_the_notebook_or_html(
    hostile_capture: Any, hostile_outputs: tuple[Path, Path]
) -> None:
    # the capture itself holds the secrets (recorded with redact=False)
    assert SECRET_TOKEN in hostile_capture.meta["url"]
    assert any(MARKUP[0] in str(d) for d in hostile_capture.events["data"])
    folder, html = hostile_outputs
    nb = nbformat.read(folder / "hostile.ipynb", as_version=4)
    back = ssenb.Capture(**unpack(embedded(nb)))
    decoded = json.dumps(back.meta) + back.connections.astype(str).to_csv()
    files = [p.read_text(encoding="utf-8") for p in folder.iterdir()]
    for text in [*files, decoded]:
        assert SECRET_TOKEN not in text
        assert SECRET_BEARER not in text
    ran = nbformat.read(folder / "hostile-run.ipynb", as_version=4)
    htmls = [
        o["data"]["text/html"] for o in outputs(ran) if "text/html" in o.get("data", {})
    ]
    assert htmls
    markdown = [c.source for c in ran.cells if c.cell_type == "markdown"]
    page = html.read_text(encoding="utf-8")
    # self-contained: nothing fetched (no CDN script, stylesheet or image)
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    for text in [*htmls, *markdown, page]:
        for raw in [*MARKUP, "<b>bold comment</b>", "<i>$x$</i>"]:
            assert raw not in text


@pytest.mark.browser
@pytest.mark.notebook
@pytest.mark.timeout(120)
def test_html_export_opens_in_chromium_with_its_plots(
    hostile_outputs: tuple[Path, Path],
) -> None:
    from _jupyterlab import CHROMIUM, CHROMIUM_ARGS, require_browser, screenshot

    require_browser()
    from playwright.sync_api import sync_playwright

    _, html = hostile_outputs
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 2400})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.route(re.compile(r"^https?://"), lambda route: route.abort())
            page.goto(html.as_uri(), wait_until="load")
            shown = page.evaluate(
                "() => Array.from(document.images).filter(i => i.complete && "
                "i.naturalWidth > 100 && i.getBoundingClientRect().width > 100).length"
            )
            heading = page.locator("h2", has_text="Heartbeats").count()
            screenshot(page, "share-html-export")
            page.locator("img").first.scroll_into_view_if_needed()
            screenshot(page, "share-html-export-plots")
        finally:
            browser.close()
    assert shown >= 2
    assert heading == 1
    assert dialogs == []
