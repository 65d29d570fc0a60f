"""The scenarios are pure: their bytes parse, follow the catalogue, and resume."""

from __future__ import annotations

import itertools
import json

import pytest

from ssenb.demo import SYSTEMS as DEMO_SYSTEMS
from ssenb.parse import Record, parse_bytes
from ssenb.server.scenarios import SCENARIOS, play, scenario_bytes, steps

SYSTEMS = list(DEMO_SYSTEMS)
FAMILIES = ["keepalive", "control", "state", "progress", "errors", "metadata", "auth"]


def events(records: list[Record]) -> list[Record]:
    return [r for r in records if r.kind == "event"]


def test_registry_has_every_system_and_family_of_the_catalogue() -> None:
    assert [n for n, s in SCENARIOS.items() if s.group == "system"] == SYSTEMS
    assert [n for n, s in SCENARIOS.items() if s.group == "family"] == FAMILIES
    for scenario in SCENARIOS.values():
        assert scenario.description
        assert {"events", "duration", "loop"} <= set(scenario.params)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_is_deterministic_finite_and_parses_whole(name: str) -> None:
    first = scenario_bytes(name)
    assert first == scenario_bytes(name)
    assert first != scenario_bytes(name, seed=1)
    records = parse_bytes(first)
    assert sum(r.size for r in records) == len(first)  # every byte is in a record
    assert len(events(records)) >= 5


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_plays_a_few_minutes_of_stream_time_at_most(name: str) -> None:
    # Few enough that a capture of a few seconds at speed 100 sees every pattern.
    total = sum(s.delay for s in steps(name))
    assert 1 < total < 300


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_loop_never_ends(name: str) -> None:
    written = steps(name, loop=True)
    taken = list(itertools.islice(written, 500))
    assert len(taken) == 500
    assert sum(s.events for s in taken) > 100


def test_play_divides_the_delays_by_the_speed_and_keeps_the_bytes() -> None:
    base = list(steps("twitter"))
    fast = list(play("twitter", speed=100))
    cut = next(i for i, s in enumerate(base) if s.hangup)
    assert [d for d, _ in fast] == pytest.approx([s.delay / 100 for s in base[:cut]])
    assert [b for _, b in fast] == [s.data for s in base[:cut]]
    with pytest.raises(ValueError, match="speed"):
        list(play("twitter", speed=0))


def test_events_and_duration_limits() -> None:
    assert len(events(parse_bytes(scenario_bytes("openai", events=3)))) == 3 + 2
    short = sum(s.delay for s in steps("nginx", duration=30))
    assert short < 100
    # Giving one limit lifts the other: 300 events need more than the default minutes.
    assert len(events(parse_bytes(scenario_bytes("shopify", events=300)))) == 301


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="evnts.*takes events, duration, loop, model"):
        steps("openai", evnts=3)
    with pytest.raises(ValueError, match="'events' takes a int"):
        steps("openai", events="many")
    with pytest.raises(ValueError, match="no scenario named 'nope'"):
        steps("nope")
    with pytest.raises(ValueError, match="never ends"):
        scenario_bytes("openai", loop=1)


def data(records: list[Record], type_: str) -> list[dict]:
    return [
        json.loads(r.data) for r in records if r.kind == "event" and r.type == type_
    ]


def test_openai_chunks_finish_reason_and_done() -> None:
    evs = events(parse_bytes(scenario_bytes("openai")))
    assert {r.type for r in evs} == {"message"}
    assert evs[-1].data == "[DONE]"
    chunks = [json.loads(r.data) for r in evs[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_github_actions_job_steps_logs_and_pings() -> None:
    records = parse_bytes(scenario_bytes("github-actions"))
    types = [r.type for r in events(records)]
    assert types[0] == "job-start" and types[-1] == "job-complete"
    assert set(data(records, "job-start")[0]) == {"job_id", "name", "runner"}
    assert {frozenset(d) for d in data(records, "log")} == {
        frozenset({"timestamp", "level", "message"})
    }
    assert set(data(records, "step-complete")[0]) == {"step", "status", "duration_ms"}
    end = data(records, "job-complete")[0]
    assert set(end) == {"job_id", "status", "total_duration_ms"}
    assert set(data(records, "ping")[0]) == {"timestamp"}


def test_vercel_deployment_flow() -> None:
    records = parse_bytes(scenario_bytes("vercel"))
    types = [r.type for r in events(records) if r.type != "ping"]
    assert types[0] == "deployment-created" and types[-1] == "ready"
    progress = [d["progress"] for d in data(records, "build-progress")]
    assert progress == sorted(progress) and 0 <= progress[0] and progress[-1] == 1.0
    assert all(isinstance(d["timestamp"], int) for d in data(records, "build-log"))
    assert set(data(records, "ready")[0]) == {"url", "duration_ms"}
    assert data(records, "ping")


def test_twitter_blank_lines_notice_disconnect_then_resume() -> None:
    body = scenario_bytes("twitter")
    records = parse_bytes(body)
    blanks = [r for r in records if r.kind == "blank"]
    assert blanks and all(body[r.offset : r.offset + r.size] == b"\r\n" for r in blanks)
    assert "keep-alive signal" in {r.data for r in records if r.kind == "comment"}
    notice = data(records, "system")[0]
    assert {"current", "limit", "reset_at"} <= set(notice)
    last = events(records)[-1]
    assert last.type == "operational-disconnect"
    note = json.loads(last.data)
    assert note["backoff_ms"] == 5000 and note["reconnect"] is True
    assert [r.retry for r in records if r.kind == "retry"] == [5000]
    again = parse_bytes(scenario_bytes("twitter", last_event_id=last.last_event_id))
    assert events(again) and events(again)[0].type == "message"
    assert "operational-disconnect" not in {r.type for r in again}


def test_keepalive_has_every_heartbeat_form() -> None:
    body = scenario_bytes("keepalive")
    records = parse_bytes(body)
    ping = data(records, "ping")[0]
    assert isinstance(ping["timestamp"], int)
    assert "ping" in [r.data for r in events(records) if r.type == "message"]
    beats = [r.data for r in events(records) if r.type == "heartbeat"]
    assert "" in beats
    beat = json.loads(next(b for b in beats if b))
    assert beat["type"] == "heartbeat" and beat["interval"] == 30000
    assert data(records, "keep-alive")[0]["timestamp"].endswith("Z")
    comments = {r.data for r in records if r.kind == "comment"}
    assert comments == {"heartbeat", "keep-alive", "keep-alive signal"}
    blanks = [r for r in records if r.kind == "blank"]
    assert blanks and all(body[r.offset : r.offset + r.size] == b"\r\n" for r in blanks)


def test_control_start_init_ready_done_complete() -> None:
    evs = events(parse_bytes(scenario_bytes("control")))
    assert [r.type for r in evs[:3]] == ["start", "init", "ready"]
    assert [r.type for r in evs[-3:]] == ["done", "complete", "message"]
    assert evs[-1].data == "[DONE]"
    assert set(json.loads(evs[0].data)) == {
        "stream_id",
        "version",
        "created_at",
        "capabilities",
    }
    assert set(json.loads(evs[1].data)) >= {"protocol", "max_reconnect_attempts"}
    assert set(json.loads(evs[2].data)) == {"buffer_size", "client_version"}
    assert set(json.loads(evs[-3].data)) == {"status", "total_events", "duration_ms"}
    complete = json.loads(evs[-2].data)
    assert complete["stats"]["connection_duration"].startswith("PT")


def test_state_status_system_config() -> None:
    records = parse_bytes(scenario_bytes("state"))
    assert set(data(records, "status")[0]) == {
        "connection",
        "health",
        "queue_depth",
        "active_connections",
        "server_time",
    }
    systems = data(records, "system")
    assert any({"severity", "action_required"} <= set(s) for s in systems)
    assert any({"current", "limit", "reset_at"} <= set(s) for s in systems)
    configs = data(records, "config")
    assert len(configs) == 2 and set(configs[0]) >= {"rate_limit", "features"}


def test_progress_checkpoints_carry_the_ids_and_resume_there() -> None:
    records = parse_bytes(scenario_bytes("progress"))
    assert [r.retry for r in records if r.kind == "retry"] == [2000]
    progress = data(records, "progress")
    assert progress[-1]["percentage"] == 100.0
    assert set(progress[0]) == {
        "task_id",
        "percentage",
        "current",
        "total",
        "eta_seconds",
        "message",
    }
    assert set(data(records, "update")[0]["delta"]) == {"added", "removed", "modified"}
    marks = [r for r in events(records) if r.type == "checkpoint"]
    assert all(r.id == str(json.loads(r.data)["position"]) for r in marks)
    assert all(r.id is None for r in events(records) if r.type != "checkpoint")
    resumed = parse_bytes(scenario_bytes("progress", last_event_id="40"))
    first = data(resumed, "progress")[0]
    assert first["current"] == 41


def test_errors_warning_error_retry_and_hangup() -> None:
    records = parse_bytes(scenario_bytes("errors"))
    assert set(data(records, "warning")[0]) == {"code", "message", "threshold"}
    error = data(records, "error")[0]
    assert error["retry_after"] == 30
    assert set(error["details"]) == {"limit", "window", "current"}
    assert records[-1].kind == "retry" and records[-1].retry == 30000
    more = parse_bytes(
        scenario_bytes("errors", last_event_id=records[-1].last_event_id)
    )
    assert events(more)[-1].type == "error"


def test_metadata_and_auth_families() -> None:
    records = parse_bytes(scenario_bytes("metadata"))
    assert events(records)[0].type == "metadata"
    assert set(data(records, "metadata")[0]["limits"]) == {
        "max_connections",
        "max_events_per_second",
    }
    assert set(data(records, "info")[0]) == {
        "server_region",
        "latency_ms",
        "connected_since",
    }
    assert data(records, "meta")
    records = parse_bytes(scenario_bytes("auth"))
    auths = data(records, "auth")
    assert auths[0]["status"] == "authenticated"
    assert any(a["refresh_required"] for a in auths)
    assert "renewed" in {a["status"] for a in auths}
    assert set(data(records, "session")[0]) == {
        "session_id",
        "created_at",
        "expires_in",
        "renewable",
    }


@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items() if s.ids])
def test_resume_from_any_id_gives_no_gap_and_no_duplicate(name: str) -> None:
    whole: list[str] = []
    last = None
    for _ in range(5):  # one pass per connection the scenario hangs up on
        body = scenario_bytes(name, last_event_id=last)
        if not body:
            break
        records = parse_bytes(body)
        whole += [r.id for r in records if r.id is not None]
        last = records[-1].last_event_id
    ids = [r.id for r in parse_bytes(scenario_bytes(name)) if r.id is not None]
    assert ids
    # Resume right after each id in turn: the rest follows without gap or repeat.
    for i in range(0, len(ids), max(len(ids) // 4, 1)):
        resumed = parse_bytes(scenario_bytes(name, last_event_id=ids[i]))
        got = [r.id for r in resumed if r.id is not None]
        assert got == whole[i + 1 : i + 1 + len(got)]
        assert got or i == len(whole) - 1
    assert whole == sorted(set(whole), key=whole.index)  # no duplicate
    assert scenario_bytes(name, last_event_id=whole[-1]) == b""  # finished: empty


def test_resume_repeats_the_preamble() -> None:
    records = parse_bytes(scenario_bytes("shopify", last_event_id="10"))
    evs = events(records)
    assert evs[0].type == "stream-start" and evs[1].id == "11"


def test_scenarios_without_ids_ignore_last_event_id() -> None:
    assert scenario_bytes("openai", last_event_id="3") == scenario_bytes("openai")
