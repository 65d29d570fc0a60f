"""The ``ssenb`` command. Each subcommand is a thin shell over the library.

Subcommands register themselves in ``_COMMANDS``: a function that adds the parser and a
function that runs it and returns the exit code.

Rules of this module:

- One exit-code convention (``EXIT_CODES``, shown by ``ssenb --help``): 0 done, 1 the
  command ran and failed, 2 a usage error (bad options, a missing file, a directory).
- An error is one line on stderr, ``ssenb COMMAND: what went wrong``: redacted
  (``redact_text``) and terminal-safe, never a traceback for a wrong input.
- Every string that comes from a stream or a file goes through ``term_safe`` before
  it is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from . import __version__
from ._inputs import InputError, sniff
from ._term import term_safe
from .errors import SSENBError
from .frames import read_sse
from .parse import Record, SSEParser
from .redact import redact_text

__all__ = ["build_parser", "main"]


def _read_chunks(path: str) -> Iterator[bytes]:
    """Bytes of a file, or of stdin for ``-``, as they arrive."""
    if path == "-":
        fd = sys.stdin.buffer.fileno()
        while chunk := os.read(fd, 65536):
            yield chunk
        return
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk


EXIT_CODES = (
    "exit status: 0 done; 1 the command ran and failed (a file that is not a stream "
    "or a capture, a damaged capture, a stream or server that failed); 2 a usage "
    "error (bad options, a missing file, a directory given for a file); 130 "
    "interrupted (Ctrl-C)"
)


def _say(command: str, message: object) -> None:
    """One error line on stderr: redacted, control characters escaped."""
    text = " ".join(str(message).split("\n"))
    print(f"ssenb {command}: {term_safe(redact_text(text))}", file=sys.stderr)


def _input(command: str, path: str) -> str | int:
    """What ``path`` holds ("capture" or "stream"), or the exit code after saying
    why the command cannot take it."""
    try:
        return sniff(path)
    except InputError as exc:
        _say(command, exc)
        return exc.code


def _preview(text: str, width: int) -> str:
    """One line of ``text``: control characters escaped, cut to ``width``."""
    shown = term_safe(text)
    return shown if len(shown) <= width else shown[: max(width - 1, 0)] + "…"


_ROW = "{offset:>9} {kind:<7} {type:<18} {id:<10} {size:>7}  {data}"


def _print_record(r: Record, width: int, out: IO[str]) -> None:
    shown = r.data if r.kind != "retry" else f"{r.retry} ms"
    print(
        _ROW.format(
            offset=r.offset,
            kind=r.kind,
            type=_preview(r.type, 18),
            id=_preview(r.id, 10) if r.id is not None else "",
            size=r.size,
            data=_preview(shown, width),
        ),
        file=out,
        flush=True,
    )


def _print_totals(
    records: Counter[str],
    types: Counter[str],
    n_bytes: int,
    parser: SSEParser,
    discarded: int,
    out: IO[str],
) -> None:
    print(file=out)
    total = sum(records.values())
    print(f"{total} records in {n_bytes} bytes", file=out)
    for kind in ("event", "comment", "retry", "blank"):
        if records[kind]:
            print(f"  {kind:<8} {records[kind]:>8}", file=out)
    if types:
        print("events by type:", file=out)
        for name, count in types.most_common():
            print(f"  {_preview(name, 30):<30} {count:>8}", file=out)
    if parser.last_event_id:
        print(f"last event id: {_preview(parser.last_event_id, 60)}", file=out)
    if parser.retry is not None:
        print(f"retry: {parser.retry} ms", file=out)
    if discarded:
        print(
            f"note: the stream ended inside a block; its last {discarded} bytes were "
            f"never closed by a blank line and dispatched nothing",
            file=out,
        )


def _add_inspect(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "inspect",
        help="print the records of a raw event stream",
        description="Print every record of a raw event stream (a file, or - for stdin, "
        "e.g. curl -N URL | ssenb inspect -) as it arrives, then totals per kind and "
        "type. A capture or HAR file shows the recorded bytes of each connection.",
    )
    p.add_argument(
        "file",
        help="a file holding the raw stream, - for stdin, or a capture or HAR file",
    )
    p.add_argument(
        "--max-event-size",
        type=int,
        default=None,
        help="the most bytes one record may span (default 16 MiB)",
    )


def _recorded_bodies(path: str, kind: str) -> list[tuple[str, list[bytes]]] | int:
    """The raw bodies of a capture or HAR file, one per (stream, connection) with a
    heading, or the exit code after saying why there are none to show."""
    from .value import load

    what = "a HAR file" if kind == "har" else "an ssenb capture"
    try:
        cap = load(path)
    except SSENBError as exc:
        _say("inspect", exc)
        return 1
    if not cap.raw:
        _say(
            "inspect",
            f"{path} is {what} without the raw bytes of its streams, not a raw event "
            f"stream: look at it with ssenb report {path}",
        )
        return 1
    bodies = []
    for (stream, conn), chunks in sorted(cap.raw.items()):
        name = f"stream {stream!r}, " if stream else ""
        bodies.append((f"{name}connection {conn}", [c for _t, c in chunks]))
    return bodies


def _run_inspect(args: argparse.Namespace) -> int:
    out = sys.stdout
    width = max(shutil.get_terminal_size((120, 24)).columns - 58, 20)
    options = (
        {} if args.max_event_size is None else {"max_event_size": args.max_event_size}
    )
    bodies: list[tuple[str, Iterable[bytes]]] = [("", _read_chunks(args.file))]
    if args.file != "-":
        kind = _input("inspect", args.file)
        if isinstance(kind, int):
            return kind
        if kind != "stream":
            recorded = _recorded_bodies(args.file, kind)
            if isinstance(recorded, int):
                return recorded
            bodies = list(recorded)
    parser = SSEParser(**options)
    kinds: Counter[str] = Counter()
    types: Counter[str] = Counter()
    n_bytes = 0
    discarded = 0

    def show(records: list[Record]) -> None:
        for r in records:
            kinds[r.kind] += 1
            if r.kind == "event":
                types[r.type] += 1
            _print_record(r, width, out)

    print(
        _ROW.format(
            offset="offset", kind="kind", type="type", id="id", size="size", data="data"
        ),
        file=out,
    )
    try:
        for heading, chunks in bodies:
            if heading:
                print(f"-- {term_safe(heading)}", file=out)
                parser = SSEParser(**options)
            for chunk in chunks:
                n_bytes += len(chunk)
                show(parser.feed(chunk))
            discarded += parser.buffered
            show(parser.close())
    except KeyboardInterrupt:
        discarded = 0
    except SSENBError as exc:
        show(getattr(exc, "records", []))
        _print_totals(kinds, types, n_bytes, parser, 0, out)
        _say("inspect", exc)
        return 1
    _print_totals(kinds, types, n_bytes, parser, discarded, out)
    return 0


def _add_capture(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "capture",
        help="record an event stream into a capture file",
        description="Record every record of an event stream, across reconnects, then "
        "print a summary. Ctrl-C ends the recording and keeps what was recorded. "
        "With -o FILE.jsonl each record is written within 100 ms of its arrival (a "
        "killed process loses at most its last 100 ms of records); other suffixes "
        "(.jsonl.gz, .parquet) are written at the end. --duration is a deadline; a "
        "stream that says it is done ([DONE], done, message_stop...) and hangs up "
        "ends the capture (--reconnect-forever to request it again).",
    )
    p.add_argument("url", help="the stream's URL")
    p.add_argument("-o", "--output", help="the capture file to write")
    p.add_argument("--max-events", type=int, help="stop after N events")
    p.add_argument("--duration", type=float, help="stop after S seconds")
    p.add_argument(
        "--until",
        help="stop at this event type (done, complete...) or data sentinel ([DONE])",
    )
    p.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'K: V'",
        help="a request header (repeatable)",
    )
    p.add_argument(
        "-X", "--method", help="the HTTP method (default GET, POST with --json)"
    )
    p.add_argument("--json", help="a JSON request body")
    p.add_argument("--data", help="a raw request body")
    p.add_argument(
        "--idle-timeout", type=float, help="reconnect after S silent seconds"
    )
    p.add_argument("--max-reconnects", type=int, help="reconnect at most N times")
    p.add_argument("--no-reconnect", action="store_true", help="never reconnect")
    p.add_argument(
        "--reconnect-forever",
        action="store_true",
        help="request the stream again even after it said it was done (until=None)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument(
        "--no-redact",
        action="store_true",
        help="keep credentials (Authorization, cookies, URL tokens) in the file",
    )


def _run_capture(args: argparse.Namespace) -> int:
    import json

    from .capture import capture

    options: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            print(
                f"ssenb capture: a header is 'Name: value', got {h!r}", file=sys.stderr
            )
            return 2
        headers[name.strip()] = value.strip()
    if headers:
        options["headers"] = headers
    if args.json is not None:
        try:
            options["json"] = json.loads(args.json)
        except ValueError as exc:
            print(f"ssenb capture: --json is not valid JSON: {exc}", file=sys.stderr)
            return 2
    if args.data is not None:
        options["content"] = args.data
    method = args.method or ("POST" if args.json or args.data else "GET")
    options["method"] = method
    for name in ("max_events", "duration", "until", "idle_timeout", "max_reconnects"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if args.no_reconnect:
        options["reconnect"] = False
    if args.reconnect_forever and args.until is None:
        options["until"] = None
    options["progress"] = False if args.no_progress else None
    options["redact"] = not args.no_redact
    out = args.output
    if out is not None and not str(out).endswith((".jsonl", ".jsonl.gz", ".parquet")):
        _say(
            "capture",
            f"cannot tell the capture format of -o {out}: name the file with one of "
            f".jsonl (written as it arrives), .jsonl.gz, .parquet",
        )
        return 2
    live = out is not None and str(out).endswith(".jsonl")
    if live:
        options["path"] = out
    existed = out is not None and os.path.lexists(out)
    try:
        cap = capture(args.url, **options)
    except (ValueError, TypeError) as exc:
        _say("capture", exc)
        _left_behind(out, existed, None)
        return 2
    except SSENBError as exc:
        _say("capture", exc)
        _left_behind(out, existed, getattr(exc, "capture", None))
        return 1
    if out is not None and not live:
        cap.save(out)
    print(term_safe(repr(cap), lines=True))
    if out is not None:
        print(f"saved to {term_safe(out)}")
    return 0


def _left_behind(out: str | None, existed: bool, cap: Any) -> None:
    """After a failed capture: remove the -o file it created if it holds no
    records, or say what it kept."""
    if out is None or existed or not os.path.exists(out):
        return
    rows = len(cap.events) if cap is not None else 0
    if rows == 0:
        Path(out).unlink(missing_ok=True)
        _say("capture", f"nothing was recorded: {out} was not kept")
    else:
        _say("capture", f"kept the {rows} records received in {out}")


def _add_server_options(p: argparse.ArgumentParser, *, port: int) -> None:
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to bind (default 127.0.0.1: this machine only)",
    )
    p.add_argument(
        "--port", type=int, default=port, help=f"the port (default {port}; 0: any)"
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="how many times faster than real time to play (default 1: real time)",
    )


def _add_serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="run the demo server: every pattern of the catalogue, with faults",
        description="Run the demo server until Ctrl-C. Open its URL for the list of "
        "scenarios, their parameters and the faults; e.g. curl -N URL/twitter.",
    )
    _add_server_options(p, port=8000)
    p.add_argument("--seed", type=int, default=0, help="the default seed (default 0)")


def _run_server(replay: object, args: argparse.Namespace, what: str) -> int:
    from .server import serve_forever

    def ready(url: str) -> None:
        print(f"ssenb {what} on {url}/  (Ctrl-C to stop)", flush=True)
        if replay is None:
            from .server.scenarios import SCENARIOS

            print(
                f"  e.g. curl -N {url}/twitter ; scenarios: {', '.join(SCENARIOS)}",
                flush=True,
            )
        else:
            print(f"  e.g. curl -N {url}/replay", flush=True)

    try:
        serve_forever(
            host=args.host,
            port=args.port,
            speed=args.speed,
            seed=getattr(args, "seed", 0),
            replay=replay,
            ready=ready,
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(
            f"ssenb {what}: cannot listen on {args.host}:{args.port}: {exc.strerror}; "
            f"try another --port",
            file=sys.stderr,
        )
        return 1
    except ValueError as exc:
        print(f"ssenb {what}: {exc}", file=sys.stderr)
        return 2
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    return _run_server(None, args, "serve")


def _add_replay(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "replay",
        help="serve a recorded capture again, with its timing",
        description="Serve a recording at URL/replay: each request plays the next "
        "recorded connection, with its recorded timing divided by --speed. FILE is a "
        "raw .sse stream, a saved capture or a HAR file.",
    )
    p.add_argument(
        "file", help="the recording: a raw .sse file, a saved capture or a .har"
    )
    _add_server_options(p, port=8000)


def _run_replay(args: argparse.Namespace) -> int:
    from .server.replay import load_recording
    from .store import timeline

    kind = _input("replay", args.file)
    if isinstance(kind, int):
        return kind
    try:
        recording = load_recording(timeline(args.file), name=args.file)
    except SSENBError as exc:
        _say("replay", exc)
        return 1
    except (TypeError, ValueError) as exc:
        _say("replay", f"cannot read {args.file}: {exc}")
        return 1
    print(f"replaying {term_safe(recording.describe())}", flush=True)
    return _run_server(recording, args, "replay")


def _open_for_report(path: str, kind: str, skip: bool = False) -> Any:
    """What ``ssenb report`` analyses: a raw stream (or ``-`` for stdin) through
    ``read_sse``; a capture file (``.jsonl``, ``.jsonl.gz``, ``.parquet``) or a HAR
    through ``ssenb.load``. The kind comes from the file's first bytes, not its
    name."""
    if kind == "stream":
        return read_sse(_read_chunks(path))
    from .capture import load

    return load(path, on_bad_lines="skip" if skip else "error")


def _add_report(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="analyse a capture and print its report",
        description="Analyse a recorded stream (a raw .sse file, - for stdin, or a "
        "capture file) and print the report: overview, dialect, heartbeats, event "
        "types, reconnects, timing, LLM answer, progress, schema and lint findings.",
    )
    p.add_argument(
        "file", help="a .sse file, - for stdin, or a capture file (.har too)"
    )
    p.add_argument(
        "--html",
        metavar="PATH",
        default=None,
        help="also write the report as a self-contained HTML file",
    )
    p.add_argument(
        "--rows",
        type=int,
        default=10,
        help="rows shown per table (default 10)",
    )
    p.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="load a damaged capture without its malformed lines (say how many)",
    )


def _run_report(args: argparse.Namespace) -> int:
    from .analysis import report

    kind = "stream" if args.file == "-" else _input("report", args.file)
    if isinstance(kind, int):
        return kind
    try:
        capture = _open_for_report(args.file, kind, args.skip_bad_lines)
    except SSENBError as exc:
        hint = ""
        if "on_bad_lines" in str(exc):
            hint = f" On the command line: ssenb report --skip-bad-lines {args.file}"
        _say("report", f"{exc}{hint}")
        return 1
    for note in getattr(capture, "notes", None) or []:
        _say("report", f"note: {note}")
    result = report(capture)
    print(term_safe(result.text(max_rows=args.rows), lines=True))
    if args.html:
        from .share._page import report_page

        Path(args.html).write_text(
            report_page(capture, max_rows=args.rows, result=result), encoding="utf-8"
        )
    return 0


def _add_notebook(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "notebook",
        help="write a capture as a shareable tutorial notebook",
        description="Write a notebook that teaches what a recorded stream does "
        "(summary, dialect, wire bytes, patterns, heartbeats, reconnects, lint, a "
        "live replay); the capture travels with it, so it runs anywhere.",
    )
    p.add_argument(
        "capture", help="a capture file (.jsonl, .jsonl.gz, .parquet) or a .har"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT.ipynb",
        default=None,
        help="the notebook to write (default: the capture's name with .ipynb)",
    )
    p.add_argument(
        "--execute",
        action="store_true",
        help="run the notebook in a fresh kernel and save it with its outputs",
    )
    p.add_argument(
        "--html",
        metavar="OUT.html",
        default=None,
        help="also export the executed notebook to one self-contained HTML page",
    )
    p.add_argument("--title", default=None, help="the notebook's title")
    p.add_argument("--force", action="store_true", help="replace existing output files")


def _run_notebook(args: argparse.Namespace) -> int:
    from .share import to_html, to_notebook

    kind = _input("notebook", args.capture)
    if isinstance(kind, int):
        return kind
    src = Path(args.capture)
    if args.output:
        out = Path(args.output)
    else:
        name = src.name
        for suffix in (".jsonl.gz", ".jsonl", ".parquet", ".har"):
            name = name.removesuffix(suffix)
        out = src.with_name(name + ".ipynb")
    try:
        if args.html and not args.force and Path(args.html).exists():
            raise FileExistsError(
                f"{args.html} exists; pass --force to replace it, or choose another "
                f"path"
            )
        nb = to_notebook(
            src,
            out,
            title=args.title,
            execute=bool(args.execute or args.html),
            overwrite=args.force,
        )
        if args.html:
            to_html(nb, args.html, overwrite=args.force)
    except (SSENBError, FileExistsError) as exc:
        _say("notebook", exc)
        return 1
    except KeyboardInterrupt:
        _say("notebook", f"interrupted: {out} was not written")
        return 130
    print(f"wrote {out}" + (f" and {args.html}" if args.html else ""))
    return 0


def _add_proxy(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "proxy",
        help="a recording reverse proxy: see the event streams your own app receives",
        description="Forward every request to UPSTREAM, passing each response through "
        "at once, and record each text/event-stream response as a stream named by "
        "method and path. Point your app (an SDK's base_url, a front end's API "
        "origin) at the printed URL; Ctrl-C stops and saves the capture.",
    )
    p.add_argument("upstream", help="the server to forward to, http(s)://host[:port]")
    p.add_argument(
        "--port", type=int, default=8080, help="the local port (default 8080; 0: any)"
    )
    p.add_argument(
        "-o",
        "--output",
        default=None,
        help="save the capture here on Ctrl-C (.jsonl, .jsonl.gz, .parquet, .har)",
    )


def _run_proxy(args: argparse.Namespace) -> int:
    import time

    from .proxy import proxy

    try:
        px = proxy(args.upstream, port=args.port, path=args.output)
    except ValueError as exc:
        print(f"ssenb proxy: {exc}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError, TimeoutError) as exc:
        print(
            f"ssenb proxy: cannot listen on 127.0.0.1:{args.port}: {exc}; try "
            f"another --port",
            file=sys.stderr,
        )
        return 1
    print(f"ssenb proxy on {px.url} -> {px.upstream}  (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    cap = px.stop()
    per = cap.summary()["streams"]
    print(f"recorded {len(per)} event stream(s)", flush=True)
    for name, n in per.items():
        print(f"  {name}: {n} events", flush=True)
    if args.output:
        print(f"saved {args.output}", flush=True)
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from .demo import add_arguments

    p = sub.add_parser(
        "demo",
        help="record every system of the catalogue from the demo server and explain it",
        description="Start the demo server (127.0.0.1, no network), record each "
        "system of the pattern catalogue at once, print what ssenb finds in each "
        "stream (dialect, families, heartbeats, reconnects, lint), write the "
        "captures to a folder and say how to open the tutorial notebooks.",
    )
    add_arguments(p)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run

    return run(args)


_COMMANDS: list[
    tuple[
        Callable[[argparse._SubParsersAction], None],  # type: ignore[type-arg]
        Callable[[argparse.Namespace], int],
        str,
    ]
] = [
    (_add_inspect, _run_inspect, "inspect"),
    (_add_capture, _run_capture, "capture"),
    (_add_serve, _run_serve, "serve"),
    (_add_replay, _run_replay, "replay"),
    (_add_report, _run_report, "report"),
    (_add_notebook, _run_notebook, "notebook"),
    (_add_proxy, _run_proxy, "proxy"),
    (_add_demo, _run_demo, "demo"),
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ssenb`` command."""
    parser = argparse.ArgumentParser(
        prog="ssenb",
        description="Record, look at and understand Server-Sent Events.",
        epilog=EXIT_CODES[0].upper() + EXIT_CODES[1:] + ".",
    )
    parser.add_argument("--version", action="version", version=f"ssenb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add, _run, _name in _COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``ssenb`` command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for _add, run, name in _COMMANDS:
        if args.command == name:
            try:
                return run(args)
            except FileNotFoundError as exc:
                _say(name, f"no such file: {exc.filename}")
                return 2
            except (IsADirectoryError, PermissionError) as exc:
                _say(name, f"cannot read {exc.filename}: {exc.strerror}")
                return 2
            except BrokenPipeError:
                return 0
            except KeyboardInterrupt:
                return 130
    parser.print_help()
    return 2
