"""``ssenb inspect``: the records of a raw stream as a table, then totals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ssenb.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample.sse"


def test_inspect_sample_shows_every_kind_and_totals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["inspect", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["offset", "kind", "type", "id", "size", "data"]
    for kind in ("event", "comment", "retry", "blank"):
        assert any(line.split()[1:2] == [kind] for line in lines[1:]), kind
    assert "14 records in 623 bytes" in out
    assert "last event id: 4" in out
    assert "retry: 3000 ms" in out
    # multi-line data stays on one row, escaped
    assert '50,\\n "message"' in out


def test_inspect_reads_stdin_as_it_arrives() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ssenb", "inspect", "-"],
        input=b": hi\n\nevent: a\ndata: x\n\ndata: unfinished",
        capture_output=True,
        timeout=30,
        check=True,
    )
    out = proc.stdout.decode()
    assert "2 records in 40 bytes" in out
    assert "its last 16 bytes were never closed" in out


def test_inspect_missing_file_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["inspect", str(tmp_path / "nope.sse")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_inspect_event_too_large_keeps_what_was_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "big.sse"
    path.write_bytes(b"data: ok\n\ndata: " + b"x" * 500 + b"\n\n")
    assert main(["inspect", str(path), "--max-event-size", "100"]) == 1
    captured = capsys.readouterr()
    assert " ok" in captured.out and "1 records" in captured.out
    assert "max_event_size" in captured.err


def test_inspect_escapes_control_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ctl.sse"
    path.write_bytes(b"data: a\x1b[31mred\tb\n\n")
    assert main(["inspect", str(path)]) == 0
    assert "a\\x1b[31mred\\tb" in capsys.readouterr().out
