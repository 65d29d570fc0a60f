"""The pattern catalogue: every wire form of PATTERNS.md lands in its family and
pattern; dialects are recognised on hand-built streams and on real recordings."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from _streams import DIALECT_STREAMS, REAL_DIALECTS, data_real, ev, untimed

import ssenb
from ssenb import patterns
from ssenb.patterns import Clue, Dialect, Pattern, classify, dialect


def _one(raw: bytes) -> tuple[str, str]:
    out = classify(untimed(raw))
    assert len(out) == 1, out
    return str(out["family"].iloc[0]), str(out["pattern"].iloc[0])


WIRE_FORMS = [
    pytest.param(
        ev({"timestamp": 1704067200}, event="ping"),
        "keepalive",
        "ping",
        id="ping-event",
    ),
    pytest.param(ev("ping"), "keepalive", "ping", id="bare-ping-data"),
    pytest.param(
        ev({"type": "heartbeat", "interval": 30000, "sequence": 1}, event="heartbeat"),
        "keepalive",
        "heartbeat",
        id="heartbeat-event",
    ),
    pytest.param(
        ev(comment="heartbeat"), "keepalive", "heartbeat", id="heartbeat-comment"
    ),
    pytest.param(
        ev("", event="heartbeat"), "keepalive", "heartbeat", id="heartbeat-empty-data"
    ),
    pytest.param(
        ev({"type": "heartbeat"}),
        "keepalive",
        "heartbeat",
        id="heartbeat-json-in-message",
    ),
    pytest.param(
        ev({"timestamp": "2024-01-01T00:00:00Z"}, event="keep-alive"),
        "keepalive",
        "keep-alive",
        id="keep-alive-event",
    ),
    pytest.param(
        ev(comment="keep-alive"), "keepalive", "keep-alive", id="keep-alive-comment"
    ),
    pytest.param(
        ev(comment="keep-alive signal"),
        "keepalive",
        "keep-alive",
        id="keep-alive-signal-comment",
    ),
    pytest.param(b"\r\n", "keepalive", "blank-line", id="blank-crlf"),
    pytest.param(ev(""), "keepalive", "empty", id="empty-data"),
    pytest.param(
        ev(comment="anything else"), "keepalive", "comment", id="other-comment"
    ),
    pytest.param(
        ev({"stream_id": "s", "version": "1"}, event="start"),
        "control",
        "start",
        id="start",
    ),
    pytest.param(ev({"protocol": "sse"}, event="init"), "control", "start", id="init"),
    pytest.param(
        ev({"session_id": "s"}, event="stream-start"),
        "control",
        "start",
        id="stream-start",
    ),
    pytest.param(ev("[DONE]"), "control", "done", id="DONE"),
    pytest.param(ev({"status": "ok"}, event="done"), "control", "done", id="done"),
    pytest.param(
        ev({"reason": "x"}, event="complete"), "control", "done", id="complete"
    ),
    pytest.param(ev({"buffer_size": 1}, event="ready"), "control", "ready", id="ready"),
    pytest.param(b"retry: 3000\n\n", "control", "retry", id="retry"),
    pytest.param(b"id: 7\n\n", "control", "id-only", id="id-only"),
    pytest.param(ev({"health": "ok"}, event="status"), "state", "status", id="status"),
    pytest.param(ev({"message": "m"}, event="system"), "state", "system", id="system"),
    pytest.param(ev({"batch_size": 5}, event="config"), "state", "config", id="config"),
    pytest.param(
        ev({"percentage": 5}, event="progress"), "progress", "progress", id="progress"
    ),
    pytest.param(
        ev({"type": "incremental"}, event="update"), "progress", "update", id="update"
    ),
    pytest.param(
        ev({"position": 3}, event="checkpoint"),
        "progress",
        "checkpoint",
        id="checkpoint",
    ),
    pytest.param(ev({"code": "E"}, event="error"), "error", "error", id="error"),
    pytest.param(ev({"code": "W"}, event="warning"), "error", "warning", id="warning"),
    pytest.param(
        ev({"backoff_ms": 5}, event="operational-disconnect"),
        "error",
        "operational-disconnect",
        id="operational-disconnect",
    ),
    pytest.param(
        ev({"error": {"code": 400}}), "error", "error", id="error-object-in-data"
    ),
    pytest.param(
        ev({"stream_version": "1"}, event="metadata"),
        "metadata",
        "metadata",
        id="metadata",
    ),
    pytest.param(
        ev({"latency_ms": 3}, event="meta"), "metadata", "metadata", id="meta"
    ),
    pytest.param(
        ev({"server_region": "eu"}, event="info"), "metadata", "info", id="info"
    ),
    pytest.param(ev({"status": "ok"}, event="auth"), "auth", "auth", id="auth"),
    pytest.param(
        ev({"session_id": "s"}, event="session"), "auth", "session", id="session"
    ),
    pytest.param(
        ev({"object": "chat.completion.chunk", "choices": []}),
        "data",
        "chat.completion.chunk",
        id="chat-chunk",
    ),
    pytest.param(ev({"x": 1}), "data", "message", id="plain-message"),
    pytest.param(
        ev({"x": 1}, event="user-created"), "data", "event", id="unknown-named-event"
    ),
]


@pytest.mark.parametrize(("raw", "family", "pattern"), WIRE_FORMS)
def test_classify_catalogue_wire_forms(raw: bytes, family: str, pattern: str) -> None:
    assert _one(raw) == (family, pattern)


@pytest.mark.parametrize(
    "name",
    ["Keep_Alive", "KEEP-ALIVE", "keepalive", "app:keep-alive", "Keep Alive"],
)
def test_classify_type_aliases_case_and_namespaces(name: str) -> None:
    assert _one(ev("{}", event=name)) == ("keepalive", "keep-alive")


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("build-progress", "progress"),
        ("job-complete", "done"),
        ("db:update", "update"),
        ("message_stop", "done"),
        ("stream-end", "done"),
        # a part of the work finished, not the stream
        ("step-complete", "progress"),
        ("content_block_stop", "progress"),
        ("content_block_start", "progress"),
        ("job-start", "start"),
        ("response.output_item.done", "progress"),
    ],
)
def test_classify_compound_names_by_their_words(name: str, pattern: str) -> None:
    assert _one(ev("{}", event=name))[1] == pattern


def test_classify_adds_categoricals_and_keeps_rows() -> None:
    raw = b"".join(raw for raw, *_ in (p.values for p in WIRE_FORMS))
    frame = untimed(raw)
    out = classify(frame)
    assert len(out) == len(frame)
    assert list(out.columns[:-2]) == list(frame.columns)
    assert isinstance(out["family"].dtype, pd.CategoricalDtype)
    assert list(out["family"].cat.categories) == list(patterns.FAMILIES)
    assert "family" not in frame.columns


def test_classify_empty_frame() -> None:
    out = classify(ssenb.frames.read_sse(b""))
    assert len(out) == 0 and {"family", "pattern"} <= set(out.columns)


def test_classify_rejects_what_is_not_a_capture() -> None:
    with pytest.raises(TypeError, match="Capture or an events DataFrame"):
        classify([1, 2])
    with pytest.raises(ValueError, match="lacks the columns"):
        classify(pd.DataFrame({"x": [1]}))


def test_classify_object_kind_column_works() -> None:
    frame = untimed(ev("ping") + ev(comment="heartbeat"))
    frame["kind"] = frame["kind"].astype(str)
    frame["type"] = frame["type"].astype(str)
    assert classify(frame)["pattern"].astype(str).tolist() == ["ping", "heartbeat"]


def test_classify_many_rows_matches_row_by_row() -> None:
    # the vectorised path agrees with classifying each row alone
    rows = [p.values[0] for p in WIRE_FORMS]
    rng = np.random.default_rng(3)
    order = rng.integers(0, len(rows), 400)
    whole = classify(untimed(b"".join(rows[i] for i in order)))
    alone = [_one(rows[i]) for i in range(len(rows))]
    got = list(
        zip(whole["family"].astype(str), whole["pattern"].astype(str), strict=True)
    )
    assert got == [alone[i] for i in order]


@pytest.fixture
def clean_registry() -> Iterator[None]:
    saved_p = list(patterns._registered_patterns)
    saved_d = list(patterns._registered_dialects)
    yield
    patterns._registered_patterns[:] = saved_p
    patterns._registered_dialects[:] = saved_d
    patterns._compiled.clear()


def test_register_pattern_wins_over_builtin(clean_registry: None) -> None:
    assert _one(ev("{}", event="tick")) == ("data", "event")
    patterns.register_pattern(Pattern("keepalive", "tick", types=("tick",)))
    assert _one(ev("{}", event="tick")) == ("keepalive", "tick")
    patterns.register_pattern(Pattern("state", "ping-state", types=("ping",)))
    assert _one(ev("{}", event="ping")) == ("state", "ping-state")


def test_register_pattern_checks_its_input(clean_registry: None) -> None:
    with pytest.raises(ValueError, match="family"):
        Pattern("nonsense", "x")
    with pytest.raises(TypeError):
        patterns.register_pattern("tick")  # type: ignore[arg-type]


def test_register_dialect(clean_registry: None) -> None:
    raw = ev("{}", event="acme-tick") * 3
    assert dialect(untimed(raw)).name == "unknown"
    patterns.register_dialect(
        Dialect(
            "acme", "ACME", (Clue("acme-tick events", 3, True, types=("acme-tick",)),)
        )
    )
    d = dialect(untimed(raw))
    assert (d.name, d.confidence) == ("acme", 1.0)
    assert d.evidence["rows"].iloc[0] == [0, 1, 2]


@pytest.mark.parametrize(
    ("name", "raw"), DIALECT_STREAMS, ids=[n for n, _ in DIALECT_STREAMS]
)
def test_dialect_recognised(name: str, raw: bytes) -> None:
    d = dialect(untimed(raw))
    assert d.name == name or name in d.aliases, str(d)
    assert d.confidence >= 0.3
    assert d.evidence["matched"].any()
    assert all(isinstance(r, list) for r in d.evidence["rows"])


REAL = data_real()


@pytest.mark.skipif(REAL is None, reason="the shared data-real folder is absent")
@pytest.mark.parametrize(("file", "name"), sorted(REAL_DIALECTS.items()))
def test_dialect_recognised_on_real_streams(file: str, name: str) -> None:
    assert REAL is not None
    d = dialect(ssenb.frames.read_sse(REAL / file))
    assert d.name == name, str(d) + "\n" + d.candidates.head(3).to_string()


@pytest.mark.parametrize(
    "raw",
    [b"", ev({"hello": "world"}), ev(comment="hi"), ev("plain text")],
    ids=["empty", "plain-json", "one-comment", "plain-text"],
)
def test_dialect_unknown_when_nothing_fits(raw: bytes) -> None:
    d = dialect(untimed(raw))
    assert d.name == "unknown" and d.confidence == 0.0
    assert "unknown" in str(d)


def test_dialect_evidence_rows_point_at_the_deciding_rows() -> None:
    raw = (
        ev({"x": 1}) + ev(comment="heartbeat") + ev({"x": 2}) + ev(comment="heartbeat")
    )
    d = dialect(untimed(raw))
    assert d.name == "express"
    assert d.evidence.loc[0, "rows"] == [1, 3]


def test_classify_named_event_with_empty_data_is_not_a_keepalive() -> None:
    assert _one(ev("", event="user-logout")) == ("data", "event")


def test_dialect_result_repr_is_short() -> None:
    text = repr(dialect(untimed(ev(comment="heartbeat"))))
    assert text.startswith("<DialectResult dialect: express") and "\n" not in text


def test_family_descriptions_explain_every_family() -> None:
    from ssenb.patterns import FAMILIES, FAMILY_DESCRIPTIONS

    assert list(FAMILY_DESCRIPTIONS) == list(FAMILIES)
    assert all(len(text) > 40 for text in FAMILY_DESCRIPTIONS.values())


def test_dialect_chatgpt_from_pings_alone_as_the_catalogue_describes_it() -> None:
    raw = ev("{}", event="ping") + ev({"x": 1}) + ev("{}", event="ping")
    assert dialect(untimed(raw)).name == "chatgpt"


#: Data of unnamed events and the pattern each gets: JSON after white space, a rule
#: of higher priority in a chat chunk, [DONE] padded with wide spaces (over 32 bytes,
#: under 32 characters), wide text, empty and missing values.
_DATA_SHAPES = [
    ('\n\t {"type": "ping"}', "ping"),
    (' {"error": {"message": "x"}}', "error"),
    ('{"object" : "chat.completion.chunk", "type":"error"}', "error"),
    ('{"object":"chat.completion.chunk"}', "chat.completion.chunk"),
    ("[DONE]", "done"),
    ("\u3000" * 10 + "[DONE]", "done"),
    ("\u00e9" * 20 + "x", "message"),
    ("", "empty"),
    (None, "empty"),
    ("x {", "message"),
    ('{"type": "keepalive"}', "keep-alive"),
]


@pytest.mark.parametrize("storage", ["arrow", "sliced", "chunked", "object"])
def test_classify_data_shapes_in_every_storage_of_the_column(storage: str) -> None:
    import pyarrow as pa

    values = [d for d, _ in _DATA_SHAPES]
    if storage == "object":
        data: object = pd.array(values, dtype=object)
    elif storage == "arrow":
        data = pd.array(values, dtype="string[pyarrow]")
    elif storage == "sliced":  # the column starts inside its Arrow buffers
        whole = pa.array(["pad", *values], type=pa.large_string())
        data = pd.arrays.ArrowStringArray(pa.chunked_array([whole.slice(1)]))
    else:
        data = pd.arrays.ArrowStringArray(
            pa.chunked_array(
                [
                    pa.array(values[:4], type=pa.large_string()),
                    pa.array(values[4:], type=pa.large_string()),
                ]
            )
        )
    n = len(values)
    frame = pd.DataFrame(
        {
            "kind": pd.Categorical(["event"] * n),
            "type": pd.Categorical(["message"] * n),
            "data": data,
        }
    )
    got = classify(frame)["pattern"].astype(str).tolist()
    assert got == [p for _, p in _DATA_SHAPES]
