"""Scrub secrets before anything is saved or shown: pure functions, no I/O.

Rules of this module:

- What looks like a credential is replaced by ``REDACTED``; nothing else changes (the
  other parameters of a URL keep their exact spelling).
- A name is sensitive by rule, not by list: it is split into words (``-``, ``_``,
  ``.``, spaces and camelCase: ``X-Amz-Security-Token`` is x, amz, security, token;
  ``accessKey`` is access, key) and is sensitive when a word is one of ``key``,
  ``token``, ``secret``, ``signature``/``sig``, ``password``/``passwd``/``pwd``/
  ``pass``, ``auth``/``authorization``, ``credential(s)``, ``session``/``sid``,
  ``cookie``, ``jwt``, ``bearer``, ``hmac``, or ends with one of key, token, secret,
  password, signature, credential, sessid, sessionid, cookie, auth (``apikey``,
  ``jsessionid``, ``PHPSESSID``). Plural counts are not secrets: ``max_tokens`` and
  ``keys`` are kept.
- Names added with ``add_sensitive_names`` (or listed, comma separated, in the
  ``SSENB_REDACT`` environment variable) are sensitive too, compared without case.
- Headers: the rule, plus ``Cookie``/``Set-Cookie``/``Proxy-Authorization``.
- URLs: any user info (``token@host``, ``user:pw@host``) and sensitive parameters
  wherever a URL holds them: the query (``&`` or ``;`` separated), matrix parameters
  in the path (``/s;jsessionid=...``) and the fragment (``#access_token=...``, as
  OAuth implicit flows return).
- Mappings (options, JSON bodies): values under sensitive keys, recursively; headers
  under a ``*headers`` key as headers, URLs under a ``url``/``*_url`` key as URLs.
- Free text (error messages): every URL in it, and ``Bearer``/``Basic`` credentials.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

__all__ = [
    "REDACTED",
    "add_sensitive_names",
    "is_sensitive_header",
    "is_sensitive_param",
    "redact_headers",
    "redact_mapping",
    "redact_text",
    "redact_url",
]

#: What a secret is replaced with.
REDACTED = "[redacted]"

_HEADERS = frozenset({"cookie", "set-cookie", "cookie2", "proxy-authorization"})
_WORDS = frozenset(
    {
        "key",
        "token",
        "secret",
        "signature",
        "sig",
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "session",
        "sid",
        "cookie",
        "jwt",
        "bearer",
        "hmac",
    }
)
_ENDINGS = (
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "credential",
    "credentials",
    "sessid",
    "sessionid",
    "cookie",
    "auth",
)
# OAuth's authorization code is a credential though its name is not one.
_PARAMS = frozenset({"code"})
_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_added: set[str] = set()


def add_sensitive_names(*names: str) -> None:
    """Treat these header, parameter or JSON key names as secrets too, from now on.

    For names the rule does not catch (``X-Tenant``, ``pin``). Names compare without
    case. The ``SSENB_REDACT`` environment variable (comma separated) does the same
    for a whole process, e.g. ``SSENB_REDACT=pin,X-Tenant ssenb capture URL``.

    Example:
        >>> add_sensitive_names("X-Tenant")
        >>> is_sensitive_header("x-tenant")
        True
    """
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(
                f"a sensitive name must be a non-empty string, got {name!r}"
            )
        _added.add(name.strip().lower())


def _extra() -> set[str]:
    env = os.environ.get("SSENB_REDACT", "")
    if not env:
        return _added
    return _added | {n.strip().lower() for n in env.split(",") if n.strip()}


def _by_rule(name: str) -> bool:
    for word in _SPLIT.findall(name):
        low = word.lower()
        if low in _WORDS or low.endswith(_ENDINGS):
            return True
    return False


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value should never be saved (credentials, cookies, keys)."""
    low = name.strip().lower()
    return low in _HEADERS or low in _extra() or _by_rule(name)


def is_sensitive_param(name: str) -> bool:
    """Whether a URL parameter (query, matrix or fragment) or a mapping key looks
    like a credential."""
    low = name.strip().lower()
    return low in _PARAMS or low in _extra() or _by_rule(name)


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


_PARAM_SEP = re.compile(r"([&;])")


def _redact_params(text: str) -> str:
    """``a=1&token=x;sig=y`` with the sensitive values redacted, separators kept."""
    parts = _PARAM_SEP.split(text)
    for i in range(0, len(parts), 2):
        name, eq, _value = parts[i].partition("=")
        if eq and is_sensitive_param(unquote_plus(name)):
            parts[i] = f"{name}={REDACTED}"
    return "".join(parts)


def _redact_path(path: str) -> str:
    """Matrix parameters (``/s;jsessionid=abc``) of each path segment."""
    if ";" not in path:
        return path
    segments = path.split("/")
    for i, segment in enumerate(segments):
        head, semi, params = segment.partition(";")
        if semi:
            segments[i] = head + semi + _redact_params(params)
    return "/".join(segments)


def redact_url(url: Any) -> str:
    """``url`` as a string with its user info and sensitive parameters redacted.

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
        _userinfo, _, host = authority.rpartition("@")
        authority = f"{REDACTED}@{host}"
    out = (scheme + sep if sep else "") + authority + slash + _redact_path(path)
    if qsep:
        out += "?" + _redact_params(query)
    if hsep:
        out += "#" + _redact_params(fragment)
    return out


def _is_url_key(low: str) -> bool:
    return low in ("url", "uri", "href", "location") or low.endswith(("_url", "url"))


def redact_mapping(value: Any) -> Any:
    """A copy of a JSON-like value with values under sensitive keys redacted.

    Headers nested under a ``headers`` (or ``*_headers``) key are redacted as
    headers, and URLs under a ``url`` (or ``*_url``) key as URLs.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            low = key.lower()
            if low.endswith("headers") and isinstance(v, Mapping):
                out[key] = redact_headers(v)
            elif _is_url_key(low) and isinstance(v, str):
                out[key] = redact_url(v)
            elif is_sensitive_param(key) or low in _HEADERS:
                out[key] = REDACTED if v is not None else None
            else:
                out[key] = redact_mapping(v)
        return out
    if isinstance(value, list | tuple):
        return [redact_mapping(v) for v in value]
    return value


_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# a credential after an auth scheme: 8+ token characters with a digit, or with a
# capital after the first (so "Basic authentication failed" is kept)
_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"
_SCHEME_CREDENTIAL = re.compile(
    rf"\b((?i:Bearer|Basic|Digest))\s+(?={_TOKEN_CHARS}*[0-9]|{_TOKEN_CHARS}+[A-Z])"
    rf"{_TOKEN_CHARS}{{8,}}"
)


def redact_text(text: str) -> str:
    """Free text (an error message) with every URL in it redacted, and
    ``Bearer``/``Basic`` credentials.

    Example:
        >>> redact_text("cannot reach https://u:p@h/s?token=t: refused")
        'cannot reach https://[redacted]@h/s?token=[redacted]: refused'
    """
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), str(text))
    return _SCHEME_CREDENTIAL.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
