"""Schema: per event type, the JSON keys with their types and presence rates."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ..value import CaptureLike
from ._input import Prepared, prepare
from ._prepare import _codes, first_per_code, kept
from ._result import Result

__all__ = ["parsed_sample", "schema"]

_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


def parsed_sample(prep: Prepared, sample: int = 2000) -> pd.DataFrame:
    """Up to ``sample`` events per type (first rows), with their parsed JSON (``obj``,
    ``None`` when the data is not JSON). Cached on the Prepared."""
    key = f"parsed:{sample}"
    if key in prep.cache:
        return prep.cache[key]
    ev = prep.events
    # the first rows of each type found on the codes, then only those are taken
    pos = np.flatnonzero((ev["kind"] == "event").to_numpy(dtype=bool, na_value=False))
    codes = _codes(ev["type"])[0][pos]
    first = pos[first_per_code(codes, sample, missing=False)]
    head = ev[["type", "seq", "family", "pattern", "data"]].iloc[first]
    objs = []
    for text in head["data"]:
        try:
            obj = json.loads(text) if isinstance(text, str) and text else None
        except ValueError:
            obj = None
        objs.append(obj)
    out = pd.DataFrame(
        {
            "type": head["type"].astype(str).to_numpy(),
            "seq": head["seq"].to_numpy(),
            "family": head["family"].astype(str).to_numpy(),
            "pattern": head["pattern"].astype(str).to_numpy(),
            "data": head["data"].to_numpy(),
            "obj": objs,
        }
    )
    prep.cache[key] = out
    return out


def _flatten(obj: dict[str, Any], prefix: str = "", depth: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        name = f"{prefix}{k}"
        out[name] = v
        if isinstance(v, dict) and depth > 0:
            out.update(_flatten(v, f"{name}.", depth - 1))
    return out


def schema(capture: CaptureLike, *, sample: int = 2000, depth: int = 1) -> Result:
    """The JSON shape of each event type: which keys, of which JSON types, how often.

    Looks at the first ``sample`` events of each type; nested objects are flattened
    ``depth`` levels deep (``error.code``).

    Tables:
        types: type, events (sampled), json (rows whose data is a JSON object),
            other (rows whose data is not JSON or not an object).
        keys: type, key, json_types ("number|string"), present, presence (0..1 of the
            type's JSON rows), example.
        inconsistencies: type, key, problem, presence, json_types — keys present in
            only some events of a type, or with more than one JSON type (``null``
            alongside one other type is not counted).
    """
    prep = prepare(capture)
    return kept(
        prep, f"schema:{sample!r}:{depth!r}", lambda: _schema(prep, sample, depth)
    )


def _schema(prep: Prepared, sample: int, depth: int) -> Result:
    ps = parsed_sample(prep, sample)
    type_rows, key_rows = [], []
    for ty, grp in ps.groupby("type", sort=False):
        objs = [o for o in grp["obj"] if isinstance(o, dict)]
        type_rows.append((ty, len(grp), len(objs), len(grp) - len(objs)))
        seen: dict[str, dict[str, Any]] = {}
        for o in objs:
            for k, v in _flatten(o, depth=depth).items():
                s = seen.setdefault(k, {"n": 0, "types": set(), "example": v})
                s["n"] += 1
                s["types"].add(_JSON_TYPES.get(type(v), type(v).__name__))
        for k, s in seen.items():
            key_rows.append(
                (
                    ty,
                    k,
                    "|".join(sorted(s["types"])),
                    s["n"],
                    s["n"] / len(objs),
                    _example(s["example"]),
                )
            )
    types = pd.DataFrame(type_rows, columns=["type", "events", "json", "other"])
    keys = pd.DataFrame(
        key_rows,
        columns=["type", "key", "json_types", "present", "presence", "example"],
    )
    incons = []
    for row in keys.itertuples(index=False):
        parent = row.key.rsplit(".", 1)[0] if "." in row.key else None
        if row.presence < 1 and parent is None:
            incons.append(
                (
                    row.type,
                    row.key,
                    "missing in some events",
                    row.presence,
                    row.json_types,
                )
            )
        kinds = set(row.json_types.split("|")) - {"null"}
        if len(kinds) > 1:
            incons.append(
                (row.type, row.key, "mixed JSON types", row.presence, row.json_types)
            )
    inconsistencies = pd.DataFrame(
        incons, columns=["type", "key", "problem", "presence", "json_types"]
    )
    summary = []
    if not len(types):
        summary.append("No events in this capture.")
    else:
        summary.append(
            f"{len(types)} event type(s); {int(types['json'].sum())} of "
            f"{int(types['events'].sum())} sampled events carry JSON objects."
        )
        if len(inconsistencies):
            summary.append(
                f"{len(inconsistencies)} inconsistent field(s) within a type."
            )
    return Result(
        "Schema",
        summary=summary,
        tables={"types": types, "keys": keys, "inconsistencies": inconsistencies},
        notes=[prep.scale_note],
    )


def _example(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
    return text if len(text) <= 60 else text[:59] + "…"
