"""Properties of the parser over generated input (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ssenb.parse import Record, RecordBatch, SSEParser, encode_records

# Fragments that make SSE-like bytes likely to hit every branch.
FRAGMENTS = [
    b"data",
    b"event",
    b"id",
    b"retry",
    b":",
    b": ",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"x",
    b"12",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff",
    "é".encode(),
    "😀".encode()[:2],
    b"data: ",
]

sse_like = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join)
any_bytes = st.one_of(st.binary(max_size=300), sse_like)


def _parse(data: bytes, cuts: list[int], batch: bool = False) -> list[Record]:
    parser = SSEParser()
    out: list[Record] = []
    prev = 0
    for i, cut in enumerate([*sorted(cuts), len(data)]):
        piece = data[prev:cut]
        prev = cut
        # alternate the two APIs on one parser when asked: they must agree
        if batch and i % 2:
            out += parser.feed_batch(piece).records()
        else:
            out += parser.feed(piece)
    return out + parser.close()


def _cuts(data: bytes) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, len(data)), max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_chunking_never_changes_the_records(draw: st.DataObject) -> None:
    data = draw.draw(any_bytes)
    cuts = draw.draw(_cuts(data))
    whole = _parse(data, [])
    assert _parse(data, cuts) == whole
    assert _parse(data, cuts, batch=True) == whole


@settings(max_examples=300, deadline=None)
@given(any_bytes)
def test_spans_tile_the_input(data: bytes) -> None:
    parser = SSEParser()
    records = parser.feed(data)
    # every byte fed is in a record or still buffered, never both, never lost
    assert sum(r.size for r in records) + parser.buffered == len(data)
    records += parser.close()
    pos = 0
    for r in records:
        assert r.offset == pos and r.size > 0
        pos += r.size
    assert pos <= len(data)


@settings(max_examples=200, deadline=None)
@given(any_bytes)
def test_batch_and_records_agree(data: bytes) -> None:
    parser = SSEParser()
    batch = RecordBatch()
    batch.extend(parser.feed_batch(data))
    batch.extend(parser.close_batch())
    assert batch.records() == _parse(data, [])
    assert all(len(col) == len(batch) for col in batch.columns().values())


text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=20
)
line = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=12,
)
ident = line.filter(lambda s: "\x00" not in s)

record = st.one_of(
    st.builds(
        lambda t, d, i: Record("event", t or "message", d, i, "", None, 0, 0),
        line,
        text,
        st.none() | ident,
    ),
    st.builds(lambda c: Record("comment", "", c, None, "", None, 0, 0), line),
    st.builds(
        lambda n: Record("retry", "", "", None, "", n, 0, 0), st.integers(0, 10**12)
    ),
    st.builds(
        lambda t, i: Record("blank", t, "", i, "", None, 0, 0), line, st.none() | ident
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(record, max_size=15), st.sampled_from(["\n", "\r\n", "\r"]))
def test_encode_then_parse_round_trips(records: list[Record], newline: str) -> None:
    wire = encode_records(records, newline=newline)
    parsed = SSEParser()
    again = parsed.feed(wire) + parsed.close()

    def key(r: Record) -> tuple[object, ...]:
        return (r.kind, r.type, r.data, r.id, r.retry)

    assert [key(r) for r in again] == [key(r) for r in records]
