"""Rows that repeat an envelope: JSON rows read without a regex pass over their bytes.

A stream sends the same JSON around every value that changes: within one request, an
OpenAI chunk is ``{"id":"chatcmpl-…",…,"delta":{"content":"`` then the new text, then
the same closing bytes; an Anthropic delta is ``{"type":"content_block_delta",…,
"text":"`` then the text. Once a row of a connection is taken apart around one string
value (``before + text + after``) and checked by the caller, every row of that
connection that starts with ``before`` and ends with ``after``, with a text holding no
quote or backslash between them, is that row with another text: the same keys and
every other value the same. Two prefix/suffix comparisons per connection find those
rows, where a regex pass reads every byte of every row.

What a regex finds in such a row is what it finds in the checked row, unless the
regex can reach into the text: a caller whose regexes name the text's key checks that
(``Envelope.key``). Rows that repeat no envelope are left to the caller's passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Envelope",
    "Found",
    "between",
    "cut",
    "is_json_object",
    "repeats",
    "request_codes",
]

#: Rows of a connection asked in a row without finding a new envelope, at most
#: (over all its runs; a connection that carries many requests finds each one's).
TRIES = 16
#: Runs (stretches of rows of one connection) shorter than this are left to the
#: caller's regex passes: a run costs a few kernel calls and Python steps (about
#: 50 µs), paid back only over many rows (about 1 µs of regex passes a row). Rows of
#: streams interleaved row by row, or of a stream that reconnects after every few
#: events, are all left to them.
MIN_RUN = 64
#: Rows asked in all, at most: this many, or one per 64 rows when more (an ask
#: costs about 20 µs; the regex passes it saves, about 1 µs a row).
MIN_ASKS = 256


@dataclass(frozen=True)
class Envelope:
    """A row taken apart around one string value: ``before + text + after``, and
    what the caller found in that row (the same in every row with this envelope)."""

    before: str
    after: str
    tag: Any = None

    @property
    def key(self) -> str | None:
        """The key whose string value the text is (None when ``before`` does not end
        with ``"key":"``, which ``between`` never returns)."""
        found = _KEY_AT_END.search(self.before)
        return found.group(1) if found is not None else None

    @property
    def head(self) -> int:
        """The bytes before the text."""
        return len(self.before.encode())

    @property
    def tail(self) -> int:
        """The bytes after the text."""
        return len(self.after.encode())


@dataclass(frozen=True)
class Found:
    """What :func:`repeats` found: the rows that repeat an envelope (positions,
    ascending), and which envelope each repeats (an index in ``envelopes``);
    :func:`cut` gives their texts."""

    rows: np.ndarray
    which: np.ndarray
    envelopes: list[Envelope]

    @staticmethod
    def none() -> Found:
        """Nothing found."""
        return Found(np.zeros(0, np.int64), np.zeros(0, np.int64), [])

    def tags(self) -> np.ndarray:
        """``Envelope.tag`` of each row's envelope, as an object array."""
        tags = np.empty(len(self.envelopes), dtype=object)
        tags[:] = [e.tag for e in self.envelopes]
        out: np.ndarray = tags[self.which]
        return out

    def per_row(self, n: int) -> np.ndarray:
        """For each of ``n`` rows the index of the envelope it repeats, -1 for none."""
        out = np.full(n, -1, dtype=np.int64)
        out[self.rows] = self.which
        return out


def repeats(
    data: pd.Series,
    groups: np.ndarray,
    envelope_of: Callable[[str, str | None], Envelope | None],
    *,
    only: np.ndarray | None = None,
) -> Found:
    """The rows that repeat their group's envelope.

    ``groups`` holds one code per row (its stream and connection); ``only``, when
    given, marks the rows that may be read (the JSON rows the caller found; the
    others are left alone). ``envelope_of`` gets a row of a group and the row asked
    before it in that run (or None), and returns their envelope, checked by the
    caller, or None (always None for a row that is not a JSON object).
    """
    n = len(groups)
    chunks = _chunks(data)
    if chunks is None or n == 0:
        return Found.none()
    # runs of rows of one group, cut where the column's chunks are cut
    cut = np.flatnonzero(groups[1:] != groups[:-1]) + 1
    starts = np.union1d(
        np.concatenate(([0], cut)), np.array([c0 for c0, _ in chunks], dtype=np.int64)
    ).astype(np.int64)
    stops = np.append(starts[1:], n)
    long = stops - starts >= MIN_RUN
    starts, stops = starts[long], stops[long]
    if not len(starts):
        return Found.none()
    asks = [max(MIN_ASKS, n // 64)]  # rows left to ask, over all runs
    tries: dict[int, list[int]] = {}  # rows left to ask, per group
    known: dict[int, list[Envelope]] = {}  # the envelopes found per group
    number: dict[int, int] = {}  # id(envelope) -> its index in ``made``
    made: list[Envelope] = []
    rows: list[np.ndarray] = []
    quoted: list[np.ndarray] = []
    which: list[np.ndarray] = []
    for c0, arr in chunks:
        c1 = c0 + len(arr)
        offsets = _offsets(arr)
        nbytes = np.diff(offsets)
        # the rows still to read (cleared as envelopes take them)
        unread = np.ones(len(arr), dtype=bool) if only is None else only[c0:c1].copy()
        hits: list[tuple[np.ndarray, Envelope]] = []
        lo, hi = np.searchsorted(starts, [c0, c1])  # the runs of this chunk
        runs = zip(starts[lo:hi].tolist(), stops[lo:hi].tolist(), strict=True)
        for start, stop in runs:
            group = int(groups[start])
            envelopes = known.setdefault(group, [])
            hits += _run(arr, start - c0, stop - c0, nbytes, unread, envelopes)
            hits += _search(
                arr,
                start - c0,
                stop - c0,
                nbytes,
                unread,
                envelopes,
                envelope_of,
                asks,
                tries.setdefault(group, [TRIES]),
            )
        if not hits:
            continue
        for _, env in hits:
            if id(env) not in number:
                number[id(env)] = len(made)
                made.append(env)
        at = np.concatenate([h for h, _ in hits])
        head = np.concatenate([np.full(len(h), e.head) for h, e in hits])
        tail = np.concatenate([np.full(len(h), e.tail) for h, e in hits])
        index = np.concatenate([np.full(len(h), number[id(e)]) for h, e in hits])
        order = np.argsort(at, kind="stable")
        at, head, tail, index = at[order], head[order], tail[order], index[order]
        texts = _texts(arr, np.stack((offsets[at] + head, offsets[at + 1] - tail), 1))
        rows.append(at + c0)
        quoted.append(_mask(pc.match_substring_regex(texts, r'["\\]')))
        which.append(index.astype(np.int64))
    if not rows:
        return Found.none()
    # a text with a quote or a backslash is not a plain JSON string's text: those
    # rows are left to the regex passes, which decode escapes
    keep = ~np.concatenate(quoted)
    return Found(
        rows=np.concatenate(rows)[keep],
        which=np.concatenate(which)[keep],
        envelopes=made,
    )


def cut(
    data: pd.Series, rows: np.ndarray, heads: np.ndarray, tails: np.ndarray
) -> np.ndarray:
    """The texts of ``rows`` (positions, ascending) of an Arrow string column: each
    row's bytes without its first ``heads`` and last ``tails`` bytes, as ``str``
    objects (the column must be what :func:`repeats` read)."""
    chunks = _chunks(data)
    if chunks is None:
        raise ValueError("the column is not Arrow text over its own buffers")
    out = np.empty(len(rows), dtype=object)
    for c0, arr in chunks:
        lo, hi = np.searchsorted(rows, [c0, c0 + len(arr)])
        if lo == hi:
            continue
        at = rows[lo:hi] - c0
        offsets = _offsets(arr)
        bounds = np.stack(
            (offsets[at] + heads[lo:hi], offsets[at + 1] - tails[lo:hi]), axis=1
        )
        out[lo:hi] = _texts(arr, bounds).to_numpy(zero_copy_only=False)
    return out


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
    unread: np.ndarray,
    envelopes: list[Envelope],
) -> list[tuple[np.ndarray, Envelope]]:
    """The unread rows of ``arr[lo:hi]`` that repeat one of ``envelopes``
    (positions in ``arr``), each with its envelope; the rows taken are read."""
    out = []
    for env in envelopes:
        hit = _matching(arr, lo, hi, nbytes, env) & unread[lo:hi]
        at = np.flatnonzero(hit) + lo
        if len(at):
            unread[at] = False
            out.append((at, env))
    return out


def _search(
    arr: Any,
    lo: int,
    hi: int,
    nbytes: np.ndarray,
    unread: np.ndarray,
    envelopes: list[Envelope],
    envelope_of: Callable[[str, str | None], Envelope | None],
    asks: list[int],
    tries: list[int],
) -> list[tuple[np.ndarray, Envelope]]:
    """New envelopes among the unread rows of ``arr[lo:hi]``: rows are asked while
    ``asks`` (rows left to ask in all) and ``tries`` (this group's rows left to ask
    before a new envelope turns up; it starts again at ``TRIES`` when one does)
    last, both counted down here. Each new envelope takes its rows at once (and is
    added to ``envelopes``), so a request whose role chunk, tool calls or finish
    chunk come first still finds the envelope of its text chunks."""
    out = []
    asked = np.zeros(hi - lo, dtype=bool)
    before: str | None = None
    while asks[0] > 0 and tries[0] > 0:
        left = np.flatnonzero(unread[lo:hi] & ~asked)
        if not len(left):
            break
        asks[0] -= 1
        tries[0] -= 1
        i = int(left[0])
        asked[i] = True
        row = arr[lo + i].as_py()
        env = envelope_of(row, before) if row is not None else None
        before = row
        if env is None or env in envelopes:
            continue
        envelopes.append(env)
        tries[0] = TRIES
        out += _run(arr, lo, hi, nbytes, unread, [env])
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
    return np.asarray(offsets[arr.offset : arr.offset + n + 1], dtype=np.int64)


def _texts(arr: Any, cuts: np.ndarray) -> Any:
    """The byte ranges ``cuts`` (rows of start, stop; ascending, not overlapping) of
    ``arr``'s data buffer, as an Arrow string array: the ranges and the gaps
    between them laid over the buffer as one array, then every other value taken."""
    bounds = np.ascontiguousarray(cuts.reshape(-1), dtype=np.int64)
    laid = pa.Array.from_buffers(
        pa.large_string(),
        len(bounds) - 1,
        [None, pa.py_buffer(bounds), arr.buffers()[2]],
    )
    return laid.take(pa.array(np.arange(0, len(bounds), 2, dtype=np.int64)))


def _mask(values: Any) -> np.ndarray:
    """A boolean numpy array of an Arrow boolean result, null as False."""
    filled = pc.fill_null(values, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


#: ``"key":"`` at the end of the text before a string value.
_KEY_AT_END = re.compile(r'"([^"\\]*)"[ \t\r\n]*:[ \t\r\n]*"$')


def between(a: str, b: str | None) -> Envelope | None:
    """The envelope of two rows that differ in one string value only: their common
    start up to that value's opening quote (``"key":"``) and their common end from
    its closing quote; None when they differ elsewhere, a value holds a quote or a
    backslash, or either is not a JSON object."""
    if b is None or a == b or not (a.startswith("{") and b.startswith("{")):
        return None
    p = len(_common_start(a, b))
    s = len(_common_start(a[p:][::-1], b[p:][::-1]))
    start = a.rfind('"', 0, p) + 1
    stop = a.find('"', len(a) - s) if s else -1
    if start <= 0 or stop < 0 or not _KEY_AT_END.search(a[:start]):
        return None
    before, after = a[:start], a[stop:]
    for row in (a, b):
        text = row[len(before) : len(row) - len(after)]
        if '"' in text or "\\" in text or not is_json_object(row):
            return None
    return Envelope(before, after)


def is_json_object(row: str) -> bool:
    """Whether ``row`` parses as one JSON object."""
    try:
        return isinstance(json.loads(row), dict)
    except ValueError:
        return False


def _common_start(a: str, b: str) -> str:
    """The longest common start of two strings."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return a[:i]


def request_codes(events: pd.DataFrame) -> np.ndarray:
    """One code per row, equal for the rows of one request (stream and connection;
    one request when the frame has neither)."""
    codes = np.zeros(len(events), dtype=np.int64)
    for name in ("stream", "connection"):
        if name in events.columns:
            col = events[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                part = col.cat.codes.to_numpy().astype(np.int64)
            elif col.dtype == np.int64 and len(col) and not _wide(col.to_numpy()):
                raw = col.to_numpy()
                part = raw - raw.min()  # connection numbers: no hash pass needed
            else:
                part = pd.factorize(col, use_na_sentinel=False)[0].astype(np.int64)
            codes = codes * (int(part.max(initial=0)) + 1) + part
    return codes


def _wide(values: np.ndarray) -> bool:
    """Whether int64 ``values`` span too much to be used as codes."""
    return int(values.max()) - int(values.min()) >= 1 << 31
