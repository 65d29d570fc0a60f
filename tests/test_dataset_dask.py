"""Datasets on Dask: a LocalCluster of two worker processes on 127.0.0.1 runs every
analysis per part and gives the pandas tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ssenb
from ssenb import analysis

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

# starting two worker processes on a busy machine takes a few seconds
pytestmark = pytest.mark.timeout(180)

DATA = Path(__file__).resolve().parent.parent / "data"
NAMES = ["twitter", "chatgpt", "keepalive", "errors", "resume-after-cut", "vercel"]
ANALYSES = [
    analysis.heartbeats,
    analysis.event_types,
    analysis.reconnects,
    analysis.timing,
    analysis.llm,
    analysis.lint,
]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit="1GiB",
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    caps = {name: ssenb.load(DATA / f"{name}.jsonl") for name in NAMES}
    path = tmp_path_factory.mktemp("dask") / "fleet"
    ssenb.dataset.save_dataset(caps, path, rows_per_part=120)
    # an fsspec URL, as a dataset in object storage is given
    return ssenb.dataset.open_dataset(f"file://{path}")


@pytest.mark.parametrize("func", ANALYSES, ids=lambda f: f.__name__)
def test_analysis_on_a_local_cluster_equals_pandas(client, dataset, func) -> None:
    lazy = func(dataset)
    with distributed.get_task_stream(client) as stream:
        on_dask = lazy.compute(engine="dask")
    workers = {t["worker"] for t in stream.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    on_pandas = lazy.compute(engine="pandas", progress=False)
    assert on_dask.facts["engine"] == "Dask"
    assert list(on_dask.tables) == list(on_pandas.tables)
    for name in on_pandas.tables:
        pd.testing.assert_frame_equal(on_dask.tables[name], on_pandas.tables[name])


def test_tables_are_dask_frames_with_declared_meta(client, dataset) -> None:
    result = analysis.timing(dataset)
    tables = result.to_dask()
    pandas = result.compute(engine="pandas", progress=False)
    for name, frame in tables.items():
        assert list(frame.columns) == list(pandas.tables[name].columns), name
        assert frame.npartitions == dataset.npartitions
    # only the tables asked for come back, computed where the parts are
    one = result.compute("connections", engine="dask")
    assert list(one.tables) == ["connections"]
    pd.testing.assert_frame_equal(one.connections, pandas.connections)
    # a reduction where the data is, no shuffle of the rows
    events = result.connections.groupby("stream")["events"].sum().compute()
    expected = pandas.connections.groupby("stream")["events"].sum()
    pd.testing.assert_series_equal(events.sort_index(), expected.sort_index())


def test_events_keep_each_stream_in_one_partition(client, dataset) -> None:
    events = dataset.events
    assert events.npartitions == dataset.npartitions
    per_part = events.map_partitions(
        lambda part: part["stream"].astype(str).drop_duplicates().to_frame(),
        meta={"stream": object},
    ).compute()
    # no stream appears in two partitions
    assert per_part["stream"].is_unique
    rows = events.groupby("stream", observed=True).size().compute()
    expected = dataset.streams.set_index("stream")["rows"]
    assert rows.rename(None).astype("int64").sort_index().to_dict() == (
        expected.sort_index().to_dict()
    )


def test_classify_on_a_local_cluster(client, dataset) -> None:
    out = ssenb.classify(dataset).compute()
    caps = {k: dataset.capture(k) for k in dataset.streams["stream"]}
    ref = pd.concat([ssenb.classify(c) for c in caps.values()], ignore_index=True)
    assert out["pattern"].astype(str).tolist() == ref["pattern"].astype(str).tolist()
    assert out["family"].astype(str).tolist() == ref["family"].astype(str).tolist()


def test_folder_of_capture_files_on_a_local_cluster(client, tmp_path) -> None:
    for name in ("twitter", "keepalive", "chatgpt"):
        ssenb.load(DATA / f"{name}.jsonl").save(tmp_path / f"{name}.parquet")
    ds = ssenb.dataset.open_dataset(tmp_path)
    lazy = analysis.heartbeats(ds)
    on_dask = lazy.compute(engine="dask")
    on_pandas = lazy.compute(engine="pandas", progress=False)
    assert on_dask.facts["streams"] == 3
    for name in on_pandas.tables:
        pd.testing.assert_frame_equal(on_dask.tables[name], on_pandas.tables[name])
