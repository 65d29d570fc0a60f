"""The kernel that runs a shared notebook: no plain TCP, no warning, none left over.

ipykernel 7 warns on stderr when it runs over TCP without encryption; ``ssenb notebook
--execute`` must not print it. A real kernel runs each test: over IPC in a private
folder on POSIX, and over CurveZMQ-encrypted TCP where there is no IPC (Windows),
which is forced here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ssenb.share import _kernel, execute_notebook

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

#: A cell that reports how its kernel is connected, read from its connection file.
_PROBE = """
import ipykernel, json, os, stat
path = ipykernel.get_connection_file()
info = json.load(open(path))
print(json.dumps({
    "folder": os.path.dirname(path),
    "mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
    "transport": info["transport"],
    "curve": "curve_secretkey" in info,
}))
"""


def _processes_with(marker: str) -> list[int]:
    """The pids of live processes whose environment holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone, or not ours to read
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.notebook
@pytest.mark.timeout(120)
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_notebook_execute_prints_no_warning_and_leaves_no_kernel(
    tmp_path: Path,
) -> None:
    # the README's command, as a user runs it; every process it starts (the kernel
    # too) inherits the marker, so one left behind is found even once orphaned
    marker = f"ssenb-run-{uuid.uuid4().hex}"
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "SSENB_TEST_MARKER": marker,
        "TMPDIR": str(temp),
    }
    out = tmp_path / "out.ipynb"
    cmd = [sys.executable, "-m", "ssenb", "notebook", str(DATA / "twitter.jsonl")]
    done = subprocess.run(
        [*cmd, "--execute", "-o", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr and "encryption" not in done.stderr, done.stderr
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)  # a kernel ran every cell
    deadline = time.monotonic() + 5  # a kernel shut down has exited already
    while (left := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # ours, started by the command above: do not leave it running
        os.kill(pid, 9)
    assert left == [], "a kernel was left running after `ssenb notebook --execute`"
    assert list(temp.iterdir()) == []  # its private folder is gone


def _probe_notebook() -> Any:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_PROBE)])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    return nb


@pytest.mark.notebook
@pytest.mark.timeout(60)
@pytest.mark.skipif(not _kernel._ipc_available(), reason="no IPC transport here")
def test_on_posix_the_kernel_talks_over_ipc_in_a_private_folder(
    tmp_path: Path, capfd: Any
) -> None:
    ran = execute_notebook(_probe_notebook(), tmp_path)
    seen = json.loads(ran.cells[0].outputs[0]["text"])
    assert seen["transport"] == "ipc"
    assert seen["mode"] & 0o777 == 0o700  # only its owner (jupyter adds a sticky bit)
    assert not Path(seen["folder"]).exists()  # removed once the notebook ran
    assert "encryption" not in capfd.readouterr().err


@pytest.mark.notebook
@pytest.mark.timeout(60)
@pytest.mark.skipif(not _kernel._curve_available(), reason="no CurveZMQ here")
def test_without_ipc_the_kernel_talks_over_encrypted_tcp(
    tmp_path: Path, capfd: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what Windows gets: TCP with CurveZMQ keys the kernel manager provisions
    monkeypatch.setattr(_kernel, "_ipc_available", lambda: False)
    ran = execute_notebook(_probe_notebook(), tmp_path)
    seen = json.loads(ran.cells[0].outputs[0]["text"])
    assert seen["transport"] == "tcp" and seen["curve"]
    assert "encryption" not in capfd.readouterr().err


@pytest.mark.notebook
@pytest.mark.timeout(60)
@pytest.mark.skipif(
    not (_kernel._ipc_available() and _kernel._curve_available()),
    reason="needs IPC and CurveZMQ",
)
def test_a_temp_folder_too_deep_for_a_socket_falls_back_to_encrypted_tcp(
    tmp_path: Path, capfd: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a Unix socket path holds about 100 bytes; a deep TMPDIR (as on macOS) has no room
    deep = tmp_path.joinpath(*["d" * 40] * 3)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    ran = execute_notebook(_probe_notebook(), tmp_path)
    seen = json.loads(ran.cells[0].outputs[0]["text"])
    assert seen["transport"] == "tcp" and seen["curve"]
    assert "encryption" not in capfd.readouterr().err
    assert list(deep.iterdir()) == []  # the folder that could not hold it is gone


@pytest.mark.notebook
@pytest.mark.timeout(120)
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to a process group")
def test_ctrl_c_during_execute_is_one_line_and_exit_130(tmp_path: Path) -> None:
    # Ctrl-C to the command's group while a cell runs: nbclient shuts its kernel
    # down; the user gets one line and 130, not the dead kernel's tracebacks, and
    # no file
    import signal

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import time\nprint('go', flush=True)\ntime.sleep(60)"
            )
        ]
    )
    marker = f"ssenb-run-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "SSENB_TEST_MARKER": marker,
    }
    out = tmp_path / "out.ipynb"
    script = (
        "import signal, sys, nbformat\n"
        # as in a terminal (a background job of a script would ignore SIGINT)
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from ssenb.cli import main\n"
        "import ssenb.share as share\n"
        f"nb = nbformat.reads({nbformat.writes(nb)!r}, as_version=4)\n"
        "share._build.build = lambda src, title: nb.cells\n"
        f"sys.exit(main(['notebook', {str(DATA / 'twitter.jsonl')!r}, '--execute', "
        f"'-o', {str(out)!r}]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(_processes_with(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # the command and its kernel are up
        time.sleep(3)  # the cell is running
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in _processes_with(marker):
            os.kill(pid, 9)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert err.strip().splitlines() == [
        f"ssenb notebook: interrupted: {out} was not written"
    ], err
    assert not out.exists()
