"""The scenarios of the demo server: every family and system of the pattern catalogue.

Rules of this module:

- Pure: a scenario name, a seed and parameters give an iterator of writes; no sockets,
  no clock, no sleeping. ``server/app.py`` plays them over HTTP; tests can feed the
  bytes straight into ``SSEParser``.
- Deterministic given the seed: the jitter is part of the scenario and drawn from
  ``random.Random`` seeded by the scenario's name and the seed.
- Time is stream time. ``play`` divides each delay by ``speed``; the payloads keep
  their real-world values (``retry: 5000``, ``"interval": 30000``, ``backoff_ms``,
  timestamps from 2024-01-01T00:00:00Z in stream time) whatever the speed.
- Finite by default (a few minutes of stream time at most, so a capture of a few
  seconds at speed 100 sees every pattern); ``loop=1`` makes the body endless.
- Scenarios with ids honour ``Last-Event-ID``: a resumed stream starts after the
  event with that id (ids are increasing integers, so an id the stream never had
  resumes at the next one above it), repeats the preamble a real server repeats on
  every connection (``retry``, ``stream-start``, ...), and does not hang up again
  before it has sent something new. When nothing with an id is left, the stream is
  empty (the app answers 204, which tells a client to stop reconnecting).

Example:
    >>> from ssenb.parse import parse_bytes
    >>> records = parse_bytes(scenario_bytes("openai", events=3))
    >>> records[-1].data
    '[DONE]'
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..parse import encode_event
from ._timeline import EPOCH, Step, Timeline, comment_of, dumps, ping_json

__all__ = [
    "EPOCH",
    "Param",
    "SCENARIOS",
    "Scenario",
    "Step",
    "play",
    "scenario_bytes",
    "steps",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Param:
    """One parameter of a scenario: its type, default and a line of help."""

    type: type
    default: Any
    help: str

    def parse(self, name: str, value: Any) -> Any:
        """``value`` (a query-string text or a Python value) as this parameter's type.

        Raises:
            ValueError: the value cannot be read as the parameter's type.
        """
        if value is None:
            return None
        if self.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"parameter {name!r} takes 1 or 0, got {value!r}")
        if isinstance(value, bool):
            raise ValueError(f"parameter {name!r} takes a {self.type.__name__}")
        try:
            parsed = self.type(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"parameter {name!r} takes a {self.type.__name__}, got {value!r}"
            ) from None
        if self.type in (int, float) and not parsed >= 0:
            raise ValueError(f"parameter {name!r} must be >= 0, got {value!r}")
        return parsed


@dataclass(frozen=True)
class Scenario:
    """A named scenario: what it shows, the parameters it takes, how it is written.

    Attributes:
        name: the URL path of the scenario (``/openai``).
        group: ``"system"`` (a dialect of the catalogue) or ``"family"``.
        description: one line for the index page.
        params: parameter name to ``Param``, the common ``events``, ``duration`` and
            ``loop`` included.
        ids: whether the stream carries event ids (and so honours ``Last-Event-ID``).
        headers: extra response headers a real server of this kind sends.
    """

    name: str
    group: Literal["system", "family"]
    description: str
    params: Mapping[str, Param]
    ids: bool
    headers: Mapping[str, str]
    func: Callable[..., Iterator[Step]] = field(repr=False)

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """All parameters with their values: defaults, overridden by ``params``.

        Giving ``events`` or ``duration`` replaces both default limits: the one not
        given becomes unlimited.

        Raises:
            ValueError: an unknown parameter, or a value of the wrong type.
        """
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ValueError(
                f"scenario {self.name!r} takes no parameter {', '.join(unknown)}; "
                f"it takes {', '.join(self.params)} (and the faults listed at /)"
            )
        values = {name: p.default for name, p in self.params.items()}
        if "events" in params or "duration" in params:
            values["events"] = values["duration"] = None
        for name, value in params.items():
            values[name] = self.params[name].parse(name, value)
        return values


SCENARIOS: dict[str, Scenario] = {}
"""Every scenario by name, systems first, then families."""


def _common(events: int | None, duration: float | None) -> dict[str, Param]:
    return {
        "events": Param(
            int, events, "stop after about this many events (closing events follow)"
        ),
        "duration": Param(
            float, duration, "stop after about this many seconds of stream time"
        ),
        "loop": Param(bool, False, "1: never end (the body goes on forever)"),
    }


def _scenario(
    name: str,
    group: Literal["system", "family"],
    description: str,
    *,
    events: int | None = None,
    duration: float | None = None,
    ids: bool = False,
    headers: Mapping[str, str] | None = None,
    **params: Param,
) -> Callable[[Callable[..., Iterator[Step]]], Callable[..., Iterator[Step]]]:
    def register(func: Callable[..., Iterator[Step]]) -> Callable[..., Iterator[Step]]:
        SCENARIOS[name] = Scenario(
            name=name,
            group=group,
            description=description,
            params={**_common(events, duration), **params},
            ids=ids,
            headers=dict(headers or {}),
            func=func,
        )
        return func

    return register


# -- playing ------------------------------------------------------------------------


def _lookup(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(
            f"no scenario named {name!r}; the scenarios are {', '.join(SCENARIOS)}"
        ) from None


def _as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def steps(
    name: str, *, seed: int = 0, last_event_id: str | None = None, **params: Any
) -> Iterator[Step]:
    """The writes of one connection to scenario ``name``, in stream time.

    ``last_event_id`` resumes as a reconnecting client would (see the module rules);
    an id that is not an integer, or a scenario without ids, starts from the top.

    Raises:
        ValueError: an unknown scenario or parameter, or a bad parameter value.
    """
    scenario = _lookup(name)
    values = scenario.resolve(params)
    limits = {k: values.pop(k) for k in ("events", "duration", "loop")}
    rng = random.Random(f"{name}:{seed}")
    timeline = Timeline(rng, **limits)
    written = scenario.func(timeline, **values)
    target = _as_int(last_event_id) if scenario.ids else None
    if target is None:
        return written
    return _resume(written, target)


def _resume(written: Iterator[Step], target: int) -> Iterator[Step]:
    held: list[Step] = []
    start: list[Step] = []
    for step in written:
        number = _as_int(step.id)
        if number is not None and number >= target:
            if number > target:
                start.append(step)
            break
        if step.keep:
            held.append(step)
    else:
        return
    # Make sure something with an id follows; otherwise the stream is over.
    while not any(s.id is not None for s in start):
        following = next(written, None)
        if following is None:
            return
        start.append(following)
    sent_new = False
    for step in (*held, *start):
        if step.hangup and not sent_new:
            continue
        sent_new = sent_new or (step.events > 0 and not step.keep)
        yield step
    for step in written:
        if step.hangup and not sent_new:
            continue
        sent_new = sent_new or (step.events > 0 and not step.keep)
        yield step


def play(
    name: str,
    *,
    seed: int = 0,
    speed: float = 1.0,
    last_event_id: str | None = None,
    **params: Any,
) -> Iterator[tuple[float, bytes]]:
    """``(delay, bytes)`` pairs of one connection, the delay in real seconds
    (stream seconds divided by ``speed``). Stops where the scenario hangs up.

    Example:
        >>> [d for d, _ in play("openai", speed=100, events=2)][:1]  # doctest: +SKIP
        [0.0049...]
    """
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed!r}")
    for step in steps(name, seed=seed, last_event_id=last_event_id, **params):
        if step.hangup:
            return
        yield step.delay / speed, step.data


def scenario_bytes(
    name: str, *, seed: int = 0, last_event_id: str | None = None, **params: Any
) -> bytes:
    """All the bytes one connection to scenario ``name`` receives, without waiting.

    Handy for tests and sample files; ``loop=1`` would never end, so it is refused.
    """
    if "loop" in params and _lookup(name).params["loop"].parse("loop", params["loop"]):
        raise ValueError("scenario_bytes() of an endless scenario (loop=1) never ends")
    return b"".join(
        data for _, data in play(name, seed=seed, last_event_id=last_event_id, **params)
    )


# -- text ---------------------------------------------------------------------------

_SENTENCES = (
    "Server-Sent Events keep one HTTP response open and write text as things happen.",
    "Each block ends with a blank line, and a browser turns it into a message event.",
    "Comments keep proxies awake while nothing happens.",
    "An id lets a client resume where it stopped, with the Last-Event-ID header.",
    "The retry field says how long to wait before coming back.",
    "Heartbeats every thirty seconds are a common choice.",
)


def _tokens(rng: random.Random) -> Iterator[str]:
    first = True
    while True:
        for word in rng.choice(_SENTENCES).split():
            yield word if first else " " + word
            first = False


# -- systems ------------------------------------------------------------------------


@_scenario(
    "openai",
    "system",
    "OpenAI chat completions: data-only chat.completion.chunk JSON, the last with "
    'finish_reason "stop", then data: [DONE]',
    events=40,
    model=Param(str, "gpt-4o-mini", "the model name in every chunk"),
)
def _openai(tl: Timeline, *, model: str) -> Iterator[Step]:
    cid = "chatcmpl-" + tl.hex(24)
    created = tl.epoch()
    fingerprint = "fp_" + tl.hex(10)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": fingerprint,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            ],
        }

    role = {"role": "assistant", "content": "", "refusal": None}
    yield from tl.event(chunk(role), after=tl.jitter(0.45, 0.3))
    words = _tokens(tl.rng)
    while tl.more():
        yield from tl.event(
            chunk({"content": next(words)}), after=tl.rng.uniform(0.015, 0.07)
        )
    yield from tl.event(chunk({}, "stop"), after=tl.rng.uniform(0.01, 0.05))
    yield from tl.event("[DONE]", after=0.002)


_GHA_STEPS = (
    "Set up job",
    "Run actions/checkout@v4",
    "Set up Python 3.11",
    "Install dependencies",
    "Run tests",
    "Upload coverage",
    "Post Run actions/checkout@v4",
    "Complete job",
)
_GHA_LOGS = (
    "Downloading action repository",
    "Collecting packages",
    "Successfully installed 42 packages",
    "tests/test_parse.py ........",
    "tests/test_capture.py .....",
    "Cache restored from key: pip-3.11",
    "Uploading artifact",
)


@_scenario(
    "github-actions",
    "system",
    "GitHub Actions live logs: job-start, many log lines, step-complete per step, "
    "job-complete; event: ping keep-alives every 15 s during quiet steps",
    duration=180.0,
    ids=True,
)
def _github_actions(tl: Timeline) -> Iterator[Step]:
    job_id = tl.rng.randint(10**10, 10**11)
    start = tl.t
    tl.every(15.0, ping_json)
    yield from tl.event(
        {"job_id": job_id, "name": "build (3.11)", "runner": "GitHub Actions 12"},
        event="job-start",
        id=True,
        after=0.3,
    )
    n_step = 0
    while True:
        name = _GHA_STEPS[n_step % len(_GHA_STEPS)]
        n_step += 1
        began = tl.t
        quiet = name == "Run tests"
        for _ in range(tl.rng.randint(3, 10)):
            long = quiet and tl.rng.random() < 0.4
            yield from tl.wait(
                tl.rng.uniform(12, 40) if long else tl.rng.uniform(0.05, 2.5)
            )
            level = tl.rng.choices(("info", "debug", "warning"), (85, 10, 5))[0]
            log = {
                "timestamp": tl.iso(),
                "level": level,
                "message": tl.rng.choice(_GHA_LOGS),
            }
            yield from tl.event(log, event="log", id=True)
        status = "success" if tl.rng.random() < 0.95 else "skipped"
        duration_ms = round((tl.t - began) * 1000)
        done = {"step": name, "status": status, "duration_ms": duration_ms}
        yield from tl.event(done, event="step-complete", id=True, after=0.1)
        if not tl.more():
            break
    total = round((tl.t + 0.5 - start) * 1000)
    yield from tl.event(
        {"job_id": job_id, "status": "success", "total_duration_ms": total},
        event="job-complete",
        id=True,
        after=0.5,
    )


@_scenario(
    "vercel",
    "system",
    "Vercel deployment: deployment-created, build-progress (phase, progress 0..1), "
    "build-log lines, ready; event: ping keep-alives every 10 s",
    duration=90.0,
    ids=True,
)
def _vercel(tl: Timeline) -> Iterator[Step]:
    dpl = "dpl_" + tl.hex(24)
    url = f"ssenb-demo-{tl.hex(9)}.vercel.app"
    tl.every(10.0, ping_json)
    yield from tl.event(
        {"id": dpl, "url": url}, event="deployment-created", id=True, after=0.2
    )
    phases = ("queued", "initializing", "building", "deploying")
    phase = ""
    while tl.more():
        yield from tl.wait(tl.rng.uniform(0.2, 6.0))
        progress = round(min(tl.fraction(), 0.99), 2)
        now_phase = phases[min(int(progress * len(phases)), len(phases) - 1)]
        if now_phase != phase or tl.rng.random() < 0.25:
            phase = now_phase
            yield from tl.event(
                {"phase": phase, "progress": progress}, event="build-progress", id=True
            )
        text = tl.rng.choice(
            (
                "Cloning github.com/ssenb/demo (Branch: main)",
                "Running build in Washington, D.C., USA (East) – iad1",
                "Installing dependencies...",
                "Compiled successfully",
                "Collecting page data ...",
                "Uploading build outputs...",
            )
        )
        yield from tl.event(
            {"timestamp": tl.epoch_ms(), "text": text}, event="build-log", id=True
        )
    yield from tl.event(
        {"phase": "deploying", "progress": 1.0}, event="build-progress", id=True
    )
    yield from tl.wait(1.5)
    yield from tl.event(
        {"url": f"https://{url}", "duration_ms": round(tl.t * 1000)},
        event="ready",
        id=True,
    )


_TWEETS = (
    "Streaming APIs are fun until the proxy times out",
    "Reconnect with backoff, always",
    "Just shipped server-sent events for our dashboard",
    "Heartbeats every 20 seconds keep the load balancer happy",
    "Who else reads the WHATWG spec for fun?",
)


@_scenario(
    "twitter",
    "system",
    "Twitter/X stream: tweets, blank \\r\\n keep-alives every 10-20 s, "
    "': keep-alive signal' comments, a system rate-limit notice, then "
    "operational-disconnect and a hang-up; a client that comes back after backoff_ms "
    "resumes",
    duration=150.0,
    ids=True,
    backoff_ms=Param(int, 5000, "the backoff the disconnect notice asks for (ms)"),
    disconnect=Param(bool, True, "0: no operational-disconnect, no hang-up"),
)
def _twitter(tl: Timeline, *, backoff_ms: int, disconnect: bool) -> Iterator[Step]:
    tl.every((10.0, 20.0), lambda tl, n: b"\r\n")
    tl.every(30.0, comment_of("keep-alive signal"), first=25.0)
    snowflake = 1744067200000000000
    notice_at = 0.35
    disconnect_at = 0.6
    noticed = disconnected = False
    while tl.more():
        yield from tl.wait(tl.rng.expovariate(1 / 4.0))
        snowflake += tl.rng.randint(10**12, 10**13)
        tweet = {
            "data": {
                "id": str(snowflake),
                "text": tl.rng.choice(_TWEETS),
                "created_at": tl.iso(),
                "author_id": str(tl.rng.randint(10**8, 10**9)),
            },
            "matching_rules": [{"id": "1744067", "tag": "sse"}],
        }
        yield from tl.event(tweet, id=str(snowflake))
        if not noticed and tl.fraction() >= notice_at:
            noticed = True
            yield from tl.wait(0.5)
            notice = {
                "message": "Rate limit approaching for this stream",
                "severity": "warning",
                "current": 450,
                "limit": 500,
                "reset_at": tl.iso(tl.t + 900),
            }
            yield from tl.event(notice, event="system")
        if disconnect and not disconnected and tl.fraction() >= disconnect_at:
            disconnected = True
            snowflake += 1
            yield from tl.wait(1.0)
            note = {
                "title": "operational-disconnect",
                "disconnect_type": "UpstreamOperationalDisconnect",
                "detail": "This stream has been disconnected upstream for operational "
                "reasons.",
                "reconnect": True,
                "backoff_ms": backoff_ms,
            }
            yield from tl.event(
                note,
                event="operational-disconnect",
                id=str(snowflake),
                retry=backoff_ms,
            )
            yield from tl.hangup(after=0.01)
            yield from tl.wait(backoff_ms / 1000)


@_scenario(
    "shopify",
    "system",
    "Shopify Live Map: stream-start (session_id, region, shard) on every connection, "
    "then data-only order events with ids",
    duration=60.0,
    ids=True,
)
def _shopify(tl: Timeline) -> Iterator[Step]:
    start = {
        "session_id": tl.hex(32),
        "region": tl.rng.choice(("us-central1", "europe-west1", "asia-east1")),
        "shard": tl.rng.randint(0, 63),
    }
    yield from tl.event(start, event="stream-start", keep=True, count=False, after=0.1)
    cities = (
        ("Toronto", 43.65, -79.38),
        ("Berlin", 52.52, 13.40),
        ("Tokyo", 35.68, 139.69),
        ("Austin", 30.27, -97.74),
    )
    while tl.more():
        yield from tl.wait(tl.rng.expovariate(1 / 1.5))
        city, lat, lng = tl.rng.choice(cities)
        order = {
            "type": "checkout",
            "city": city,
            "lat": round(lat + tl.rng.uniform(-0.2, 0.2), 4),
            "lng": round(lng + tl.rng.uniform(-0.2, 0.2), 4),
            "total_price": f"{tl.rng.uniform(5, 300):.2f}",
            "currency": "USD",
            "timestamp": tl.iso(),
        }
        yield from tl.event(order, id=True)


@_scenario(
    "chatgpt",
    "system",
    "ChatGPT web conversation: a growing message in data-only JSON, kept open with "
    "event: ping while the model thinks, then data: [DONE]",
    events=30,
)
def _chatgpt(tl: Timeline) -> Iterator[Step]:
    tl.every(10.0, ping_json, first=5.0)
    conversation = f"{tl.hex(8)}-{tl.hex(4)}-{tl.hex(4)}-{tl.hex(4)}-{tl.hex(12)}"
    message = f"{tl.hex(8)}-{tl.hex(4)}-{tl.hex(4)}-{tl.hex(4)}-{tl.hex(12)}"
    yield from tl.wait(tl.jitter(24.0, 0.2))  # thinking: only pings go out
    words = _tokens(tl.rng)
    text = ""

    def part(status: str) -> dict[str, Any]:
        return {
            "message": {
                "id": message,
                "author": {"role": "assistant"},
                "content": {"content_type": "text", "parts": [text]},
                "status": status,
            },
            "conversation_id": conversation,
            "error": None,
        }

    while tl.more():
        text += next(words)
        pause = tl.rng.uniform(12, 20) if tl.rng.random() < 0.05 else 0.08
        yield from tl.event(part("in_progress"), after=tl.jitter(pause, 0.5))
    yield from tl.event(part("finished_successfully"), after=0.1)
    yield from tl.event("[DONE]", after=0.05)


def _heartbeat_server(
    tl: Timeline, *, heartbeat: str, interval: float, named: str | None
) -> Iterator[Step]:
    tl.every(_jittered(interval), comment_of(heartbeat))
    while tl.more():
        yield from tl.wait(tl.rng.expovariate(1 / 8.0))
        if named == "price":
            payload: dict[str, Any] = {
                "symbol": tl.rng.choice(("ACME", "INIT", "SSE")),
                "price": round(tl.rng.uniform(90, 110), 2),
                "timestamp": tl.iso(),
            }
        else:
            payload = {
                "type": "notification",
                "message": tl.rng.choice(_TWEETS),
                "created_at": tl.iso(),
            }
        yield from tl.event(payload, event=named, id=True)


def _jittered(interval: float) -> tuple[float, float]:
    """A timer interval with ±2 % jitter, as a real setInterval drifts."""
    return (interval * 0.98, interval * 1.02)


@_scenario(
    "express",
    "system",
    "Express.js server: retry: 10000 up front, comment heartbeats ': heartbeat' every "
    "15 s, data-only notifications with ids",
    duration=120.0,
    ids=True,
    interval=Param(float, 15.0, "seconds between heartbeat comments"),
)
def _express(tl: Timeline, *, interval: float) -> Iterator[Step]:
    yield from tl.retry(10000, keep=True)
    yield from _heartbeat_server(
        tl, heartbeat="heartbeat", interval=interval, named=None
    )


@_scenario(
    "play",
    "system",
    "Play Framework server: named price events with ids and comment heartbeats "
    "': heartbeat' every 20 s",
    duration=120.0,
    ids=True,
    interval=Param(float, 20.0, "seconds between heartbeat comments"),
)
def _play(tl: Timeline, *, interval: float) -> Iterator[Step]:
    yield from _heartbeat_server(
        tl, heartbeat="heartbeat", interval=interval, named="price"
    )


@_scenario(
    "nginx",
    "system",
    "A server behind nginx: ': keep-alive' comments every 20 s so the proxy (60 s "
    "read timeout) never cuts a quiet stream; sparse notifications",
    duration=180.0,
    ids=True,
    headers={"X-Accel-Buffering": "no"},
    interval=Param(float, 20.0, "seconds between keep-alive comments"),
)
def _nginx(tl: Timeline, *, interval: float) -> Iterator[Step]:
    tl.every(_jittered(interval), comment_of("keep-alive"))
    while tl.more():
        yield from tl.wait(tl.rng.uniform(15, 60))
        payload = {"type": "notification", "unread": tl.rng.randint(1, 9)}
        yield from tl.event(payload, event="notification", id=True)


@_scenario(
    "analytics",
    "system",
    "Real-time analytics dashboard: init (dashboard_id, refresh_rate), periodic "
    "metrics, an alert on a spike, ': heartbeat' comments every 15 s, done (reason)",
    duration=120.0,
    ids=True,
    refresh_rate=Param(float, 5.0, "seconds between metrics events"),
)
def _analytics(tl: Timeline, *, refresh_rate: float) -> Iterator[Step]:
    init = {
        "dashboard_id": "dash-" + tl.hex(6),
        "refresh_rate": round(refresh_rate * 1000),
    }
    yield from tl.event(init, event="init", keep=True, count=False, after=0.05)
    tl.every(_jittered(15.0), comment_of("heartbeat"))
    visitors = 120
    threshold = 300
    spike_at = tl.rng.uniform(0.3, 0.6)
    spiked = False
    while tl.more():
        yield from tl.wait(tl.jitter(refresh_rate, 0.05))
        visitors = max(10, visitors + tl.rng.randint(-15, 15))
        if not spiked and tl.fraction() >= spike_at:
            visitors = threshold + tl.rng.randint(40, 200)
        metrics = {
            "timestamp": tl.iso(),
            "visitors": visitors,
            "page_views": visitors * tl.rng.randint(2, 4),
            "avg_duration": round(tl.rng.uniform(30, 240), 1),
        }
        yield from tl.event(metrics, event="metrics", id=True)
        if visitors > threshold and not spiked:
            spiked = True
            alert = {
                "type": "spike_detected",
                "metric": "visitors",
                "value": visitors,
                "threshold": threshold,
            }
            yield from tl.event(alert, event="alert", id=True, after=0.05)
            visitors = 140
    yield from tl.event({"reason": "session_ended"}, event="done", id=True, after=0.5)


# -- families -----------------------------------------------------------------------


def _heartbeat_forms(interval: float) -> Callable[[Timeline, int], bytes]:
    """The five heartbeat events of the catalogue, in turn."""
    ms = round(interval * 1000)

    def make(tl: Timeline, n: int) -> bytes:
        form = (n - 1) % 5
        if form == 0:
            return encode_event(dumps({"timestamp": tl.epoch()}), event="ping")
        if form == 1:
            return encode_event("ping")
        if form == 2:
            beat = {"type": "heartbeat", "interval": ms, "sequence": n}
            return encode_event(dumps(beat), event="heartbeat")
        if form == 3:
            return encode_event("", event="heartbeat")
        return encode_event(dumps({"timestamp": tl.iso()}), event="keep-alive")

    return make


@_scenario(
    "keepalive",
    "family",
    "Every heartbeat form of the catalogue: event: ping (JSON and bare data: ping), "
    "event: heartbeat (JSON and empty), event: keep-alive, comments ': heartbeat', "
    "': keep-alive', ': keep-alive signal', and blank \\r\\n lines every 10-20 s, "
    "between data events with ids",
    duration=180.0,
    ids=True,
    interval=Param(float, 30.0, "seconds between heartbeat events"),
)
def _keepalive(tl: Timeline, *, interval: float) -> Iterator[Step]:
    tl.every(interval, _heartbeat_forms(interval))
    comments = ("heartbeat", "keep-alive", "keep-alive signal")
    tl.every(
        interval / 2,
        lambda tl, n: encode_event(comment=comments[(n - 1) % len(comments)]),
        first=interval / 4,
    )
    tl.every((10.0, 20.0), lambda tl, n: b"\r\n")
    n = 0
    while tl.more():
        yield from tl.wait(tl.rng.uniform(15, 45))
        n += 1
        yield from tl.event({"n": n, "value": round(tl.rng.gauss(50, 10), 2)}, id=True)


@_scenario(
    "control",
    "family",
    "Control events: start, init and ready on every connection, data with ids, then "
    "done, complete and data: [DONE]",
    duration=60.0,
    ids=True,
)
def _control(tl: Timeline) -> Iterator[Step]:
    stream_id = "str_" + tl.hex(12)
    start = {
        "stream_id": stream_id,
        "version": "1.0",
        "created_at": tl.iso(),
        "capabilities": ["resume", "heartbeat", "compression"],
    }
    yield from tl.event(start, event="start", keep=True, count=False, after=0.05)
    init = {
        "protocol": "sse",
        "encoding": "utf-8",
        "compression": "none",
        "max_reconnect_attempts": 5,
    }
    yield from tl.event(init, event="init", keep=True, count=False, after=0.02)
    ready = {"buffer_size": 65536, "client_version": "2.3.0"}
    yield from tl.event(ready, event="ready", keep=True, count=False, after=0.02)
    sent = 0
    size = 0
    while tl.more():
        sent += 1
        payload = {"seq": sent, "text": f"message {sent}"}
        size += len(dumps(payload))
        yield from tl.event(payload, id=True, after=tl.rng.uniform(0.5, 4.0))
    yield from tl.wait(0.2)
    done = {
        "status": "success",
        "total_events": sent,
        "duration_ms": round(tl.t * 1000),
    }
    yield from tl.event(done, event="done", id=True)
    seconds = tl.t + 0.05
    complete = {
        "reason": "finished",
        "stats": {
            "messages_sent": sent,
            "bytes_transferred": size,
            "connection_duration": f"PT{int(seconds // 60)}M{seconds % 60:.3f}S",
        },
    }
    yield from tl.event(complete, event="complete", id=True, after=0.05)
    yield from tl.event("[DONE]", id=True, after=0.01)


@_scenario(
    "state",
    "family",
    "State events: config on every connection, status every 10 s, system notices "
    "(maintenance, and an X-style rate-limit notice), a config change",
    duration=120.0,
    ids=True,
)
def _state(tl: Timeline) -> Iterator[Step]:
    config = {
        "rate_limit": 100,
        "batch_size": 50,
        "compression": "none",
        "features": {"resume": True, "heartbeat": True, "batching": False},
    }
    yield from tl.event(config, event="config", keep=True, count=False, after=0.05)
    notices = [0.3, 0.55, 0.75]
    while tl.more():
        yield from tl.wait(tl.jitter(10.0, 0.05))
        status = {
            "connection": "open",
            "health": "ok" if tl.rng.random() < 0.85 else "degraded",
            "queue_depth": tl.rng.randint(0, 40),
            "active_connections": tl.rng.randint(80, 140),
            "server_time": tl.iso(),
        }
        yield from tl.event(status, event="status", id=True)
        if notices and tl.fraction() >= notices[0]:
            which = len(notices)
            notices.pop(0)
            if which == 3:
                system: dict[str, Any] = {
                    "message": "Scheduled maintenance in 30 minutes",
                    "severity": "info",
                    "action_required": False,
                }
            elif which == 2:
                system = {
                    "message": "Rate limit approaching",
                    "current": 90,
                    "limit": 100,
                    "reset_at": tl.iso(tl.t + 60),
                }
            else:
                config = {**config, "batch_size": 100, "compression": "gzip"}
                yield from tl.event(config, event="config", id=True, after=0.2)
                continue
            yield from tl.event(system, event="system", id=True, after=0.2)


@_scenario(
    "progress",
    "family",
    "Progress of a task: progress (percentage, eta_seconds), update (incremental "
    "delta), checkpoint (the only events with ids: resume from Last-Event-ID at the "
    "last checkpoint)",
    ids=True,
    total=Param(int, 100, "items in the task"),
    checkpoint_every=Param(int, 20, "items between checkpoints"),
)
def _progress(tl: Timeline, *, total: int, checkpoint_every: int) -> Iterator[Step]:
    total = max(total, 1)
    every = max(checkpoint_every, 1)
    yield from tl.retry(2000, keep=True)
    position = 0  # items done across tasks (the checkpoint ids)
    task = 0
    while True:
        task += 1
        task_id = f"task-{task:04d}"
        started = tl.t
        for current in range(1, total + 1):
            yield from tl.wait(tl.rng.uniform(0.4, 1.4))
            position += 1
            rate = current / max(tl.t - started, 1e-9)
            progress = {
                "task_id": task_id,
                "percentage": round(100 * current / total, 1),
                "current": current,
                "total": total,
                "eta_seconds": round((total - current) / rate, 1),
                "message": f"processed item {current} of {total}",
            }
            yield from tl.event(progress, event="progress")
            if current % 7 == 0:
                delta = {
                    "added": tl.rng.randint(0, 5),
                    "removed": tl.rng.randint(0, 2),
                    "modified": tl.rng.randint(0, 4),
                }
                update = {"type": "incremental", "delta": delta, "timestamp": tl.iso()}
                yield from tl.event(update, event="update", after=0.01)
            if current % every == 0 or current == total:
                checkpoint = {
                    "id": f"ckpt-{position:06d}",
                    "position": position,
                    "can_resume": True,
                    "state_hash": tl.hex(16),
                }
                yield from tl.event(
                    checkpoint, event="checkpoint", id=str(position), after=0.01
                )
        if not tl.loop:
            return


@_scenario(
    "errors",
    "family",
    "Errors: a warning (threshold), an error with code, retry_after and details, "
    "then retry and a hang-up; the resumed stream ends with a non-fatal error",
    duration=90.0,
    ids=True,
    retry_after=Param(int, 30, "seconds the rate-limit error asks to wait"),
    disconnect=Param(bool, True, "0: no hang-up after the error"),
)
def _errors(tl: Timeline, *, retry_after: int, disconnect: bool) -> Iterator[Step]:
    stage = 0
    n = 0
    while tl.more():
        n += 1
        yield from tl.event({"n": n, "ok": True}, id=True, after=tl.rng.uniform(1, 5))
        if stage == 0 and tl.fraction() >= 0.25:
            stage = 1
            warning = {
                "code": "RATE_LIMIT_NEAR",
                "message": "80% of the request quota used",
                "threshold": 0.8,
            }
            yield from tl.event(warning, event="warning", id=True, after=0.1)
        elif stage == 1 and tl.fraction() >= 0.5:
            stage = 2
            error = {
                "code": "RATE_LIMITED",
                "message": "Too many requests",
                "retry_after": retry_after,
                "details": {"limit": 100, "window": 60, "current": 101},
            }
            yield from tl.event(error, event="error", id=True, after=0.1)
            if disconnect:
                yield from tl.retry(retry_after * 1000)
                yield from tl.hangup(after=0.01)
                yield from tl.wait(retry_after)
    error = {
        "code": "UPSTREAM_TIMEOUT",
        "message": "An upstream source did not answer; its events are late",
        "retry_after": 5,
        "details": {"limit": 10, "window": 60, "current": 1},
    }
    yield from tl.event(error, event="error", id=True, after=0.5)


@_scenario(
    "metadata",
    "family",
    "Metadata: metadata on every connection, info every 30 s, a meta event when the "
    "stream version changes, data with ids",
    duration=120.0,
    ids=True,
)
def _metadata(tl: Timeline) -> Iterator[Step]:
    meta = {
        "stream_version": "1.2",
        "server_version": "ssenb-demo/0.1",
        "capabilities": ["resume", "heartbeat"],
        "limits": {"max_connections": 1000, "max_events_per_second": 50},
    }
    yield from tl.event(meta, event="metadata", keep=True, count=False, after=0.05)
    region = tl.rng.choice(("eu-west-1", "us-east-1", "ap-northeast-1"))

    def info(tl: Timeline, n: int) -> bytes:
        payload = {
            "server_region": region,
            "latency_ms": round(tl.rng.uniform(8, 60), 1),
            "connected_since": tl.iso(0.0),
        }
        return encode_event(dumps(payload), event="info")

    tl.every(_jittered(30.0), info, first=1.0)
    changed = False
    n = 0
    while tl.more():
        n += 1
        yield from tl.event({"n": n}, id=True, after=tl.rng.uniform(2, 8))
        if not changed and tl.fraction() >= 0.5:
            changed = True
            yield from tl.event(
                {**meta, "stream_version": "1.3"}, event="meta", id=True, after=0.1
            )


@_scenario(
    "auth",
    "family",
    "Auth: auth and session on every connection, data with ids, then before expiry "
    "an auth with refresh_required, and the renewed auth and session",
    duration=150.0,
    ids=True,
    ttl=Param(float, 60.0, "seconds a session lives before it must be renewed"),
)
def _auth(tl: Timeline, *, ttl: float) -> Iterator[Step]:
    ttl = max(ttl, 1.0)
    user = f"user_{tl.rng.randint(1000, 9999)}"
    session_id = "sess_" + tl.hex(16)
    expires = ttl

    def auth(status: str, refresh: bool) -> dict[str, Any]:
        return {
            "status": status,
            "user_id": user,
            "expires_at": tl.iso(expires),
            "refresh_required": refresh,
        }

    def session() -> dict[str, Any]:
        return {
            "session_id": session_id,
            "created_at": tl.iso(),
            "expires_in": round(expires - tl.t),
            "renewable": True,
        }

    yield from tl.event(
        auth("authenticated", False), event="auth", keep=True, count=False, after=0.05
    )
    yield from tl.event(session(), event="session", keep=True, count=False)
    n = 0
    while tl.more():
        n += 1
        yield from tl.event({"n": n}, id=True, after=tl.rng.uniform(2, 8))
        if tl.t >= expires - 0.2 * ttl:
            yield from tl.event(auth("expiring", True), event="auth", id=True)
            yield from tl.wait(tl.rng.uniform(1, 3))
            expires = tl.t + ttl
            session_id = "sess_" + tl.hex(16)
            yield from tl.event(auth("renewed", False), event="auth", id=True)
            yield from tl.event(session(), event="session", id=True, after=0.01)
