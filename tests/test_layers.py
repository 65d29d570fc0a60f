"""Nothing imports upward: each module imports only the ssenb modules and third-party
packages its layer allows (the table in the project's style guide).

A new module must be added to ALLOWED, which makes its place in the layering explicit.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "ssenb"
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# module -> (ssenb modules it may import, third-party packages it may import)
ALLOWED: dict[str, tuple[set[str], set[str]]] = {
    "errors": (set(), set()),
    "parse": ({"errors"}, set()),
    "_lines": ({"errors"}, set()),
    "redact": ({"errors"}, set()),
    "_reconnect": ({"errors"}, set()),
    # the end-of-stream markers, shared by the classifier and capture
    "_endings": (set(), set()),
    # the servers this process started (their time scale is trusted)
    "_local": (set(), set()),
    # old public names that warn for one release
    "_renamed": (set(), set()),
    # records as array columns, a region of whole blocks at a time
    "_bulk": ({"parse", "errors"}, {"numpy", "pyarrow"}),
    "frames": ({"_bulk", "parse", "errors"}, {"pandas", "numpy", "pyarrow"}),
    "store": ({"frames", "parse", "redact", "errors"}, {"pandas", "numpy", "pyarrow"}),
    "capture": (
        {
            "parse",
            "_reconnect",
            "redact",
            "frames",
            "store",
            "errors",
            "_html",
            "_payload",
            "_session",
            "_progress",
            # the repr names the dialect (patterns sits below capture: frames only)
            "patterns",
            # capture_many(path=folder) writes a dataset: imported inside the call
            # only (dataset imports capture when loaded)
            "dataset",
        },
        {"httpx", "pandas", "numpy", "tqdm", "anyio"},
    ),
    # capture's core between socket and frames, shared by its sync and async shells
    "_session": (
        {
            "_bulk",
            "parse",
            "_reconnect",
            "redact",
            "frames",
            "errors",
            "_endings",
            "_local",
        },
        {"pandas", "numpy"},
    ),
    "_progress": ({"_term"}, {"tqdm", "IPython"}),
    # terminal-safe text, and what a file given to the command line holds
    "_term": (set(), set()),
    "_inputs": (set(), set()),
    "patterns": ({"frames", "errors", "_endings", "_renamed"}, {"pandas", "numpy"}),
    "_html": (set(), set()),
    # a record's payload in a few words, for every view
    "_payload": (set(), set()),
    "analysis": (
        {"frames", "patterns", "errors", "_html", "_renamed"},
        # pyarrow: Arrow string kernels on the data column (pandas keeps it in Arrow)
        {"pandas", "numpy", "pyarrow"},
    ),
    "plots": (
        {"analysis", "frames", "patterns", "_html", "_renamed"},
        {"matplotlib", "pandas", "numpy"},
    ),
    "widgets": (
        {"analysis", "plots", "frames", "patterns", "_html", "_payload", "capture"},
        {"ipywidgets", "matplotlib", "pandas", "numpy", "IPython"},
    ),
    "server": (
        {"parse", "patterns", "frames", "store", "errors", "_local", "_renamed"},
        {"starlette", "uvicorn"},
    ),
    "share": (
        {
            "store",
            "patterns",
            "analysis",
            "plots",
            "redact",
            "_html",
            "errors",
            "frames",
        },
        {"nbformat", "nbconvert", "nbclient", "pandas"},
    ),
    # the guided demo and the sample data: records, analyses and prints (below cli)
    "demo": (
        {
            "_progress",
            "_renamed",
            "_term",
            "analysis",
            "capture",
            "patterns",
            "server",
            "store",
        },
        {"tqdm"},
    ),
    # the recording proxy: an ASGI app on the server's thread helper, recording with
    # capture's core
    "proxy": (
        {"_session", "capture", "redact", "server", "frames", "store", "errors"},
        {"httpx", "pandas", "uvicorn", "starlette"},
    ),
    # many captures as one dataset, analysed per stream (Dask optional, imported late)
    "dataset": (
        {"analysis", "capture", "frames", "patterns", "redact", "store", "_progress"},
        {"pandas", "numpy", "pyarrow", "fsspec", "dask", "tqdm"},
    ),
    # records one at a time: capture's async shell with a reader on its hooks
    "_iter": ({"_session", "capture", "parse"}, {"numpy", "pandas"}),
    "cli": ({"*"}, {"*"}),
    "__init__": ({"*"}, {"*"}),
    "__main__": ({"*"}, {"*"}),
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return rel.parts[0]  # a package (server/...) is one layer


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(ssenb modules, top-level third-party packages) that a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(PKG).parent.parts
    internal: set[str] = set()
    external: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top == "ssenb":
                    internal.add(alias.name.split(".")[1] if "." in alias.name else "*")
                elif top not in STDLIB:
                    external.add(top)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - (node.level - 1)])
                mod = base + (node.module.split(".") if node.module else [])
                if not mod:
                    internal.update(a.name for a in node.names)
                elif mod[0] != (here[0] if here else None):
                    internal.add(mod[0])
            elif node.module:
                top = node.module.split(".")[0]
                if top == "ssenb":
                    parts = node.module.split(".")
                    internal.add(parts[1] if len(parts) > 1 else "*")
                elif top not in STDLIB:
                    external.add(top)
    return internal, external


FILES = sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_follow_the_layers(path: Path) -> None:
    layer = _layer(path)
    assert layer in ALLOWED, f"{layer} has no place in ALLOWED; add it deliberately"
    may_internal, may_external = ALLOWED[layer]
    internal, external = _imports(path)
    internal.discard(layer)
    if "*" not in may_internal:
        assert internal <= may_internal, (
            f"{path.name} imports {internal - may_internal}"
        )
    if "*" not in may_external:
        assert external <= may_external, (
            f"{path.name} imports {external - may_external}"
        )


def test_parse_imports_only_the_standard_library() -> None:
    internal, external = _imports(PKG / "parse.py")
    assert external == set()
    assert internal <= {"errors"}
