"""Classifying rows: each record of an events frame gets a family and a pattern.

Rules of this module:

- Vectorised: event types are matched once per category, comment texts once per
  distinct text, and data rules run as Arrow string kernels on the rows that are
  still unclassified. No Python runs per row.
- The catalogue is compiled once into lookup tables and kept in
  ``_catalog._compiled`` until the patterns change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import _envelope as envelope
from .._endings import PART_WORDS
from ..frames import KINDS, events_of
from ._catalog import FAMILIES, Pattern, _compiled, catalog, normalise_type

__all__ = ["classify", "classify_rows"]


@dataclass
class _Compiled:
    patterns: list[Pattern]
    index: dict[str, int]
    types: dict[str, int]
    words: dict[str, int]
    comments: dict[str, int]
    comment_regexes: list[tuple[re.Pattern[str], int]]
    data: dict[str, int]
    json: list[tuple[str, int]]  # (regex, pattern)
    json_keys: set[str]  # the keys the JSON rules name
    blank: int
    empty: int
    families: np.ndarray  # family code per pattern


def _compile() -> _Compiled:
    if "c" in _compiled:
        return _compiled["c"]  # type: ignore[no-any-return]
    pats = catalog()
    c = _Compiled(
        patterns=pats,
        index={p.name: i for i, p in enumerate(pats)},
        types={},
        words={},
        comments={},
        comment_regexes=[],
        data={},
        json=[],
        json_keys=set(),
        blank=-1,
        empty=-1,
        families=np.array([FAMILIES.index(p.family) for p in pats], dtype=np.int64),
    )
    for i, p in enumerate(pats):
        for t in p.types:
            c.types.setdefault(normalise_type(t), i)
        for w in p.words:
            c.words.setdefault(normalise_type(w), i)
        for t in p.comments:
            c.comments.setdefault(t.strip().lower(), i)
        if p.comment_regex:
            c.comment_regexes.append((re.compile(p.comment_regex, re.I), i))
        for d in p.data:
            c.data.setdefault(d.strip().lower(), i)
        c.json_keys.update(key for key, _ in p.json)
        c.json_keys.update(p.json_objects)
        for key, value in p.json:
            c.json.append(
                (rf'"{re.escape(key)}"[ \t\r\n]*:[ \t\r\n]*"{re.escape(value)}"', i)
            )
        for key in p.json_objects:
            c.json.append((rf'"{re.escape(key)}"[ \t\r\n]*:[ \t\r\n]*\{{', i))
        if p.blank and c.blank < 0:
            c.blank = i
        if p.empty_data and c.empty < 0:
            c.empty = i
    _compiled["c"] = c
    return c


#: Words that name a part of a stream's work. With one of them, a compound name with a
#: done or start word says that part finished or began, not the stream: GitHub
#: Actions' ``step-complete``, Anthropic's ``content_block_start`` and
#: ``content_block_stop``, OpenAI's ``response.output_item.done`` are progress;
#: ``job-complete``, ``message_stop`` and ``stream-start`` keep their control meaning.
_PART_WORDS = PART_WORDS


def _match_type(name: str, c: _Compiled) -> int:
    """The pattern an event type means, or -1."""
    norm = normalise_type(name)
    if norm in c.types:
        return c.types[norm]
    bare = norm.rsplit(":", 1)[-1]
    if bare in c.types:
        return c.types[bare]
    words = [w for w in re.split(r"[-.:/]+", norm) if w]
    for w in reversed(words):
        if w in c.words:
            found = c.words[w]
            ends = c.patterns[found].name in ("done", "start")
            if ends and _PART_WORDS.intersection(words):
                return c.index.get("progress", found)
            return found
    return -1


def _match_comment(text: str, c: _Compiled) -> int:
    norm = text.strip().lower()
    if norm in c.comments:
        return c.comments[norm]
    for rx, i in c.comment_regexes:
        if rx.search(norm):
            return i
    return c.index["comment"]


def _events_of(obj: object) -> pd.DataFrame:
    """The events frame of a Capture, or the frame itself, with the columns the
    catalogue reads."""
    frame = events_of(obj)
    missing = [c for c in ("kind", "type", "data") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the events frame lacks the columns {missing}; it has "
            f"{list(frame.columns)} (build it with ssenb.frames.read_sse or a capture)"
        )
    return frame


def _codes(col: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Integer codes and categories of a column (factorised when not categorical)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.codes), list(col.cat.categories)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def _pattern_codes(events: pd.DataFrame) -> tuple[np.ndarray, envelope.Found]:
    """One catalogue index per row, and the JSON rows read by their envelope."""
    c = _compile()
    n = len(events)
    out = np.full(n, c.index["unknown"], dtype=np.int64)
    found = envelope.Found.none()
    if not n:
        return out, found
    kind_codes, kind_cats = _codes(events["kind"])
    kind_of = np.array([KINDS.index(k) if k in KINDS else -1 for k in kind_cats])
    kind = np.where(kind_codes >= 0, kind_of[kind_codes] if len(kind_of) else -1, -1)
    is_event, is_comment = kind == 0, kind == 1
    is_retry, is_blank = kind == 2, kind == 3

    type_codes, type_cats = _codes(events["type"])
    type_pat = np.array(
        [_match_type(t, c) if isinstance(t, str) else -1 for t in type_cats] + [-1],
        dtype=np.int64,
    )
    tp = type_pat[type_codes]  # code -1 takes the trailing -1
    is_message = np.zeros(n, dtype=bool)
    if "message" in type_cats:
        is_message = type_codes == type_cats.index("message")

    # events: by type, then by data shape for those the type did not place
    ev_typed = is_event & (tp >= 0)
    out[ev_typed] = tp[ev_typed]
    rest = is_event & (tp < 0)
    out[rest & is_message] = c.index["message"]
    out[rest & ~is_message] = c.index["event"]
    if rest.any():
        found = _match_data(
            events["data"], rest, is_message, out, c, envelope.request_codes(events)
        )

    if is_comment.any():
        idx = np.flatnonzero(is_comment)
        texts = events["data"].iloc[idx]
        codes, uniques = pd.factorize(texts.fillna(""))
        pats = np.array([_match_comment(str(u), c) for u in uniques], dtype=np.int64)
        out[idx] = pats[codes]
    out[is_retry] = c.index["retry"]
    if is_blank.any():
        has_id = np.zeros(n, dtype=bool)
        if "id" in events.columns:
            has_id = np.asarray(events["id"].notna())
        blank_typed = is_blank & (tp >= 0)
        out[is_blank] = c.blank if c.blank >= 0 else c.index["comment"]
        out[blank_typed] = tp[blank_typed]
        out[is_blank & has_id & ~blank_typed] = c.index["id-only"]
    return out, found


def _mask(values: Any) -> np.ndarray:
    """A boolean numpy array of a (nullable) boolean result, missing as False."""
    return np.asarray(
        pd.Series(values).to_numpy(dtype=bool, na_value=False), dtype=bool
    )


def _match_data(
    data: pd.Series,
    rest: np.ndarray,
    is_message: np.ndarray,
    out: np.ndarray,
    c: _Compiled,
    groups: np.ndarray,
) -> envelope.Found:
    """Place unmatched events by their data: exact shapes, then JSON keys; return
    the JSON rows read by their envelope.

    The bytes of each row are read from the Arrow buffers once (its length and first
    byte), so the empty rows, the short ones and those that open a JSON object are
    found without a pass over the text. A JSON row that repeats its connection's
    envelope (``ssenb._envelope``) gets the rule of the row the envelope was taken
    from; the JSON rules run as regex passes on the rest.
    """
    arr = _strings(data)
    nbytes, first = _first_bytes(arr)
    if c.empty >= 0:  # only unnamed events: a named one with no data is a signal
        out[rest & (nbytes == 0) & is_message] = c.empty
    if c.data:
        # at most 32 characters: at most 32 bytes, or up to 128 with wide ones
        short = rest & (nbytes > 0) & (nbytes <= 32)
        wide = rest & (nbytes > 32) & (nbytes <= 128)
        if wide.any():
            chars = pc.utf8_length(arr.take(np.flatnonzero(wide)))
            short[np.flatnonzero(wide)[_arrow_mask(pc.less_equal(chars, 32))]] = True
        if short.any():
            sel = np.flatnonzero(short)
            s = data.iloc[sel].str.strip().str.lower()
            hit = s.map(c.data).to_numpy(dtype=np.float64, na_value=-1)
            hit = hit.astype(np.int64)
            out[sel[hit >= 0]] = hit[hit >= 0]
    # ^[ \t\r\n]*\{ : a first byte "{", or white space then the regex
    is_json = rest & (first == ord("{"))
    spaced = np.flatnonzero(rest & np.isin(first, _SPACE_BYTES))
    if len(spaced):
        found = data.iloc[spaced].str.contains(r"^[ \t\r\n]*\{", regex=True)
        is_json[spaced[_mask(found)]] = True
    left = np.flatnonzero(is_json)
    found_rows = envelope.Found.none()
    if len(left) and c.json:
        first_rule = np.full(len(left), -1, dtype=np.int64)
        todo = np.ones(len(left), dtype=bool)
        if len(left) >= ENVELOPE_MIN:
            found_rows = envelope.repeats(data, groups, _rule_envelope(c), only=is_json)
            taken = np.zeros(len(data), dtype=bool)
            taken[found_rows.rows] = True
            todo = ~taken[left]  # ``found_rows.rows`` ascends, as ``left`` does
            first_rule[~todo] = found_rows.tags().astype(np.int64)
        if todo.any():
            view = _Rows(arr, nbytes)
            first_rule[todo] = _first_match(view, left[todo], [rx for rx, _ in c.json])
        rules = np.array([i for _, i in c.json], dtype=np.int64)
        found_rule = first_rule >= 0
        out[left[found_rule]] = rules[first_rule[found_rule]]
    return found_rows


#: JSON rows to place before envelopes are looked for (below it, the regex passes
#: cost less than finding them).
ENVELOPE_MIN = 1000


def _rule_envelope(
    c: _Compiled,
) -> Callable[[str, str | None], envelope.Envelope | None]:
    """The envelope of two rows of a connection that differ in one string value,
    tagged with the first JSON rule (index in ``c.json``, -1 for none) the row
    matches: None when a rule names the value's key (its regex could then read the
    text, which differs from row to row)."""
    compiled = [re.compile(rx) for rx, _ in c.json]
    if any('"' in key or "\\" in key for key in c.json_keys):
        return lambda row, before: None  # a key that is not one JSON string

    def envelope_of(row: str, before: str | None) -> envelope.Envelope | None:
        found = envelope.between(row, before)
        if found is None or found.key is None or found.key in c.json_keys:
            return None
        rule = next((i for i, rx in enumerate(compiled) if rx.search(row)), -1)
        return envelope.Envelope(found.before, found.after, tag=rule)

    return envelope_of


#: The bytes ``[ \t\r\n]`` that may come before a JSON object's brace.
_SPACE_BYTES = np.array([ord(" "), ord("\t"), ord("\r"), ord("\n")], dtype=np.uint8)


def _strings(col: pd.Series) -> Any:
    """The column as one Arrow string array (no copy when it is Arrow-backed with
    one chunk; values that are not ``str`` become null)."""
    arr = getattr(col.array, "_pa_array", None)
    if arr is not None and (
        pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
    ):
        if isinstance(arr, pa.ChunkedArray):  # one chunk: itself, not a copy
            return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
        return arr
    values = [v if isinstance(v, str) else None for v in col.tolist()]
    return pa.array(values, type=pa.large_string())


def _first_bytes(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """(bytes per row, first byte per row) of an Arrow string array, read from its
    offsets and data buffers: 0 and 0 for an empty or missing value."""
    n = len(arr)
    bufs = arr.buffers()
    kind = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(bufs[1], dtype=kind)[arr.offset : arr.offset + n + 1]
    offsets = offsets.astype(np.int64)
    nbytes = np.diff(offsets)
    if arr.null_count:
        valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        nbytes[~valid] = 0
    first = np.zeros(n, dtype=np.uint8)
    has = nbytes > 0
    if has.any():
        values = np.frombuffer(bufs[2], dtype=np.uint8)
        first[has] = values[offsets[:-1][has]]
    return nbytes, first


def _arrow_mask(values: Any) -> np.ndarray:
    """A boolean numpy array of an Arrow boolean result, null as False."""
    filled = pc.fill_null(values, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


@dataclass
class _Rows:
    """The data column as Arrow text, and the bytes of each row."""

    arr: Any
    nbytes: np.ndarray

    def contains(self, rows: np.ndarray, regex: str) -> np.ndarray:
        """Whether ``regex`` is found in each of ``rows`` (positions). When they
        hold most of the column's bytes, the pass reads the whole column, which
        costs less than copying those rows out first."""
        if len(rows) == len(self.arr):
            return _arrow_mask(pc.match_substring_regex(self.arr, regex))
        total = int(self.nbytes.sum())
        if 4 * int(self.nbytes[rows].sum()) >= 3 * total:
            found: np.ndarray = _arrow_mask(pc.match_substring_regex(self.arr, regex))
            out: np.ndarray = found[rows]
            return out
        return _arrow_mask(pc.match_substring_regex(self.arr.take(rows), regex))


def _first_match(
    view: _Rows,
    rows: np.ndarray,
    regexes: list[str],
    known: bool = False,
    top: bool = True,
) -> np.ndarray:
    """For each row of ``rows`` (positions), the index of the first regex it
    matches, or -1.

    Bisects the list: one pass of the alternation of the first half sends each row to
    the half where its first match lies. A row costs about log2(len(regexes)) passes
    instead of one per regex, and the priority of earlier regexes is kept exactly.
    ``known`` says every row matches one of ``regexes``.
    """
    out = np.full(len(rows), -1, dtype=np.int64)
    if not len(rows) or not regexes:
        return out
    if len(regexes) == 1:
        if known:
            out[:] = 0
        else:
            out[view.contains(rows, regexes[0])] = 0
        return out
    if not known:
        any_rule = "|".join(f"(?:{rx})" for rx in regexes)
        sub = np.flatnonzero(view.contains(rows, any_rule))
        out[sub] = _first_match(view, rows[sub], regexes, known=True, top=top)
        return out
    # first split off the last regex: the catalogue ends with payload rules (chat
    # chunks), the bulk of a token stream, which then need no pass of their own
    mid = len(regexes) - 1 if top else len(regexes) // 2
    head = "|".join(f"(?:{rx})" for rx in regexes[:mid])
    m = view.contains(rows, head)
    a, b = np.flatnonzero(m), np.flatnonzero(~m)
    out[a] = _first_match(view, rows[a], regexes[:mid], known=True, top=False)
    out[b] = _first_match(view, rows[b], regexes[mid:], known=True, top=False) + mid
    return out


def classify(capture_or_events: Any) -> pd.DataFrame:
    """The events frame with two categorical columns added: ``family`` and ``pattern``.

    Why: a capture mixes keep-alives, control events, errors and payload; most questions
    ("how often does it ping?", "did it say it was done?") start by telling them apart.

    Args:
        capture_or_events: a Capture (its ``.events`` is used) or an events frame;
            for a dataset, its events classified per part (a Dask DataFrame).

    Raises:
        TypeError: the argument is neither. ValueError: the frame lacks ``kind``,
        ``type`` or ``data``.

    Example:
        >>> ev = classify(capture)
        >>> ev[ev.family == "keepalive"].pattern.value_counts()
    """
    per_part = getattr(type(capture_or_events), "_ssenb_classify", None)
    if per_part is not None:  # a dataset (ssenb.dataset): classified part by part
        return per_part(capture_or_events)  # type: ignore[no-any-return]
    return classify_rows(_events_of(capture_or_events))[0]


def classify_rows(events: pd.DataFrame) -> tuple[pd.DataFrame, envelope.Found]:
    """:func:`classify` of an events frame, and the JSON rows it read by their
    envelope (``ssenb._envelope``): prepare keeps them, so that other readers of
    the same rows (progress, llm) ask each envelope once instead of every row."""
    events = _events_of(events)
    c = _compile()
    codes, found = _pattern_codes(events)
    out = events.copy()
    names = [p.name for p in c.patterns]
    out["family"] = pd.Categorical.from_codes(
        c.families[codes], categories=pd.Index(FAMILIES)
    )
    out["pattern"] = pd.Categorical.from_codes(codes, categories=pd.Index(names))
    return out, found
