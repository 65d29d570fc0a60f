"""``ssenb demo``: every system of the catalogue, recorded and explained in one command;
and the sample captures of ``data/``.

Rules of this module:

- No network: everything comes from the demo server on 127.0.0.1, started here and
  stopped before returning (no thread, no port left behind, even on Ctrl-C). Ctrl-C
  while recording ends the recording and goes on with what was recorded.
- All streams are recorded at once, on one event loop (``ssenb.Recorder`` over a
  mapping of streams, as ``capture_many`` does), then split into one ``Capture`` per
  stream.
- The client's default reconnection delay (3 s, as browsers use) is counted in stream
  time like everything the server sends, so a demo played at ``speed`` 30 shows the
  same downtimes as a real client would see.
- Computing and printing are separate: ``run_demo`` returns a ``DemoResult`` whose
  ``text()`` is what the command prints.

Example:
    >>> result = run_demo("ssenb-demo", seconds=5)  # doctest: +SKIP
    >>> result.summaries["openai"].dialect
    'openai'
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import re
import shutil
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ._progress import progress_wanted
from ._renamed import renamed
from ._term import term_safe
from .analysis import heartbeats, lint, reconnects
from .capture import Capture, Recorder
from .patterns import FAMILIES, classify, dialect
from .server import demo_server

__all__ = [
    "DemoResult",
    "RAW_SAMPLES",
    "SAMPLES",
    "SYSTEMS",
    "StreamSummary",
    "add_arguments",
    "main",
    "record",
    "record_samples",
    "run",
    "run_demo",
    "split",
    "summarize",
]

#: The systems of the pattern catalogue, in the order the demo shows them.
SYSTEMS: tuple[str, ...] = (
    "openai",
    "github-actions",
    "vercel",
    "twitter",
    "shopify",
    "chatgpt",
    "express",
    "play",
    "nginx",
    "analytics",
)

#: The sample captures of ``data/``: file stem -> (scenario, scenario parameters and
#: faults). Every scenario of the demo server with its defaults, plus two recordings
#: of a client recovering from a fault.
SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    **{name: (name, {}) for name in SYSTEMS},
    **{
        name: (name, {})
        for name in (
            "keepalive",
            "control",
            "state",
            "progress",
            "errors",
            "metadata",
            "auth",
        )
    },
    # cut mid-event after 30 events on the first request; the client resumes with
    # Last-Event-ID from the last checkpoint
    "resume-after-cut": ("progress", {"cut": 30, "times": 1}),
    # 503 with Retry-After: 1 on the first request; the second plays the stream
    "retry-after-503": ("shopify", {"status": 503, "retry_after": 1, "times": 1}),
}

#: Raw ``.sse`` exports written beside the samples (their wire bytes, as received).
RAW_SAMPLES: tuple[str, ...] = ("openai", "twitter")


# -- recording -------------------------------------------------------------------------


def split(capture: Capture) -> dict[str, Capture]:
    """One ``Capture`` per stream of a multi-stream capture (``capture_many``).

    Each keeps its rows (``stream`` still names it), its raw bytes, and the shared
    metadata with ``url`` and ``streams`` narrowed to that stream.
    """
    return {name: capture.select(name) for name in capture.streams}


def record(
    streams: Mapping[str, tuple[str, Mapping[str, Any]]] | Sequence[str] = SYSTEMS,
    *,
    seconds: float = 10.0,
    speed: float = 30.0,
    seed: int = 0,
    progress: bool | None = None,
) -> dict[str, Capture]:
    """Record scenarios of the demo server, all at once, one ``Capture`` per stream.

    Why: one call gives every system of the catalogue as a separate, saveable capture,
    with no network; the server is stopped before this returns.

    Args:
        streams: scenario names, or a mapping of stream name to (scenario, parameters).
        seconds: the most real seconds to record; streams that end sooner (the
            scenarios are finite, and a finished stream answers 204) stop on their own.
        speed: how many times faster than real time the server plays.
        seed: the scenarios' seed (same seed, same content).
        progress: a progress bar (``None``: in a terminal or a notebook).

    Example:
        >>> caps = record(["openai", "twitter"], seconds=5)  # doctest: +SKIP
    """
    if not isinstance(streams, Mapping):
        streams = {name: (name, {}) for name in streams}
    if not streams:
        raise ValueError("record() needs at least one stream")
    if not seconds > 0 or not speed > 0:
        raise ValueError(
            f"seconds and speed must be positive, got seconds={seconds!r}, "
            f"speed={speed!r}"
        )
    with demo_server(speed=speed, seed=seed) as srv:
        urls = {
            name: srv.url(scenario, **dict(params))
            for name, (scenario, params) in streams.items()
        }
        recorder = Recorder(
            urls,
            progress=False,
            duration=seconds,
            until="[DONE]",
        )
        recorder.start()
        try:
            _follow(recorder, len(urls), progress_wanted(progress))
        except KeyboardInterrupt:
            pass  # Ctrl-C ends the recording early; keep what was recorded
        finally:
            cap = recorder.stop()
    return split(cap)


def _follow(recorder: Recorder, n: int, show: bool) -> None:
    """Wait for the recording to end, with a bar of finished streams and events."""
    if not show:
        recorder.wait()
        return
    from tqdm.auto import tqdm

    bar = tqdm(
        total=n,
        desc=f"capturing {n} streams",
        unit="stream",
        bar_format="{desc}: {n}/{total} done |{bar}| {elapsed}{postfix}",
        leave=True,
    )
    try:
        while True:
            finished = recorder.wait(0.1)
            stats = recorder.stats()
            done = sum(s["state"] == "done" for s in stats["streams"].values())
            bar.set_postfix_str(f"{stats['events']} events", refresh=False)
            bar.update(max(n if finished else done, bar.n) - bar.n)
            if finished:
                break
    finally:
        bar.close()


# -- understanding ---------------------------------------------------------------------


@dataclass
class StreamSummary:
    """What the demo found in one stream.

    Attributes:
        name: the stream (the system it plays).
        dialect: the dialect ``ssenb.patterns.dialect`` recognized (``"unknown"``
            if none).
        title: the dialect's long name.
        confidence: the dialect's confidence, 0..1.
        recognized: whether the dialect is the system itself (or names it as alias).
        records: rows of the capture; ``events`` of them dispatched events.
        kinds: records per kind (event, comment, retry, blank).
        families: records per family of ``ssenb.classify`` (non-zero only).
        connections: connection attempts.
        heartbeat: the verdict of ``ssenb.analysis.heartbeats`` (ok, frequent, rare,
            missing, cut, unknown, empty) and ``heartbeat_text`` a line about it.
        reconnects: reconnections (attempts after the first) and
            ``reconnect_text`` a line about them.
        findings: lint findings, most severe first: (severity, rule, detail).
    """

    name: str
    dialect: str
    title: str
    confidence: float
    recognized: bool
    records: int
    events: int
    kinds: dict[str, int]
    families: dict[str, int]
    connections: int
    heartbeat: str
    heartbeat_text: str
    reconnects: int
    reconnect_text: str
    findings: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def recognised(self) -> bool:
        """Deprecated spelling of ``recognized``."""
        import warnings

        warnings.warn(
            "StreamSummary.recognised is now recognized; the old spelling goes away "
            "in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.recognized


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _heartbeat_text(facts: Mapping[str, Any]) -> str:
    verdict = str(facts["verdict"])
    count = int(facts["count"])
    typical = facts["median_interval"]
    silence = facts["max_silence"]
    quiet = f"longest silence {silence:.1f} s" if silence == silence else ""
    if verdict == "empty":
        return "empty: no records"
    if verdict == "missing":
        text = "missing: no keep-alives"
    elif verdict == "unknown":
        text = f"unknown: {_n(count, 'keep-alive')}, too few to time"
    elif verdict == "cut":
        text = (
            f"cut: {', '.join(facts['cut_by'])} would close it "
            f"(idle timeouts); {_n(count, 'keep-alive')}"
        )
    else:
        where = {"ok": "within", "frequent": "more often than", "rare": "rarer than"}
        text = (
            f"{verdict}: {_n(count, 'keep-alive')}, every {typical:.1f} s "
            f"({where.get(verdict, 'vs')} the 30-60 s advice)"
        )
    return f"{text}; {quiet}" if quiet else text


def _reconnect_text(facts: Mapping[str, Any]) -> str:
    attempts = int(facts["attempts"])
    outcomes = ", ".join(f"{k} {v}" for k, v in facts["outcomes"].items())
    if not attempts:
        return "no connection"
    n = int(facts["reconnects"])
    ending = "ending" if attempts == 1 else "endings"
    text = f"{n} ({_n(attempts, 'connection')}; {ending}: {outcomes})"
    if n:
        text += f"; downtime {facts['downtime']:.1f} s"
    if facts.get("operational_disconnects"):
        text += f"; {_n(int(facts['operational_disconnects']), 'disconnect notice')}"
    return text


def summarize(capture: Capture, name: str | None = None) -> StreamSummary:
    """Dialect, families, heartbeats, reconnects and lint of one capture, in brief.

    Why: the few facts that tell what a stream is and whether it is healthy, each
    from the analysis that owns it (``dialect``, ``classify``, ``heartbeats``,
    ``reconnects``, ``lint``).
    """
    name = name if name is not None else (capture.streams or [""])[0]
    d = dialect(capture)
    fam = classify(capture)["family"].value_counts()
    families = {f: int(fam[f]) for f in FAMILIES if f in fam.index and fam[f]}
    hb = heartbeats(capture).facts
    rc = reconnects(capture).facts
    findings = lint(capture).tables["findings"]
    kinds = capture.events["kind"].value_counts()
    return StreamSummary(
        name=name,
        dialect=d.name,
        title=d.title,
        confidence=float(d.confidence),
        recognized=name == d.name or name in d.aliases,
        records=len(capture.events),
        events=int(kinds.get("event", 0)),
        kinds={str(k): int(v) for k, v in kinds.items() if v},
        families=families,
        connections=len(capture.connections),
        heartbeat=str(hb["verdict"]),
        heartbeat_text=_heartbeat_text(hb),
        reconnects=int(rc["reconnects"]),
        reconnect_text=_reconnect_text(rc),
        findings=[
            (str(r.severity), str(r.rule), str(r.detail)) for r in findings.itertuples()
        ],
    )


# -- showing ---------------------------------------------------------------------------


_UNIT = re.compile(r"(\d) (?=s\b|[a-z])")


def _field(label: str, text: str, width: int) -> list[str]:
    """``label`` and ``text`` wrapped to ``width``, never between a number and its
    unit (nor inside "longest silence")."""
    glued = _UNIT.sub("\\1\u00a0", text).replace("longest ", "longest\u00a0")
    lines = textwrap.wrap(
        glued,
        width=width,
        initial_indent=f"  {label:<11} ",
        subsequent_indent=" " * 14,
        break_on_hyphens=False,
    ) or [f"  {label}"]
    return [line.replace("\u00a0", " ") for line in lines]


_KIND_WORDS = {
    "event": "event",
    "comment": "comment",
    "blank": "blank line",
    "retry": "retry hint",
}


def _block(s: StreamSummary, file: str, width: int) -> list[str]:
    head = f"== {s.name} "
    tail = f" {file} ==" if file else " =="
    lines = [head + "=" * max(width - len(head) - len(tail), 2) + tail]
    mark = "" if s.recognized else "  (NOT this system)"
    lines += _field(
        "dialect",
        f"{s.dialect} ({s.title}), confidence {s.confidence:.2f}{mark}",
        width,
    )
    kinds = ", ".join(
        _n(s.kinds[k], word) for k, word in _KIND_WORDS.items() if s.kinds.get(k, 0)
    )
    lines += _field("records", f"{s.records}: {kinds}", width)
    families = sorted(s.families.items(), key=lambda fc: -fc[1])
    lines += _field("families", ", ".join(f"{f} {c}" for f, c in families), width)
    lines += _field("heartbeats", s.heartbeat_text, width)
    lines += _field("reconnects", s.reconnect_text, width)
    if not s.findings:
        lines += _field("lint", "no findings", width)
    for i, (sev, rule, detail) in enumerate(s.findings[:3]):
        text = f"{sev:<7} {rule}" + (f" ({detail})" if detail else "")
        lines += _field("lint" if i == 0 else "", text, width)
    if len(s.findings) > 3:
        lines += _field("", f"... {len(s.findings) - 3} more", width)
    return lines


def _lint_counts(s: StreamSummary) -> str:
    sev = [f[0] for f in s.findings]
    words = {"error": "error", "warning": "warn", "info": "info"}
    parts = [f"{sev.count(k)} {w}" for k, w in words.items() if k in sev]
    return ", ".join(parts) or "none"


def _overview(summaries: Sequence[StreamSummary]) -> list[str]:
    head = ("system", "dialect", "events", "heartbeat", "reconnects", "lint")
    rows = [
        (
            s.name,
            s.dialect + ("" if s.recognized else " (!)"),
            str(s.events),
            s.heartbeat,
            str(s.reconnects),
            _lint_counts(s),
        )
        for s in summaries
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    right = {2, 4}

    def line(r: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return ("  " + "  ".join(cells)).rstrip()

    return [line(head), "  " + "-" * (sum(widths) + 2 * (len(widths) - 1))] + [
        line(r) for r in rows
    ]


def _notebooks() -> Path | None:
    """The tutorial notebooks of the source tree this ssenb runs from, if present."""
    folder = Path(__file__).resolve().parent.parent / "notebooks"
    return folder if folder.is_dir() else None


def _shown_path(path: Path) -> str:
    try:
        rel = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else "."


@dataclass
class DemoResult:
    """What ``run_demo`` recorded, found and wrote.

    Attributes:
        captures: one ``Capture`` per system.
        summaries: one ``StreamSummary`` per system.
        files: the capture file of each system (empty when nothing was written).
        out: the folder written to, or ``None``.
        seconds: wall-clock seconds the demo took (recording and analysis).
        speed: the server's speed.
    """

    captures: dict[str, Capture]
    summaries: dict[str, StreamSummary]
    files: dict[str, Path]
    out: Path | None
    seconds: float
    speed: float

    def cut_short(self) -> list[str]:
        """The streams still playing when the recording ended (time or Ctrl-C)."""
        return [
            name
            for name, cap in self.captures.items()
            if len(cap.connections)
            and str(cap.connections["outcome"].iloc[-1]) in ("duration", "stopped")
        ]

    def text(self, width: int | None = None) -> str:
        """The report the ``ssenb demo`` command prints (``width`` columns; default:
        the terminal's, between 72 and 100)."""
        if width is None:
            width = min(max(shutil.get_terminal_size((88, 24)).columns, 72), 100)
        width -= 1
        lines: list[str] = []
        for name, s in self.summaries.items():
            file = self.files[name].name if name in self.files else ""
            lines += _block(s, file, width) + [""]
        total = sum(s.events for s in self.summaries.values())
        lines += textwrap.wrap(
            f"{_n(len(self.summaries), 'stream')}, {total} events, played at "
            f"{self.speed:g}x real time, recorded and analysed in "
            f"{self.seconds:.1f} s (the times above are stream time):",
            width=width,
        )
        lines += _overview(list(self.summaries.values()))
        cut = self.cut_short()
        if cut:
            lines.append("")
            lines += textwrap.wrap(
                f"Still playing when the recording ended: {', '.join(cut)}. Give "
                f"more --seconds (or a higher --speed) to see them to their end.",
                width=width,
            )
        lines.append("")
        if self.out is not None:
            lines.append(
                "The captures, one .jsonl per system (index.md lists them), are in:"
            )
            lines.append(f"  {_shown_path(self.out)}/")
            example = next(iter(self.files.values()), None)
            if example is not None:
                lines.append("Load one in Python:")
                lines.append(f'  ssenb.load("{_shown_path(example)}")')
            lines.append("")
        nb = _notebooks()
        where = _shown_path(nb) if nb is not None else "notebooks"
        lines.append("Next, the tutorial notebooks, one per pattern family and system:")
        lines.append(f"  jupyter lab {where}/")
        if nb is None:
            lines.append("  (the notebooks/ folder of the ssenb source repository)")
        if importlib.util.find_spec("jupyterlab") is None:
            lines.append("JupyterLab is not installed here; get it with:")
            lines.append("  python3 -m pip install jupyterlab")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _write(
    captures: Mapping[str, Capture],
    summaries: Mapping[str, StreamSummary],
    out: Path,
    *,
    speed: float,
    seed: int,
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {name: cap.save(out / f"{name}.jsonl") for name, cap in captures.items()}
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    version = (
        next(iter(captures.values())).meta.get("ssenb_version", "") if captures else ""
    )
    lines = [
        "# ssenb demo captures",
        "",
        f"Recorded {stamp} by ssenb {version} from its demo server "
        f"(speed {speed:g}, seed {seed}). Load one with `ssenb.load(path)`; "
        f"`ssenb report FILE` prints its analysis.",
        "",
        "| file | system | dialect recognized | records | events | connections |",
        "|---|---|---|---:|---:|---:|",
    ]
    for name, path in files.items():
        s = summaries[name]
        lines.append(
            f"| `{path.name}` | {name} | {s.dialect} | {s.records} | {s.events} | "
            f"{s.connections} |"
        )
    (out / "index.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def run_demo(
    out: str | Path | None = "ssenb-demo",
    *,
    seconds: float = 10.0,
    speed: float = 30.0,
    seed: int = 0,
    progress: bool | None = None,
) -> DemoResult:
    """Record every system of the catalogue from the demo server, analyse each stream
    and write the captures to ``out`` (one ``.jsonl`` per system and ``index.md``).

    Why: the quickest way to see what ssenb does, with no network and no setup; what
    ``ssenb demo`` runs.

    Args:
        out: the folder to write (created if missing); ``None`` writes nothing.
        seconds: the most real seconds to record (the streams end sooner at the
            default speed).
        speed: how many times faster than real time the server plays.
        seed: the scenarios' seed.
        progress: a progress bar (``None``: in a terminal or a notebook).

    Example:
        >>> print(run_demo(None, seconds=5).text())  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    captures = record(
        SYSTEMS, seconds=seconds, speed=speed, seed=seed, progress=progress
    )
    summaries = {name: summarize(cap, name) for name, cap in captures.items()}
    files: dict[str, Path] = {}
    folder = None
    if out is not None:
        folder = Path(out)
        files = _write(captures, summaries, folder, speed=speed, seed=seed)
    return DemoResult(
        captures, summaries, files, folder, time.perf_counter() - t0, speed
    )


# -- the sample data of data/ ---------------------------------------------------------


def record_samples(
    directory: str | Path,
    *,
    speed: float = 100.0,
    seed: int = 0,
    progress: bool | None = None,
) -> list[Path]:
    """Record every sample of ``SAMPLES`` into ``directory`` as ``<name>.jsonl``, and
    the raw wire bytes of ``RAW_SAMPLES`` as ``<name>-<connection>.sse`` with their
    timing sidecars (``ssenb.store.export_sse``).

    Why: small, real captures made by ssenb itself, for offline notebooks and tests;
    the same seed gives the same content (only arrival times differ).

    Returns:
        The files written.
    """
    from .store import export_sse, timing_path

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    captures = record(SAMPLES, seconds=30.0, speed=speed, seed=seed, progress=progress)
    written = []
    for name, cap in captures.items():
        written.append(cap.save(folder / f"{name}.jsonl"))
        if name in RAW_SAMPLES:
            raw = {("", conn): chunks for (_, conn), chunks in cap.raw.items()}
            for sse in export_sse(raw, folder, name=name):
                written += [sse, timing_path(sse)]
    return written


# -- command line ----------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ssenb demo`` (shared with ``python -m ssenb.demo``)."""
    p.add_argument(
        "--out",
        default="ssenb-demo",
        metavar="DIR",
        help="the folder for the captures (default ./ssenb-demo)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        metavar="S",
        help="record for at most S seconds (default 10; the streams end sooner)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=30.0,
        metavar="X",
        help="play the streams X times faster than real time (default 30)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """Run ``ssenb demo`` with parsed arguments; print the report; return the exit
    code."""
    out = out or sys.stdout
    if not args.seconds > 0 or not args.speed > 0:
        print("ssenb demo: --seconds and --speed must be positive", file=sys.stderr)
        return 2
    print(
        f"Recording {len(SYSTEMS)} systems from the demo server on 127.0.0.1 "
        f"(played {args.speed:g}x faster than real time)...",
        file=out,
        flush=True,
    )
    try:
        result = run_demo(
            args.out,
            seconds=args.seconds,
            speed=args.speed,
            progress=False if args.no_progress else None,
        )
    except KeyboardInterrupt:
        print("ssenb demo: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"ssenb demo: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(file=out)
    print(term_safe(result.text(), lines=True), file=out, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m ssenb.demo``: the demo, or ``--record-samples DIR`` to re-record
    the sample data."""
    p = argparse.ArgumentParser(
        prog="python -m ssenb.demo",
        description="Run the ssenb demo, or re-record the sample captures of data/.",
    )
    add_arguments(p)
    p.add_argument(
        "--record-samples",
        metavar="DIR",
        help="record the sample captures into DIR (data/ of the repository)",
    )
    args = p.parse_args(argv)
    if args.record_samples:
        paths = record_samples(
            args.record_samples, progress=False if args.no_progress else None
        )
        for path in paths:
            print(f"{path.stat().st_size:>9}  {path}")
        return 0
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


#: Old (British) spellings of public names: they warn for one release.
_RENAMED = {"summarise": "summarize"}


__getattr__ = renamed(__name__, globals(), _RENAMED)
