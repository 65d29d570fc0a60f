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
    # captures in files or in memory, and recordings as replay writes (timeline);
    # numpy: the codec encodes and decodes whole columns as arrays
    "store": ({"frames", "parse", "redact", "errors"}, {"pandas", "numpy", "pyarrow"}),
    # the capture as a value (Capture, load, as_capture): what every layer above
    # takes; its repr names the dialect, save/load go through store
    "value": (
        {"frames", "store", "patterns", "_html", "_payload"},
        {"pandas"},
    ),
    # recording only (httpx shells, Recorder): parsing, the reconnect policy,
    # redaction and the frames are _session's; the Capture it returns is a value
    "capture": (
        {
            "_session",
            "_progress",
            "store",
            "value",
            # capture_many(path=folder) writes a dataset: imported inside the call
            # only (dataset sits above value and analysis, below capture)
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
    # the catalogue, classify and dialect: takes frames (a Capture through
    # frames.events_of), below the value whose repr names the dialect; pyarrow:
    # classify reads the data column's Arrow buffers and string kernels, as analysis
    # JSON rows that repeat an envelope, found by prefix/suffix comparisons: shared by
    # the classifier and the LLM analysis
    "_envelope": (set(), {"pandas", "numpy", "pyarrow"}),
    "patterns": (
        {"frames", "_endings", "_renamed", "_envelope"},
        {"pandas", "numpy", "pyarrow"},
    ),
    "_html": (set(), set()),
    # a record's payload in a few words, for every view
    "_payload": (set(), set()),
    "analysis": (
        {"frames", "patterns", "value", "errors", "_html", "_renamed", "_envelope"},
        # pyarrow: Arrow string kernels on the data column (pandas keeps it in Arrow)
        {"pandas", "numpy", "pyarrow"},
    ),
    "plots": (
        {"analysis", "frames", "patterns", "value", "_html", "_renamed"},
        {"matplotlib", "pandas", "numpy"},
    ),
    # the live views read the Recorder (any Source) their caller passes in; no capture.
    # patterns: the feed and the explorer name the stream's dialect; _payload: a
    # record's payload in a few words, shared with every view; value: the Capture only
    # as a type, under TYPE_CHECKING (test_widgets_take_the_capture_only_as_a_type)
    "widgets": (
        {"analysis", "plots", "frames", "patterns", "_html", "_payload", "value"},
        {"ipywidgets", "matplotlib", "pandas", "numpy"},
    ),
    # ssenb.watch: the Recorder of a URL, handed to the live views; value: as_capture,
    # handed to the Explorer so that it loads a path without importing value
    "_watch": ({"capture", "value", "widgets"}, set()),
    # the server plays (delay, bytes) writes its caller hands in: no store, no frames.
    # parse: encode_event for the scenarios, and the parser to count the events and
    # ids of replayed writes (faults count events); _local: the servers this process
    # started; _renamed: an old name of replay
    "server": (
        {"parse", "patterns", "_local", "_renamed"},
        {"starlette", "uvicorn"},
    ),
    # ssenb.demo_server: any recording through store.timeline, then the server
    "_serve": ({"server", "store"}, set()),
    # a capture -> a tutorial notebook; the capture goes in and out through store's
    # file objects (no temporary file). Beyond the style guide's row: errors (a path
    # that is no capture is a CaptureFileError, as everywhere), frames (the frames of
    # what it is given are coerced to their schemas), nbclient (execute=True runs the
    # notebook in a kernel), jinja2 (nbconvert's template engine: the page's template
    # is given from memory), pandas (the figures the prose quotes), and nbclient's own
    # jupyter_client, traitlets and zmq (the kernel talks over IPC or encrypted TCP)
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
            "value",
        },
        {
            "nbformat",
            "nbconvert",
            "nbclient",
            "jinja2",
            "pandas",
            "jupyter_client",
            "traitlets",
            "zmq",
        },
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
        {"_session", "value", "redact", "server", "frames", "store", "errors"},
        {"httpx", "pandas", "uvicorn", "starlette"},
    ),
    # many captures as one dataset, analysed per stream (Dask optional, imported late)
    "dataset": (
        {"analysis", "value", "frames", "patterns", "redact", "store", "_progress"},
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


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:``."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                out.update(id(n) for n in ast.walk(inner))
    return out


def test_widgets_take_the_capture_only_as_a_type() -> None:
    # the style guide's row: widgets use the Capture "only as a type"; at run time
    # they read what they are given and never load it through ssenb.value
    for path in sorted((PKG / "widgets").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typed = _type_only(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in typed:
                names = (node.module or "").split(".")
                assert "value" not in names, (
                    f"{path.name}:{node.lineno} imports ssenb.value at run time; "
                    f"import it under `if TYPE_CHECKING:`"
                )


def test_parse_imports_only_the_standard_library() -> None:
    internal, external = _imports(PKG / "parse.py")
    assert external == set()
    assert internal <= {"errors"}


def test_the_layers_form_no_cycle() -> None:
    # what the files import, a package as one layer: each layer sits above all it
    # reaches, so nothing it reaches may reach it back
    graph: dict[str, set[str]] = {}
    for path in FILES:
        layer = _layer(path)
        internal, _ = _imports(path)
        graph.setdefault(layer, set()).update(internal - {layer, "*"})
    top = {"cli", "__init__", "__main__"}
    for start in sorted(set(graph) - top):
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            layer = todo.pop()
            if layer in seen or layer in top:
                continue
            seen.add(layer)
            todo.extend(graph.get(layer, ()))
        assert start not in seen, f"{start} imports a layer that imports {start}"
