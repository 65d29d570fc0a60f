"""The grouping event_types runs on integer codes gives what pandas' groupby gives:
the same groups, in the same order, with the same counts, bytes and times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ssenb.analysis import _event_types


def _work(n: int, seed: int, categorical: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    types = np.array(["message", "ping", "error", "zeta", "alpha"])[
        rng.integers(0, 5, n)
    ]
    pats = np.array(["chunk", "ping", "error", "event"])[rng.integers(0, 4, n)]
    frame = pd.DataFrame(
        {
            "stream": np.array(["b", "a", "c"])[rng.integers(0, 3, n)],
            "type": types,
            "pattern": pats,
            "bytes": rng.integers(0, 500, n).astype(np.int64),
            "t": rng.random(n),
        }
    )
    if categorical:
        # categories in an order of their own, some never used
        frame["type"] = pd.Categorical(
            frame["type"], categories=["zeta", "message", "ping", "error", "alpha", "x"]
        )
        frame["pattern"] = pd.Categorical(frame["pattern"])
    return frame


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("sort", [False, True])
@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_grouped_equals_pandas_groupby(n: int, sort: bool, categorical: bool) -> None:
    work = _work(n, seed=n, categorical=categorical)
    keys = ["stream", "type", "pattern"]
    got = _event_types._grouped(work, keys, sort=sort, times=True)
    assert got is not None
    want = (
        work.groupby(keys, sort=sort, observed=True)
        .agg(
            count=("bytes", "size"),
            bytes=("bytes", "sum"),
            first_seen=("t", "min"),
            last_seen=("t", "max"),
        )
        .reset_index()
    )
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want, check_dtype=False, check_categorical=False
    )
    assert got["count"].dtype == np.int64 and got["bytes"].dtype == np.int64


def test_many_key_values_take_the_hash_path() -> None:
    n = 3000
    work = pd.DataFrame(
        {
            "a": np.arange(n) % 1500,
            "b": np.arange(n) % 1400,
            "bytes": np.ones(n, dtype=np.int64),
        }
    )
    got = _event_types._grouped(work, ["a", "b"], sort=True, times=False)
    want = (
        work.groupby(["a", "b"], sort=True)
        .agg(count=("bytes", "size"), bytes=("bytes", "sum"))
        .reset_index()
    )
    assert got is not None
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


@pytest.mark.parametrize("seed", range(6))
def test_heartbeat_spans_read_as_segments_equal_pandas_groupby(seed: int) -> None:
    """First, last and largest gap per connection: the segment reading (rows come
    connection after connection) and pandas' groupby agree, and rows of connections
    interleaved fall back to the groupby."""
    from ssenb.analysis._heartbeats import _spans, _spans_grouped

    rng = np.random.default_rng(seed)
    for _ in range(60):
        n = int(rng.integers(1, 50))
        ordered = rng.random() < 0.7
        conns = rng.integers(1, 6, n)
        codes = rng.integers(0, 3, n)
        if ordered:
            order = np.lexsort((conns, codes))
            conns, codes = conns[order], codes[order]
        t = np.cumsum(rng.random(n)) if rng.random() < 0.8 else rng.random(n) * 10
        sub = pd.DataFrame({"stream": codes, "connection": conns, "t": t})
        pd.testing.assert_frame_equal(
            _spans(sub), _spans_grouped(sub), check_index_type=False
        )


@pytest.mark.parametrize("window", [None, 0.25, 7.0])
def test_event_types_over_time_is_the_groupby_of_float_windows(
    window: float | None,
) -> None:
    import ssenb

    rng = np.random.default_rng(3)
    raw = b"".join(
        ssenb.parse.encode_event(f"x{i}", event=str(rng.choice(["a", "b", "c"])))
        for i in range(400)
    )
    frame = ssenb.frames.read_sse(raw)
    frame["elapsed"] = np.cumsum(rng.exponential(0.05, len(frame)))
    got = ssenb.analysis.event_types(frame, window=window)
    over = got.tables["over_time"]
    w = got.facts["window"]
    t = frame["elapsed"].to_numpy()
    want = (
        pd.DataFrame(
            {
                "window": np.floor((t - t.min()) / w) * w + t.min(),
                "type": frame["type"].astype(str),
                "bytes": frame["size"].to_numpy(),
            }
        )
        .groupby(["window", "type"], sort=True)
        .agg(count=("bytes", "size"), bytes=("bytes", "sum"))
        .reset_index()
    )
    pd.testing.assert_frame_equal(over, want, check_dtype=False)
