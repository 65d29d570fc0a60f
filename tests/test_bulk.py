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
from test_parse_bulk import BLOCKS, mixed_ends, streams
from test_parse_properties import any_bytes

from bench import corpora
from ssenb import _bulk as _bulk_module
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


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([0, 0, 40]))
def test_any_mix_of_line_ends_reads_as_the_reference(
    draw: st.DataObject, small: int
) -> None:
    data = draw.draw(mixed_ends())
    cuts = draw.draw(_cuts(data))
    assert _bulk(data, cuts, small) == _reference(data)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([1, 4, 16, 64]), st.sampled_from([0, 1 << 30]))
def test_array_strategies_read_as_the_reference(
    draw: st.DataObject, sparse: int, word_copy: int
) -> None:
    # line ends are found by ``find`` while sparse, by array comparison once dense
    # (small thresholds switch over inside these short streams, at any line); the
    # first bytes of lines are read from the region or from an aligned copy
    data = draw.draw(mixed_ends())
    cuts = draw.draw(_cuts(data))
    kept = _bulk_module._SPARSE, _bulk_module._WORD_COPY
    _bulk_module._SPARSE, _bulk_module._WORD_COPY = sparse, word_copy
    try:
        assert _bulk(data, cuts, 0) == _reference(data)
    finally:
        _bulk_module._SPARSE, _bulk_module._WORD_COPY = kept


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


@pytest.mark.parametrize("size", [1000, 1 << 20])
def test_read_sse_in_regions_of_any_size(
    size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # regions of 4 KiB, or up to 64 KiB where lines are long: stretches of long
    # lines and of short ones, so that region sizes change along the stream
    from ssenb import frames

    monkeypatch.setattr(frames, "_SLICE", 4096)
    monkeypatch.setattr(frames, "_SLICE_MAX", 65536)
    monkeypatch.setattr(frames, "_SAMPLE", 2048)
    monkeypatch.setattr(frames, "_LINES", 64)
    long = b"event: big\nid: 9\ndata: " + b"x" * 3000 + b"\n\n"
    data = (long * 40 + b"".join(BLOCKS) * 3 + "data: é\r\n\r\n".encode() * 500) * 3
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    parser = SSEParser()
    batch = parser.feed_batch(data)
    batch.extend(parser.close_batch())
    pd.testing.assert_frame_equal(read_sse(chunks), build_events(batch))
    assert frames._region_size(long) == 65536
    assert frames._region_size(b"data: 1\n\n" * 300) == 4096


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


CORPUS_MAKERS = {
    "chat-crlf": lambda: corpora.chat_corpus(300).replace(b"\n", b"\r\n"),
    "gemini-crlf": lambda: corpora.gemini_corpus(60),
    "mixed": lambda: corpora.mixed_corpus(3000, crlf_share=0.5),
    "switching": lambda: corpora.switching_corpus(2000),
    "cr-only": lambda: corpora.cr_corpus(2000),
    "mcp-crlf": lambda: corpora.mcp_corpus(2000),
    "retry-flood": lambda: corpora.retry_flood(60_000),
    "comment-flood": lambda: corpora.comment_flood(60_000),
    "tiny": lambda: corpora.tiny_corpus(6000),
    "payload": lambda: corpora.payload_corpus(3, size=70_000),
}


@pytest.mark.parametrize("name", list(CORPUS_MAKERS))
@pytest.mark.parametrize("size", [1000, 16384, 1 << 20])
def test_bench_corpora_read_as_the_reference(name: str, size: int) -> None:
    data = CORPUS_MAKERS[name]()
    cuts = list(range(size, len(data), size))
    assert _bulk(data, cuts, 0) == _reference(data)


@pytest.mark.skipif(REAL is None, reason="shared data-real is absent")
@pytest.mark.parametrize("name", REAL_FILES)
@pytest.mark.parametrize("size", [7, 1000, 65536])
def test_real_streams_in_any_chunking(name: str, size: int) -> None:
    assert REAL is not None
    data = (REAL / name).read_bytes() * 3
    cuts = list(range(size, len(data), size))
    assert _bulk(data, cuts, 0) == _reference(data)
