"""The parser's columnar path reads whole blocks exactly as its line-by-line path does.

Fed in large pieces, ``SSEParser.feed`` reads the closed blocks with the columnar
reader (``ssenb._bulk``) and builds its records from the columns; fed one byte at a
time, every line goes through the standard's line-by-line algorithm.
Streams made of whole, well-formed and odd blocks must give the same records, the
same errors and the same state both ways.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import ssenb._bulk  # noqa: F401  (the columnar reader of large feeds)
from ssenb import parse
from ssenb.errors import EventTooLarge
from ssenb.parse import SSEParser

BLOCKS = [
    b"data: x\n\n",
    b"data: [DONE]\n\n",
    b"data:x\n\n",
    b"data\n\n",
    b"data:  two spaces\n\n",
    b"event: e\nid: 3\ndata: y\n\n",
    b"event:x\nid:2\ndata:v\n\n",
    b"event: e\ndata: a\ndata:b\ndata\ndata:  c\n\n",
    b"id: 4\ndata: a\ndata: data: x\n\n",
    b"id\ndata: y\n\n",
    b"id: 5\nevent: g\ndata: z\n\n",
    b"data: a\nevent: late\n\n",
    b"data: a\ndatum: b\n\n",
    b"event: e\nevent: f\ndata: x\n\n",
    b"id: a\x00b\ndata: n\n\n",
    b"id: 1\n\n",
    b"event: t\n\n",
    b": keep-alive\n\n",
    b":\n\n",
    b"::x\n\n",
    b": c\ndata: m\n\n",
    b"data: m\n: c\n\n",
    b"data: m\nretry: 5\n\n",
    b"retry: 100\n\n",
    b"retry: 1x\n\n",
    b"retry: 7\n: c\n\n",
    b"\n",
    b"foo\ndata: r\n\n",
    "data: été\n\n".encode(),
    "event: ü\nid: é😀\ndata: 😀 x\n\n".encode(),
    b"data: \xff\n\n",
    b"event: big\nid: 9\ndata: " + b"x" * 2100 + b"\n\n",
    b"data: " + b"y" * 2100 + b"\ndata: z\n\n",
]


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    blocks = draw(st.lists(st.sampled_from(BLOCKS), max_size=40))
    ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=1))
    out = []
    for i, block in enumerate(blocks):
        end = ends[i % len(ends)]
        out.append(block.replace(b"\n", end) if end != b"\n" else block)
    prefix = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return prefix + b"".join(out)


@st.composite
def mixed_ends(draw: st.DrawFn) -> bytes:
    """Whole blocks whose every line end is drawn on its own: LF, CRLF or CR, as a
    stream behind a proxy that rewrites some lines, or one server behind another."""
    blocks = draw(st.lists(st.sampled_from(BLOCKS), max_size=40))
    text = b"".join(blocks)
    ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=1))
    pieces = text.split(b"\n")
    out = [pieces[0]]
    for i, piece in enumerate(pieces[1:]):
        out += [ends[i % len(ends)], piece]
    prefix = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return prefix + b"".join(out)


def _read(data: bytes, size: int, **options: int) -> tuple[object, ...]:
    parser = SSEParser(**options)  # type: ignore[arg-type]
    records = []
    try:
        for i in range(0, len(data), size):
            records += parser.feed(data[i : i + size])
        records += parser.close()
    except EventTooLarge as exc:
        # what was read before it and where; the parser is done after it
        return (records + exc.records, exc.offset)
    return (records, parser.last_event_id, parser.retry, parser.buffered)


def _read_batch(data: bytes, size: int) -> tuple[object, ...]:
    parser = SSEParser()
    records = []
    for i in range(0, len(data), size):
        records += parser.feed_batch(data[i : i + size]).records()
    records += parser.close_batch().records()
    return (records, parser.last_event_id, parser.retry, parser.buffered)


@settings(max_examples=200, deadline=None)
@given(streams(), st.sampled_from([7, 64, 1000, 16384]))
def test_bulk_reads_blocks_as_line_by_line(data: bytes, size: int) -> None:
    line_by_line = _read(data, 1)
    assert _read(data, len(data) or 1) == line_by_line
    assert _read(data, size) == line_by_line
    assert _read_batch(data, size) == line_by_line


@settings(max_examples=100, deadline=None)
@given(streams(), st.sampled_from([1, 9, 30, 2200]))
def test_bulk_raises_event_too_large_as_line_by_line(data: bytes, limit: int) -> None:
    assert _read(data, len(data) or 1, max_event_size=limit) == _read(
        data, 1, max_event_size=limit
    )


def test_bulk_crlf_data_run_with_a_lone_cr_is_read_line_by_line() -> None:
    # A CRLF data-only run checks its own line ends: a lone CR inside it ends a line.
    data = b"data: a\r\n\r\ndata: b\rdata: c\r\n\r\ndata: d\r\n\r\n"
    records = _read(data, len(data))[0]
    assert records == _read(data, 1)[0]
    assert [r.data for r in records if r.kind == "event"] == ["a", "b\nc", "d"]  # type: ignore[attr-defined]


def _columnar_from(
    size: int, data: bytes, chunk: int, **options: int
) -> tuple[object, ...]:
    """``_read`` with feeds of ``size`` bytes or more read by the columnar reader."""
    saved = parse.COLUMNAR_MIN
    parse.COLUMNAR_MIN = size
    try:
        return _read(data, chunk, **options)
    finally:
        parse.COLUMNAR_MIN = saved


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(streams(), mixed_ends()),
    st.sampled_from([7, 64, 1000]),
    st.sampled_from([0, 5]),
)
def test_columnar_feeds_read_as_line_by_line(
    data: bytes, size: int, least: int
) -> None:
    line_by_line = _read(data, 1)
    assert _columnar_from(least, data, len(data) or 1) == line_by_line
    assert _columnar_from(least, data, size) == line_by_line


@settings(max_examples=100, deadline=None)
@given(streams(), st.sampled_from([1, 9, 30, 2200]))
def test_columnar_feeds_raise_event_too_large_as_line_by_line(
    data: bytes, limit: int
) -> None:
    got = _columnar_from(0, data, len(data) or 1, max_event_size=limit)
    assert got == _read(data, 1, max_event_size=limit)


def test_feed_batch_gives_the_records_of_feed() -> None:
    data = b"".join(BLOCKS).replace(b"\n", b"\r\n") * 600  # large: columnar
    assert len(data) >= parse.COLUMNAR_MIN
    a, b = SSEParser(), SSEParser()
    assert a.feed_batch(data).records() == b.feed(data)
    assert a.close_batch().records() == b.close()
