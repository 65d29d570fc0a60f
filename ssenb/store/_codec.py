"""Rows to JSON text and back, column by column, exactly.

Rules of this module:

- A row is one JSON object whose keys are the schema's column names, in schema order.
  Values: strings as JSON strings (any Unicode, control characters escaped), integers
  as JSON integers, floats in their shortest exact form (``Infinity``/``-Infinity``
  for infinities), timestamps as integer nanoseconds since the Unix epoch (UTC), and
  ``null`` for every missing value (``<NA>``, ``NaT``, ``NaN``). An empty string and
  ``null`` stay distinct.
- Encoding is vectorised with pyarrow compute (no Python object per value), and so is
  decoding on the fast path (``pyarrow.json``). The slow path (``RowChecker``) reads a
  line at a time with the standard ``json`` module, to name the exact line and column
  of a problem.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import KINDS

__all__: list[str] = []

_LARGE = pa.large_string()
_CTRL = "[\\x00-\\x1f\u2028\u2029]"
_NAT = np.iinfo(np.int64).min
_encode_basestring = json.encoder.encode_basestring


def _encode_str(text: str) -> str:
    """A JSON string literal; U+2028/U+2029 escaped too, since some line readers
    (str.splitlines, older JavaScript) take them for line ends."""
    out: str = _encode_basestring(text)
    if "\u2028" in out or "\u2029" in out:
        out = out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return out


def column_kind(dtype: Any) -> str:
    """The JSON-level kind of a schema dtype: cat, str, int, Int, float or time."""
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "time"
    if isinstance(dtype, pd.StringDtype):
        return "str"
    text = str(dtype)
    if text == "category" or isinstance(dtype, pd.CategoricalDtype):
        return "cat"
    kinds = {"int64": "int", "Int64": "Int", "float64": "float"}
    if text not in kinds:
        raise TypeError(f"no JSON encoding for dtype {dtype!r}")
    return kinds[text]


def kinds_of(schema: Mapping[str, Any]) -> dict[str, str]:
    """Column name to JSON-level kind, for a frame schema."""
    return {name: column_kind(dtype) for name, dtype in schema.items()}


_ARROW_TYPES = {
    "cat": pa.string(),
    "str": pa.string(),
    "int": pa.int64(),
    "Int": pa.int64(),
    "time": pa.int64(),
    "float": pa.float64(),
}


def arrow_schema(schema: Mapping[str, Any]) -> pa.Schema:
    """The Arrow schema a JSON row of ``schema`` parses into."""
    return pa.schema([(n, _ARROW_TYPES[k]) for n, k in kinds_of(schema).items()])


# -- encoding ------------------------------------------------------------------------


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, _LARGE)


def _as_array(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def _string_tokens(values: pa.Array) -> pa.Array:
    """JSON string literals (or null) for a large_string array."""
    escaped = pc.replace_substring(values, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    quoted = pc.binary_join_element_wise(_lit('"'), escaped, _lit('"'), _lit(""))
    controls = pc.match_substring_regex(values, _CTRL)
    if pc.any(controls).as_py():
        # Rare: control characters (and U+2028/9) need \uXXXX escapes.
        controls = pc.fill_null(controls, False)
        rows = pc.filter(values, controls).to_pylist()
        quoted = pc.replace_with_mask(
            quoted, controls, pa.array([_encode_str(s) for s in rows], _LARGE)
        )
    return quoted


def _tokens(col: pd.Series, kind: str) -> pa.Array:
    """One JSON token per value of ``col`` (large_string; null where missing)."""
    if kind == "cat" and isinstance(col.dtype, pd.CategoricalDtype):
        cats = [_encode_str(str(c)) for c in col.cat.categories]
        codes = col.cat.codes.to_numpy()
        indices = pa.array(codes, mask=codes < 0) if (codes < 0).any() else codes
        out = pa.array(cats, _LARGE).take(indices)
    elif kind in ("cat", "str"):
        if isinstance(col.dtype, pd.StringDtype):
            arr = _as_array(pa.array(col.array)).cast(_LARGE)
        else:
            arr = pa.array(col.to_numpy(dtype=object), _LARGE, from_pandas=True)
        out = _string_tokens(arr)
    elif kind == "time":
        times = col.array
        ns = np.asarray((times if times.unit == "ns" else times.as_unit("ns")).asi8)
        out = pa.array(ns, mask=ns == _NAT).cast(_LARGE)
    elif kind == "float":
        values = col.to_numpy(dtype="float64")
        out = pa.array(values, from_pandas=True).cast(_LARGE)
        infinite = np.isinf(values)
        if infinite.any():
            words = ["Infinity" if v > 0 else "-Infinity" for v in values[infinite]]
            out = pc.replace_with_mask(out, pa.array(infinite), pa.array(words, _LARGE))
    elif kind == "Int":
        out = _as_array(pa.array(col.array, pa.int64())).cast(_LARGE)
    else:
        out = pa.array(col.to_numpy(dtype="int64")).cast(_LARGE)
    return _as_array(out)


def encode_rows(
    frame: pd.DataFrame,
    schema: Mapping[str, Any],
    *,
    prefix: str = "",
    suffix: str = "",
) -> memoryview:
    """UTF-8 JSON Lines for the rows of ``frame`` (already in ``schema``'s dtypes).

    Each line is ``prefix + {row object} + suffix + "\\n"``; the result is one
    contiguous buffer, ready for a single ``write``.
    """
    if len(frame) == 0:
        return memoryview(b"")
    parts: list[Any] = []
    for i, (name, kind) in enumerate(kinds_of(schema).items()):
        lead = (prefix + "{") if i == 0 else ","
        parts.append(_lit(f"{lead}{json.dumps(name)}:"))
        parts.append(_tokens(frame[name], kind))
    parts.append(_lit("}" + suffix + "\n"))
    parts.append(_lit(""))  # the separator between parts
    lines = _as_array(
        pc.binary_join_element_wise(
            *parts, null_handling="replace", null_replacement="null"
        )
    )
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[start:end]


def dumps(value: Any) -> str:
    """Compact, ASCII-only JSON for control lines (meta, raw chunks, counts)."""
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime.date):  # datetime and pandas.Timestamp too
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(
        f"a capture's meta must hold JSON values; got {type(value).__name__} {value!r}"
    )


# -- decoding ------------------------------------------------------------------------


def table_to_frame(
    table: pa.Table,
    schema: Mapping[str, Any],
    categories: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """The frame for an Arrow table of JSON-level columns (see ``arrow_schema``).

    Parquet columns (dictionary, timestamp, large_string) are accepted as well.
    Category columns take the stored ``categories`` when they cover every value,
    else their sorted values (what ``pandas.Categorical`` infers).
    """
    out: dict[str, Any] = {}
    for name, kind in kinds_of(schema).items():
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if kind == "time" and pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("ns", col.type.tz)).cast(pa.int64())
        if kind in ("cat", "str") and not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        out[name] = _to_pandas(col, kind, schema[name], (categories or {}).get(name))
    return pd.DataFrame(out)


def _to_pandas(col: pa.ChunkedArray, kind: str, dtype: Any, cats: Any) -> Any:
    n = len(col)
    if kind == "str":
        return pd.arrays.ArrowStringArray(col.cast(_LARGE))
    if kind == "cat":
        encoded = _as_array(col.dictionary_encode())
        values = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        codes = np.where(encoded.is_null().to_numpy(zero_copy_only=False), -1, codes)
        cat = pd.Categorical.from_codes(codes.astype(np.int64), categories=values)
        if isinstance(dtype, pd.CategoricalDtype):
            wanted = list(dtype.categories)
        elif cats is not None and set(values) <= set(cats):
            wanted = list(cats)
        else:
            wanted = sorted(values)
        return cat.set_categories(wanted)
    if kind == "float":
        return col.to_numpy().astype("float64") if n else np.array([], "float64")
    nulls = col.is_null().to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    ints = pc.fill_null(col, 0).to_numpy() if n else np.array([], "int64")
    ints = np.asarray(ints, dtype="int64")
    if kind == "Int":
        return pd.arrays.IntegerArray(ints, nulls)
    if kind == "time":
        ints = np.where(nulls, _NAT, ints)
        return pd.DatetimeIndex(ints.view("datetime64[ns]")).tz_localize("UTC")
    return ints


class RowChecker:
    """Validates one decoded JSON row against a schema, naming the bad column."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.kinds = kinds_of(schema)
        self.names = list(self.kinds)

    def check(self, row: Any) -> str | None:
        """None when ``row`` is a valid row, else what is wrong with it."""
        if not isinstance(row, dict):
            return f"expected a JSON object (a row), got {type(row).__name__}"
        extra = set(row) - set(self.kinds)
        if extra:
            return f"unexpected keys {sorted(extra)}"
        for name, kind in self.kinds.items():
            problem = _check_value(row.get(name), kind)
            if problem:
                return f"column {name!r}: {problem}"
        return None


def _check_value(value: Any, kind: str) -> str | None:
    if value is None:
        if kind == "int":
            return "missing or null, expected an integer"
        return None
    if kind in ("cat", "str"):
        ok = isinstance(value, str)
        want = "a string"
    elif kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        want = "a number"
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "an integer"
    if not ok:
        return f"expected {want} or null, got {json.dumps(value)[:40]}"
    return None


def rows_to_table(rows: list[dict[str, Any]], schema: Mapping[str, Any]) -> pa.Table:
    """An Arrow table (JSON-level columns) from checked rows."""
    kinds = kinds_of(schema)
    columns = {}
    for name, kind in kinds.items():
        values = [row.get(name) for row in rows]
        if kind == "float":
            values = [None if v is None else float(v) for v in values]
        columns[name] = pa.array(values, _ARROW_TYPES[kind])
    return pa.table(columns, schema=arrow_schema(schema))


def check_kinds(table: pa.Table) -> bool:
    """True when every ``kind`` of an events table is one of ``KINDS``."""
    kind = table.column("kind")
    valid = pc.is_in(kind, value_set=pa.array(list(KINDS)))
    return bool(pc.all(pc.fill_null(valid, False)).as_py() or len(kind) == 0)
