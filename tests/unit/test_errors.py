"""The error table and the handlers that turn exceptions into `{"detail": …}` answers."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

import authsvc
from authsvc.api.errors import HTTP_STATUS, install_error_handlers, status_for
from authsvc.errors import (
    AuthError,
    InvalidCredentials,
    InvalidToken,
    InvalidUsername,
    NotAuthenticated,
    PasswordRejected,
    RefreshReused,
    RegistrationClosed,
    SessionEnded,
    SessionNotFound,
    StoreUnavailable,
    UsernameTaken,
    WrongPassword,
)
from tests.support.http import BASE_URL

SUBMITTED_SECRET = "hunter2-Sup3r-Secret-Passphrase"
INTERNAL = "internal detail for the log"

EXPECTED: dict[type[AuthError], int] = {
    NotAuthenticated: 401,
    InvalidCredentials: 401,
    WrongPassword: 401,
    InvalidToken: 401,
    SessionEnded: 401,
    RefreshReused: 401,
    RegistrationClosed: 403,
    SessionNotFound: 404,
    UsernameTaken: 409,
    InvalidUsername: 422,
    PasswordRejected: 422,
    StoreUnavailable: 503,
}
UNAUTHORIZED = [cls for cls, status in EXPECTED.items() if status == 401]


def param_id(value: object) -> str:
    return getattr(value, "__name__", str(value))


def _import_all_of_authsvc() -> None:
    # Subclasses register themselves on import; a service module defining its own error must
    # be seen. Alembic's env.py runs a migration when imported, so it is left out.
    for module in pkgutil.walk_packages(authsvc.__path__, "authsvc."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)


def auth_error_classes() -> list[type[AuthError]]:
    _import_all_of_authsvc()
    found: list[type[AuthError]] = []
    pending = list(AuthError.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("authsvc"):
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


# The table


def test_every_domain_error_is_found() -> None:
    assert set(EXPECTED) <= set(auth_error_classes())


@pytest.mark.parametrize("cls", auth_error_classes(), ids=param_id)
def test_every_auth_error_has_a_status(cls: type[AuthError]) -> None:
    status, detail = status_for(cls())
    assert status != 500
    assert 400 <= status < 600
    assert detail
    assert cls in HTTP_STATUS


@pytest.mark.parametrize(("cls", "status"), EXPECTED.items(), ids=param_id)
def test_status_of_each_error(cls: type[AuthError], status: int) -> None:
    assert status_for(cls())[0] == status


@pytest.mark.parametrize("cls", UNAUTHORIZED, ids=param_id)
def test_authentication_failures_are_401(cls: type[AuthError]) -> None:
    assert status_for(cls())[0] == 401


def test_subclasses_inherit_their_parents_answer() -> None:
    class ExpiredToken(InvalidToken):
        pass

    assert status_for(ExpiredToken("expired at 12:00")) == (401, "Invalid or expired token")


def test_bare_auth_error_is_a_500() -> None:
    assert status_for(AuthError("unmapped")) == (500, "Internal server error")


@pytest.mark.parametrize(
    ("exc", "internal"),
    [
        (InvalidToken("signature mismatch for key test-access-secret"), "signature"),
        (InvalidCredentials("user-id-1234"), "user-id-1234"),
        (StoreUnavailable("postgresql://authsvc:pw@db/authsvc refused"), "postgresql"),
        (UsernameTaken("alice"), "alice"),
        (SessionEnded("revoked by admin 42"), "admin"),
    ],
)
def test_internal_messages_are_not_shown(exc: AuthError, internal: str) -> None:
    _, detail = status_for(exc)
    assert detail == HTTP_STATUS[type(exc)][1]
    assert internal not in detail


def test_policy_errors_explain_the_rule() -> None:
    assert status_for(PasswordRejected("Password is too common")) == (
        422,
        "Password is too common",
    )
    assert status_for(InvalidUsername("Username must be 3 to 64 characters long"))[1] == (
        "Username must be 3 to 64 characters long"
    )
    # Without a message, the fixed text.
    assert status_for(PasswordRejected()) == (422, "Password does not meet the policy")


# The handlers, on a throwaway app


class Credentials(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=8, max_length=16)


def build_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    by_name = {cls.__name__: cls for cls in EXPECTED}

    @app.get("/raise/{name}")
    async def raise_auth_error(name: str) -> None:
        raise by_name[name](INTERNAL)

    @app.get("/bare-auth-error")
    async def bare() -> None:
        raise AuthError("nobody mapped me")

    @app.get("/http/{status}")
    async def http_error(status: int) -> None:
        raise HTTPException(status, detail="from HTTPException", headers={"X-Extra": "1"})

    @app.post("/login")
    async def login(body: Credentials) -> dict[str, str]:
        return {"username": body.username}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"db password is {SUBMITTED_SECRET}")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # Starlette's ServerErrorMiddleware sends the 500 and then re-raises for the server to
    # log; the transport must not turn that re-raise into a test failure.
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


@pytest.mark.parametrize(("cls", "status"), EXPECTED.items(), ids=param_id)
async def test_auth_errors_become_detail_responses(
    client: httpx.AsyncClient, cls: type[AuthError], status: int
) -> None:
    response = await client.get(f"/raise/{cls.__name__}")

    assert response.status_code == status
    if cls in (PasswordRejected, InvalidUsername):
        # These messages are written for the user and name the rule.
        assert response.json() == {"detail": INTERNAL}
    else:
        assert response.json() == {"detail": HTTP_STATUS[cls][1]}
        assert INTERNAL not in response.text
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert "www-authenticate" not in response.headers
    if status == 503:
        assert response.headers["retry-after"] == "1"


async def test_unmapped_auth_error_is_a_plain_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/bare-auth-error")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "nobody mapped me" not in response.text


async def test_http_401_gets_the_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/401")
    assert response.status_code == 401
    assert response.json() == {"detail": "from HTTPException"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["x-extra"] == "1"


async def test_other_http_errors_keep_their_headers_without_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/http/403")
    assert response.status_code == 403
    assert response.json() == {"detail": "from HTTPException"}
    assert response.headers["x-extra"] == "1"
    assert "www-authenticate" not in response.headers


async def test_unknown_route_is_a_detail_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_a_detail_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 405
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": SUBMITTED_SECRET},  # too long
        {"username": SUBMITTED_SECRET * 3, "password": "short"},  # both wrong
        {"username": "alice", "password": [SUBMITTED_SECRET]},  # wrong type
        {"username": {"nested": SUBMITTED_SECRET}, "password": "goodpass"},
        [SUBMITTED_SECRET],  # not an object
    ],
)
async def test_validation_errors_do_not_echo_the_input(
    client: httpx.AsyncClient, body: object
) -> None:
    response = await client.post("/login", json=body)

    assert response.status_code == 422
    assert SUBMITTED_SECRET not in response.text
    assert SUBMITTED_SECRET[:12] not in response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail
    for error in detail:
        assert set(error) == {"loc", "msg", "type"}
        assert error["loc"][0] == "body"


async def test_validation_error_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/login", json={"username": "alice", "password": "x" * 40})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "password"]
    assert error["type"] == "string_too_long"
    assert "x" * 17 not in response.text


async def test_invalid_json_does_not_echo_the_input(client: httpx.AsyncClient) -> None:
    raw = '{"username": "alice", "password": "' + SUBMITTED_SECRET + '"'  # unterminated
    response = await client.post(
        "/login", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert SUBMITTED_SECRET not in response.text


async def test_valid_body_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/login", json={"username": "alice", "password": "goodpass"})
    assert response.status_code == 200
    assert response.json() == {"username": "alice"}


async def test_unexpected_exception_is_an_opaque_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="authsvc.errors"):
        response = await client.get("/boom")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert SUBMITTED_SECRET not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    # The trace goes to the log instead.
    records = [r for r in caplog.records if r.name == "authsvc.errors"]
    assert records
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], RuntimeError)
