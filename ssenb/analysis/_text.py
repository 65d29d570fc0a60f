"""Vectorised string kernels on the text columns of a prepared capture.

The ``data`` column is Arrow-backed (``frames.EVENTS_SCHEMA``), so a regex runs as one
Arrow kernel over the whole column: no Python per row. A frame built by hand with an
object column is converted once per call. Missing values never match.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "codes",
    "extract",
    "extract_arrow",
    "holds",
    "matches",
    "mentioned",
    "numbers",
    "numbers_and_plain",
    "objects",
    "starts",
    "as_str",
]


def _arrow(col: pd.Series) -> Any:
    """The column as an Arrow string array (no copy when it already is one)."""
    try:
        arr = pa.array(col.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        values = [v if isinstance(v, str) else None for v in col.tolist()]
        return pa.array(values, type=pa.large_string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        values = [v if isinstance(v, str) else None for v in col.tolist()]
        return pa.array(values, type=pa.large_string())
    return arr


def matches(col: pd.Series, regex: str, *, missing: bool = False) -> np.ndarray:
    """Whether ``regex`` is found in each row (a boolean array; ``missing`` for a
    missing value)."""
    if not len(col):
        return np.zeros(0, dtype=bool)
    found = pc.match_substring_regex(_arrow(col), regex)
    out: np.ndarray = np.asarray(
        pc.fill_null(found, missing).to_numpy(zero_copy_only=False), dtype=bool
    )
    return out


def starts(col: pd.Series, prefix: str) -> np.ndarray:
    """Whether each row starts with ``prefix`` (False for a missing value)."""
    if not len(col):
        return np.zeros(0, dtype=bool)
    found = pc.starts_with(_arrow(col), prefix)
    out: np.ndarray = np.asarray(
        pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool
    )
    return out


def extract(col: pd.Series, regex: str) -> np.ndarray:
    """The group ``(?P<g>...)`` of the first match of ``regex`` in each row: an
    object array of ``str``, ``None`` where it does not match (other groups must be
    non-capturing)."""
    return objects(extract_arrow(col, regex))


def extract_arrow(col: pd.Series, regex: str) -> Any:
    """:func:`extract` as an Arrow string array (null where it does not match)."""
    if not len(col):
        return pa.array([], type=pa.large_string())
    return pc.struct_field(pc.extract_regex(_arrow(col), regex), [0])


def objects(arr: Any) -> np.ndarray:
    """An Arrow string array as an object array of ``str`` (``None`` for null)."""
    out = np.full(len(arr), None, dtype=object)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if valid.any():
        out[valid] = arr.filter(arr.is_valid()).to_numpy(zero_copy_only=False)
    return out


def holds(arr: Any, literal: str) -> np.ndarray:
    """Whether each value of an Arrow string array holds ``literal`` (False for
    null)."""
    found = pc.match_substring(arr, literal)
    out: np.ndarray = np.asarray(
        pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool
    )
    return out


def numbers(col: pd.Series) -> np.ndarray:
    """``pd.to_numeric(col, errors="coerce")`` as float64 (NaN where not a number):
    plain digit strings, the usual case of SSE ids, are parsed by one Arrow cast;
    the rest one by one, as pandas does."""
    return numbers_and_plain(col)[0]


def numbers_and_plain(col: pd.Series) -> tuple[np.ndarray, bool]:
    """(:func:`numbers` of ``col``, whether every value is a plain number: 1 to 15
    digits, no leading zero but ``0`` itself, as ``^(?:0|[1-9][0-9]{0,14})$``),
    from one regex pass."""
    out = np.full(len(col), np.nan)
    if not len(col):
        return out, True
    arr = _arrow(col)
    digits = np.asarray(
        pc.fill_null(pc.match_substring_regex(arr, r"^[0-9]{1,15}$"), False).to_numpy(
            zero_copy_only=False
        ),
        dtype=bool,
    )
    plain = bool(digits.all())
    if plain:  # digits only: a leading zero is all that can make one not plain
        zero = pc.and_(pc.starts_with(arr, "0"), pc.greater(pc.binary_length(arr), 1))
        plain = not bool(pc.any(zero).as_py())
    if digits.any():
        mask = pa.array(digits)
        out[digits] = pc.cast(arr.filter(mask), pa.float64()).to_numpy(
            zero_copy_only=False
        )
    rest = ~digits & np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool)
    if rest.any():
        out[rest] = pd.to_numeric(
            pd.Series(col.to_numpy(dtype=object)[rest], dtype=object), errors="coerce"
        ).to_numpy(dtype="float64", na_value=np.nan)
    return out, plain


def codes(col: pd.Series) -> np.ndarray:
    """An int64 code per row, equal for equal strings (-1 for missing), from one
    Arrow hash pass."""
    if not len(col):
        return np.zeros(0, dtype=np.int64)
    enc = pc.dictionary_encode(_arrow(col))
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    idx = enc.indices
    out: np.ndarray = np.asarray(
        pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    return out


def as_str(col: pd.Series) -> pd.Series:
    """``col.astype(str)``, computed once per distinct value for a categorical
    column (its categories as text, then an Arrow take by code)."""
    if (
        not isinstance(col.dtype, pd.CategoricalDtype)
        or not len(col)
        or not all(isinstance(c, str) for c in col.cat.categories)
    ):
        return col.astype(str)
    names = pa.array(list(col.cat.categories), type=pa.large_string())
    codes = pa.array(np.asarray(col.cat.codes), mask=np.asarray(col.cat.codes) < 0)
    taken = names.take(codes)
    return pd.Series(
        pd.array(taken, dtype=pd.StringDtype("pyarrow", na_value=np.nan)),
        index=col.index,
        name=col.name,
    )


def mentioned(col: pd.Series, literals: list[str]) -> set[str]:
    """Which of ``literals`` occur anywhere in the column's text: byte searches over
    one copy of its buffers (which may hold a little more than the column, so being
    named can also mean "maybe"; not being named is certain)."""
    if not len(col):
        return set()
    arr = _arrow(col)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    found: set[str] = set()
    for chunk in chunks:
        buffers = chunk.buffers()
        if len(buffers) > 2 and buffers[2] is not None:
            blob = memoryview(buffers[2]).tobytes()
            found.update(t for t in literals if t.encode("utf-8") in blob)
    return found
