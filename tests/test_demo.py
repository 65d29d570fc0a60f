"""``ssenb demo`` end to end: the real demo server on 127.0.0.1, every system recorded,
the report printed, the captures written and read back, nothing left running."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import ssenb
from ssenb import cli, demo
from ssenb.patterns import DIALECTS

FAST = ["--seconds", "5", "--speed", "200", "--no-progress"]


def _names_system(dialect_name: str, system: str) -> bool:
    """Whether the dialect ``dialect_name`` is ``system`` or names it as an alias."""
    for d in DIALECTS:
        if d.name == dialect_name:
            return system == d.name or system in d.aliases
    return False


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path, set]:
    out = tmp_path_factory.mktemp("demo") / "captures"
    before = set(threading.enumerate())
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["demo", "--out", str(out), *FAST])
    after = set(threading.enumerate())
    return rc, buf.getvalue(), out, after - before


def _overview_rows(text: str) -> dict[str, list[str]]:
    """The rows of the closing table, by system."""
    lines = text.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.split()[:2] == ["system", "dialect"]
    )
    rows = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells
    return rows


def test_demo_cli_names_every_system_with_its_dialect(cli_run) -> None:
    rc, text, _, _ = cli_run
    assert rc == 0
    rows = _overview_rows(text)
    assert list(rows) == list(demo.SYSTEMS)
    for system, cells in rows.items():
        assert _names_system(cells[1], system), (system, cells)
        assert re.search(
            rf"^== {re.escape(system)} =+ {re.escape(system)}\.jsonl ==$", text, re.M
        )
    assert "NOT this system" not in text


def test_demo_cli_lines_fit_a_terminal(cli_run) -> None:
    _, text, out, _ = cli_run
    lines = [line for line in text.splitlines() if str(out) not in line]
    assert not [line for line in lines if len(line) > 100]


def test_demo_cli_ends_with_how_to_open_the_notebooks(cli_run) -> None:
    _, text, _, _ = cli_run
    tail = text.rstrip().splitlines()[-5:]
    assert any(line.strip().startswith("jupyter lab ") for line in tail), tail


def test_demo_cli_files_load_back(cli_run) -> None:
    _, text, out, _ = cli_run
    rows = _overview_rows(text)
    for system in demo.SYSTEMS:
        cap = ssenb.load(out / f"{system}.jsonl")
        assert cap.rows_recovered == 0
        assert set(cap.events["stream"].astype(str)) == {system}
        assert int((cap.events["kind"] == "event").sum()) == int(rows[system][2])
        assert ssenb.patterns.dialect(cap).name == rows[system][1]
    index = (out / "index.md").read_text(encoding="utf-8")
    for system in demo.SYSTEMS:
        assert f"`{system}.jsonl`" in index
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{s}.jsonl" for s in demo.SYSTEMS] + ["index.md"]
    )


def test_demo_cli_leaves_no_thread_behind(cli_run) -> None:
    _, _, _, new_threads = cli_run
    assert not [t for t in new_threads if t.is_alive()]


def test_run_demo_saves_exactly_what_it_recorded(tmp_path: Path) -> None:
    result = demo.run_demo(tmp_path / "out", seconds=5, speed=200, progress=False)
    assert set(result.files) == set(demo.SYSTEMS)
    for name, path in result.files.items():
        cap = result.captures[name]
        back = ssenb.load(path)
        pd.testing.assert_frame_equal(back.events, cap.events)
        pd.testing.assert_frame_equal(back.connections, cap.connections)
        assert back.meta["url"].endswith(f"/{name}")
    twitter = result.summaries["twitter"]
    assert twitter.reconnects >= 1  # operational-disconnect, then a resume
    assert twitter.families["keepalive"] > 0
    text = result.text(80)
    folder = str(tmp_path / "out")
    assert max(len(x) for x in text.splitlines() if folder not in x) <= 80
    assert "ssenb.load(" in text
    nothing_written = dataclasses.replace(result, out=None, files={})
    assert "ssenb.load(" not in nothing_written.text(80)


def test_split_gives_one_capture_per_stream() -> None:
    with ssenb.demo_server(speed=200) as srv:
        cap = ssenb.capture_many(
            {"a": srv.url("openai", events=3), "b": srv.url("nginx", events=2)},
            until="[DONE]",
            duration=5,
            retry=0.01,
            progress=False,
        )
    parts = demo.split(cap)
    assert list(parts) == ["a", "b"]
    assert sum(len(p.events) for p in parts.values()) == len(cap.events)
    assert sum(len(p.connections) for p in parts.values()) == len(cap.connections)
    for name, part in parts.items():
        assert list(part.events["stream"].cat.categories) == [name]
        assert part.meta["streams"] == {name: cap.meta["streams"][name]}
        assert {k[0] for k in part.raw} == {name}


@pytest.mark.parametrize("bad", [["--seconds", "0"], ["--speed", "-1"]])
def test_demo_cli_rejects_a_bad_setting(bad: list[str], tmp_path: Path, capsys) -> None:
    assert cli.main(["demo", "--out", str(tmp_path / "x"), *bad]) == 2
    assert "must be positive" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_demo_ctrl_c_keeps_what_was_recorded(tmp_path: Path) -> None:
    # played in real time, the streams last minutes: Ctrl-C ends the recording, and
    # the demo goes on with what it has
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "ssenb", "demo", "--out", str(out), "--speed", "1"]
    proc = subprocess.Popen(
        [*cmd, "--seconds", "50", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Recording 10 systems")
        time.sleep(1.0)  # let a few events arrive
        proc.send_signal(signal.SIGINT)
        text, err = proc.communicate(timeout=40)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert list(_overview_rows(text)) == list(demo.SYSTEMS)
    assert "Still playing when the recording ended" in text
    assert ssenb.load(out / "openai.jsonl").connections["outcome"].astype(str).iloc[
        -1
    ] in {"stopped", "until"}
