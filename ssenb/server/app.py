"""The ASGI app of the demo server: plays scenarios and replays over HTTP.

Rules of this module:

- The only code of the server that speaks HTTP. What to write comes from
  ``scenarios.py``, ``faults.py`` and ``replay.py``; this module only times the writes
  (stream seconds divided by the speed, against one deadline clock so that small
  delays do not add up to drift) and answers the request.
- Every stream answer carries ``SSENB-Time-Scale: <speed>``.
- A client that goes away ends its stream (Starlette cancels the body); so does the
  server stopping (``App.stopping``), so no stream holds a shutdown up.
- Bad requests get a 400 (or 404) whose text says what was wrong and what is valid.
- Streams answer GET and also POST, as LLM APIs stream from a POST: a POST body is
  read (a JSON one must parse) and not used; the query string chooses as for GET.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import math
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from ._timeline import Step
from .faults import FAULTS, Faults
from .replay import Replay, load_recording
from .scenarios import SCENARIOS, steps

__all__ = ["App", "COMMON", "create_app", "format_scale"]

#: Query parameters every stream takes, besides its own and the faults.
COMMON: dict[str, str] = {
    "speed": "how many times faster than real time to play (default: the server's)",
    "seed": "the seed of the scenario's jitter and values (default: the server's)",
    "last_event_id": "resume as if this Last-Event-ID header had been sent",
}
_REPLAY_PARAMS: dict[str, str] = {
    "stream": "which recorded stream to play (default: the first)",
    "connection": "play this recorded connection (default: the next one in turn)",
    "speed": COMMON["speed"],
}
_SSE = "text/event-stream"
_SLICE = 0.1  # longest sleep between looks at the stop flag (real seconds)


def format_scale(speed: float) -> str:
    """The ``SSENB-Time-Scale`` value of a speed: ``100`` for 100.0, ``0.5`` for 0.5."""
    if speed == int(speed) and abs(speed) < 1e15:
        return str(int(speed))
    return repr(float(speed))


class App:
    """The demo server's state: defaults, the replayed recording, counters."""

    def __init__(self, *, speed: float, seed: int, replay: Any = None) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a finite number > 0, got {speed!r}")
        self.speed = float(speed)
        self.seed = int(seed)
        self.recording: Replay | None = (
            None if replay is None else load_recording(replay)
        )
        self.stopping = threading.Event()
        self._fault_uses: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        self._replay_next: dict[str, int] = {}

    @property
    def names(self) -> list[str]:
        """What the server plays: every scenario, and ``replay`` when replaying."""
        return [*SCENARIOS, *(["replay"] if self.recording is not None else [])]

    # -- requests -------------------------------------------------------------------

    def _common(self, request: Request) -> tuple[dict[str, str], float, Faults]:
        query = dict(request.query_params)
        query.pop("last_event_id", None)
        speed = self.speed
        if "speed" in query:
            text = query.pop("speed")
            try:
                speed = float(text)
            except ValueError:
                speed = float("nan")
            if not (speed > 0 and math.isfinite(speed)):
                raise ValueError(f"speed takes a finite number > 0, got {text!r}")
        faults, rest = Faults.split(query)
        if faults.times is not None:
            key = (request.url.path, tuple(sorted(query.items())))
            used = self._fault_uses.get(key, 0)
            self._fault_uses[key] = used + 1
            if used >= faults.times:
                faults = Faults()
        return rest, speed, faults

    async def _body_error(self, request: Request) -> Response | None:
        """A 400 for a POST whose JSON body does not parse, else ``None``."""
        if request.method != "POST":
            return None
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        if body and "json" in ctype:
            try:
                json.loads(body)
            except ValueError as exc:
                return PlainTextResponse(
                    f"the POST body is not JSON ({exc}); send a JSON object, or "
                    f"no body\n",
                    status_code=400,
                )
        return None

    async def scenario(self, request: Request) -> Response:
        """``GET /<name>`` (or ``POST``): play a scenario, resuming from
        ``Last-Event-ID``."""
        name = request.path_params["name"]
        if name not in SCENARIOS:
            return PlainTextResponse(
                f"no scenario named {name!r}; the scenarios are "
                f"{', '.join(self.names)} (see / for what each shows)\n",
                status_code=404,
            )
        scenario = SCENARIOS[name]
        bad = await self._body_error(request)
        if bad is not None:
            return bad
        try:
            params, speed, faults = self._common(request)
            seed = self.seed
            if "seed" in params:
                text = params.pop("seed")
                try:
                    seed = int(text)
                except ValueError:
                    raise ValueError(f"seed takes an integer, got {text!r}") from None
            last_id = request.headers.get("last-event-id")
            if last_id is None:
                last_id = request.query_params.get("last_event_id")
            written = steps(name, seed=seed, last_event_id=last_id, **params)
            first = next(written, None)
        except ValueError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=400)
        headers = {"SSENB-Time-Scale": format_scale(speed), **scenario.headers}
        if first is None and last_id is not None:
            # Resumed past the last event: nothing more, so tell the client to stop.
            return Response(status_code=204, headers=headers)
        chain = written if first is None else itertools.chain([first], written)
        return self._answer(chain, faults, speed, headers, method=request.method)

    async def replay(self, request: Request) -> Response:
        """``GET /replay`` (or ``POST``): play the next recorded connection (or
        ``?connection=``)."""
        rec = self.recording
        if rec is None:
            return PlainTextResponse(
                "this server replays nothing; start it with demo_server(replay=...) "
                "or `ssenb replay FILE`\n",
                status_code=404,
            )
        bad = await self._body_error(request)
        if bad is not None:
            return bad
        try:
            params, speed, faults = self._common(request)
            stream = params.pop("stream", rec.default_stream)
            number = params.pop("connection", None)
            params.pop("seed", None)
            if params:
                raise ValueError(
                    f"replay takes no parameter {', '.join(sorted(params))}; it takes "
                    f"{', '.join(_REPLAY_PARAMS)} and the faults listed at /"
                )
            if stream not in rec.streams:
                names = ", ".join(repr(s) for s in rec.streams)
                raise LookupError(f"no recorded stream {stream!r}; there are {names}")
            conns = rec.streams[stream]
            if faults.status is not None:
                # A status fault stands in for the answer: no recorded turn is used.
                scale = {"SSENB-Time-Scale": format_scale(speed)}
                return self._answer([], faults, speed, scale)
            if number is not None:
                chosen = [c for c in conns if str(c.number) == number.strip()]
                if not chosen:
                    numbers = ", ".join(str(c.number) for c in conns)
                    raise LookupError(
                        f"stream {stream!r} has no recorded connection {number}; "
                        f"it has {numbers}"
                    )
                conn = chosen[0]
            else:
                turn = self._replay_next.get(stream, 0)
                if turn >= len(conns):
                    # Every recorded connection was played: say so, and start over.
                    self._replay_next[stream] = 0
                    return Response(
                        status_code=204,
                        headers={"SSENB-Time-Scale": format_scale(speed)},
                    )
                self._replay_next[stream] = turn + 1
                conn = conns[turn]
        except ValueError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=400)
        except LookupError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=404)
        headers = {
            "SSENB-Time-Scale": format_scale(speed),
            "SSENB-Replay-Connection": str(conn.number),
        }
        if conn.status == 204 and faults.status is None:
            return Response(status_code=204, headers=headers)
        if conn.content_type != _SSE or conn.status != 200:
            headers.setdefault("content-type", conn.content_type)
        return self._answer(
            conn.steps,
            faults,
            speed,
            headers,
            status=conn.status,
            method=request.method,
        )

    def _answer(
        self,
        written: Iterable[Step],
        faults: Faults,
        speed: float,
        headers: dict[str, str],
        *,
        status: int = 200,
        method: str = "GET",
    ) -> Response:
        head = faults.head()
        headers = {"Cache-Control": "no-cache", **headers, **head.headers}
        if head.body is not None:
            return Response(head.body, status_code=head.status, headers=headers)
        if method == "HEAD":  # headers only: do not play a stream nobody reads
            return Response(status_code=status, headers=headers, media_type=_SSE)
        return StreamingResponse(
            self._play(faults.apply(written), speed),
            status_code=status,
            headers=headers,
            media_type=_SSE,
        )

    async def _play(
        self, written: Iterator[Step], speed: float
    ) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        for step in written:
            if step.hangup:
                return
            if not step.data:
                # A pure wait (a stall) is silence from now on, even when running late.
                deadline = max(deadline, loop.time())
            deadline += step.delay / speed
            while (left := deadline - loop.time()) > 0:
                if self.stopping.is_set():
                    return
                await asyncio.sleep(min(left, _SLICE))
            if self.stopping.is_set():
                return
            if step.data:
                yield step.data
            await asyncio.sleep(0)  # let other streams and the disconnect watch run

    # -- index ----------------------------------------------------------------------

    def catalog(self) -> dict[str, Any]:
        """What the index page shows, as data."""
        return {
            "time_scale": self.speed,
            "seed": self.seed,
            "scenarios": [
                {
                    "name": s.name,
                    "group": s.group,
                    "description": s.description,
                    "ids": s.ids,
                    "params": {
                        name: {"default": p.default, "help": p.help}
                        for name, p in s.params.items()
                    },
                }
                for s in SCENARIOS.values()
            ],
            "common": COMMON,
            "faults": FAULTS,
            "replay": None
            if self.recording is None
            else {
                "source": self.recording.describe(),
                "streams": {
                    name: [c.number for c in conns]
                    for name, conns in self.recording.streams.items()
                },
                "params": _REPLAY_PARAMS,
            },
        }

    async def index(self, request: Request) -> Response:
        """``GET /``: the catalogue, as HTML or (``Accept: application/json``) JSON."""
        accept = request.headers.get("accept", "")
        wants_json = request.query_params.get("format") == "json" or (
            "application/json" in accept and "text/html" not in accept
        )
        if wants_json:
            return JSONResponse(self.catalog())
        return HTMLResponse(_index_html(self.catalog()))


#: The methods a stream answers: GET, HEAD (headers only) and POST (LLM style).
_STREAM_METHODS = ["GET", "HEAD", "POST"]


def _rows(items: Iterable[tuple[str, str]]) -> str:
    return "".join(
        f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(v)}</td></tr>"
        for k, v in items
    )


def _index_html(cat: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>ssenb demo server</title><style>body{font-family:sans-serif;"
        "max-width:60em;margin:2em auto}td{vertical-align:top;padding:.2em .6em}"
        "code{white-space:nowrap}</style></head><body>",
        "<h1>ssenb demo server</h1>",
        f"<p>Server-Sent Events scenarios, played {e(format_scale(cat['time_scale']))}"
        " times faster than real time (the <code>SSENB-Time-Scale</code> header of "
        "every stream). Payloads keep their real-world values. Every stream answers "
        "GET and also POST, as LLM APIs do (a POST body is read, not used). Ask for "
        "<code>Accept: application/json</code> for this page as data.</p>",
    ]
    if cat["replay"] is not None:
        parts.append(
            f"<h2>Replay</h2><p><a href='/replay'>/replay</a>: "
            f"{e(cat['replay']['source'])}. Each request plays the next recorded "
            "connection; after the last one a 204 says the recording is over, and "
            "the next request starts again.</p><table>"
            + _rows(cat["replay"]["params"].items())
            + "</table>"
        )
    for group, title in (("system", "Systems"), ("family", "Families")):
        parts.append(f"<h2>{title}</h2><table>")
        for s in cat["scenarios"]:
            if s["group"] != group:
                continue
            params = ", ".join(
                f"<code>{e(n)}={e(str(p['default']))}</code>"
                f" <small>({e(p['help'])})</small>"
                for n, p in s["params"].items()
            )
            parts.append(
                f"<tr><td><a href='/{e(s['name'])}'>{e(s['name'])}</a></td>"
                f"<td>{e(s['description'])}<br>{params}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Every stream also takes</h2><table>")
    parts.append(_rows(cat["common"].items()) + "</table>")
    parts.append(
        "<h2>Faults</h2><p>Query parameters, combinable with any scenario "
        "(e.g. <code>/openai?cut=3&amp;newline=cr</code>):</p><table>"
    )
    parts.append(_rows(cat["faults"].items()) + "</table></body></html>")
    return "".join(parts)


def create_app(*, speed: float = 100.0, seed: int = 0, replay: Any = None) -> Starlette:
    """The demo server as an ASGI app, to embed or to run under any ASGI server.

    ``GET /`` lists the scenarios, ``GET /<scenario>`` plays one (``POST`` too, as
    LLM APIs stream from a POST), ``GET /replay`` plays the recording given as
    ``replay``: its writes, as ``ssenb.store.timeline`` makes them from a capture,
    an events frame, raw bytes or a file (see ``replay.load_recording``). The ``App``
    state is at ``app.state.ssenb``.

    Example:
        >>> app = create_app(speed=10)  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    state = App(speed=speed, seed=seed, replay=replay)
    app = Starlette(
        routes=[
            Route("/", state.index),
            Route("/replay", state.replay, methods=_STREAM_METHODS),
            Route("/{name}", state.scenario, methods=_STREAM_METHODS),
        ]
    )
    app.state.ssenb = state
    return app
