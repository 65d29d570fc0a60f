"""Datasets of captures: written and read back for real (local folders, fsspec URLs),
analysed per stream with pandas, and giving the tables of each stream's capture."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import ssenb
from ssenb import analysis
from ssenb.dataset import Dataset, DatasetResult, DatasetWriter

DATA = Path(__file__).resolve().parent.parent / "data"
NAMES = ["twitter", "chatgpt", "keepalive", "errors", "resume-after-cut", "openai"]
ANALYSES = [
    analysis.heartbeats,
    analysis.event_types,
    analysis.reconnects,
    analysis.timing,
    analysis.llm,
    analysis.lint,
]


def _captures() -> dict[str, ssenb.Capture]:
    return {name: ssenb.load(DATA / f"{name}.jsonl") for name in NAMES}


def _many(caps: dict[str, ssenb.Capture]) -> ssenb.Capture:
    """One capture of several named streams, as capture_many records them."""
    events, conns, urls = [], [], {}
    for name, cap in caps.items():
        events.append(cap.events.assign(stream=name))
        conns.append(cap.connections.assign(stream=name))
        urls[name] = cap.meta.get("url")
    ev = pd.concat(events, ignore_index=True)
    con = pd.concat(conns, ignore_index=True)
    for frame in (ev, con):
        frame["stream"] = pd.Categorical(frame["stream"], categories=list(caps))
    ev["type"] = ev["type"].astype(str).astype("category")
    con["outcome"] = con["outcome"].astype(str).astype("category")
    first = next(iter(caps.values()))
    meta = dict(first.meta, streams=urls)
    return ssenb.Capture(ev, con, meta)


def reference(func, caps: dict[str, ssenb.Capture], name: str) -> pd.DataFrame:
    """The pandas analysis of each stream's own capture, concatenated with the
    stream's key in a ``stream`` column: what a dataset must give."""
    frames = []
    for key, cap in caps.items():
        table = func(cap).tables[name].reset_index(drop=True)
        table = table.assign(stream=key) if "stream" in table else table
        if "stream" not in table:
            table.insert(0, "stream", key)
        frames.append(table[["stream", *[c for c in table if c != "stream"]]])
    kept = [f for f in frames if len(f)] or [frames[0]]
    return pd.concat(kept, ignore_index=True)


def assert_same_tables(result, func, caps) -> None:
    assert set(result.tables) == {*func(next(iter(caps.values()))).tables, "facts"}
    for name, table in result.tables.items():
        if name == "facts":
            assert table["stream"].tolist() == list(caps)
            continue
        pd.testing.assert_frame_equal(
            table,
            reference(func, caps, name),
            check_dtype=False,
            check_categorical=False,
            obj=f"{result.title}.{name}",
        )


@pytest.fixture(scope="module")
def caps() -> dict[str, ssenb.Capture]:
    return _captures()


@pytest.fixture(scope="module")
def saved(tmp_path_factory, caps) -> Dataset:
    path = tmp_path_factory.mktemp("ds") / "fleet"
    return ssenb.dataset.save_dataset(caps, path, rows_per_part=150)


def test_save_dataset_keeps_each_stream_whole_in_one_part(saved, caps) -> None:
    assert isinstance(saved, Dataset)
    streams = saved.streams
    assert streams["stream"].tolist() == list(caps)
    assert streams["rows"].tolist() == [len(c.events) for c in caps.values()]
    assert saved.npartitions > 1  # rows_per_part=150 spreads them
    for i in range(saved.npartitions):
        part = pd.read_parquet(Path(saved.url) / f"events/part-{i:05d}.parquet")
        keys = set(part["stream"])
        assert keys == set(streams.loc[streams["part"] == i, "stream"])
        # whole streams: every row of each stream is in this part
        for key in keys:
            assert (part["stream"] == key).sum() == len(caps[key].events)


def test_dataset_keeps_capture_metadata_per_stream(saved, caps) -> None:
    row = saved.streams.set_index("stream").loc["twitter"]
    assert row["time_scale"] == caps["twitter"].meta["time_scale"] == 100.0
    assert row["schema"] == 1
    assert row["url"] == caps["twitter"].meta["url"]
    meta = json.loads(row["meta"])
    assert meta["time_scale"] == 100.0
    back = saved.capture("twitter")
    assert back.meta["time_scale"] == 100.0
    pd.testing.assert_frame_equal(
        back.events.drop(columns=["stream", "type"]),
        caps["twitter"].events.drop(columns=["stream", "type"]),
    )
    assert back.events["type"].astype(str).tolist() == (
        caps["twitter"].events["type"].astype(str).tolist()
    )


def test_dataset_redacts_urls_and_headers_it_writes(tmp_path) -> None:
    cap = ssenb.load(DATA / "keepalive.jsonl")
    secret = "s3cr3t-token-value"
    url = f"https://user:{secret}@example.test/sse?access_token={secret}"
    cap.meta["url"] = url
    cap.meta["streams"] = {"keepalive": url}
    cap.meta["request_headers"] = {"Authorization": f"Bearer {secret}"}
    cap.connections["url"] = url
    ds = ssenb.dataset.save_dataset([cap], tmp_path / "ds")
    for path in (tmp_path / "ds").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert "[redacted]" in ds.streams["url"].iloc[0]


@pytest.mark.parametrize("func", ANALYSES, ids=lambda f: f.__name__)
def test_analysis_of_a_dataset_equals_pandas_per_stream(saved, caps, func) -> None:
    lazy = func(saved)
    assert isinstance(lazy, DatasetResult)
    result = lazy.compute(engine="pandas", progress=False)
    assert_same_tables(result, func, caps)
    assert result.facts["streams"] == len(caps)


def test_analysis_of_a_dataset_of_one_capture_many_recording(tmp_path, caps) -> None:
    # several named streams in one capture: each gives what cap.select(name) gives
    three = {k: caps[k] for k in ("twitter", "errors", "openai")}
    many = _many(three)
    ds = ssenb.dataset.save_dataset(many, tmp_path / "many")
    assert ds.streams["stream"].tolist() == list(three)
    per_stream = {k: many.select(k) for k in three}
    for func in (analysis.timing, analysis.reconnects, analysis.event_types):
        assert_same_tables(func(ds).compute(engine="pandas"), func, per_stream)


def test_open_dataset_reads_a_folder_of_capture_files(tmp_path, caps) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("twitter", "keepalive"):
        caps[name].save(folder / f"{name}.jsonl")
    caps["errors"].save(folder / "errors.parquet")
    (folder / "notes.txt").write_text("not a capture")
    ds = ssenb.dataset.open_dataset(folder)
    assert ds.npartitions == 3
    # keys are "<file>/<stream>" (or the file's name for an unnamed stream)
    keys = ["errors/errors", "keepalive/keepalive", "twitter/twitter"]
    assert ds.streams["stream"].tolist() == keys
    ref = {k: caps[k.split("/")[0]] for k in keys}
    assert_same_tables(
        analysis.heartbeats(ds).compute(engine="pandas"), analysis.heartbeats, ref
    )


def test_classify_of_a_dataset_equals_classify_per_stream(saved, caps) -> None:
    out = ssenb.classify(saved)
    frame = out.compute() if not isinstance(out, pd.DataFrame) else out
    ref = pd.concat(
        [ssenb.classify(c).assign(stream=k) for k, c in caps.items()],
        ignore_index=True,
    )

    def plain(f: pd.DataFrame) -> pd.DataFrame:
        # categories differ per stream; their values must not
        return f.assign(stream=f["stream"].astype(str), type=f["type"].astype(str))

    pd.testing.assert_frame_equal(
        plain(frame).reset_index(drop=True), plain(ref), check_categorical=False
    )


def test_dataset_at_an_fsspec_url(caps) -> None:
    pytest.importorskip("fsspec")
    url = "memory://ssenb-test/fleet"
    saved = ssenb.dataset.save_dataset(caps, url, overwrite=True, rows_per_part=200)
    assert saved.npartitions > 1
    again = ssenb.dataset.open_dataset(url)
    assert again.streams["stream"].tolist() == list(caps)
    assert_same_tables(
        analysis.timing(again).compute(engine="pandas"), analysis.timing, caps
    )


def test_pandas_engine_shows_a_progress_bar(saved, capsys) -> None:
    analysis.timing(saved).compute("connections", engine="pandas", progress=True)
    err = capsys.readouterr().err
    assert f"{len(saved.streams)}/{len(saved.streams)}" in err
    assert "stream" in err


def test_compute_brings_back_only_the_tables_asked_for(saved) -> None:
    result = analysis.timing(saved).compute("connections", engine="pandas")
    assert list(result.tables) == ["connections"]
    with pytest.raises(ValueError, match="no tables \\['nope'\\]"):
        analysis.timing(saved).compute("nope")
    with pytest.raises(ValueError, match="engine must be"):
        analysis.timing(saved).compute(engine="spark")


def test_empty_capture_gives_an_empty_dataset(tmp_path) -> None:
    ds = ssenb.dataset.save_dataset([ssenb.Capture()], tmp_path / "empty")
    assert len(ds) == 0
    result = analysis.timing(ds).compute(engine="pandas")
    assert len(result.connections) == 0
    assert list(result.connections.columns)[0] == "stream"


def test_stream_keys_stay_unique(tmp_path, caps) -> None:
    with DatasetWriter(tmp_path / "ds") as w:
        assert w.add(caps["twitter"], label="a") == ["twitter"]
        assert w.add(caps["twitter"], label="b") == ["b/twitter"]
        assert w.add(DATA / "twitter.jsonl") == ["twitter/twitter"]
        assert w.add(DATA / "twitter.jsonl") == ["twitter/twitter#2"]
    assert len(ssenb.dataset.open_dataset(tmp_path / "ds")) == 4


def test_dataset_mistakes_say_what_to_do(tmp_path, saved) -> None:
    with pytest.raises(FileNotFoundError, match="not a folder"):
        ssenb.dataset.open_dataset(tmp_path / "missing")
    (tmp_path / "blank").mkdir()
    with pytest.raises(FileNotFoundError, match="neither a dataset"):
        ssenb.dataset.open_dataset(tmp_path / "blank")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ssenb.dataset.save_dataset([], saved.url)
    with pytest.raises(TypeError, match="Capture or a capture file path"):
        ssenb.dataset.save_dataset([42], tmp_path / "bad")
    with pytest.raises(KeyError, match="not a stream of"):
        saved.capture("nope")
    with pytest.raises(ValueError, match="newer ssenb"):
        manifest = Path(saved.url) / "ssenb-dataset.json"
        doc = json.loads(manifest.read_text())
        (tmp_path / "newer").mkdir()
        (tmp_path / "newer" / "ssenb-dataset.json").write_text(
            json.dumps(dict(doc, schema=99))
        )
        ssenb.dataset.open_dataset(tmp_path / "newer")


ROOT = Path(__file__).resolve().parent.parent

_NO_DASK = """
import sys
for name in ("dask", "distributed", "fsspec"):
    sys.modules[name] = None  # as if ssenb[dask] were not installed
import ssenb
from ssenb import analysis
ds = ssenb.dataset.open_dataset(sys.argv[1])
try:
    ds.events
except ImportError as exc:
    print("events:", exc)
result = analysis.timing(ds).compute(progress=True)
print("engine:", result.facts["engine"])
result.connections.to_pickle(sys.argv[2])
"""


def test_without_dask_a_dataset_is_read_with_pandas_part_by_part(
    tmp_path, saved, caps
) -> None:
    import os
    import subprocess
    import sys

    out = tmp_path / "connections.pkl"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, "-c", _NO_DASK, saved.url, str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert "engine: pandas" in run.stdout
    assert 'pip install "ssenb[dask]"' in run.stdout  # Dataset.events says the fix
    n = len(caps)
    assert f"{n}/{n}" in run.stderr  # the progress bar counted every stream
    pd.testing.assert_frame_equal(
        pd.read_pickle(out),
        reference(analysis.timing, caps, "connections"),
        check_dtype=False,
        check_categorical=False,
    )


@pytest.mark.parametrize("spelling", ["slash", "existing"])
def test_capture_many_into_a_folder_records_a_dataset(tmp_path, spelling) -> None:
    folder = tmp_path / "fleet"
    if spelling == "existing":
        folder.mkdir()
        path: object = folder
    else:
        path = f"{folder}/"
    with ssenb.demo_server(speed=100) as demo:
        urls = {
            "chat": demo.url("openai", events=5),
            "ticks": demo.url("github-actions"),
        }
        cap = ssenb.capture_many(urls, path=path)
    ds = ssenb.dataset.open_dataset(folder)
    assert sorted(ds.streams["stream"]) == ["chat", "ticks"]
    assert not (folder / ".recording.jsonl").exists()  # the spool is gone
    for name in ("chat", "ticks"):
        back = ds.capture(name)
        mine = cap.select(name)
        assert back.events["data"].tolist() == mine.events["data"].tolist()
        assert len(back.events) > 5
        assert back.connections["outcome"].tolist() == (
            mine.connections["outcome"].tolist()
        )
    # a folder that holds a dataset is refused before anything is recorded
    with pytest.raises(FileExistsError, match="already holds a dataset"):
        ssenb.capture_many({"x": "http://127.0.0.1:9/never"}, path=path)
