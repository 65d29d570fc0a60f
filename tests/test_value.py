"""The capture as a value (``ssenb.value``): made without a network, one rule
(``as_capture``) for what stands for a capture, and ``.plot`` declared on the class."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import ssenb
from ssenb import analysis
from ssenb.errors import CaptureFileError
from ssenb.frames import read_sse
from ssenb.parse import encode_event
from ssenb.value import Capture, as_capture, load

DATA = Path(__file__).resolve().parent.parent / "data"
PKG = Path(ssenb.__file__).resolve().parent


def _chat_events() -> pd.DataFrame:
    """An OpenAI-style token stream read from bytes on hand: no socket anywhere."""
    chunk = (
        '{{"id":"chatcmpl-abc123","object":"chat.completion.chunk",'
        '"choices":[{{"index":0,"delta":{{"content":"{w}"}}}}]}}'
    )
    raw = b"".join(encode_event(chunk.format(w=w)) for w in ("Hel", "lo", "!"))
    ev = read_sse(raw + b": keep-alive\n\n" + encode_event("[DONE]"))
    ev["elapsed"] = [0.1, 0.2, 0.3, 0.4, 0.5]
    return ev


def test_capture_made_without_a_network_is_a_whole_value(tmp_path: Path) -> None:
    ev = _chat_events()
    cap = Capture(ev, meta={"url": "http://example.test/chat"})
    assert cap.events is ev
    assert len(cap.connections) == 0 and list(cap.connections.columns)
    assert cap.streams == [""]
    assert cap.duration == pytest.approx(0.5)
    s = cap.summary()
    assert (s["records"], s["events"], s["kinds"]) == (5, 4, {"event": 4, "comment": 1})
    text = repr(cap)
    assert text.startswith("Capture of http://example.test/chat: 5 records")
    assert "dialect  OpenAI chat completions (openai)" in text  # patterns, below value
    bundle = cap._repr_mimebundle_()
    assert (
        bundle["text/plain"] == text
        and "OpenAI chat completions" in bundle["text/html"]
    )
    back = load(cap.save(tmp_path / "chat.jsonl"))
    assert back.events["data"].tolist() == ev["data"].tolist()
    assert back.meta["url"] == "http://example.test/chat"
    assert back.rows_recovered == 0


def test_capture_select_keeps_one_stream() -> None:
    cap = ssenb.load(DATA / "openai.jsonl")
    named = Capture(
        cap.events.assign(stream=pd.Categorical(["a"] * len(cap.events))),
        cap.connections.assign(stream=pd.Categorical(["a"] * len(cap.connections))),
        {**cap.meta, "streams": {"a": "http://a", "b": "http://b"}},
    )
    one = named.select("a")
    assert one.streams == ["a"] and len(one.events) == len(cap.events)
    with pytest.raises(ValueError, match=r"select\(\) takes stream names"):
        named.select("zz")


def test_as_capture_returns_a_capture_as_it_is() -> None:
    cap = ssenb.load(DATA / "openai.jsonl")
    assert as_capture(cap) is cap


def test_as_capture_of_an_events_frame_takes_its_meta_from_attrs() -> None:
    ev = _chat_events()
    ev.attrs["ssenb_meta"] = {"url": "http://example.test/chat", "time_scale": 4.0}
    cap = as_capture(ev)
    assert isinstance(cap, Capture)
    assert cap.events is ev  # nothing copied
    assert cap.meta == {"url": "http://example.test/chat", "time_scale": 4.0}
    assert len(cap.connections) == 0
    bare = as_capture(_chat_events().assign(elapsed=float("nan")))
    assert bare.meta == {}
    assert "nan" not in repr(bare)  # bytes read from a file carry no arrival time
    assert "Hello"[:3] in repr(bare)


@pytest.mark.parametrize("kind", [str, Path], ids=["str", "Path"])
def test_as_capture_of_a_path_loads_the_file(kind: type) -> None:
    path = DATA / "twitter.jsonl"
    cap = as_capture(kind(path))
    want = ssenb.load(path)
    assert isinstance(cap, Capture)
    pd.testing.assert_frame_equal(cap.events, want.events)
    pd.testing.assert_frame_equal(cap.connections, want.connections)
    assert cap.meta == want.meta


def test_as_capture_of_a_missing_or_foreign_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such capture file"):
        as_capture(tmp_path / "missing.jsonl")
    notes = tmp_path / "notes.jsonl"
    notes.write_text("hello\n")
    with pytest.raises(CaptureFileError, match="not an ssenb capture"):
        as_capture(str(notes))
    with pytest.raises(IsADirectoryError, match="a folder, not a capture file"):
        as_capture(tmp_path)


def test_as_capture_of_a_url_says_to_record_it_first() -> None:
    with pytest.raises(TypeError, match=r"is a URL.*ssenb\.capture\("):
        as_capture("http://127.0.0.1:8000/events")
    with pytest.raises(TypeError, match="is a URL"):
        ssenb.report("https://example.com/stream")


def test_as_capture_of_anything_with_events_lends_its_parts() -> None:
    cap = ssenb.load(DATA / "twitter.jsonl")
    duck = SimpleNamespace(
        events=cap.events, connections=cap.connections, meta={"url": "u"}, raw=cap.raw
    )
    got = as_capture(duck)
    assert got.events is cap.events and got.connections is cap.connections
    assert got.meta == {"url": "u"} and got.raw == cap.raw
    # a prepared capture of the analyses has an .events frame too
    prep = analysis.prepare(cap)
    assert as_capture(prep).events is prep.events
    only = as_capture(SimpleNamespace(events=cap.events, connections="not a frame"))
    assert len(only.connections) == 0 and only.meta == {}


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        pytest.param(42, "got int", id="int"),
        pytest.param([1, 2], "got list", id="list"),
        pytest.param(b"data: x\n\n", "ssenb.read_sse(data)", id="bytes"),
        pytest.param(SimpleNamespace(events=[1]), "whose .events is list", id="events"),
    ],
)
def test_as_capture_of_something_else_names_it_and_what_is_accepted(
    wrong: object, named: str
) -> None:
    with pytest.raises(TypeError) as info:
        as_capture(wrong)  # type: ignore[arg-type]
    msg = str(info.value)
    assert named in msg
    for accepted in ("a Capture", "events DataFrame", "path of a capture file"):
        assert accepted in msg


def test_every_entry_point_takes_what_as_capture_takes(tmp_path: Path) -> None:
    path = DATA / "github-actions.jsonl"
    cap = ssenb.load(path)
    by_path = analysis.event_types(path).table
    pd.testing.assert_frame_equal(by_path, analysis.event_types(cap).table)
    pd.testing.assert_frame_equal(
        ssenb.classify(cap), ssenb.classify(cap.events)
    )  # patterns take a Capture without importing the value layer
    with pytest.raises(TypeError, match="Capture or an events DataFrame"):
        analysis.heartbeats(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Capture or an events DataFrame"):
        ssenb.classify(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Capture or an events DataFrame"):
        ssenb.share.to_notebook(42)  # type: ignore[arg-type]


def test_old_imports_still_work() -> None:
    from ssenb.capture import Capture as OldCapture
    from ssenb.capture import load as old_load

    assert OldCapture is Capture and old_load is load and ssenb.Capture is Capture
    assert ssenb.load is load


def test_plot_is_declared_on_the_class_and_drawn_by_the_plots_module() -> None:
    # ssenb/__init__ imports everything, so load ssenb.value alone: a bare package
    # object stands for ssenb and its submodules import as usual
    code = f"""
import sys, types
pkg = types.ModuleType("ssenb")
pkg.__path__ = [{str(PKG)!r}]
sys.modules["ssenb"] = pkg
from ssenb.value import Capture
assert "plot" in vars(Capture), "plot is not in the class body"
assert Capture.plot is vars(Capture)["plot"]
assert "ssenb.plots" not in sys.modules and "matplotlib" not in sys.modules
acc = Capture().plot
print(type(acc).__module__, type(acc).__name__, "ssenb.plots" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ssenb.plots._overview", "PlotAccessor", "True"]
    init = (PKG / "__init__.py").read_text(encoding="utf-8")
    assert "setattr(Capture" not in init
