"""Chat chunks that repeat an envelope: the rows of a token stream read without a
regex pass over their bytes.

A chat stream sends the same JSON around every delta: within one request, a chunk is
``{"id":"chatcmpl-…","object":"chat.completion.chunk",…,"delta":{"content":"`` then
the new text, then the same closing bytes. Once one chunk of a connection is checked
to be simple (by the caller's rule), every row of that connection that starts with
its bytes before the text and ends with its bytes after it, with a text holding no
quote or backslash between them, is that chunk with another text: same keys, same
finish reason. Two prefix/suffix comparisons per connection find those rows, where
the regex passes read every byte of every row.

Rows of a connection that do not repeat its envelope (the role chunk, the finish
chunk, tool calls, a text with an escape) are left to the caller's regex passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Envelope", "repeats"]

#: Rows of a connection tried as its envelope before the connection is given up.
TRIES = 16
#: The envelope path runs when a connection's rows lie in at most this many runs
#: on average (one run each when the frame is in connection order; rows of many
#: interleaved streams would cost two kernel calls per few rows).
MAX_RUNS_PER_GROUP = 4


@dataclass(frozen=True)
class Envelope:
    """A simple chunk taken apart around its text: ``before + text + after``, and
    the finish reason every chunk with that envelope has (None when it has none)."""

    before: str
    after: str
    finish: str | None

    @property
    def head(self) -> int:
        """The bytes before the text."""
        return len(self.before.encode())

    @property
    def tail(self) -> int:
        """The bytes after the text."""
        return len(self.after.encode())


def repeats(
    data: pd.Series,
    groups: np.ndarray,
    envelope_of: Callable[[str], Envelope | None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, texts, finish reasons) of the rows that repeat their group's
    envelope, positions ascending; texts and finish reasons as object arrays.

    ``groups`` holds one code per row (its stream and connection); ``envelope_of``
    returns the envelope of a row it checked to be a simple chunk, or None.
    """
    n = len(groups)
    chunks = _chunks(data)
    none = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    if chunks is None or n == 0:
        return none[0], none[1], none[1]
    # runs of rows of one group, cut where the column's chunks are cut
    cut = np.flatnonzero(groups[1:] != groups[:-1]) + 1
    starts = np.union1d(
        np.concatenate(([0], cut)), np.array([c0 for c0, _ in chunks], dtype=np.int64)
    ).astype(np.int64)
    if len(starts) > MAX_RUNS_PER_GROUP * len(np.unique(groups[starts])):
        return none[0], none[1], none[1]
    stops = np.append(starts[1:], n)
    known: dict[int, list[Envelope]] = {}  # the envelopes found per group
    rows: list[np.ndarray] = []
    texts: list[np.ndarray] = []
    quoted: list[np.ndarray] = []
    finishes: list[np.ndarray] = []
    for c0, arr in chunks:
        c1 = c0 + len(arr)
        offsets = _offsets(arr)
        nbytes = np.diff(offsets)
        json_row = np.zeros(len(arr), dtype=bool)
        has = nbytes > 0
        values = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
        json_row[has] = values[offsets[:-1][has]] == ord("{")
        hits: list[tuple[np.ndarray, Envelope]] = []
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
            if c0 <= start < c1:
                envelopes = known.setdefault(int(groups[start]), [])
                hits += _run(arr, start - c0, stop - c0, nbytes, json_row, envelopes)
                hits += _search(
                    arr,
                    start - c0,
                    stop - c0,
                    nbytes,
                    json_row,
                    envelopes,
                    envelope_of,
                )
        if not hits:
            continue
        at = np.concatenate([h for h, _ in hits])
        head = np.concatenate([np.full(len(h), e.head) for h, e in hits])
        tail = np.concatenate([np.full(len(h), e.tail) for h, e in hits])
        fin = np.concatenate([np.full(len(h), e.finish, dtype=object) for h, e in hits])
        order = np.argsort(at, kind="stable")
        at, head, tail, fin = at[order], head[order], tail[order], fin[order]
        got, marked = _texts(
            arr, np.stack((offsets[at] + head, offsets[at + 1] - tail), axis=1)
        )
        rows.append(at + c0)
        texts.append(got)
        quoted.append(marked)
        finishes.append(fin)
    if not rows:
        return none[0], none[1], none[1]
    # a text with a quote or a backslash is not a plain JSON string's text: those
    # rows are left to the regex passes, which decode escapes
    keep = ~np.concatenate(quoted)
    at = np.concatenate(rows)[keep]
    return at, np.concatenate(texts)[keep], np.concatenate(finishes)[keep]


def _matching(
    arr: Any, lo: int, hi: int, nbytes: np.ndarray, env: Envelope
) -> np.ndarray:
    """Whether each row of ``arr[lo:hi]`` is ``env.before + text + env.after``."""
    part = arr.slice(lo, hi - lo)
    hit = nbytes[lo:hi] >= env.head + env.tail
    hit &= _mask(pc.starts_with(part, env.before))
    hit &= _mask(pc.ends_with(part, env.after))
    return hit


def _run(
    arr: Any,
    lo: int,
    hi: int,
    nbytes: np.ndarray,
    json_row: np.ndarray,
    envelopes: list[Envelope],
) -> list[tuple[np.ndarray, Envelope]]:
    """The rows of ``arr[lo:hi]`` that repeat one of ``envelopes`` (positions in
    ``arr``), each with its envelope; the rows taken are no longer JSON rows to
    search."""
    out = []
    for env in envelopes:
        hit = _matching(arr, lo, hi, nbytes, env) & json_row[lo:hi]
        at = np.flatnonzero(hit) + lo
        if len(at):
            json_row[at] = False
            out.append((at, env))
    return out


def _search(
    arr: Any,
    lo: int,
    hi: int,
    nbytes: np.ndarray,
    json_row: np.ndarray,
    envelopes: list[Envelope],
    envelope_of: Callable[[str], Envelope | None],
) -> list[tuple[np.ndarray, Envelope]]:
    """New envelopes among the JSON rows of ``arr[lo:hi]`` not yet taken: at most
    ``TRIES`` rows are asked, each new envelope takes its rows at once (and is
    added to ``envelopes``), so a request whose role chunk, tool calls or finish
    chunk come first still finds the envelope of its text chunks."""
    out = []
    asked = np.zeros(hi - lo, dtype=bool)
    for _ in range(TRIES):
        left = np.flatnonzero(json_row[lo:hi] & ~asked)
        if not len(left):
            break
        i = int(left[0])
        asked[i] = True
        row = arr[lo + i].as_py()
        env = envelope_of(row) if row is not None else None
        if env is None or env in envelopes:
            continue
        envelopes.append(env)
        out += _run(arr, lo, hi, nbytes, json_row, [env])
    return out


def _chunks(data: pd.Series) -> list[tuple[int, Any]] | None:
    """The column's Arrow string chunks with the row each starts at, or None when
    it is not Arrow text over its own buffers (or holds a missing value)."""
    arr = getattr(data.array, "_pa_array", None)
    if arr is None:
        return None
    parts = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    out: list[tuple[int, Any]] = []
    row = 0
    for part in parts:
        if not (pa.types.is_string(part.type) or pa.types.is_large_string(part.type)):
            return None
        if part.null_count or (len(part) and part.buffers()[2] is None):
            return None
        if len(part):
            out.append((row, part))
        row += len(part)
    return out


def _offsets(arr: Any) -> np.ndarray:
    """The value offsets of a string array, as int64 positions in its data buffer."""
    kind = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=kind)
    return offsets[arr.offset : arr.offset + n + 1].astype(np.int64)


def _texts(arr: Any, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The byte ranges ``cuts`` (rows of start, stop; ascending, not overlapping) of
    ``arr``'s data buffer, as ``str`` objects (the ranges and the gaps between them
    laid over the buffer as one array, then every other value taken), and whether
    each holds a quote or a backslash."""
    bounds = np.ascontiguousarray(cuts.reshape(-1), dtype=np.int64)
    laid = pa.Array.from_buffers(
        pa.large_string(),
        len(bounds) - 1,
        [None, pa.py_buffer(bounds), arr.buffers()[2]],
    )
    taken = laid.take(pa.array(np.arange(0, len(bounds), 2, dtype=np.int64)))
    marked = _mask(pc.match_substring_regex(taken, r'["\\]'))
    out: np.ndarray = taken.to_numpy(zero_copy_only=False)
    return out, marked


def _mask(values: Any) -> np.ndarray:
    """A boolean numpy array of an Arrow boolean result, null as False."""
    filled = pc.fill_null(values, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
