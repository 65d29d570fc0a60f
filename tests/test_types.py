"""The pure core type-checks under ``mypy --strict`` (settings in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRICT_MODULES = [
    "ssenb/errors.py",
    "ssenb/parse.py",
    "ssenb/_bulk.py",
    "ssenb/frames.py",
    "ssenb/value.py",
    "ssenb/patterns",
    "ssenb/_envelope.py",
    "ssenb/proxy.py",
    "ssenb/_iter.py",
    "ssenb/store",
    "ssenb/server",
    "ssenb/plots",
    "ssenb/widgets",
]


@pytest.mark.timeout(180)
def test_core_modules_pass_mypy_strict() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", *STRICT_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
