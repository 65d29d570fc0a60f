"""Share a capture as a tutorial notebook that runs anywhere, and as one HTML page.

``to_notebook(capture)`` writes (with nbformat) a notebook that teaches what a recorded
stream does: summary, dialect, wire bytes, pattern families with the catalogue's
explanations, heartbeats, event types, reconnects, LLM statistics, lint findings, a
live replay, and what to look for elsewhere.

Rules of this package:

- Self-contained: the capture travels with the notebook, embedded (gzip + base64) when
  small, else as one file beside it loaded by relative path. No server, no network.
- Safe: the capture's metadata and connection URLs are redacted again before anything
  is written, whatever the capture was recorded with; every stream string that lands
  in markdown or HTML is escaped.
- Deterministic: no timestamps, random ids or paths of this machine in the file; the
  same capture gives the same notebook, byte for byte.
- Valid per ``nbformat.validate``; an existing file is never replaced unless asked.
- No temporary files: the capture is packed and unpacked in memory (``store`` reads
  and writes file objects) and the page's template is given from memory; only
  ``execute=True`` without a ``path`` runs its kernel in a temporary folder, and a
  kernel's connection file and sockets live in a private one (``_kernel``).
"""

from __future__ import annotations

import base64
import gzip
import io
import os
import re
import subprocess
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import store
from ..errors import CaptureFileError
from ..frames import CONNECTIONS_SCHEMA, EVENTS_SCHEMA, coerce
from ..redact import redact_mapping, redact_url
from ..value import CaptureLike, as_capture
from . import _build
from ._build import SECTIONS, Source
from ._kernel import kernel_config
from ._static import static_widgets

if TYPE_CHECKING:  # nbformat is imported where it is used: it loads slowly
    import nbformat

__all__ = [
    "EMBED_LIMIT",
    "SECTIONS",
    "execute_notebook",
    "to_html",
    "to_notebook",
    "unpack",
]

#: Captures whose compressed file is at most this many bytes are embedded in the
#: notebook; bigger ones are written beside it.
EMBED_LIMIT = 256_000

#: The tag of the cell holding the embedded capture (its input is hidden in HTML).
DATA_TAG = "ssenb-capture-data"

_KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}
# nbconvert's lab page without the two scripts it fetches from a CDN: require.js
# (for widgets and JavaScript outputs, which a shared page has none of) and MathJax
# (which would also typeset $...$ found in stream data).
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
"""
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


# -- input ------------------------------------------------------------------------


def _read(capture_or_path: CaptureLike) -> Source:
    if isinstance(capture_or_path, str | os.PathLike):
        path = Path(capture_or_path)
        if not path.is_file():
            raise CaptureFileError(
                f"{path}: no such capture file; give the path of a file written by "
                f"Capture.save or ssenb capture (.jsonl, .jsonl.gz, .parquet)",
                path=str(path),
            )
    cap = as_capture(capture_or_path)
    meta, events, connections, raw = cap.meta, cap.events, cap.connections, cap.raw
    events = coerce(events, EVENTS_SCHEMA, what="events")
    connections = coerce(connections, CONNECTIONS_SCHEMA, what="connections")
    return _redacted(Source(dict(meta), events, connections, raw))


def _redact_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return _URL.sub(lambda m: redact_url(m.group(0)), value)


def _redacted(src: Source) -> Source:
    """The capture with its secrets redacted again (a capture recorded with
    ``redact=False`` is shared safely too)."""
    meta = redact_mapping(src.meta)
    if isinstance(meta.get("streams"), dict):
        meta["streams"] = {k: redact_url(v) for k, v in meta["streams"].items()}
    con = src.connections.copy()
    if len(con):
        con["url"] = (
            con["url"]
            .map(lambda u: redact_url(u) if isinstance(u, str) else u)
            .astype(con["url"].dtype)
        )
        con["error"] = con["error"].map(_redact_text).astype(con["error"].dtype)
    return Source(meta, src.events, con, src.raw)


# -- the capture inside the notebook ----------------------------------------------


def _capture_bytes(src: Source) -> bytes:
    """The capture as a ``.jsonl.gz`` file's bytes, the same for the same capture
    (gzip without a file name or time in its header), made in memory."""
    buf = io.BytesIO()
    store.write_capture(
        buf, src.meta, src.events, src.connections, raw=src.raw or None, format="jsonl"
    )
    return gzip.compress(buf.getvalue(), compresslevel=9, mtime=0)


def unpack(text: str) -> dict[str, Any]:
    """The capture embedded in a shared notebook, as ``Capture``'s arguments.

    Why: a shared notebook carries its capture as gzip + base64 text in a cell, so it
    runs without the original file; ``ssenb.Capture(**ssenb.share.unpack(CAPTURE))``
    is the one line that loads it.

    Raises:
        CaptureFileError: the text is not an embedded capture.
    """
    try:
        blob = base64.b64decode("".join(text.split()), validate=True)
    except ValueError as exc:
        raise CaptureFileError(
            f"the embedded capture is not base64 text ({exc}); copy the whole "
            f"CAPTURE cell of the notebook",
            path="<embedded capture>",
        ) from exc
    data = store.read_capture(_named(io.BytesIO(blob), "<embedded capture>"))
    return {
        "events": data.events,
        "connections": data.connections,
        "meta": data.meta,
        "raw": data.raw,
    }


def _named(buf: io.BytesIO, name: str) -> io.BytesIO:
    """``buf`` with a ``name``, as an open file has: read errors name it."""
    buf.name = name
    return buf


def _embedded_cells(blob: bytes) -> list[Any]:
    text = "\n".join(textwrap.wrap(base64.b64encode(blob).decode("ascii"), 88))
    data = _build.code(
        "# The recorded capture, compressed (a .jsonl.gz capture file in base64).\n"
        f'CAPTURE = """\n{text}\n"""'
    )
    data.metadata["tags"] = [DATA_TAG]
    data.metadata["jupyter"] = {"source_hidden": True}
    load = _build.code(
        "import ssenb\n\ncapture = ssenb.Capture(**ssenb.share.unpack(CAPTURE))\n"
        "capture",
        "capture",
    )
    return [data, load]


def _file_cells(name: str) -> list[Any]:
    return [
        _build.code(
            f"import ssenb\n\ncapture = ssenb.load({name!r})\ncapture",
            "capture",
        )
    ]


# -- output -----------------------------------------------------------------------


def _check_free(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} exists; pass overwrite=True (ssenb notebook --force) to replace "
            f"it, or choose another path"
        )


def _kernel_env() -> dict[str, str]:
    """The environment of the kernel that runs a shared notebook: the ssenb that
    wrote it comes first, and plots show inline whatever MPLBACKEND says."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [env.get("PYTHONPATH")])])
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def execute_notebook(
    nb: nbformat.NotebookNode, workdir: str | os.PathLike[str], *, timeout: int = 120
) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel, in ``workdir``; returns it with
    its outputs. Each live view's output becomes static HTML of its last state (from
    the widget state the kernel reported), and no widget state is kept, so the
    notebook reads anywhere (GitHub, an export) and stays self-contained.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed.
    """
    from nbclient import NotebookClient

    with kernel_config() as config:  # no plain TCP: IPC in a private folder on POSIX
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            store_widget_state=True,
            resources={"metadata": {"path": str(workdir)}},
            config=config,
        )
        try:
            # the kernel's own log lines are not the notebook's: its outputs come as
            # messages, so a user's terminal gets only what ssenb says
            client.execute(env=_kernel_env(), stderr=subprocess.DEVNULL)
        except BaseException:
            # Ctrl-C (or SIGTERM) while cells run: nbclient's own handler shuts the
            # kernel down, and the run then fails with whatever the dead kernel left
            # (DeadKernelError, an AssertionError in its cleanup); it was an interrupt
            if getattr(client, "_async_cleanup_kernel_future", None) is not None:
                raise KeyboardInterrupt from None
            raise
    static_widgets(nb, in_place=True)
    return nb


def to_html(
    nb: nbformat.NotebookNode | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Path:
    """Export a (preferably executed) notebook to one self-contained HTML page: plots
    inline as PNG, tables as escaped HTML, the embedded capture's cell folded away,
    and no script fetched from the network.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    target = Path(path)
    _check_free(target, overwrite)
    import nbformat

    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(nb, as_version=4)
    nb = static_widgets(nb)  # live views as their last state, nothing from a CDN
    exporter = HTMLExporter(
        template_name="lab",
        template_file="ssenb-share.html.j2",
        # the template from memory (jinja2 is nbconvert's template engine)
        extra_loaders=[jinja2.DictLoader({"ssenb-share.html.j2": _TEMPLATE})],
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_input_tags={DATA_TAG}), enabled=True
    )
    body, _ = exporter.from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")
    return target


def to_notebook(
    capture_or_path: CaptureLike,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    execute: bool = False,
    overwrite: bool = False,
    embed_limit: int = EMBED_LIMIT,
) -> nbformat.NotebookNode:
    """A tutorial notebook that teaches what a recorded stream does.

    Why: people record a stream to learn what it does, then share what they learned;
    this writes that notebook in one call, runnable anywhere (the capture travels
    with it) and readable where no kernel runs (the prose carries the findings).

    Args:
        capture_or_path: a ``Capture`` or the path of a capture file.
        path: where to write the ``.ipynb``; a capture too big to embed is written
            beside it as ``<name>.capture.jsonl.gz``. Nothing is written when
            ``None`` (the capture is then always embedded).
        title: the notebook's title (chosen from the dialect or URL when ``None``).
        execute: run the notebook in a fresh kernel (in ``path``'s folder, or a
            temporary one) so it is saved with its outputs.
        overwrite: replace existing files.
        embed_limit: the largest compressed capture (bytes) embedded in the notebook.

    Raises:
        CaptureFileError: the path is not a capture file.
        FileExistsError: the notebook (or its capture file) exists and ``overwrite``
            is false.

    Example:
        >>> ssenb.share.to_notebook(capture, "my-stream.ipynb")  # doctest: +SKIP
    """
    src = _read(capture_or_path)
    target = Path(path) if path is not None else None
    if target is not None:
        _check_free(target, overwrite)
    blob = _capture_bytes(src)
    beside: Path | None = None
    if target is not None and len(blob) > embed_limit:
        beside = target.with_name(
            target.name.removesuffix(".ipynb") + ".capture.jsonl.gz"
        )
        _check_free(beside, overwrite)
        src.load_cells = _file_cells(beside.name)
    else:
        src.load_cells = _embedded_cells(blob)
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = _build.build(src, title)
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags") or ["ssenb"]
        cell["id"] = f"{tags[0]}-{i}"
    nbformat.validate(nb)
    if beside is not None:
        beside.write_bytes(blob)
    if execute:
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            execute_notebook(nb, target.parent)
        else:
            with tempfile.TemporaryDirectory(prefix="ssenb-share-") as tmp:
                execute_notebook(nb, tmp)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = target.with_name(f".{target.name}.tmp")
        nbformat.write(nb, tmp_path)
        os.replace(tmp_path, target)
    return nb
