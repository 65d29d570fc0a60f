"""The public surface is pinned: ``__all__`` is sorted, complete and importable."""

import importlib

import pytest

import ssenb

PUBLIC_MODULES = [
    "ssenb.errors",
    "ssenb.parse",
    "ssenb.frames",
    "ssenb.cli",
    "ssenb.plots",
    "ssenb.widgets",
    "ssenb.store",
    "ssenb.capture",
    "ssenb.value",
    "ssenb.proxy",
    "ssenb.redact",
    "ssenb.server",
    "ssenb.server.scenarios",
    "ssenb.server.faults",
    "ssenb.server.replay",
    "ssenb.server.app",
    "ssenb.patterns",
    "ssenb.analysis",
    "ssenb.share",
    "ssenb.demo",
    "ssenb.dataset",
]


def test_all_is_pinned() -> None:
    # one way per everyday task; the rest lives in the public submodules
    assert ssenb.__all__ == [
        "Capture",
        "Explorer",
        "Recorder",
        "SSENBError",
        "SSEParser",
        "acapture",
        "aiter_records",
        "capture",
        "capture_many",
        "classify",
        "demo_server",
        "iter_records",
        "load",
        "read_sse",
        "report",
        "watch",
    ]
    assert len(ssenb.__all__) <= 16


@pytest.mark.parametrize("name", sorted(ssenb.MOVED))
def test_moved_names_warn_and_still_work(name: str) -> None:
    module = ssenb.MOVED[name]
    with pytest.warns(DeprecationWarning, match=rf"from {module} import {name}`"):
        old = getattr(ssenb, name)
    assert old is getattr(importlib.import_module(module), name)
    assert name not in ssenb.__all__
    with pytest.warns(DeprecationWarning):
        exec(f"from ssenb import {name}", {})


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        ("ssenb.analysis", "progress", "task_progress"),
        ("ssenb.plots", "plot_progress", "plot_task_progress"),
        ("ssenb.plots", "progress_series", "task_progress_series"),
        ("ssenb.patterns", "catalogue", "catalog"),
        ("ssenb.demo", "summarise", "summarize"),
        ("ssenb.server.replay", "Recording", "Replay"),
    ],
)
def test_renamed_names_warn_and_still_work(module: str, old: str, new: str) -> None:
    # "progress" alone is capture's progress bar; Recording is capture's live
    # recording; public names use American spelling
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"{new}\b"):
        got = getattr(mod, old)
    assert got is getattr(mod, new)
    assert old not in mod.__all__ and new in mod.__all__


def test_calling_the_proxy_module_warns_and_still_works() -> None:
    with ssenb.demo_server() as srv:
        with pytest.warns(DeprecationWarning, match=r"ssenb\.proxy\.proxy"):
            px = ssenb.proxy(srv.base_url)  # type: ignore[operator]
        with px:
            assert isinstance(px, ssenb.proxy.Proxy)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ssenb.nope  # noqa: B018
    assert not hasattr(ssenb, "nope")


@pytest.mark.parametrize("name", ["ssenb", *PUBLIC_MODULES])
def test_all_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for member in module.__all__:
        assert hasattr(module, member), f"{name}.{member} is in __all__ but missing"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_functions_and_classes_are_in_all(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and callable(v)
        and getattr(v, "__module__", None) == name
    }
    assert public <= set(module.__all__)


def test_import_leaves_the_heavy_libraries_for_later() -> None:
    # nbformat pulls in jsonschema and its format checkers (about a second),
    # matplotlib its axes and backends (a third): `import ssenb` and every CLI
    # command would pay for them with nothing drawn or shared
    import subprocess
    import sys

    heavy = ("nbformat", "nbclient", "nbconvert", "jsonschema", "matplotlib")
    code = f"import sys, ssenb; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
