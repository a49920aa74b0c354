"""The service against its own OpenAPI document, driven by schemathesis.

Every documented operation gets schema-valid and schema-invalid input twice: once as a logged-in
user (a real Bearer token, so the authenticated routes do their real work) and once anonymously
(whatever credentials schemathesis makes up, so every route's 401 path runs too). Each answer must
be no 5xx, a documented status with the documented content type and body, and keep the contract's
promises on errors (`{"detail": …}`, `WWW-Authenticate: Bearer` on 401, `no-store` on tokens).

How the pieces fit, and why not `from_asgi` or `schemathesis.pytest.from_fixture`:
- `parametrize` needs the schema at import time, and `from_asgi` fetches it through the app, which
  runs the app's lifespan (migrations, a database file) during collection. `app.openapi()` is the
  very document `/openapi.json` serves (the `live` fixture asserts so), and needs no lifespan.
- `from_fixture` writes pytest's private `Item._nodeid`, which pytest 9.2 no longer has.
- Each test gets a fresh app on its own SQLite file; `case.call_and_validate(app=…)` sends the case
  through schemathesis' in-process ASGI transport, which starts the app's lifespan itself on first
  use; the fixture stops it again at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from authsvc.app import create_app
from tests.support import authenticator
from tests.support.http import COOKIE, CSRF_HEADER, PASSWORD
from tests.support.passkeys import PASSKEY_SETTINGS
from tests.support.settings import (
    UNTHROTTLED,
    make_settings,
    settings_without_database,
)

# The cookie routes require CSRF_HEADER. Their schema declares it, so generated cases carry it
# (or, as negative data, leave it out); only hand-made cases add it here. UNTHROTTLED, since
# throttles would turn the real login and password paths into 429s after a few examples.

# Operations whose success ends the caller's session (or may): the next case logs in afresh.
SESSION_ENDING = {
    ("POST", "/auth/logout-all"),
    ("POST", "/auth/password"),
    ("DELETE", "/auth/sessions/{session_id}"),
}

FORWARD_AUTH = "/auth/verify"
JSON = "application/json"

# schemathesis' default list of statuses that count as refusing invalid input lacks the caps.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "413", "415"),
                    *("422", "428", "429", "431"),
                ]
            }
        }
    }
)

# An app that is built but never started: only its OpenAPI document is read.
_document_app = create_app(settings_without_database())
OPENAPI_DOCUMENT: dict[str, Any] = _document_app.openapi()
schema = schemathesis.openapi.from_dict(OPENAPI_DOCUMENT, config=CONFIG)

# Few examples per operation keep the file well under a minute; the coverage phase adds the
# boundary cases (empty, too long, wrong type) on top of these anyway.
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    # One app per operation, shared by its examples on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def errors_carry_detail(
    _: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Every 4xx is FastAPI's `{"detail": …}` (SPEC: errors use FastAPI's shape).

    Forward-auth denials are the exception: a bare 401 whose body no gateway reads.
    """
    if 400 <= response.status_code < 500 and case.path != FORWARD_AUTH:
        body = response.json()
        assert isinstance(body, dict), f"error body is not an object: {response.text!r}"
        assert "detail" in body, f"error body has no detail: {response.text!r}"
    return None


def forward_auth_is_200_401_or_403(
    _: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """SPEC: /auth/verify answers only 200 or 401, and 403 when `role` asks for a role the
    token lacks or `mfa` for a second factor its session was not opened with; nginx turns
    anything else into a 500.

    TRACE and CONNECT are left out: nginx refuses them itself and never asks.
    """
    if case.path == FORWARD_AUTH and case.method.upper() not in ("TRACE", "CONNECT"):
        requirements = {"role", "mfa"} & set(case.query or {})
        allowed = (200, 401, 403) if requirements else (200, 401)
        assert response.status_code in allowed, f"forward-auth said {response.status_code}"
    return None


def unauthorized_names_bearer(
    _: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Every 401 carries `WWW-Authenticate: Bearer` (SPEC, RFC 6750 §3)."""
    if response.status_code == 401:
        challenge = response.headers.get("www-authenticate")
        assert challenge == ["Bearer"], f"401 without the Bearer challenge: {challenge!r}"
    return None


def tokens_are_not_cached(
    _: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """A response that hands out an access token carries `Cache-Control: no-store`."""
    if response.status_code == 200 and '"access_token"' in response.text:
        cache_control = response.headers.get("cache-control") or []
        assert any("no-store" in value for value in cache_control), (
            f"token response cacheable: Cache-Control={cache_control!r}"
        )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    errors_carry_detail,
    forward_auth_is_200_401_or_403,
    unauthorized_names_bearer,
    tokens_are_not_cached,
]
# `positive_data_acceptance` is left out on purpose: the schema bounds raw input generously
# (username 1..256 chars) and the policy refuses most of it with a documented 422.


@dataclass
class LiveApp:
    """A started app with one registered user, and a Bearer token kept fresh for it."""

    app: FastAPI
    username: str = "fuzzer"
    _token: str | None = field(default=None, repr=False)

    def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> schemathesis.Response:
        """One hand-made case, sent and held to the same checks as the generated ones."""
        case = schema[path][method].Case(**kwargs)
        return case.call_and_validate(
            app=self.app, headers={**CSRF_HEADER, **(headers or {})}, checks=CHECKS
        )

    def login(self) -> schemathesis.Response:
        body = {"username": self.username, "password": PASSWORD}
        response = self.call("POST", "/auth/login", body=body, media_type="application/json")
        assert response.status_code == 200, response.text
        return response

    def bearer(self) -> dict[str, str]:
        if self._token is None:
            self._token = self.login().json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def forget_token(self) -> None:
        self._token = None


def refresh_cookie(response: schemathesis.Response) -> str:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get("set-cookie", []):
        jar.load(header)
    assert COOKIE in jar, "expected a refresh cookie"
    return jar[COOKIE].value


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApp]:
    # Passkeys on, so their routes do their real work rather than answer 404.
    app = create_app(make_settings(tmp_path, **UNTHROTTLED, **PASSKEY_SETTINGS))
    assert app.openapi() == OPENAPI_DOCUMENT, "the tested schema is not the app's own"
    live = LiveApp(app)
    try:
        body = {"username": live.username, "password": PASSWORD}
        created = live.call("POST", "/auth/register", body=body, media_type="application/json")
        assert created.status_code == 201, created.text
        yield live
    finally:
        # schemathesis started the lifespan on the first call; end it with the test.
        asgi.shutdown_lifespans()


def test_success_answers_match_the_schema(live: LiveApp) -> None:
    """Random input rarely passes the policy, so each documented 2xx is produced by hand once."""
    first = live.login()
    second = live.login()
    bearer = {"Authorization": f"Bearer {second.json()['access_token']}"}

    assert live.call("GET", "/auth/me", headers=bearer).status_code == 200
    verified = live.call("GET", FORWARD_AUTH, headers=bearer)
    assert verified.status_code == 200
    assert verified.headers["x-auth-username"] == [live.username]
    listed = live.call("GET", "/auth/sessions", headers=bearer)
    assert listed.status_code == 200
    assert len(listed.json()["sessions"]) == 2

    refreshed = live.call("POST", "/auth/refresh", cookies={COOKIE: refresh_cookie(first)})
    assert refreshed.status_code == 200
    other = next(s["id"] for s in listed.json()["sessions"] if not s["current"])
    ended = live.call(
        "DELETE",
        "/auth/sessions/{session_id}",
        path_parameters={"session_id": other},
        headers=bearer,
    )
    assert ended.status_code == 204
    logout = live.call("POST", "/auth/logout", cookies={COOKIE: refresh_cookie(second)})
    assert logout.status_code == 204
    third = live.login()
    everywhere = {"Authorization": f"Bearer {third.json()['access_token']}"}
    assert live.call("POST", "/auth/logout-all", headers=everywhere).status_code == 204
    assert live.call("GET", "/auth/me", headers=everywhere).status_code == 401


def test_passkey_answers_match_the_schema(live: LiveApp) -> None:
    """Each passkey route's 2xx, produced by hand with the software authenticator."""
    bearer = live.bearer()
    start = live.call("POST", "/auth/passkeys/register/options", headers=bearer)
    assert start.status_code == 200
    credential, answer = authenticator.create(start.json()["publicKey"])
    body = {"challenge_id": start.json()["challenge_id"], "credential": answer}
    created = live.call(
        "POST", "/auth/passkeys/register/verify", headers=bearer, body=body, media_type=JSON
    )
    assert created.status_code == 201
    one = {"passkey_id": created.json()["id"]}
    assert live.call("GET", "/auth/passkeys", headers=bearer).status_code == 200
    renamed = live.call(
        "PATCH",
        "/auth/passkeys/{passkey_id}",
        path_parameters=one,
        headers=bearer,
        body={"name": "Phone"},
        media_type=JSON,
    )
    assert renamed.status_code == 200

    challenge = live.call("POST", "/auth/passkeys/login/options").json()
    signed = authenticator.get(challenge["publicKey"], credential)
    body = {"challenge_id": challenge["challenge_id"], "credential": signed}
    logged_in = live.call("POST", "/auth/passkeys/login/verify", body=body, media_type=JSON)
    assert logged_in.status_code == 200
    assert refresh_cookie(logged_in)
    removed = live.call(
        "DELETE",
        "/auth/passkeys/{passkey_id}",
        path_parameters=one,
        headers=bearer,
        body={"current_password": PASSWORD},
        media_type=JSON,
    )
    assert removed.status_code == 204


@schema.parametrize()
@FUZZ
def test_api_as_logged_in_user(case: schemathesis.Case[Any], live: LiveApp) -> None:
    response = case.call_and_validate(
        app=live.app, headers=live.bearer(), checks=[*CHECKS, ignored_auth]
    )
    if (case.method.upper(), case.path) in SESSION_ENDING and response.status_code < 300:
        live.forget_token()


@schema.parametrize()
@FUZZ
def test_api_anonymously(case: schemathesis.Case[Any], live: LiveApp) -> None:
    # Bearer-protected routes see only what schemathesis makes up for the security scheme.
    case.call_and_validate(app=live.app, checks=CHECKS)
