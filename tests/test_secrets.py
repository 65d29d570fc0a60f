"""Secrets by rule: real-world spellings of credentials, each sent for real to a
127.0.0.1 server, then looked for in every output ssenb writes or prints.

One capture carries every secret of the table at once (headers, query, matrix and
fragment parameters, URL user info, JSON body keys); each output is made once, and
each row of the table is checked in each of them.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _sse_script import Reply, serve, sse

import ssenb
from ssenb.analysis import report
from ssenb.redact import (
    REDACTED,
    add_sensitive_names,
    is_sensitive_header,
    is_sensitive_param,
    redact_text,
    redact_url,
)

ROOT = Path(__file__).resolve().parent.parent

# (where the secret travels, its name as real services spell it)
TABLE: list[tuple[str, str]] = [
    ("header", "Authorization"),
    ("header", "Proxy-Authorization"),
    ("header", "Cookie"),
    ("header", "X-Api-Key"),
    ("header", "x-goog-api-key"),
    ("header", "X-Amz-Security-Token"),
    ("header", "Ocp-Apim-Subscription-Key"),
    ("header", "x-functions-key"),
    ("header", "X-Access-Key"),
    ("header", "X-Key"),
    ("header", "X-Auth-Token"),
    ("header", "X-RapidAPI-Key"),
    ("header", "X-Shopify-Access-Token"),
    ("header", "PRIVATE-TOKEN"),
    ("header", "X-Vault-Token"),
    ("header", "X-CSRF-Token"),
    ("header", "Mcp-Session-Id"),
    ("header", "X-Hub-Signature-256"),
    ("header", "apikey"),
    ("header", "X-Client-Secret"),
    ("query", "token"),
    ("query", "access_token"),
    ("query", "api_key"),
    ("query", "apiKey"),
    ("query", "key"),
    ("query", "subscription-key"),
    ("query", "access_key"),
    ("query", "auth_key"),
    ("query", "sig"),
    ("query", "X-Amz-Signature"),
    ("query", "X-Amz-Credential"),
    ("query", "X-Goog-Signature"),
    ("query", "client_secret"),
    ("query", "password"),
    ("query", "code"),
    ("query", "oauth_token"),
    ("query;", "sessionid"),
    ("matrix", "jsessionid"),
    ("matrix", "token"),
    ("fragment", "access_token"),
    ("fragment", "id_token"),
    ("userinfo", "user"),
    ("userinfo", "password"),
    ("json", "private_key"),
    ("json", "accessKey"),
    ("json", "client_secret"),
    ("json", "refreshToken"),
    ("json", "password"),
    ("json", "session"),
    ("json", "credentials"),
]
VALUES = {row: f"S3KR1T{i:02d}ZQ" for i, row in enumerate(TABLE)}
IDS = [f"{place}-{name}" for place, name in TABLE]


def _url(base: str) -> str:
    def of(place: str) -> list[tuple[str, str]]:
        return [(n, VALUES[(p, n)]) for p, n in TABLE if p == place]

    user = VALUES[("userinfo", "user")]
    password = VALUES[("userinfo", "password")]
    host = base.removeprefix("http://")
    matrix = _PATH.removeprefix("/s")
    query = "&".join(f"{n}={v}" for n, v in of("query"))
    query += "".join(f";{n}={v}" for n, v in of("query;"))
    fragment = "&".join(f"{n}={v}" for n, v in of("fragment"))
    return (
        f"http://{user}:{password}@{host}/s{matrix}?topic=news&{query}"
        f"&max_tokens=7#{fragment}&state=kept"
    )


def _headers() -> dict[str, str]:
    return {n: VALUES[(p, n)] for p, n in TABLE if p == "header"}


def _body() -> dict[str, Any]:
    flat = {n: VALUES[(p, n)] for p, n in TABLE if p == "json"}
    return {"model": "m", "max_tokens": 7, "auth": {"nested": flat}, **flat}


_PATH = "/s" + "".join(f";{n}={VALUES[(p, n)]}" for p, n in TABLE if p == "matrix")
BODY = sse("event: hello\ndata: 1", "event: done\ndata: {}")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every output of one capture that carries every secret of the table."""
    tmp = tmp_path_factory.mktemp("secrets")
    out: dict[str, str] = {}
    routes = {_PATH: [Reply([BODY])]}
    with serve(routes) as (base, app):
        url = _url(base)
        cap = ssenb.capture(
            url,
            headers=_headers(),
            json=_body(),
            until="done",
            duration=10,
            progress=False,
        )
        sent = app.requests[0]
        # the secrets really went out: what is checked below is redaction
        for name, value in _headers().items():
            if name != "Authorization":  # the URL's user info sets it
                assert sent.headers[name.lower()] == value
        assert VALUES[("query", "apiKey")] in sent.query
        assert VALUES[("json", "accessKey")] in sent.body.decode()
        for suffix in (".jsonl", ".jsonl.gz", ".parquet"):
            path = cap.save(tmp / f"cap{suffix}")
            raw = path.read_bytes()
            out[f"file{suffix}"] = (
                gzip.decompress(raw) if suffix.endswith(".gz") else raw
            ).decode("latin-1")
            back = ssenb.load(path)
            out[f"load{suffix}"] = json.dumps(back.meta) + back.connections.to_json(
                date_format="iso"
            )
        out["repr"] = repr(cap)
        bundle = cap._repr_mimebundle_()
        out["html"] = bundle["text/html"] if isinstance(bundle, dict) else str(bundle)
        rep = report(cap)
        out["report"] = rep.text()
        out["report.html"] = rep.html()
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "ssenb",
                "capture",
                url,
                "--until",
                "done",
                "--no-progress",
                "-o",
                str(tmp / "cli.jsonl"),
                "--json",
                json.dumps(_body()),
                *[a for n, v in _headers().items() for a in ("-H", f"{n}: {v}")],
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert cli.returncode == 0, cli.stderr
        out["cli capture"] = cli.stdout + cli.stderr
        out["cli file"] = (tmp / "cli.jsonl").read_text()
    cli = subprocess.run(
        [sys.executable, "-m", "ssenb", "report", str(tmp / "cap.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert cli.returncode == 0, cli.stderr
    out["cli report"] = cli.stdout + cli.stderr
    # the server is gone: the same URL now fails, in the library and the CLI
    with pytest.raises(ssenb.errors.SSENBError) as failed:
        ssenb.capture(url, headers=_headers(), reconnect=False, progress=False)
    out["error"] = str(failed.value)
    err_cap = getattr(failed.value, "capture", None)
    if err_cap is not None:
        out["error capture"] = err_cap.connections.to_json(date_format="iso") + repr(
            err_cap
        )
    cli = subprocess.run(
        [sys.executable, "-m", "ssenb", "capture", url, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert cli.returncode == 1
    out["cli error"] = cli.stdout + cli.stderr
    return out


@pytest.mark.parametrize(("place", "name"), TABLE, ids=IDS)
def test_secret_never_reaches_an_output(
    place: str, name: str, outputs: dict[str, str]
) -> None:
    value = VALUES[(place, name)]
    leaks = [where for where, text in outputs.items() if value in text]
    assert not leaks, f"{name} ({place}) leaked into {leaks}"
    # recorded and redacted, not dropped: the name is still in the saved file
    if place not in ("userinfo", "fragment"):
        assert name in outputs["file.jsonl"]
    assert REDACTED in outputs["file.jsonl"]


def test_secret_table_is_large_enough() -> None:
    assert len(TABLE) >= 40
    assert len(set(VALUES.values())) == len(TABLE)


def test_secrets_kept_when_redaction_is_off(tmp_path: Path) -> None:
    """The control: with redact=False the same capture holds the values, so the
    table test above can fail."""
    with serve({_PATH: [Reply([BODY])]}) as (base, _):
        cap = ssenb.capture(
            _url(base),
            headers=_headers(),
            json=_body(),
            until="done",
            progress=False,
            redact=False,
        )
    text = cap.save(tmp_path / "open.jsonl").read_text()
    assert VALUES[("header", "X-Amz-Security-Token")] in text
    assert VALUES[("fragment", "access_token")] in text
    assert VALUES[("json", "accessKey")] in text


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_secret_never_reaches_the_notebook_or_its_html(tmp_path: Path) -> None:
    from ssenb.share import to_html, to_notebook

    with serve({_PATH: [Reply([BODY])]}) as (base, _):
        cap = ssenb.capture(
            _url(base),
            headers=_headers(),
            json=_body(),
            until="done",
            progress=False,
            redact=False,  # the notebook redacts again what a capture kept
        )
    nb = to_notebook(cap, tmp_path / "s.ipynb", execute=True)
    page = to_html(nb, tmp_path / "s.html")
    texts = {
        "notebook": (tmp_path / "s.ipynb").read_text(),
        "html": Path(page).read_text() if not isinstance(page, str) else page,
    }
    for (place, name), value in VALUES.items():
        leaks = [where for where, text in texts.items() if value in text]
        assert not leaks, f"{name} ({place}) leaked into {leaks}"


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "Accept", "Last-Event-ID", "author", "keys", "Content-Type"],
)
def test_ordinary_names_are_kept(name: str) -> None:
    assert not is_sensitive_param(name)
    assert not is_sensitive_header(name)


def test_users_add_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not is_sensitive_header("X-Tenant")
    monkeypatch.setattr("ssenb.redact._added", set())
    add_sensitive_names("X-Tenant")
    assert is_sensitive_header("x-tenant")
    assert redact_url("http://h/?x-tenant=a") == f"http://h/?x-tenant={REDACTED}"
    monkeypatch.setenv("SSENB_REDACT", "pin, Org")
    assert is_sensitive_param("PIN") and is_sensitive_param("org")
    with pytest.raises(ValueError, match="non-empty"):
        add_sensitive_names("")


def test_redact_text_scrubs_urls_and_bearer_tokens() -> None:
    text = (
        "GET http://u:p@h/s?token=abc failed (Basic authentication failed; token "
        "expired); sent Bearer abcdef123 and Basic dXNlcjpwYXNzMTIz"
    )
    assert redact_text(text) == (
        f"GET http://{REDACTED}@h/s?token={REDACTED} failed (Basic authentication "
        f"failed; token expired); sent Bearer {REDACTED} and Basic {REDACTED}"
    )
