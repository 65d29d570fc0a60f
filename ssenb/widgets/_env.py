"""Which front end a live view talks to: widgets in a kernel, text elsewhere."""

from __future__ import annotations

import sys
import warnings
from typing import Any

__all__ = ["check_ipykernel", "choose_frontend"]

FRONTENDS = ("widgets", "text")


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell: Any = ipython.get_ipython()
    except Exception:  # pragma: no cover - a broken IPython install
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def choose_frontend(frontend: str | None) -> str:
    """``"widgets"`` inside a Jupyter kernel (Lab, Notebook 7, VS Code, Colab) when
    ipywidgets is installed; ``"text"`` in a terminal or a script.

    Raises:
        ValueError: ``frontend`` is neither ``None`` nor a known front end.
    """
    if frontend is not None:
        if frontend not in FRONTENDS:
            raise ValueError(
                f"frontend must be one of {FRONTENDS} or None, got {frontend!r}"
            )
        return frontend
    if not _in_kernel():
        return "text"
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        warnings.warn(
            "ipywidgets is not installed, so live views show as text; "
            "pip install 'ipywidgets>=8.1' for the widgets",
            stacklevel=3,
        )
        return "text"
    check_ipykernel()
    return "widgets"


def check_ipykernel() -> None:
    """Warn on ipykernel 7.0.x, which loses widget updates made from threads."""
    kernel = sys.modules.get("ipykernel")
    version = str(getattr(kernel, "__version__", ""))
    if version.startswith("7.0."):
        warnings.warn(
            f"ipykernel {version} drops widget updates made from background threads, "
            f"so live views may freeze; upgrade: pip install 'ipykernel>=7.1'",
            stacklevel=4,
        )
