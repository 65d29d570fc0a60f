"""Wrong inputs on the command line, run as a user runs them (a subprocess): one
clear line on stderr, the documented exit code, never a traceback; and nothing a
stream holds reaches the terminal as a control sequence."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _sse_script import Reply, serve, sse

from ssenb.frames import empty_connections, read_sse
from ssenb.store import write_capture

ROOT = Path(__file__).resolve().parent.parent
EVIL = (
    b"event: \x1b[2J\x1b]0;pwned\x07\xc2\x9b31m\ndata: hi \x1b[31mred\xe2\x80\xae\n\n"
)
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def ssenb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssenb", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _one_line_error(run: subprocess.CompletedProcess[str], command: str) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"ssenb {command}: ")
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("inputs")
    (tmp / "dir").mkdir()
    (tmp / "notes.txt").write_text("hello\nthis is a note\n")
    (tmp / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (tmp / "empty.sse").write_bytes(b"")
    (tmp / "evil.sse").write_bytes(EVIL)
    events = read_sse(EVIL)
    events["time"] = pd.Timestamp("2026-01-01", tz="UTC")
    write_capture(tmp / "evil.jsonl", {}, events, empty_connections())
    bad = tmp / "bad.jsonl"
    lines = (tmp / "evil.jsonl").read_bytes().split(b"\n")
    lines.insert(2, b"not json")
    bad.write_bytes(b"\n".join(lines))
    return tmp


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["report", "dir"], 2, "dir is a directory", id="report-dir"),
        pytest.param(["inspect", "dir"], 2, "dir is a directory", id="inspect-dir"),
        pytest.param(["notebook", "dir"], 2, "dir is a directory", id="notebook-dir"),
        pytest.param(["replay", "dir"], 2, "dir is a directory", id="replay-dir"),
        pytest.param(
            ["report", "nope.sse"], 2, "no such file: nope", id="report-missing"
        ),
        pytest.param(
            ["inspect", "nope"], 2, "no such file: nope", id="inspect-missing"
        ),
        pytest.param(["notebook", "no.jsonl"], 2, "no such file: no", id="nb-missing"),
        pytest.param(
            ["replay", "nope.sse"], 2, "no such file: nope", id="replay-missing"
        ),
        pytest.param(["inspect", "img.png"], 1, "is a binary file", id="inspect-png"),
        pytest.param(["report", "img.png"], 1, "is a binary file", id="report-png"),
        pytest.param(["replay", "img.png"], 1, "is a binary file", id="replay-png"),
        pytest.param(
            ["report", "notes.txt"],
            1,
            "an event stream: none of its first 2 lines .*first is b'hello'",
            id="report-text",
        ),
        pytest.param(
            ["replay", "notes.txt"], 1, "does not look like an event", id="replay-text"
        ),
        pytest.param(
            ["inspect", "notes.txt"],
            1,
            "does not look like an event",
            id="inspect-text",
        ),
        pytest.param(["report", "empty.sse"], 1, "is empty", id="report-empty"),
        pytest.param(
            ["report", "bad.jsonl"],
            1,
            r"line 3: .*ssenb.load\(path, on_bad_lines='skip'\).*"
            r"ssenb report --skip-bad-lines bad.jsonl",
            id="report-bad-line",
        ),
        pytest.param(
            ["inspect", "evil.jsonl"], 1, "is an ssenb capture", id="inspect-capture"
        ),
        pytest.param(
            ["capture", "http://127.0.0.1:9/s", "-o", "out.txt"],
            2,
            "cannot tell the capture format of -o out.txt",
            id="capture-format",
        ),
    ],
)
def test_wrong_input_gets_one_line_and_its_exit_code(
    files: Path, args: list[str], code: int, message: str
) -> None:
    run = ssenb(*args, cwd=files)
    assert run.returncode == code, run.stderr
    line = _one_line_error(run, args[0])
    assert re.search(message, line), line


def test_report_skips_bad_lines_when_asked(files: Path) -> None:
    run = ssenb("report", "--skip-bad-lines", "bad.jsonl", cwd=files)
    assert run.returncode == 0, run.stderr
    assert "note: skipped 1 bad line(s); the first, line 3" in run.stderr
    assert "SSE capture report" in run.stdout


def test_help_documents_the_exit_codes(files: Path) -> None:
    run = ssenb("--help", cwd=files)
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    assert "Exit status: 0 done; 1 the command ran and failed" in text
    assert "2 a usage error" in text


def test_a_failed_capture_removes_its_empty_output(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    run = ssenb(
        "capture",
        "http://127.0.0.1:9/s?token=t0p",
        "-o",
        str(out),
        "--no-progress",
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "t0p" not in run.stderr
    assert "nothing was recorded" in run.stderr and "was not kept" in run.stderr
    assert not out.exists()


def test_a_failed_capture_keeps_a_file_it_did_not_create(tmp_path: Path) -> None:
    out = tmp_path / "mine.parquet"
    out.write_bytes(b"the user's own file")
    run = ssenb(
        "capture", "http://127.0.0.1:9/s", "-o", str(out), "--no-progress", cwd=tmp_path
    )
    assert run.returncode == 1
    assert out.read_bytes() == b"the user's own file"


def test_a_capture_that_fails_after_records_says_what_it_kept(tmp_path: Path) -> None:
    out = tmp_path / "part.jsonl"
    body = [sse("data: 1"), sse("data: 2")]
    with serve({"/s": [Reply(body), Reply([b"gone"], status=500)]}) as (base, _):
        run = ssenb(
            "capture",
            base + "/s",
            "-o",
            str(out),
            "--no-progress",
            "--max-reconnects",
            "0",
            cwd=tmp_path,
        )
    if run.returncode == 1:
        assert "kept the 2 records" in run.stderr
        assert "Traceback" not in run.stderr
    assert out.exists()  # the records received are never thrown away


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["report", "evil.sse"], id="report-raw"),
        pytest.param(["report", "evil.jsonl"], id="report-capture"),
        pytest.param(["inspect", "evil.sse"], id="inspect"),
        pytest.param(["replay", "img.png"], id="error-line"),
    ],
)
def test_terminal_escapes_are_shown_not_acted_on(files: Path, args: list[str]) -> None:
    run = ssenb(*args, cwd=files)
    for control in CONTROLS:
        assert control not in run.stdout and control not in run.stderr
    if args[0] != "replay":
        assert run.returncode == 0, run.stderr
        assert "\\x1b[2J\\x1b]0;pwned\\x07" in run.stdout


def test_capture_progress_escapes_event_types(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ssenb._progress import Progress

    bar = Progress(True)
    bar.update(1, 1, "\x1b[2Jboom")
    bar.close()
    err = capsys.readouterr().err
    assert "\x1b[2J" not in err and "\\x1b[2Jboom" in err
