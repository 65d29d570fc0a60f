"""The sample data of ``data/``: every file is listed in ``data/README.md``, loads, and
holds what the README says it holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import ssenb
from ssenb.demo import RAW_SAMPLES, SAMPLES
from ssenb.store import import_sse, timing_path

DATA = Path(__file__).resolve().parent.parent / "data"
ROW = re.compile(
    r"^\| `(?P<file>[^`]+)` \| (?P<source>[^|]+) \| .* \| (?P<finds>[^|]+) \|$"
)


def _rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in (DATA / "README.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            rows[m["file"]] = (m["source"].strip().strip("`"), m["finds"].strip())
    return rows


ROWS = _rows()


def _open(name: str) -> tuple[Any, Any]:
    """(the events frame, the capture or None) of a data file."""
    path = DATA / name
    if path.suffix == ".sse":
        return ssenb.frames.read_sse(path), None
    cap = ssenb.load(path)
    return cap.events, cap


def test_data_readme_lists_every_file_and_nothing_else() -> None:
    listed = set(ROWS)
    sidecars = {timing_path(DATA / f).name for f in listed if f.endswith(".sse")}
    present = {p.name for p in DATA.iterdir()} - {"README.md"}
    assert present == (listed | {s for s in sidecars if (DATA / s).exists()})
    assert listed <= present


def test_data_readme_lists_every_recorded_sample() -> None:
    expected = {f"{name}.jsonl" for name in SAMPLES}
    expected |= {
        f for f in ROWS if f.endswith(".sse") and f.split("-")[0] in RAW_SAMPLES
    }
    assert expected <= set(ROWS)


def test_data_is_small_enough_for_git() -> None:
    total = sum(p.stat().st_size for p in DATA.iterdir())
    assert total < 2_000_000


@pytest.mark.parametrize("name", sorted(ROWS))
def test_data_file_holds_what_the_readme_says(name: str) -> None:
    source, finds = ROWS[name]
    events, cap = _open(name)
    assert len(events)
    # only the event types the stream sent (value_counts lists every category)
    assert set(events["type"].cat.categories) == set(events["type"].astype(str))
    if cap is not None:
        assert cap.rows_recovered == 0, cap.notes
        assert cap.meta["url"].split("/", 3)[3] == source.lstrip("/")
    for check in (c.strip() for c in finds.split(";")):
        what, _, value = check.partition(" ")
        if what == "dialect":
            assert ssenb.patterns.dialect(events).name == value
        elif what == "family":
            assert value in set(ssenb.classify(events)["family"].astype(str))
        elif what == "status":
            assert int(value) in set(cap.connections["status"].dropna())
        elif what == "reconnects":
            assert len(cap.connections) > 1
            assert cap.connections["last_event_id_sent"].notna().any() or (
                cap.connections["status"].iloc[0] != 200
            )
        elif what == "records":
            assert set(events["kind"].astype(str)) == {
                "event",
                "comment",
                "retry",
                "blank",
            }
        else:
            raise AssertionError(f"data/README.md: unknown check {check!r} ({name})")


TIMED = sorted(f for f in ROWS if f.endswith(".sse") and timing_path(DATA / f).exists())


@pytest.mark.parametrize("name", TIMED)
def test_data_sse_timing_sidecar_matches_its_bytes(name: str) -> None:
    chunks = import_sse(DATA / name)
    assert b"".join(chunk for _, chunk in chunks) == (DATA / name).read_bytes()
    times = [t for t, _ in chunks]
    assert times == sorted(times)
