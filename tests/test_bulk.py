"""The columns reader (``BulkParser``) gives the reference parser's records.

Regions of whole blocks are read with array operations, anything odd and every
small feed by ``SSEParser``; the records, their spans, the last event ID, the retry
value and the errors must come out the same in any chunking.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _streams import data_real
from hypothesis import given, settings
from hypothesis import strategies as st
from test_parse_bulk import BLOCKS, streams
from test_parse_properties import any_bytes

from ssenb._bulk import BulkParser, Columns
from ssenb.errors import EventTooLarge
from ssenb.frames import build_events, read_sse
from ssenb.parse import SSEParser


def _reference(data: bytes, **options: int) -> tuple[object, ...]:
    parser = SSEParser(**options)  # type: ignore[arg-type]
    records = []
    try:
        for i in range(len(data)):
            records += parser.feed(data[i : i + 1])
        records += parser.close()
    except EventTooLarge as exc:
        return (records + exc.records, exc.offset)
    return (records, parser.last_event_id, parser.retry)


def _bulk(
    data: bytes, cuts: list[int], min_region: int, **options: int
) -> tuple[object, ...]:
    parser = BulkParser(min_region=min_region, **options)  # type: ignore[arg-type]
    parts = []
    prev = 0
    pieces = []
    for cut in [*sorted(cuts), len(data)]:
        pieces.append(data[prev:cut])
        prev = cut
    try:
        for i, piece in enumerate(pieces):
            if i % 3 == 2:
                # a list of reads, as capture hands over reads that came together
                half = len(piece) // 2
                parts.append(parser.feed([piece[:half], b"", piece[half:]]))
            else:
                parts.append(parser.feed(piece))
        parts.append(parser.close())
    except EventTooLarge as exc:
        assert isinstance(exc.records, Columns)
        return (Columns.concat([*parts, exc.records]).records(), exc.offset)
    return (Columns.concat(parts).records(), parser.last_event_id, parser.retry)


def _cuts(data: bytes) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, len(data)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([0, 0, 40, 1 << 20]))
def test_blocks_read_as_the_reference_parser(draw: st.DataObject, small: int) -> None:
    data = draw.draw(streams())
    cuts = draw.draw(_cuts(data))
    assert _bulk(data, cuts, small) == _reference(data)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([0, 30]))
def test_any_bytes_read_as_the_reference_parser(
    draw: st.DataObject, small: int
) -> None:
    data = draw.draw(any_bytes)
    cuts = draw.draw(_cuts(data))
    assert _bulk(data, cuts, small) == _reference(data)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from([1, 9, 30, 2200]))
def test_event_too_large_as_the_reference_parser(
    draw: st.DataObject, limit: int
) -> None:
    data = draw.draw(streams())
    cuts = draw.draw(_cuts(data))
    got = _bulk(data, cuts, 0, max_event_size=limit)
    assert got == _reference(data, max_event_size=limit)


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


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([0, 0, 40]))
def test_any_mix_of_line_ends_reads_as_the_reference(
    draw: st.DataObject, small: int
) -> None:
    data = draw.draw(mixed_ends())
    cuts = draw.draw(_cuts(data))
    assert _bulk(data, cuts, small) == _reference(data)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.sampled_from([1, 9, 30, 2200]))
def test_event_too_large_with_any_line_ends(draw: st.DataObject, limit: int) -> None:
    data = draw.draw(mixed_ends())
    cuts = draw.draw(_cuts(data))
    got = _bulk(data, cuts, 0, max_event_size=limit)
    assert got == _reference(data, max_event_size=limit)


def _reference_share(
    data: bytes, size: int, min_region: int = 0
) -> tuple[list[object], float]:
    """Records of ``data`` fed ``size`` bytes at a time, and the share of its bytes
    that the reference parser read."""
    parser = BulkParser(min_region=min_region)
    read = 0
    line_by_line = parser._ref._feed_reference

    def counted(chunk: bytes, whole: bool = False) -> list[object]:
        nonlocal read
        read += len(chunk)
        return line_by_line(chunk, whole)  # type: ignore[return-value]

    parser._ref._feed_reference = counted  # type: ignore[method-assign]
    parts = [parser.feed(data[i : i + size]) for i in range(0, len(data), size)]
    parts.append(parser.close())
    return Columns.concat(parts).records(), read / len(data)  # type: ignore[return-value]


@pytest.mark.parametrize(
    "odd",
    [
        b"data: a\r\n\r\n: c\r\rdata: b\r\n\n",  # line ends change within blocks
        b"data: \xff\xfe\n\n",  # not UTF-8: that block goes to the reference
        b"id: a\0b\ndata: n\n\n",  # a NUL in an id
        b"retry: 00000000000000000000012\n\n",  # a retry value of many digits
    ],
)
def test_odd_blocks_cost_no_cliff(odd: bytes) -> None:
    lf = b"".join(BLOCKS[:12]) * 200
    data = (lf + odd) * 10
    records, share = _reference_share(data, 1 << 16)
    assert records == _reference(data)[0]
    assert share < 0.3, share  # most of the stream is still read as arrays


@pytest.mark.parametrize("end", [b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1 << 14, 50_000])
def test_crlf_and_cr_streams_are_read_as_arrays(end: bytes, size: int) -> None:
    data = (b"".join(BLOCKS[:12]) * 400).replace(b"\n", end)
    records, share = _reference_share(data, size)
    assert records == _reference(data)[0]
    assert share < 0.05, share


@pytest.mark.parametrize(
    "flood",
    [b": ping\n", b"retry: 1\r\n", b":\r", b": a\n:b\r\nretry: 20\r"],
)
@pytest.mark.parametrize("size", [1 << 14, 50_000])
def test_comment_and_retry_floods_are_read_as_arrays(flood: bytes, size: int) -> None:
    # no blank line for megabytes: every line is a record of its own
    data = flood * (300_000 // len(flood)) + b"data: end\n\n"
    records, share = _reference_share(data, size)
    assert records == _reference(data)[0]
    assert share < 0.05, share


def test_every_feed_comes_back_as_columns() -> None:
    parser = BulkParser()
    small = parser.feed(b"data: x\n\n")
    assert isinstance(small, Columns) and small.data.to_pylist() == ["x"]
    big = b"data: y\r\n\r\n" * 10_000
    out = parser.feed(big)
    assert isinstance(out, Columns) and len(out) == 10_000


def test_columns_round_trip_and_cut() -> None:
    data = b"".join(BLOCKS) * 2
    cols = Columns.concat([BulkParser(min_region=0).feed(data)])
    records = SSEParser().feed(data)
    assert cols.records() == records
    assert cols.head(7).records() == records[:7]
    assert cols.events() == sum(r.kind == "event" for r in records)
    events = [r for r in records if r.kind == "event"]
    assert cols.last_event_type() == events[-1].type
    again = Columns.concat([cols.head(3), Columns.from_batch(cols.batch())])
    assert again.records() == records[:3] + records


@pytest.mark.parametrize("size", [1, 100, 1 << 20])
def test_read_sse_builds_the_reference_frame(size: int) -> None:
    data = b"".join(BLOCKS) * 50 + b"data: tail"
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    got = read_sse(chunks)
    parser = SSEParser()
    batch = parser.feed_batch(data)
    batch.extend(parser.close_batch())
    pd.testing.assert_frame_equal(got, build_events(batch))
    assert got["type"].cat.categories.tolist() == sorted(set(batch.type))


REAL = data_real()
REAL_FILES = sorted(p.name for p in REAL.glob("*.sse")) if REAL is not None else []


@pytest.mark.skipif(REAL is None, reason="shared data-real is absent")
@pytest.mark.parametrize("name", REAL_FILES)
def test_real_streams_read_in_regions_as_the_reference_parser(name: str) -> None:
    assert REAL is not None
    body = (REAL / name).read_bytes()
    # repeated to a megabyte or so, so that it is read in large regions
    data = body * max(1, (1 << 20) // len(body))
    parser = SSEParser()
    batch = parser.feed_batch(data)
    batch.extend(parser.close_batch())
    pd.testing.assert_frame_equal(read_sse(data), build_events(batch))
