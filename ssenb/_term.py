"""Text from a stream, made safe to print on a terminal: one helper for every print.

Rules of this module:

- A stream is untrusted. Its event types, ids, data, URLs and error texts may hold
  bytes a terminal acts on: ESC sequences (clear the screen, move the cursor, set the
  window title, write to the clipboard), other C0 and C1 controls, DEL, and the
  Unicode bidirectional overrides that reorder what is shown.
- ``term_safe`` writes each of them as a visible escape (``\\x1b``, ``\\u202e``);
  printable text, including any other Unicode, is kept as it is. ``lines=True``
  keeps newlines, for multi-line texts (a report) built around such strings.
- Standard library only.
"""

from __future__ import annotations

__all__ = ["term_safe"]

_BIDI = (*range(0x200E, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_TABLE: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))},
    **{c: f"\\u{c:04x}" for c in (*_BIDI, 0x2028, 0x2029, 0xFEFF)},
    9: "\\t",
    10: "\\n",
    13: "\\r",
}
_LINES = {**_TABLE}
del _LINES[10]


def term_safe(text: object, *, lines: bool = False) -> str:
    """``text`` with every character a terminal would act on written as an escape.

    Example:
        >>> term_safe("done\\x1b[2J")
        'done\\\\x1b[2J'

    Args:
        text: any value; it is turned into a string first.
        lines: keep newlines (for a multi-line text); other controls are escaped.
    """
    return str(text).translate(_LINES if lines else _TABLE)
