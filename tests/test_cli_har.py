"""A HAR file on the command line, run as a user runs it (a subprocess): ``replay``,
``report``, ``notebook`` and ``inspect`` take the HAR that ``Capture.save`` writes
from a real recording, as they take any capture file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import ssenb
from ssenb._inputs import sniff

ROOT = Path(__file__).resolve().parent.parent


def ssenb_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssenb", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def har(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssenb.Capture]:
    """A real recording of the demo server (three connections, one of them a 204),
    saved as HAR."""
    tmp = tmp_path_factory.mktemp("har")
    with ssenb.demo_server(speed=1000) as srv:
        cap = ssenb.capture(srv.url("twitter"), duration=30)
    assert len(cap.connections) >= 2 and cap.raw
    path = cap.save(tmp / "run.har")
    assert json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
    return path, cap


def test_sniff_tells_a_har(har: tuple[Path, ssenb.Capture], tmp_path: Path) -> None:
    assert sniff(str(har[0])) == "har"
    chrome = tmp_path / "chrome.har"  # how browsers lay it out: "log" on line 2
    chrome.write_text('{\n  "log": {\n    "version": "1.2",\n    "entries": []}}\n')
    assert sniff(str(chrome)) == "har"
    other = tmp_path / "other.json"
    other.write_text('{"name": "not a har"}\n')
    with pytest.raises(Exception, match="does not look like an event stream"):
        sniff(str(other))


def test_report_of_a_har(har: tuple[Path, ssenb.Capture]) -> None:
    path, cap = har
    run = ssenb_cli("report", path.name, cwd=path.parent)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # ssenb's own HAR: no note about missing bodies
    assert "SSE capture report" in run.stdout
    events = int((cap.events["kind"] == "event").sum())
    assert f"{events} events" in run.stdout
    assert "Twitter" in run.stdout


def test_inspect_of_a_har_shows_each_connection(
    har: tuple[Path, ssenb.Capture],
) -> None:
    path, cap = har
    run = ssenb_cli("inspect", path.name, cwd=path.parent)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    headings = [line for line in run.stdout.splitlines() if line.startswith("-- ")]
    assert len(headings) == len(cap.raw)
    records = len(cap.events)
    size = sum(len(c) for chunks in cap.raw.values() for _t, c in chunks)
    assert f"{records} records in {size} bytes" in run.stdout


def test_inspect_of_a_capture_without_raw_bytes_says_what_to_do(
    har: tuple[Path, ssenb.Capture],
) -> None:
    path, cap = har
    bare = ssenb.Capture(cap.events, cap.connections, cap.meta)
    bare.save(path.parent / "bare.jsonl")
    run = ssenb_cli("inspect", "bare.jsonl", cwd=path.parent)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "ssenb inspect: bare.jsonl is an ssenb capture without the raw bytes of its "
        "streams, not a raw event stream: look at it with ssenb report bare.jsonl"
    ]


def test_notebook_of_a_har(har: tuple[Path, ssenb.Capture]) -> None:
    path, _cap = har
    run = ssenb_cli("notebook", path.name, "--force", cwd=path.parent)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "wrote run.ipynb"
    nb = json.loads((path.parent / "run.ipynb").read_text(encoding="utf-8"))
    assert any("Twitter" in "".join(c["source"]) for c in nb["cells"])


def test_replay_of_a_har(har: tuple[Path, ssenb.Capture]) -> None:
    path, cap = har
    proc = subprocess.Popen(
        [sys.executable, "-m", "ssenb", "replay", path.name]
        + ["--port", "0", "--speed", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=path.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("replaying run.har"), lines
        base = lines[1].split(" on ", 1)[1].split()[0].rstrip("/")
        first = httpx.get(base + "/replay", timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    stream, conn = sorted(cap.raw)[0]
    assert first.content == b"".join(c for _t, c in cap.raw[(stream, conn)])


@pytest.mark.parametrize("command", ["report", "inspect", "notebook", "replay"])
def test_json_that_is_no_har_gets_one_line(
    har: tuple[Path, ssenb.Capture], command: str
) -> None:
    path, _cap = har
    folder = path.parent
    (folder / "package.json").write_text('{"name": "x", "scripts": {"log": "echo"}}')
    (folder / "cut.har").write_bytes(path.read_bytes()[:3000])
    for name, message in [
        ("package.json", 'is not a HAR file: expected a JSON object {"log"'),
        ("cut.har", "is not a HAR file: its JSON does not parse"),
    ]:
        run = ssenb_cli(command, name, cwd=folder)
        assert run.returncode == 1, run.stderr
        assert "Traceback" not in run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"ssenb {command}: {name}")
        assert message in lines[0]
