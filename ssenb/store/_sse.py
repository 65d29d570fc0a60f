"""Raw streams as ``.sse`` files with a timing sidecar, for byte-exact replay.

``export_sse`` writes, per (stream, connection), ``<name>[-<stream>]-<connection>.sse``
holding the body bytes exactly as received, and next to it
``<same stem>.timing.json``: ``{"ssenb": "sse-timing", "schema": 1, "stream": ...,
"connection": ..., "elapsed": [seconds, ...], "sizes": [bytes, ...]}``, one entry per
chunk as it arrived. The ``.sse`` file alone is a plain event stream that any tool
(and ``ssenb.frames.read_sse``) reads; the sidecar adds the timing a replay needs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import CaptureFileError
from ._codec import dumps
from ._jsonl import SCHEMA_VERSION

__all__ = ["export_sse", "import_sse", "timing_path"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def timing_path(path: str | os.PathLike[str]) -> Path:
    """The timing sidecar of a ``.sse`` file: ``x.sse`` -> ``x.timing.json``."""
    path = Path(path)
    return path.with_name(path.stem + ".timing.json")


def export_sse(
    raw: Mapping[tuple[str, int], list[tuple[float, bytes]]],
    directory: str | os.PathLike[str],
    *,
    name: str = "capture",
) -> list[Path]:
    """Write each connection's raw body as a ``.sse`` file plus a timing sidecar.

    Why: the bytes a server sent, with their timing, are what a byte-exact replay
    (or a bug report) needs; the frames alone lose the chunking and the framing.

    Returns:
        The ``.sse`` paths, one per (stream, connection), in key order; each has its
        sidecar at ``timing_path(path)``.

    Example:
        >>> paths = export_sse(data.raw, "replay", name="ticker")  # doctest: +SKIP
        >>> chunks = import_sse(paths[0])  # doctest: +SKIP
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for stream, connection in sorted(raw, key=lambda k: (str(k[0]), k[1])):
        chunks = raw[(stream, connection)]
        parts = [name] + ([_UNSAFE.sub("_", stream)] if stream else [])
        stem = "-".join([*parts, str(connection)])
        unique, n = stem, 1
        while unique in used:
            n += 1
            unique = f"{stem}~{n}"
        used.add(unique)
        path = folder / f"{unique}.sse"
        path.write_bytes(b"".join(chunk for _, chunk in chunks))
        timing = {
            "ssenb": "sse-timing",
            "schema": SCHEMA_VERSION,
            "stream": stream,
            "connection": connection,
            "elapsed": [elapsed for elapsed, _ in chunks],
            "sizes": [len(chunk) for _, chunk in chunks],
        }
        timing_path(path).write_text(dumps(timing) + "\n", encoding="ascii")
        written.append(path)
    return written


def import_sse(path: str | os.PathLike[str]) -> list[tuple[float, bytes]]:
    """Read a ``.sse`` file back as ``[(elapsed seconds, chunk), ...]``.

    With its timing sidecar the chunks and times are those recorded; without one the
    whole file is a single chunk at time 0 (no chunk for an empty file).

    Raises:
        CaptureFileError: the sidecar is malformed or does not match the file.
    """
    path = Path(path)
    data = path.read_bytes()
    sidecar = timing_path(path)
    if not sidecar.exists():
        return [(0.0, data)] if data else []
    name = str(sidecar)
    try:
        timing = json.loads(sidecar.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CaptureFileError(
            f"{name} is not valid JSON ({exc}); expected the timing sidecar of "
            f"{path.name}",
            path=name,
        ) from None
    elapsed = timing.get("elapsed") if isinstance(timing, dict) else None
    sizes = timing.get("sizes") if isinstance(timing, dict) else None
    if (
        not isinstance(timing, dict)
        or timing.get("ssenb") != "sse-timing"
        or not isinstance(elapsed, list)
        or not isinstance(sizes, list)
        or len(elapsed) != len(sizes)
        or not all(isinstance(s, int) and s >= 0 for s in sizes)
        or not all(isinstance(e, int | float) for e in elapsed)
    ):
        raise CaptureFileError(
            f"{name} is not an ssenb timing sidecar; expected "
            f'{{"ssenb": "sse-timing", "elapsed": [...], "sizes": [...]}} with one '
            f"number and one byte count per chunk",
            path=name,
        )
    if sum(sizes) != len(data):
        raise CaptureFileError(
            f"{name} describes {sum(sizes)} bytes but {path.name} holds {len(data)}: "
            f"the .sse file was changed after export. Delete the sidecar to read the "
            f"file as a single chunk.",
            path=name,
        )
    chunks, start = [], 0
    for seconds, size in zip(elapsed, sizes, strict=True):
        chunks.append((float(seconds), data[start : start + size]))
        start += size
    return chunks
