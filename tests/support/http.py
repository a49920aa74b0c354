"""The client side of the API, for in-process apps and real servers alike.

One vocabulary: the password, the CSRF header, the refresh cookie, a `Tokens` pair, and the
register/login/refresh steps, async (`httpx.AsyncClient`, the app in-process) and blocking
(`httpx.Client`, a real server; the `_sync` names).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import httpx

from authsvc.settings import HOST_COOKIE_NAME
from tests.support.polling import eventually

PASSWORD = "correct horse battery staple"
BASE_URL = "https://authsvc.test"
# The refresh cookie's name under the default settings (Secure, no COOKIE_DOMAIN): host-only.
COOKIE = HOST_COOKIE_NAME
# The cookie routes require this header (api/csrf.py), as an SPA's fetch wrapper sends it.
CSRF_HEADER = {"X-Requested-With": "XMLHttpRequest"}


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@dataclass(frozen=True)
class Tokens:
    """An access token and the refresh token of the same session."""

    access: str
    refresh: str

    @property
    def bearer(self) -> dict[str, str]:
        return bearer(self.access)


def cookie_header(refresh_token: str) -> dict[str, str]:
    """Send a refresh token by hand, whatever a client's jar holds (a `Secure` cookie is never
    returned over http://)."""
    return {"Cookie": f"{COOKIE}={refresh_token}", **CSRF_HEADER}


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]  # lower-cased names; flags such as HttpOnly map to ""


def parse_set_cookie(header: str) -> SetCookie:
    """One raw `Set-Cookie` header, split exactly as it came over the wire (RFC 6265 §4.1)."""
    pair, *parts = (part.strip() for part in header.split(";"))
    name, _, value = pair.partition("=")
    attributes = {}
    for part in parts:
        key, _, attr_value = part.partition("=")
        attributes[key.strip().lower()] = attr_value.strip()
    return SetCookie(name=name.strip(), value=value.strip(), attributes=attributes)


def only_set_cookie(response: httpx.Response) -> SetCookie:
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    return parse_set_cookie(headers[0])


def set_cookie_jar(response: httpx.Response) -> SimpleCookie:
    """Every `Set-Cookie` of a response, as the standard library's cookie parser reads them."""
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


def new_refresh_token(response: httpx.Response) -> str:
    cookie = set_cookie_jar(response)
    assert COOKIE in cookie, "expected a rotated refresh cookie"
    return cookie[COOKIE].value


def token_pair(response: httpx.Response) -> Tokens:
    """The access token and the rotated refresh cookie of a 200 login or refresh answer."""
    assert response.status_code == 200, response.text
    cookie = only_set_cookie(response)
    assert cookie.name == COOKIE
    assert cookie.value
    return Tokens(access=response.json()["access_token"], refresh=cookie.value)


def _registered(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def _credentials(username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password}


async def register(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD
) -> dict[str, Any]:
    return _registered(await client.post("/auth/register", json=_credentials(username, password)))


async def login(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD
) -> Tokens:
    return token_pair(await client.post("/auth/login", json=_credentials(username, password)))


@asynccontextmanager
async def signed_in(
    base_url: str, *, request_timeout: float = 20
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A client of the server at `base_url`, and the Bearer header of alice, logged in there."""
    async with httpx.AsyncClient(base_url=base_url, timeout=request_timeout) as client:
        yield client, (await login(client)).bearer


async def at_once(
    times: int, send: Callable[[], Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """The same request sent `times` times at the same moment."""
    return list(await asyncio.gather(*(send() for _ in range(times))))


def sorted_statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(response.status_code for response in responses)


async def post_with_cookie(
    client: httpx.AsyncClient, path: str, refresh_token: str
) -> httpx.Response:
    """POST a cookie route with exactly this refresh token (the client's jar emptied first)."""
    client.cookies.clear()
    return await client.post(path, headers=cookie_header(refresh_token))


async def rotate(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await post_with_cookie(client, "/auth/refresh", refresh_token)


async def get_page(
    client: httpx.AsyncClient, path: str, tokens: Tokens, **params: Any
) -> dict[str, Any]:
    """One page of a paged list, which must answer 200 and never be cached."""
    return _page(await client.get(path, headers=tokens.bearer, params=params))


def get_page_sync(client: httpx.Client, path: str, tokens: Tokens, **params: Any) -> dict[str, Any]:
    return _page(client.get(path, headers=tokens.bearer, params=params))


def _page(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def assert_session_dead(client: httpx.AsyncClient, tokens: Tokens) -> None:
    me = await client.get("/auth/me", headers=tokens.bearer)
    assert me.status_code == 401
    assert me.headers["www-authenticate"] == "Bearer"
    refreshed = await rotate(client, tokens.refresh)
    assert refreshed.status_code == 401
    assert refreshed.headers["www-authenticate"] == "Bearer"


async def seconds_until_refused(
    client: httpx.AsyncClient, tokens: Tokens, *, within: float = 1.0
) -> float:
    """Seconds until `client`'s app refuses the access token (another replica revoked it)."""
    started = time.monotonic()

    async def refused() -> None:
        response = await client.get("/auth/verify", headers=tokens.bearer)
        assert response.status_code == 401, "the revocation never reached the other replica"

    await eventually(refused, timeout=within, interval=0.005)
    return time.monotonic() - started


async def preflight(
    client: httpx.AsyncClient,
    path: str,
    origin: str,
    requested_headers: str,
    *,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """A browser's CORS preflight for a POST to `path` from a page on `origin`."""
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": requested_headers,
    }
    return await client.options(path, headers={**headers, **(extra or {})})


def register_sync(
    client: httpx.Client, username: str, password: str = PASSWORD, *, email: str | None = None
) -> dict[str, Any]:
    body: dict[str, str] = _credentials(username, password)
    if email is not None:
        body["email"] = email
    return _registered(client.post("/auth/register", json=body))


def login_sync(client: httpx.Client, username: str, password: str = PASSWORD) -> Tokens:
    return token_pair(client.post("/auth/login", json=_credentials(username, password)))


def refresh_sync(client: httpx.Client, refresh_token: str) -> httpx.Response:
    return client.post("/auth/refresh", headers=cookie_header(refresh_token))
