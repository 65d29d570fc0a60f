"""The ``ssenb`` command. Each subcommand is a thin shell over the library.

Subcommands register themselves in ``_COMMANDS``: a function that adds the parser and a
function that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from . import __version__
from .errors import SSENBError
from .frames import read_sse
from .parse import Record, SSEParser

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


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {
    10: "\\n",
    13: "\\r",
    9: "\\t",
}


def _preview(text: str, width: int) -> str:
    """One line of ``text``: control characters escaped, cut to ``width``."""
    shown = text.translate(_CONTROL)
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
        print(f"last event id: {parser.last_event_id}", file=out)
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
        "type.",
    )
    p.add_argument("file", help="a file holding the raw stream, or - for stdin")
    p.add_argument(
        "--max-event-size",
        type=int,
        default=None,
        help="the most bytes one record may span (default 16 MiB)",
    )


def _run_inspect(args: argparse.Namespace) -> int:
    out = sys.stdout
    width = max(shutil.get_terminal_size((120, 24)).columns - 58, 20)
    options = (
        {} if args.max_event_size is None else {"max_event_size": args.max_event_size}
    )
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
        for chunk in _read_chunks(args.file):
            n_bytes += len(chunk)
            show(parser.feed(chunk))
        discarded = parser.buffered
        show(parser.close())
    except KeyboardInterrupt:
        discarded = 0
    except SSENBError as exc:
        show(getattr(exc, "records", []))
        _print_totals(kinds, types, n_bytes, parser, 0, out)
        print(f"ssenb inspect: {exc}", file=sys.stderr)
        return 1
    _print_totals(kinds, types, n_bytes, parser, discarded, out)
    return 0


#: Files ``ssenb report`` reads as a raw event stream; others are capture files.
_RAW_SUFFIXES = {".sse", ".txt", ".events", ".bin", ""}


def _open_for_report(path: str) -> Any:
    """What ``ssenb report`` analyses: a raw stream (``.sse``, or ``-`` for stdin)
    through ``read_sse``; a capture file (``.jsonl``, ``.parquet``) through
    ``ssenb.load``."""
    if path == "-" or Path(path).suffix.lower() in _RAW_SUFFIXES:
        return read_sse(_read_chunks(path))
    try:
        from . import load  # type: ignore[attr-defined]
    except ImportError:
        raise SSENBError(
            f"cannot read {path!r}: this ssenb reads only raw event streams (.sse) "
            "for reports; save the stream as .sse, or use an ssenb with ssenb.load"
        ) from None
    return load(path)


def _add_report(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="analyse a capture and print its report",
        description="Analyse a recorded stream (a raw .sse file, - for stdin, or a "
        "capture file) and print the report: overview, dialect, heartbeats, event "
        "types, reconnects, timing, LLM answer, progress, schema and lint findings.",
    )
    p.add_argument("file", help="a .sse file, - for stdin, or a capture file")
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


def _run_report(args: argparse.Namespace) -> int:
    from .analysis import report

    try:
        capture = _open_for_report(args.file)
    except SSENBError as exc:
        print(f"ssenb report: {exc}", file=sys.stderr)
        return 1
    result = report(capture)
    print(result.text(max_rows=args.rows))
    if args.html:
        Path(args.html).write_text(
            "<!doctype html><meta charset='utf-8'><title>ssenb report</title>"
            + result.html(max_rows=args.rows),
            encoding="utf-8",
        )
    return 0


_COMMANDS: list[
    tuple[
        Callable[[argparse._SubParsersAction], None],  # type: ignore[type-arg]
        Callable[[argparse.Namespace], int],
        str,
    ]
] = [
    (_add_inspect, _run_inspect, "inspect"),
    (_add_report, _run_report, "report"),
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ssenb`` command."""
    parser = argparse.ArgumentParser(
        prog="ssenb", description="Record, look at and understand Server-Sent Events."
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
                print(f"ssenb {name}: no such file: {exc.filename}", file=sys.stderr)
                return 2
            except BrokenPipeError:
                return 0
    parser.print_help()
    return 2
