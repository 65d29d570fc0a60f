"""Conformance of the parser to the HTML standard's "Interpreting an event stream".

Every case is parsed whole, one byte at a time, at random split points, and through
``feed_batch``; all must give the same records (``parse_every_way``).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ssenb.errors import EventTooLarge
from ssenb.parse import (
    Record,
    RecordBatch,
    SSEParser,
    encode_event,
    encode_records,
    parse_bytes,
)


def _feed(data: bytes, cuts: list[int], **options: object) -> list[Record]:
    parser = SSEParser(**options)  # type: ignore[arg-type]
    out: list[Record] = []
    prev = 0
    for cut in [*cuts, len(data)]:
        out += parser.feed(data[prev:cut])
        prev = cut
    return out + parser.close()


def _feed_batch(data: bytes, cuts: list[int]) -> list[Record]:
    parser = SSEParser()
    batch = RecordBatch()
    prev = 0
    for cut in [*cuts, len(data)]:
        batch.extend(parser.feed_batch(data[prev:cut]))
        prev = cut
    batch.extend(parser.close_batch())
    return batch.records()


def _chunkings(data: bytes, seed: int = 0) -> list[list[int]]:
    rng = random.Random(seed)
    ways = [[], list(range(1, len(data)))]
    for _ in range(4):
        k = rng.randint(1, max(1, min(len(data), 12)))
        ways.append(sorted(rng.sample(range(1, len(data) + 1), k)) if data else [])
    return ways


def parse_every_way(data: bytes) -> list[Record]:
    """The records of ``data``; asserts every chunking and both APIs agree."""
    expected = _feed(data, [])
    for cuts in _chunkings(data):
        assert _feed(data, cuts) == expected, f"feed() differs with cuts {cuts}"
        assert _feed_batch(data, cuts) == expected, f"feed_batch() differs ({cuts})"
    return expected


def events(data: bytes) -> list[Record]:
    return [r for r in parse_every_way(data) if r.kind == "event"]


def datas(data: bytes) -> list[str]:
    return [r.data for r in events(data)]


def assert_tiles(records: list[Record], total: int) -> None:
    pos = 0
    for r in records:
        assert r.offset == pos, f"{r} does not start where the previous ended ({pos})"
        assert r.size > 0
        pos += r.size
    assert pos <= total


# -- the standard's examples -------------------------------------------------------


def test_parse_whatwg_example_stock_ticker() -> None:
    (ev,) = events(b"data: YHOO\ndata: +2\ndata: 10\n\n")
    assert (ev.type, ev.data, ev.last_event_id) == ("message", "YHOO\n+2\n10", "")


def test_parse_whatwg_example_ids_and_unterminated_last_block() -> None:
    stream = (
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
        b"data:  third event\n"
    )
    records = parse_every_way(stream)
    assert [r.kind for r in records] == ["comment", "event", "event"]
    assert records[0].data == "test stream"
    assert (records[1].data, records[1].id, records[1].last_event_id) == (
        "first event",
        "1",
        "1",
    )
    # "id" with no colon sets the last event ID to the empty string
    assert (records[2].data, records[2].id, records[2].last_event_id) == (
        "second event",
        "",
        "",
    )


def test_parse_whatwg_example_empty_data_lines() -> None:
    assert datas(b"data\n\ndata\ndata\n\ndata:") == ["", "\n"]


def test_parse_whatwg_example_space_after_colon_is_optional() -> None:
    assert datas(b"data:test\n\ndata: test\n\n") == ["test", "test"]


# -- line ends -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(b"event: a\ndata: x\n\n", id="lf"),
        pytest.param(b"event: a\r\ndata: x\r\n\r\n", id="crlf"),
        pytest.param(b"event: a\rdata: x\r\r", id="cr"),
        pytest.param(b"event: a\r\ndata: x\r\r\n", id="mixed"),
    ],
)
def test_parse_cr_lf_and_crlf_are_line_ends(stream: bytes) -> None:
    (ev,) = events(stream)
    assert (ev.type, ev.data, ev.size) == ("a", "x", len(stream))


def test_parse_crlf_split_across_feeds_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: x\r") == []
    assert parser.feed(b"\n\r") == []
    (ev,) = parser.feed(b"\n")
    assert (ev.data, ev.size) == ("x", 11)
    assert parser.close() == []


def test_parse_cr_as_last_byte_is_a_line_end_at_close() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: x\r\r") == []  # the last CR may still become a CRLF
    (ev,) = parser.close()
    assert ev.data == "x"


@pytest.mark.parametrize(
    "char",
    ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"],
    ids=["LS", "PS", "NEL", "VT", "FF", "FS", "GS", "RS"],
)
def test_parse_only_cr_and_lf_are_line_ends(char: str) -> None:
    # str.splitlines() would split on every one of these
    (ev,) = events(f"data: a{char}b\n\n".encode())
    assert ev.data == f"a{char}b"


# -- decoding ------------------------------------------------------------------------


def test_parse_invalid_utf8_is_replaced() -> None:
    (ev,) = events(b"data: a\xffb\xe2\x82\n\n")
    assert ev.data == "a\ufffdb\ufffd"


def test_parse_utf8_split_across_chunks() -> None:
    stream = "data: 한국어 ✓ 😀\n\n".encode()
    for cut in range(1, len(stream)):
        assert _feed(stream, [cut])[0].data == "한국어 ✓ 😀"


def test_parse_one_leading_bom_is_stripped() -> None:
    (ev,) = events(b"\xef\xbb\xbfdata: x\n\n")
    assert (ev.data, ev.offset, ev.size) == ("x", 0, 12)


def test_parse_only_one_bom_is_stripped() -> None:
    # a second BOM makes the field name "\ufeffdata": an unknown field
    records = parse_every_way(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n")
    assert [r.kind for r in records] == ["blank"]


def test_parse_bom_split_across_chunks() -> None:
    stream = b"\xef\xbb\xbfdata: x\n\n"
    for cut in (1, 2, 3):
        assert _feed(stream, [cut])[0].data == "x"
    assert _feed(stream, [1, 2])[0].data == "x"


def test_parse_bom_later_in_stream_is_kept() -> None:
    (ev,) = events(b"data: \xef\xbb\xbfx\n\n")
    assert ev.data == "\ufeffx"


# -- fields ----------------------------------------------------------------------------


def test_parse_one_space_after_colon_removed() -> None:
    assert datas(b"data:  two\n\ndata:\tx\n\n") == [" two", "\tx"]


def test_parse_line_without_colon_is_field_with_empty_value() -> None:
    (ev,) = events(b"event\ndata\n\n")
    assert (ev.type, ev.data) == ("message", "")


def test_parse_unknown_fields_ignored() -> None:
    (ev,) = events(b"foo: bar\nDATA: no\ndata: yes\nEvent: no\n\n")
    assert (ev.type, ev.data) == ("message", "yes")


def test_parse_data_lines_joined_with_lf_trailing_lf_removed() -> None:
    assert datas(b"data: a\ndata:\ndata: b\ndata\n\n") == ["a\n\nb\n"]


def test_parse_colon_in_value_kept() -> None:
    assert datas(b"data: a: b:c\n\n") == ["a: b:c"]


def test_parse_event_type_message_when_unset_or_empty() -> None:
    assert [r.type for r in events(b"data: a\n\nevent:\ndata: b\n\n")] == [
        "message",
        "message",
    ]


def test_parse_event_type_does_not_leak_into_next_block() -> None:
    assert [r.type for r in events(b"event: x\ndata: a\n\ndata: b\n\n")] == [
        "x",
        "message",
    ]


def test_parse_event_type_reset_by_block_without_data() -> None:
    assert [r.type for r in events(b"event: x\n\ndata: b\n\n")] == ["message"]


def test_parse_last_field_wins_within_block() -> None:
    (ev,) = events(b"event: a\nevent: b\nid: 1\nid: 2\ndata: x\n\n")
    assert (ev.type, ev.id, ev.last_event_id) == ("b", "2", "2")


def test_parse_field_order_does_not_matter() -> None:
    (ev,) = events(b"data: x\nid: 9\nevent: late\n\n")
    assert (ev.type, ev.id) == ("late", "9")


def test_parse_empty_data_buffer_not_dispatched_but_id_kept() -> None:
    records = parse_every_way(b"id: 7\n\nevent: x\n\ndata: y\n\n")
    assert [r.kind for r in records] == ["blank", "blank", "event"]
    assert records[0].id == "7" and records[0].last_event_id == "7"
    assert records[1].type == "x"
    assert (records[2].id, records[2].last_event_id) == (None, "7")


def test_parse_id_is_committed_only_when_block_ends() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\nid: 5\n")
    assert parser.last_event_id == ""
    parser.feed(b"\n")
    assert parser.last_event_id == "5"


def test_parse_id_persists_across_blocks_until_reset() -> None:
    records = events(b"id: 1\ndata: a\n\ndata: b\n\nid:\ndata: c\n\n")
    assert [(r.id, r.last_event_id) for r in records] == [
        ("1", "1"),
        (None, "1"),
        ("", ""),
    ]


def test_parse_id_with_nul_is_ignored() -> None:
    records = events(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [(r.id, r.last_event_id) for r in records] == [("1", "1"), (None, "1")]


def test_parse_unterminated_block_with_id_does_not_set_last_event_id() -> None:
    parser = SSEParser()
    parser.feed(b"id: 9\ndata: x\n")
    assert parser.close() == []
    assert parser.last_event_id == ""


def test_parse_last_event_id_carried_from_earlier_connection() -> None:
    parser = SSEParser(last_event_id="41")
    (ev,) = parser.feed(b"data: x\n\n")
    assert ev.last_event_id == "41" and ev.id is None


@pytest.mark.parametrize(
    ("line", "value"),
    [
        pytest.param(b"retry: 500", 500, id="plain"),
        pytest.param(b"retry:500", 500, id="no-space"),
        pytest.param(b"retry: 0", 0, id="zero"),
        pytest.param(b"retry: 007", 7, id="leading-zeros"),
        pytest.param(b"retry: 99999999999999999999", 99999999999999999999, id="huge"),
    ],
)
def test_parse_retry_with_ascii_digits(line: bytes, value: int) -> None:
    records = parse_every_way(line + b"\n\n")
    assert [(r.kind, r.retry) for r in records] == [("retry", value)]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"+5", id="plus"),
        pytest.param(b"-1", id="minus"),
        pytest.param(b"  500", id="two-spaces"),
        pytest.param(b"1_000", id="underscore"),
        pytest.param(b"5.0", id="float"),
        pytest.param(b"1e3", id="exp"),
        pytest.param(b"", id="empty"),
        pytest.param("٣".encode(), id="arabic-digit"),
        pytest.param("５".encode(), id="fullwidth-digit"),
    ],
)
def test_parse_retry_rejects_what_int_would_accept(value: bytes) -> None:
    parser = SSEParser()
    records = parser.feed(b"retry: " + value + b"\n\n") + parser.close()
    assert [r.kind for r in records] == ["blank"]
    assert parser.retry is None


def test_parse_retry_updates_parser_retry() -> None:
    parser = SSEParser()
    parser.feed(b"retry: 100\n\nretry: x\n\nretry: 250\ndata: a\n\n")
    assert parser.retry == 250


# -- what a browser hides ----------------------------------------------------------


def test_parse_comment_text_one_leading_space_removed() -> None:
    records = parse_every_way(b":  two\n\n:\n\n:x\n\n")
    assert [(r.kind, r.data) for r in records] == [
        ("comment", " two"),
        ("comment", ""),
        ("comment", "x"),
    ]


def test_parse_comment_block_is_one_record() -> None:
    (c,) = parse_every_way(b": keep-alive\n\n")
    assert (c.kind, c.data, c.offset, c.size) == ("comment", "keep-alive", 0, 14)


def test_parse_comment_before_event_in_same_block() -> None:
    records = parse_every_way(b": hi\ndata: x\n\n")
    assert [(r.kind, r.size) for r in records] == [("comment", 5), ("event", 9)]


def test_parse_comments_do_not_dispatch_or_reset_the_block() -> None:
    records = parse_every_way(b"event: a\n: note\ndata: x\n\n")
    assert [r.kind for r in records] == ["comment", "event"]
    assert records[1].type == "a"


def test_parse_blank_lines_are_keepalive_records() -> None:
    records = parse_every_way(b"\r\n\r\ndata: x\n\n\n")
    assert [(r.kind, r.size) for r in records] == [
        ("blank", 2),
        ("blank", 2),
        ("event", 9),
        ("blank", 1),
    ]


def test_parse_retry_record_takes_its_blank_line() -> None:
    records = parse_every_way(b"retry: 10\n\ndata: x\n\n")
    assert [(r.kind, r.size) for r in records] == [("retry", 11), ("event", 9)]


def test_parse_comment_at_end_of_stream_is_kept() -> None:
    records = parse_every_way(b"data: x\n\n: bye\n")
    assert [r.kind for r in records] == ["event", "comment"]


# -- byte spans --------------------------------------------------------------------


def test_parse_spans_tile_the_stream() -> None:
    stream = (
        b"\xef\xbb\xbf: c\n\nretry: 5\n\n\n\nid: 1\nevent: e\ndata: a\r\n"
        b"data: b\r\n\r\n"
        b"data: x\n: mid\n\nid: 2\n\n:\n:\n\ndata: tail"
    )
    records = parse_every_way(stream)
    assert_tiles(records, len(stream))
    assert sum(r.size for r in records) == len(stream) - len(b"data: tail")


def test_parse_buffered_counts_the_unterminated_block() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\n\ndata: b")
    assert parser.buffered == 7
    parser.feed(b"\n")
    assert parser.buffered == 8
    parser.feed(b"\n")
    assert parser.buffered == 0


# -- limits and misuse ---------------------------------------------------------------


def test_parse_event_too_large_names_limit_offset_and_keeps_earlier_records() -> None:
    parser = SSEParser(max_event_size=100)
    with pytest.raises(EventTooLarge) as info:
        parser.feed(b"data: ok\n\ndata: " + b"x" * 200)
    err = info.value
    assert (err.limit, err.offset) == (100, 10)
    assert [r.data for r in err.records] == ["ok"]
    assert "max_event_size" in str(err) and "100" in str(err)


def test_parse_event_too_large_raises_whatever_the_chunking() -> None:
    stream = b"data: ok\n\ndata: " + b"x" * 200 + b"\n\n"
    for cuts in _chunkings(stream):
        parser = SSEParser(max_event_size=100)
        got: list[Record] = []
        with pytest.raises(EventTooLarge) as info:
            prev = 0
            for cut in [*cuts, len(stream)]:
                got += parser.feed(stream[prev:cut])
                prev = cut
        assert info.value.offset == 10
        assert [r.data for r in got + list(info.value.records)] == ["ok"]


def test_parse_event_too_large_in_feed_batch_keeps_a_batch() -> None:
    parser = SSEParser(max_event_size=50)
    with pytest.raises(EventTooLarge) as info:
        parser.feed_batch(b"data: ok\n\n" + b"data: " + b"y" * 100 + b"\n\n")
    assert isinstance(info.value.records, RecordBatch)
    assert info.value.records.data == ["ok"]


def test_parse_record_at_the_limit_is_accepted() -> None:
    stream = b"data: " + b"x" * 92 + b"\n\n"
    assert len(stream) == 100
    assert _feed(stream, [], max_event_size=100)[0].size == 100
    assert _feed(stream, list(range(1, 100)), max_event_size=100)[0].size == 100


def test_parse_long_line_in_many_chunks_is_linear() -> None:
    # 4 MiB in 1-KiB pieces with no line end: held, not rescanned (bounded by timeout)
    parser = SSEParser()
    piece = b"x" * 1024
    parser.feed(b"data: ")
    for _ in range(4096):
        assert parser.feed(piece) == []
    (ev,) = parser.feed(b"\n\n")
    assert len(ev.data) == 4 * 1024 * 1024


def test_parse_feed_after_close_is_an_error() -> None:
    parser = SSEParser()
    parser.close()
    with pytest.raises(ValueError, match="closed"):
        parser.feed(b"data: x\n\n")


def test_parse_feed_rejects_str() -> None:
    with pytest.raises(TypeError, match="bytes"):
        SSEParser().feed("data: x\n\n")  # type: ignore[arg-type]


def test_parse_rejects_nonpositive_limit() -> None:
    with pytest.raises(ValueError, match="max_event_size"):
        SSEParser(max_event_size=0)


def test_parse_record_repr_skips_defaults() -> None:
    (c,) = parse_bytes(b": hi\n\n")
    assert repr(c) == "Record(kind='comment', data='hi', offset=0, size=6)"


# -- the writer ----------------------------------------------------------------------


def test_encode_event_round_trip() -> None:
    wire = encode_event("a\nb", event="t", id="3") + encode_event(comment="c")
    wire += encode_event(retry=10) + encode_event()
    records = parse_every_way(wire)
    assert [(r.kind, r.type, r.data, r.id, r.retry) for r in records] == [
        ("event", "t", "a\nb", "3", None),
        ("comment", "", "c", None, None),
        ("retry", "", "", None, 10),
        ("blank", "", "", None, None),
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_encode_records_round_trip(newline: str) -> None:
    original = parse_bytes(
        b": hi\n\nretry: 5\n\nevent: x\nid: 1\ndata:  lead\ndata: b\n\n\nid: 2\n\n"
        b"event: only-type\n\ndata:\n\n"
    )
    again = parse_bytes(encode_records(original, newline=newline))
    assert [r[:6] for r in again] == [r[:6] for r in original]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event": "a\nb"}, "event"),
        ({"id": "1\r"}, "id"),
        ({"id": "1\x002"}, "NUL"),
        ({"retry": -1}, "retry"),
        ({"newline": "\n\n"}, "newline"),
    ],
)
def test_encode_event_rejects_what_cannot_round_trip(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encode_event("x", **kwargs)  # type: ignore[arg-type]


# -- recorded real streams ---------------------------------------------------------


def _data_real() -> Path | None:
    here = Path(__file__).resolve().parent.parent
    for root in (here.parent, here.parent.parent):
        candidate = root / "shared" / "data-real"
        if candidate.is_dir():
            return candidate
    return None


DATA_REAL = _data_real()
REAL_EVENTS = {
    "anthropic-messages-basic.sse": 8,
    "anthropic-messages-tool-use.sse": 14,
    "anthropic-messages-padded-json.sse": 7,
    "openai-chat-completions-max-tokens.sse": 5,
    "openai-chat-completions-tool-call.sse": 18,
    "openai-responses-api-stream.sse": 11,
    "bedrock-mantle-responses-data-before-event.sse": 7,
    "gemini-generate-content-utf8-crlf.sse": 4,
    "gemini-prompt-blocked-crlf.sse": 1,
    "openrouter-keepalive-comments-midstream-error.sse": 5,
    "groq-error-event-tool-use-failed.sse": 95,
    "wikimedia-eventstreams-recentchange.sse": 2,
}


@pytest.mark.skipif(DATA_REAL is None, reason="shared/data-real is not beside the repo")
@pytest.mark.parametrize("name", sorted(REAL_EVENTS))
def test_parse_recorded_real_streams(name: str) -> None:
    assert DATA_REAL is not None
    stream = (DATA_REAL / name).read_bytes()
    records = parse_every_way(stream)
    assert sum(r.kind == "event" for r in records) == REAL_EVENTS[name]
    assert_tiles(records, len(stream))


@pytest.mark.skipif(DATA_REAL is None, reason="shared/data-real is not beside the repo")
def test_parse_recorded_openrouter_comments_and_wikimedia_ids() -> None:
    assert DATA_REAL is not None
    router = parse_bytes(
        (DATA_REAL / "openrouter-keepalive-comments-midstream-error.sse").read_bytes()
    )
    assert sum(r.kind == "comment" for r in router) == 17
    wiki = SSEParser()
    wiki.feed((DATA_REAL / "wikimedia-eventstreams-recentchange.sse").read_bytes())
    wiki.close()
    assert wiki.last_event_id.startswith("[")  # a JSON array of Kafka offsets


def test_a_waiting_comment_over_the_limit_raises_at_its_start() -> None:
    # ": c\n" waits for the next line; when the bytes after it pass the limit, the
    # comment itself is checked first, as it is when the bytes come one by one.
    parser = SSEParser(max_event_size=1)
    with pytest.raises(EventTooLarge) as caught:
        parser.feed(b": c\nda")
    assert caught.value.offset == 0
    assert len(caught.value.records) == 0
