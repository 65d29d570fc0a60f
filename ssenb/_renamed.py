"""Old public names that warn for one release: one ``__getattr__`` maker for every
module that renamed something (stdlib only, a leaf of the layering)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__: list[str] = []


def renamed(
    module: str, namespace: Mapping[str, Any], names: Mapping[str, str], why: str = ""
) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) that gives ``namespace[new]`` for each old
    name in ``names`` with a ``DeprecationWarning`` naming the new one."""

    def __getattr__(name: str) -> Any:
        new = names.get(name)
        if new is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} is now {module}.{new}{why}; the old name goes away in "
            f"the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return namespace[new]

    return __getattr__
