"""The parser reads runs of one shape (data-only blocks, comment and retry floods) at
once exactly as it reads them line by line.

``SSEParser`` reads the blocks of a region that are all one ``data:`` line each, and
a flood of comment or retry lines, with one split each instead of a step per line.
Streams made mostly of such runs, broken by other lines, with every line end and any
chunking, must give the same records, errors and state with the runs and without.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_parse_bulk import _read as read_in_reads

from ssenb import parse
from ssenb.parse import SSEParser

# other blocks and lines, between the runs
OTHERS = [
    b"event: e\nid: 3\ndata: y\n\n",
    b"data: a\ndata:b\n\n",
    b"data:x\n\n",
    b"id: 1\n\n",
    b": c\ndata: m\n\n",
    b"data: m\n: c\n\n",
    b"retry: 7\n: c\n\n",
    b":x\n",
    b"foo\n",
    b"data: \xff\n\n",
    b"id: 9\n",
]

RUN_LINES = [
    b"data: x\n\n",
    b"data: [DONE]\n\n",
    "data: été\n\n".encode(),
    b"data: \n\n",
    b"data: " + b"y" * 300 + b"\n\n",
    b"event: delta\ndata: {}\n\n",
    "event: d\u00e9lta\ndata: caf\u00e9\n\n".encode(),
    b"data: y\nevent: t\n\n",
    b"event: message\nid: 7\ndata: z\n\n",
    b"id: 3\ndata: q\n\n",
    b"id: \ndata: q\n\n",
    b"event: \ndata: e\n\n",
    b"id: a\x00b\ndata: n\n\n",
    b"event: a\nevent: b\ndata: c\n\n",
    b"event: x\nid: 1\ndata: " + b"w" * 500 + b"\n\n",
    b"event: only\n\n",
    b": keep-alive\n\n",
    b": OPENROUTER PROCESSING\n\n",
    b":x\n\n",
    b": \xff\n\n",
    ": caf\u00e9\n\n".encode(),
    b": ping\n",
    b": \n",
    ": café\n".encode(),
    b": \xff\n",
    b"retry: 1\n",
    b"retry: 250\n",
    b"retry: \n",
    b"retry: 99999999999999999999999\n",
    b"\n",
]


@st.composite
def run_streams(draw: st.DrawFn) -> bytes:
    """Long runs of one line shape, with other blocks and lines between them."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        line = draw(st.sampled_from(RUN_LINES + OTHERS))
        out.append(line * draw(st.integers(1, 60)))
    text = b"".join(out)
    end = draw(st.sampled_from([b"\n", b"\r\n", b"\r", b"mixed"]))
    if end == b"mixed":
        pieces = text.split(b"\n")
        ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=1))
        out = [pieces[0]]
        for i, piece in enumerate(pieces[1:]):
            out += [ends[i % len(ends)], piece]
        text = b"".join(out)
    elif end != b"\n":
        text = text.replace(b"\n", end)
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + text


def _read(data: bytes, size: int, runs: bool, **options: int) -> tuple[object, ...]:
    saved = parse._RUNS
    parse._RUNS = runs
    try:
        return read_in_reads(data, size, **options)
    finally:
        parse._RUNS = saved


@settings(max_examples=300, deadline=None)
@given(run_streams(), st.sampled_from([300, 1000, 4096, 16384, 1 << 20]))
def test_runs_read_as_line_by_line(data: bytes, size: int) -> None:
    assert _read(data, size, True) == _read(data, size, False)


@settings(max_examples=200, deadline=None)
@given(run_streams(), st.sampled_from([1, 9, 30, 400, 2200]))
def test_runs_raise_event_too_large_as_line_by_line(data: bytes, limit: int) -> None:
    got = _read(data, 4096, True, max_event_size=limit)
    assert got == _read(data, 4096, False, max_event_size=limit)


def test_runs_are_taken() -> None:
    """The corpora's shapes are read as runs: a data-only stream, floods."""
    for text in (
        b"data: x\n\n" * 100,
        b": ping\r\n" * 100,
        b"retry: 5\r" * 100,
        b"event: delta\r\nid: 1\r\ndata: {}\r\n\r\n" * 100,
        "data: caf\u00e9\nevent: t\n\n".encode() * 100,
        (b": ping\r\n\r\n" * 20 + b"data: x\r\n\r\n" * 20) * 3,
    ):
        parser = SSEParser()
        calls = []
        general = parser._general

        def spy(lines, *args, _calls=calls, _general=general):  # type: ignore[no-untyped-def]
            lines = list(lines)
            _calls.append(len(lines))
            return _general(lines, *args)

        parser._general = spy  # type: ignore[method-assign]
        records = parser.feed(text)
        assert len(records) >= 98  # a last CR waits; the last line waits
        assert sum(calls) < 12, calls


def test_long_values_across_reads_read_as_line_by_line() -> None:
    """A value longer than a read ends in a later one: the open block's end is read
    without the line-by-line split, with every line end."""
    value = b"v" * 5000
    for block in (
        b"event: big\nid: 1\ndata: " + value + b"\n\n",
        b"event: big\ndata: " + value + b"\nid: 1\n\n",
    ):
        for end in (b"\n", b"\r\n", b"\r"):
            text = block.replace(b"\n", end) * 4
            # a lone LF inside a CRLF stream, before the block's last line end
            odd = text.replace(b"v\r\n", b"v\n") if end == b"\r\n" else text
            for data in (text, odd):
                for size in (700, 1000, 4096):
                    assert _read(data, size, True) == _read(data, size, False)
