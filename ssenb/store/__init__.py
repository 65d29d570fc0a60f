"""Capture files: save and load a capture without losing data.

Rules of this package:

- Three formats, chosen by the file name: ``.jsonl`` (JSON Lines), ``.jsonl.gz`` (the
  same, gzipped) and ``.parquet`` (one Parquet file). Reading looks at the bytes, not
  the name. ``.har`` reads and writes HAR 1.2 too (``_har.py``: the event streams of
  a browser's HAR export).
- Files or memory, one way: ``write_capture`` and ``read_capture`` take a path or a
  binary file object (``io.BytesIO`` for bytes in memory, as pandas' ``to_parquet``
  and ``read_parquet`` do), with ``format=`` where there is no name. Bytes in memory
  get the same checks, limits and errors as a file.
- ``timeline(recording)`` gives what a recording's server wrote, as ``(delay,
  bytes)`` writes per stream and connection: what the replay server plays
  (``_timeline.py``).
- Every format round-trips the frames exactly: dtypes, ``<NA>``/``NaT``/``NaN``,
  nanosecond UTC times, categories, empty strings as distinct from ``<NA>``, and any
  Unicode text (control characters and NUL included).
- While recording, ``CaptureLog`` appends to a ``.jsonl`` file in small flushed
  batches; a process killed mid-write leaves a file that ``read_capture`` loads,
  losing at most the unflushed batch and the partial last line, and saying so.
- A file that is not a capture, or is corrupt, raises ``CaptureFileError`` naming the
  path, the line and what was expected; never a pandas, pyarrow or json traceback.
- Loading is bounded: JSON Lines (gzipped too) are read as a stream, a block of lines
  at a time; a line longer than ``max_line_size`` (``MAX_LINE_SIZE``, 128 MiB) is
  refused before it is held; the header's meta nests at most 100 levels; Parquet
  columns are checked against the events schema, column by column.

The JSON Lines format, version ``SCHEMA_VERSION`` (1):

- line 1: ``{"ssenb":"capture","schema":1,"meta":{...}}``;
- an events row per line, an object with the ``EVENTS_SCHEMA`` columns as keys:
  strings as strings, times as integer nanoseconds since the epoch (UTC), missing
  values as ``null``, infinities as ``Infinity``/``-Infinity``;
- record lines, each starting with ``{"ssenb":``: ``"connection"`` (``"row"``: a
  connections row, same encoding), ``"raw"`` (``stream``, ``connection``,
  ``elapsed``, ``bytes`` in base64), ``"categories"`` (the categories of each
  frame's categorical columns, written by ``write_capture``), and last ``"end"``
  (the counts of events rows, connections rows and raw chunks: the file is
  complete).

The Parquet format keeps the events in its columns and the rest in its key-value
metadata (``ssenb``, ``ssenb.connections``, ``ssenb.raw``).
"""

from __future__ import annotations

import gzip
import io
import os
import uuid
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast, overload

import pandas as pd

from ..errors import CaptureFileError
from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce
from ._data import CaptureData, RawChunks
from ._har import looks_like_har, read_har, write_har
from ._jsonl import (
    MAX_LINE_SIZE,
    SCHEMA_VERSION,
    iter_capture_lines,
    read_capture_stream,
)
from ._log import CaptureLog
from ._parquet import read_parquet, write_parquet
from ._sse import export_sse, import_sse, timing_path
from ._timeline import UNTIMED_GAP, Turn, timeline

__all__ = [
    "CaptureData",
    "CaptureLog",
    "IN_MEMORY",
    "MAX_LINE_SIZE",
    "SCHEMA_VERSION",
    "Turn",
    "UNTIMED_GAP",
    "export_sse",
    "import_sse",
    "read_capture",
    "timeline",
    "timing_path",
    "write_capture",
]

_FORMATS = (".jsonl", ".jsonl.gz", ".parquet", ".har")

#: Where a capture is written or read: a file's path, or a binary file object (an
#: open file, ``io.BytesIO``), as for ``pandas.DataFrame.to_parquet``.
PathOrFile = str | os.PathLike[str] | BinaryIO

#: The name of a capture held in a file object without one, in error messages.
IN_MEMORY = "<in-memory capture>"


def _format_of(path: Path) -> str:
    for suffix in (".jsonl.gz", ".jsonl", ".parquet", ".har"):
        if path.name.endswith(suffix):
            return suffix
    raise ValueError(
        f"cannot tell the capture format of {path.name!r}: name the file with one of "
        f"{', '.join(_FORMATS)}, or pass format="
    )


def _format(fmt: str) -> str:
    """A format as given (``"parquet"`` or ``".parquet"``), as its suffix."""
    suffix = "." + str(fmt).lower().lstrip(".")
    if suffix not in _FORMATS:
        names = ", ".join(repr(f.lstrip(".")) for f in _FORMATS)
        raise ValueError(f"format must be one of {names}, got {fmt!r}")
    return suffix


def _is_file(obj: Any) -> bool:
    """Whether ``obj`` is a file object (not a path); a text one is refused."""
    if isinstance(obj, str | os.PathLike) or not callable(
        getattr(obj, "read", None) or getattr(obj, "write", None)
    ):
        return False
    if isinstance(obj, io.TextIOBase):
        raise TypeError(
            "captures are bytes: open the file in binary mode ('rb' or 'wb'), or "
            "use io.BytesIO rather than io.StringIO"
        )
    return True


def _check_raw(raw: Any) -> RawChunks:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TypeError(
            f"raw must map (stream, connection) to [(elapsed, chunk), ...], got "
            f"{type(raw).__name__}"
        )
    out: RawChunks = {}
    for key, chunks in raw.items():
        if not (
            isinstance(key, tuple)
            and len(key) == 2
            and isinstance(key[0], str)
            and isinstance(key[1], int)
        ):
            raise TypeError(
                f"raw keys must be (stream: str, connection: int), got {key!r}"
            )
        out[key] = [(float(t), bytes(chunk)) for t, chunk in chunks]
    return out


def _write(
    fh: BinaryIO,
    fmt: str,
    meta: Mapping[str, Any],
    events: pd.DataFrame,
    connections: pd.DataFrame,
    chunks: RawChunks,
) -> None:
    """One capture (frames already coerced) into a binary file object."""
    if fmt == ".parquet":
        write_parquet(fh, meta, events, connections, chunks)
    elif fmt == ".har":
        write_har(fh, meta, events, connections, chunks)
    else:
        # gzip with no name and no time in its header: the same capture gives the
        # same bytes, so shared files diff cleanly
        out: Any = (
            gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=6, mtime=0)
            if fmt == ".jsonl.gz"
            else fh
        )
        for piece in iter_capture_lines(meta, events, connections, chunks):
            out.write(piece)
        if out is not fh:
            out.close()


@overload
def write_capture(
    path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    events: pd.DataFrame,
    connections: pd.DataFrame,
    raw: Mapping[tuple[str, int], list[tuple[float, bytes]]] | None = None,
    *,
    overwrite: bool = True,
    format: str | None = None,
) -> Path: ...


@overload
def write_capture(
    path: BinaryIO,
    meta: Mapping[str, Any],
    events: pd.DataFrame,
    connections: pd.DataFrame,
    raw: Mapping[tuple[str, int], list[tuple[float, bytes]]] | None = None,
    *,
    overwrite: bool = True,
    format: str | None = None,
) -> None: ...


def write_capture(
    path: PathOrFile,
    meta: Mapping[str, Any],
    events: pd.DataFrame,
    connections: pd.DataFrame,
    raw: Mapping[tuple[str, int], list[tuple[float, bytes]]] | None = None,
    *,
    overwrite: bool = True,
    format: str | None = None,
) -> Path | None:
    """Save a capture to one file, or into a binary file object.

    ``.jsonl`` and ``.jsonl.gz`` write JSON Lines (see the package docstring),
    ``.parquet`` a Parquet file whose columns are the events, ``.har`` HAR 1.2. The
    format follows the file's name, or ``format`` (``"jsonl"``, ``"jsonl.gz"``,
    ``"parquet"``, ``"har"``), which a file object needs: ``io.BytesIO`` gives the
    file's bytes in memory, with no file written. ``meta`` is written as given
    (redact it first) and must hold JSON values. A path is written to a temporary
    name and renamed, so a crash never leaves half a file at ``path``.

    Returns:
        The path written, or ``None`` for a file object (left open, at its end).

    Example:
        >>> write_capture("run.parquet", meta, events, connections)  # doctest: +SKIP
        >>> buf = io.BytesIO()  # doctest: +SKIP
        >>> write_capture(buf, meta, events, conns, format="jsonl")  # doctest: +SKIP

    Raises:
        ValueError: the name has no known suffix (or ``format`` is unknown or
            missing for a file object), or a frame does not fit its schema.
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    to_file = _is_file(path)
    if format is not None:
        fmt = _format(format)
    elif to_file:
        raise ValueError(
            f"a file object has no name to tell the format by: pass format= one of "
            f"{', '.join(repr(f.lstrip('.')) for f in _FORMATS)}"
        )
    else:
        fmt = _format_of(Path(cast("str | os.PathLike[str]", path)))
    events = coerce(events, EVENTS_SCHEMA, what="events")
    connections = coerce(connections, CONNECTIONS_SCHEMA, what="connections")
    chunks = _check_raw(raw)
    if to_file:
        _write(cast(BinaryIO, path), fmt, meta, events, connections, chunks)
        return None
    target = Path(cast("str | os.PathLike[str]", path))
    if not overwrite and target.exists():
        raise FileExistsError(
            f"{target} exists; pass overwrite=True to replace it, or choose "
            f"another path"
        )
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            _write(fh, fmt, meta, events, connections, chunks)
        if not overwrite and target.exists():
            raise FileExistsError(
                f"{target} appeared while it was written; pass overwrite=True to "
                f"replace it"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _plain_chunks(fh: BinaryIO, size: int) -> Iterator[bytes]:
    while chunk := fh.read(size):
        yield chunk


def _gunzip_chunks(fh: BinaryIO, size: int, notes: list[str]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file (one or more members), in pieces of at
    most ``size`` bytes: a file that expands a thousandfold never sits in memory
    whole. Corrupt or cut data ends the stream with a note."""
    inflater = zlib.decompressobj(wbits=31)
    fed = False  # the current member has taken input
    produced = 0
    data = b""
    while True:
        if not data:
            data = fh.read(1 << 20)
            if not data:
                break
        try:
            out = inflater.decompress(data, size)
        except zlib.error as exc:
            notes.append(f"the gzip data is corrupt after {produced} bytes ({exc})")
            return
        fed = True
        produced += len(out)
        if out:
            yield out
        if inflater.eof:
            data = inflater.unused_data
            inflater = zlib.decompressobj(wbits=31)
            fed = False
        else:
            data = inflater.unconsumed_tail
    if fed:
        try:
            out = inflater.flush()
        except zlib.error:  # pragma: no cover - flush of a cut stream
            out = b""
        if out:
            yield out
        notes.append(
            "the gzip stream is cut short: the file was not written to the end"
        )


class _Rewound:
    """A file object that cannot seek, with the bytes already peeked at put back."""

    def __init__(self, head: bytes, fh: BinaryIO) -> None:
        self._head = head
        self._fh = fh

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                out, self._head = self._head + self._fh.read(), b""
                return out
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._fh.read(size)


def _peek(fh: BinaryIO) -> tuple[bytes, BinaryIO]:
    """The first 4096 bytes, and the file object to read from the start again."""
    seekable = False
    try:
        seekable = bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        seekable = False
    if seekable:
        start = fh.tell()
        head = fh.read(4096)
        fh.seek(start)
        return head, fh
    head = fh.read(4096)
    return head, cast(BinaryIO, _Rewound(head, fh))


def _name_of(fh: Any) -> str:
    name = getattr(fh, "name", None)
    return name if isinstance(name, str) and name else IN_MEMORY


def _read_from(
    fh: BinaryIO,
    name: str,
    *,
    har_name: bool,
    on_bad_lines: Literal["error", "skip"],
    max_line_size: int,
) -> CaptureData:
    """Read a capture from a binary file object at its start (``name`` for errors)."""
    notes: list[str] = []
    head, fh = _peek(fh)
    magic = head[:4]
    if magic == b"PAR1":
        if not hasattr(fh, "seek") or fh.tell():
            # Parquet's directory, at its end, counts from the file's first byte
            fh = io.BytesIO(fh.read())
        return read_parquet(fh, name, notes)
    if har_name or looks_like_har(head):
        return read_har(fh.read(), name)
    size = min(1 << 20, max_line_size)
    try:
        chunks = (
            _gunzip_chunks(fh, size, notes)
            if magic[:2] == b"\x1f\x8b"
            else _plain_chunks(fh, size)
        )
        return read_capture_stream(
            chunks,
            name,
            on_bad_lines=on_bad_lines,
            notes=notes,
            max_line_size=max_line_size,
        )
    except CaptureFileError:
        raise
    except MemoryError:
        raise CaptureFileError(
            f"{name}: memory ran out while reading it; load it on a machine with "
            f"more memory, or pass a smaller max_line_size to refuse long lines early",
            path=name,
        ) from None
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise CaptureFileError(
            f"{name}: the capture cannot be read ({type(exc).__name__}: {exc})",
            path=name,
        ) from exc


def read_capture(
    path: PathOrFile,
    *,
    on_bad_lines: Literal["error", "skip"] = "error",
    max_line_size: int = MAX_LINE_SIZE,
) -> CaptureData:
    """Load a capture written by ``write_capture`` or ``CaptureLog``, from a file or
    from a binary file object.

    A JSON Lines file whose recording was interrupted (no end line, a partial last
    line) loads with everything up to its last complete line; ``rows_recovered`` and
    ``notes`` say what was recovered and dropped, and connections whose end was not
    recorded get a row with outcome ``'interrupted'``.

    Args:
        path: the file, or a binary file object read from where it stands
            (``io.BytesIO(data)`` reads bytes held in memory); the format is
            recognised from the bytes.
        on_bad_lines: ``"error"`` raises at the first malformed line; ``"skip"``
            skips malformed lines and says how many in ``notes``.
        max_line_size: the longest line read, in bytes (default ``MAX_LINE_SIZE``,
            128 MiB); a longer one raises ``CaptureFileError`` naming the line,
            before it is held in memory.

    JSON Lines (``.jsonl.gz`` too) are read as a stream, a block of lines at a
    time: memory holds the frames being built, not the file. Bytes in memory get
    the same checks and limits as a file; errors name the file object's ``name``,
    or ``<in-memory capture>``.

    Raises:
        CaptureFileError: the file is empty, not a capture, corrupt, or written by a
            newer ssenb; the message names the path, the line and what was expected.

    Example:
        >>> data = read_capture("run.jsonl")  # doctest: +SKIP
        >>> data.events.head(); data.notes  # doctest: +SKIP
        >>> data = read_capture(io.BytesIO(blob))  # doctest: +SKIP
    """
    if on_bad_lines not in ("error", "skip"):
        raise ValueError(
            f"on_bad_lines must be 'error' or 'skip', got {on_bad_lines!r}"
        )
    if (
        not isinstance(max_line_size, int)
        or isinstance(max_line_size, bool)
        or max_line_size < 1
    ):
        raise ValueError(
            f"max_line_size must be a positive number of bytes, got {max_line_size!r}"
        )
    options: dict[str, Any] = {
        "on_bad_lines": on_bad_lines,
        "max_line_size": max_line_size,
    }
    if _is_file(path):
        if not callable(getattr(path, "read", None)):
            raise TypeError(
                f"read_capture takes a path or a binary file object open for "
                f"reading, got {type(path).__name__}"
            )
        fh = cast(BinaryIO, path)
        name = _name_of(fh)
        return _read_from(fh, name, har_name=name.lower().endswith(".har"), **options)
    if isinstance(path, bytes | bytearray | memoryview):
        raise TypeError(
            "read_capture takes a path or a binary file object, got bytes: wrap "
            "them as read_capture(io.BytesIO(data))"
        )
    source = Path(cast("str | os.PathLike[str]", path))
    with open(source, "rb") as fh:
        return _read_from(
            fh,
            str(source),
            har_name=source.name.lower().endswith(".har"),
            **options,
        )
