"""Faults are pure wrappers over steps: exact bytes, checked without a server."""

from __future__ import annotations

import pytest

from ssenb.parse import parse_bytes
from ssenb.server.faults import BAD_UTF8_EVENT, FAULTS, MAX_BIG, Faults, big_event
from ssenb.server.scenarios import Step, scenario_bytes, steps


def played(faults: Faults, name: str = "control", **params: object) -> bytes:
    return b"".join(s.data for s in faults.apply(steps(name, **params)))


def test_split_takes_the_faults_and_leaves_the_rest() -> None:
    faults, rest = Faults.split({"hangup": "3", "events": "5", "bom": "1"})
    assert faults == Faults(hangup=3, bom=True)
    assert rest == {"events": "5"}
    assert not Faults.split({"events": "5"})[0]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"hangup": "-1"}, "hangup must be a finite number >= 0"),
        ({"stall": "inf"}, "stall must be a finite number >= 0"),
        ({"trickle": "0"}, "trickle takes bytes per second > 0"),
        ({"newline": "crcr"}, "newline takes lf, cr or crlf"),
        ({"status": "302"}, "status=302 is not one of"),
        ({"bom": "maybe"}, "fault bom"),
        ({"big": str(MAX_BIG + 1)}, "big takes at most"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else "",
)
def test_bad_fault_values_are_named(query: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults.split(query)


def test_every_fault_has_help_and_a_field() -> None:
    fields = set(Faults.__dataclass_fields__)
    assert set(FAULTS) == fields
    assert all(FAULTS.values())


def test_at_zero_inserts_before_any_byte() -> None:
    body = played(Faults(bad_utf8=True, big=100, at=0), duration=5)
    assert body.startswith(big_event(100) + BAD_UTF8_EVENT)
    assert body.endswith(scenario_bytes("control", duration=5))


def test_stall_is_a_silent_step_in_stream_time() -> None:
    out = list(Faults(stall=42.0, at=2).apply(steps("control", duration=5)))
    silent = [s for s in out if not s.data]
    assert [s.delay for s in silent] == [42.0]
    assert sum(s.events for s in out[: out.index(silent[0])]) == 2


def test_trickle_paces_pieces_by_the_rate() -> None:
    out = list(Faults(trickle=100.0).apply([Step(1.0, b"x" * 35, events=1)]))
    assert [len(s.data) for s in out] == [10, 10, 10, 5]
    assert [s.delay for s in out] == pytest.approx([1.0, 0.1, 0.1, 0.1])


def test_scenario_hangup_still_ends_a_faulted_stream() -> None:
    body = played(Faults(newline="crlf"), name="twitter")
    assert body == scenario_bytes("twitter").replace(b"\r\n", b"\n").replace(
        b"\n", b"\r\n"
    )
    events = [r for r in parse_bytes(body) if r.kind == "event"]
    assert events[-1].type == "operational-disconnect"


def test_status_heads() -> None:
    assert Faults().head().status == 200 and Faults().head().body is None
    head = Faults(status=503).head()
    assert head.headers["retry-after"] == "5" and head.body
    assert Faults(status=204).head().headers == {}
    wrong = Faults(content_type="application/json").head()
    assert wrong.headers == {"content-type": "application/json"} and wrong.body is None
