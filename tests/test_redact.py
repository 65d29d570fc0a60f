"""Secrets are scrubbed from headers, URLs and option mappings; the rest is kept."""

from __future__ import annotations

import pytest

from ssenb.redact import (
    REDACTED,
    is_sensitive_header,
    redact_headers,
    redact_mapping,
    redact_url,
)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "api-key",
        "x-goog-api-key",
        "X-Auth-Token",
        "Mcp-Session-Id",
    ],
)
def test_redact_headers_scrubs_credentials(name: str) -> None:
    assert redact_headers({name: "secret"}) == {name: REDACTED}


@pytest.mark.parametrize(
    "name", ["Accept", "Cache-Control", "Last-Event-ID", "Content-Type", "User-Agent"]
)
def test_redact_headers_keeps_ordinary_headers(name: str) -> None:
    assert not is_sensitive_header(name)
    assert redact_headers([(name, "v")]) == {name: "v"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://h/s?topic=a&token=abc",
            f"https://h/s?topic=a&token={REDACTED}",
            id="token",
        ),
        pytest.param(
            "https://h/s?access_token=a&api_key=b&key=c&sig=d&X-Amz-Signature=e",
            f"https://h/s?access_token={REDACTED}&api_key={REDACTED}&key={REDACTED}"
            f"&sig={REDACTED}&X-Amz-Signature={REDACTED}",
            id="many",
        ),
        pytest.param(
            "https://user:pw@h:8443/p?x=1#frag",
            f"https://{REDACTED}@h:8443/p?x=1#frag",
            id="userinfo",
        ),
        pytest.param(
            "http://h/s?max_tokens=5&q=a%20b&flag",
            "http://h/s?max_tokens=5&q=a%20b&flag",
            id="kept-exactly",
        ),
        pytest.param("http://127.0.0.1:80/", "http://127.0.0.1:80/", id="plain"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_mapping_recurses_and_spares_token_counts() -> None:
    got = redact_mapping(
        {
            "json": {"max_tokens": 10, "api_key": "k", "msgs": [{"password": "p"}]},
            "headers": {"Authorization": "Bearer x", "Accept": "a"},
            "url": "http://h/?token=t",
        }
    )
    assert got == {
        "json": {
            "max_tokens": 10,
            "api_key": REDACTED,
            "msgs": [{"password": REDACTED}],
        },
        "headers": {"Authorization": REDACTED, "Accept": "a"},
        "url": f"http://h/?token={REDACTED}",
    }
