"""The errors ssenb raises, in one tree.

```
SSENBError                 base of everything ssenb raises on purpose
├── StreamError            the server or the stream misbehaved
│   ├── NotAnEventStream   wrong status or content type
│   │                      (status, content_type, body)
│   └── EventTooLarge      a record grew past max_event_size
│                          (limit, offset, records)
└── CaptureFileError       a capture file is truncated, corrupt or foreign
                           (path, line, rows_recovered)
```

Misuse of the API (a bad argument) raises ``ValueError`` or ``TypeError`` instead, with
the bad value in the message. This module imports only the standard library.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CaptureFileError",
    "EventTooLarge",
    "NotAnEventStream",
    "SSENBError",
    "StreamError",
]


class SSENBError(Exception):
    """Base class of every error ssenb raises on purpose."""


class StreamError(SSENBError):
    """The server or the stream misbehaved (as opposed to a caller mistake)."""


class NotAnEventStream(StreamError):
    """The response is not an event stream: a non-2xx status or a wrong Content-Type.

    Attributes:
        status: the HTTP status code.
        content_type: the response's Content-Type header ('' when absent).
        body: the first bytes of the response body, for the message.
    """

    def __init__(
        self, message: str, *, status: int, content_type: str, body: bytes = b""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.content_type = content_type
        self.body = body


class EventTooLarge(StreamError):
    """A record grew past ``max_event_size`` bytes before it ended.

    The limit bounds the memory one incomplete record can hold. Records that completed
    in the same ``feed`` call before the oversized one are kept in ``records`` so that
    nothing already parsed is lost.

    Attributes:
        limit: the ``max_event_size`` in force.
        offset: the stream offset where the oversized record starts.
        records: the records completed before it in the same call (a list of ``Record``,
            a ``RecordBatch`` for ``feed_batch``, the columns of the bulk reader that
            ``read_sse`` and capture use).
    """

    def __init__(self, *, limit: int, offset: int, records: Any = None) -> None:
        super().__init__(
            f"An SSE record starting at byte {offset} grew past max_event_size={limit} "
            f"bytes before its closing blank line. If the server really sends events "
            f"this large, pass a larger limit (max_event_size={limit * 4} to capture, "
            f"read_sse or SSEParser); otherwise the stream is not delimiting its "
            f"events."
        )
        self.limit = limit
        self.offset = offset
        self.records = records if records is not None else []


class CaptureFileError(SSENBError):
    """A capture file could not be read: truncated, corrupt, or not a capture at all.

    Attributes:
        path: the file.
        line: the 1-based line (or record) where reading failed, when known.
        rows_recovered: how many rows were read intact before the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None = None,
        rows_recovered: int = 0,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.rows_recovered = rows_recovered
