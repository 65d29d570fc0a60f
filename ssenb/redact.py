"""Scrub secrets before anything is saved or shown: pure functions, no I/O.

Rules of this module:

- What looks like a credential is replaced by ``REDACTED``; nothing else changes (the
  other query parameters of a URL keep their exact spelling).
- Headers: ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, and
  any header whose name speaks of a key, token, secret, password, signature or session
  (``X-Api-Key``, ``api-key``, ``X-Goog-Api-Key``, ``X-Auth-Token``...).
- URLs: a password in the authority (``user:pw@host``) and token-like query parameters
  (``token``, ``access_token``, ``api_key``, ``key``, ``sig``, ``X-Amz-Signature``...).
- Mappings (options, JSON bodies): values under sensitive-looking keys, recursively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

__all__ = [
    "REDACTED",
    "is_sensitive_header",
    "is_sensitive_param",
    "redact_headers",
    "redact_mapping",
    "redact_url",
]

#: What a secret is replaced with.
REDACTED = "[redacted]"

_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "cookie2"}
)
_HEADER_WORDS = re.compile(
    r"(api[-_]?key|apikey|token|secret|passw|signature|session|credential|auth)",
    re.IGNORECASE,
)
_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "auth_token",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "sig",
        "signature",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "pwd",
        "session",
        "sessionid",
        "session_id",
        "jwt",
        "code",
        "authorization",
    }
)
# "max_tokens" in an LLM request body is not a secret: "token" counts only as a whole
# last word.
_PARAM_WORDS = re.compile(
    r"(secret|passw|signature|credential|api[-_]?key|apikey|(^|[-_])token$"
    r"|^x-amz-(signature|credential|security-token)$)",
    re.IGNORECASE,
)


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value should never be saved (credentials, cookies, keys)."""
    low = name.strip().lower()
    return low in _HEADERS or bool(_HEADER_WORDS.search(low))


def is_sensitive_param(name: str) -> bool:
    """Whether a URL query parameter (or mapping key) looks like a credential."""
    low = name.strip().lower()
    return low in _PARAMS or bool(_PARAM_WORDS.search(low))


def redact_headers(
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> dict[str, str]:
    """A copy of ``headers`` with credential values replaced by ``REDACTED``.

    Example:
        >>> redact_headers({"Authorization": "Bearer x", "Accept": "text/event-stream"})
        {'Authorization': '[redacted]', 'Accept': 'text/event-stream'}
    """
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        out[key] = REDACTED if is_sensitive_header(key) else str(value)
    return out


def _redact_query(query: str) -> str:
    parts = query.split("&")
    for i, part in enumerate(parts):
        name, eq, _value = part.partition("=")
        if eq and is_sensitive_param(unquote_plus(name)):
            parts[i] = f"{name}={REDACTED}"
    return "&".join(parts)


def redact_url(url: Any) -> str:
    """``url`` as a string with a password in it and token-like query values redacted.

    Example:
        >>> redact_url("https://h/s?topic=a&access_token=abc")
        'https://h/s?topic=a&access_token=[redacted]'
    """
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    head, hsep, fragment = rest.partition("#")
    head, qsep, query = head.partition("?")
    authority, slash, path = head.partition("/")
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        user, colon, _pw = userinfo.partition(":")
        authority = f"{user}:{REDACTED}@{host}" if colon else f"{user}@{host}"
    out = (scheme + sep if sep else "") + authority + slash + path
    if qsep:
        out += "?" + _redact_query(query)
    if hsep:
        out += "#" + fragment
    return out


def redact_mapping(value: Any) -> Any:
    """A copy of a JSON-like value with values under sensitive keys redacted.

    Headers nested under a ``headers`` key are redacted as headers and URLs under a
    ``url`` key as URLs.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            low = key.lower()
            if low == "headers" and isinstance(v, Mapping):
                out[key] = redact_headers(v)
            elif low == "url" and isinstance(v, str):
                out[key] = redact_url(v)
            elif is_sensitive_param(key) or low in _HEADERS:
                out[key] = REDACTED if v is not None else None
            else:
                out[key] = redact_mapping(v)
        return out
    if isinstance(value, list | tuple):
        return [redact_mapping(v) for v in value]
    return value
