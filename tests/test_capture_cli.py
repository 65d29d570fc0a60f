"""The ``ssenb capture`` command against real servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _sse_script import Reply, serve, sse

from ssenb.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_cli_capture_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    body = sse("event: a\ndata: 1", "event: b\ndata: 2", "event: done\ndata: {}")
    with serve({"/s": [Reply([body], hang=True)]}) as (base, _):
        code = main(
            ["capture", base + "/s?token=zz", "--until", "done", "--no-progress"]
        )
    out = capsys.readouterr().out
    assert code == 0
    assert "3 records (3 events) over 1 connection" in out
    assert "until 1" in out
    assert "zz" not in out


def test_cli_capture_sends_headers_method_and_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve({"/v1": [Reply([sse("data: [DONE]")])]}) as (base, app):
        code = main(
            [
                "capture",
                base + "/v1",
                "-H",
                "Authorization: Bearer k",
                "-H",
                "X-Trace: 7",
                "--json",
                '{"stream": true}',
                "--max-events",
                "1",
                "--no-progress",
            ]
        )
    assert code == 0
    req = app.requests[0]
    assert req.method == "POST"
    assert json.loads(req.body) == {"stream": True}
    assert req.headers["authorization"] == "Bearer k"
    assert req.headers["x-trace"] == "7"


def test_cli_capture_reports_a_failed_stream(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve({"/s": [Reply([b"nope"], status=403, content_type="text/plain")]}) as (
        base,
        _,
    ):
        code = main(["capture", base + "/s", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "403" in err and "nope" in err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["-H", "no colon"], id="header"),
        pytest.param(["--json", "{bad"], id="json"),
    ],
)
def test_cli_capture_rejects_bad_arguments(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["capture", "http://127.0.0.1:1/s", *args]) == 2
    assert "ssenb capture:" in capsys.readouterr().err


def test_cli_capture_ctrl_c_ends_cleanly() -> None:
    chunks = [(0.02, sse(f"data: {i}")) for i in range(2000)]
    with serve({"/s": [Reply(chunks)]}) as (base, app):
        proc = subprocess.Popen(
            [sys.executable, "-m", "ssenb", "capture", base + "/s", "--no-progress"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + 20
        while not app.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # let a few events arrive
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "over 1 connection" in out
    assert "stopped 1" in out
