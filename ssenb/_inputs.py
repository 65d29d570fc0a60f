"""What a file given on the command line holds, told from its first bytes.

Rules of this module:

- ``sniff`` reads at most ``SAMPLE`` bytes and never the whole file: a capture
  (JSON Lines, gzip or Parquet), a HAR (a JSON object with a ``"log"`` in its
  first 4 KiB, the rule ``ssenb.store`` reads HAR by), a raw event stream, or
  something else, said in a sentence the user can act on.
- A raw event stream is text (no NUL, mostly UTF-8 and printable) with at least
  one line that starts with an SSE field (``data``, ``event``, ``id``, ``retry``)
  or a comment (``:``), or only blank lines (keep-alives). Anything else "does not
  look like an event stream", and the message says what was found.
- Problems are ``InputError`` with the exit code the command should return: 2 for
  a path that is missing or not a file (a usage error), 1 for a file of the wrong
  kind. Standard library only.
"""

from __future__ import annotations

import os
import re
from typing import Literal

__all__ = ["SAMPLE", "InputError", "sniff"]

#: How many bytes ``sniff`` reads.
SAMPLE = 64 * 1024

_FIELD = re.compile(rb"^(?:data|event|id|retry)(?::|$)|^:", re.MULTILINE)
_LINE_END = re.compile(rb"\r\n|\r|\n")
_SEE = (
    "expected a raw event stream (lines such as 'data: ...') or an ssenb capture "
    "(.jsonl, .jsonl.gz, .parquet) or a HAR file (.har)"
)

Kind = Literal["capture", "har", "stream"]


class InputError(Exception):
    """A file the command cannot take; ``code`` is the exit status to return."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _shown(data: bytes, size: int = 40) -> str:
    text = repr(data[:size])
    return text + ("..." if len(data) > size else "")


def _first_line(data: bytes) -> str:
    for line in _LINE_END.split(data):
        if line.strip():
            return _shown(line)
    return _shown(data)


def sniff(path: str) -> Kind:
    """``"capture"``, ``"har"`` or ``"stream"``: what ``path`` holds, from its first
    bytes.

    Raises:
        InputError: the path is missing, a directory or unreadable (code 2), or the
            file is empty, binary, or text with no event stream in it (code 1).
    """
    if not os.path.exists(path):
        raise InputError(f"no such file: {path}", 2)
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory; give a file: {_SEE}", 2)
    try:
        with open(path, "rb") as fh:
            data = fh.read(SAMPLE)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", 2) from None
    if data[:4] == b"PAR1" or data[:2] == b"\x1f\x8b":
        return "capture"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b'{"ssenb"'):
        return "capture"
    if head.startswith(b"{") and b'"log"' in head[:4096]:
        return "har"
    if not data:
        raise InputError(f"{path} is empty: there is no event stream in it", 1)
    if _binary(data):
        raise InputError(
            f"{path} is a binary file (first bytes {_shown(data, 12)}), not an event "
            f"stream: {_SEE}",
            1,
        )
    body = data.removeprefix(b"\xef\xbb\xbf")
    if body.isspace() or _FIELD.search(_LINE_END.sub(b"\n", body)):
        return "stream"
    lines = len(_LINE_END.split(body.rstrip(b"\r\n")))
    raise InputError(
        f"{path} does not look like an event stream: none of its first {lines} "
        f"lines starts with data:, event:, id:, "
        f"retry: or ':' (the first is {_first_line(body)}); {_SEE}",
        1,
    )


_CONTROLS = bytes(c for c in range(32) if c not in b"\t\n\r\x0c\x1b")


def _binary(data: bytes) -> bool:
    """NUL bytes, or many bytes that text does not hold: invalid UTF-8 or control
    characters (a stray invalid byte in a real stream is not enough)."""
    if b"\x00" in data:
        return True
    text = data.decode("utf-8", errors="replace")
    odd = text.count("\ufffd") + len(data) - len(data.translate(None, _CONTROLS))
    return odd > max(8, len(text) // 20)
