"""What the tests of the lean endpoints (lean_refresh.py, lean_login.py) compare them with: the
FastAPI route over the same running services, and an answer as a client sees it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from authsvc.api import auth
from authsvc.api.cookies import RefreshCookie
from authsvc.api.csrf import csrf_header_openapi
from authsvc.api.errors import install_error_handlers
from authsvc.settings import Settings
from tests.support.apps import asgi_client
from tests.support.http import parse_set_cookie

# What the route itself sets; the rest (request id, security headers, CORS) is the
# middlewares', which wrap both alike.
COMPARED = ("content-type", "content-length", "cache-control", "pragma", "www-authenticate",
            "retry-after", "allow")  # fmt: skip
# Body fields that differ on every answer, blanked out before answers are compared.
SECRETS = ("access_token", "mfa_token")


@asynccontextmanager
async def lean_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app, with no header of its own: each case sends exactly what it says."""
    async with asgi_client(app, headers=None) as client:
        yield client


@asynccontextmanager
async def routed_client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The FastAPI routes of api/auth.py alone, reached through a router, over `app`'s running
    services (the same ones, also when a test swaps them)."""
    plain = FastAPI()
    install_error_handlers(plain)
    plain.include_router(
        auth.build_router(
            RefreshCookie.from_settings(settings), csrf_openapi=csrf_header_openapi(settings)
        )
    )
    plain.state = app.state
    async with asgi_client(plain, headers=None) as client:
        yield client


def seen_by_a_client(response: httpx.Response) -> tuple[object, ...]:
    """The answer with the token values, different on each answer, blanked out."""
    body: object = response.content
    if response.content and response.headers.get("content-type") == "application/json":
        body = json.loads(response.content)
        for secret in SECRETS:
            if isinstance(body, dict) and secret in body:
                assert body[secret]
                body[secret] = f"<{secret}>"
    cookies = []
    for header in response.headers.get_list("set-cookie"):
        parsed = parse_set_cookie(header)
        cookies.append((parsed.name, "<refresh>" if parsed.value else "", parsed.attributes))
    return (
        response.status_code,
        body,
        cookies,
        [response.headers.get(name) for name in COMPARED],
    )


async def reached_through(
    gateway: Callable[[ASGIApp, ASGIApp], ASGIApp], requests: list[tuple[str, str]]
) -> list[str]:
    """Which of the app and the lean endpoint each request (method, path) reaches through
    `gateway(app, lean)`, both recording what reaches them."""
    reached: list[str] = []

    def recorder(name: str) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            reached.append(f"{name} {scope['method']} {scope['path']}")

        return app

    async def never() -> dict[str, object]:
        raise AssertionError("nothing is read here")

    async def ignore(_: object) -> None:
        raise AssertionError("nothing is sent here")

    middleware = gateway(recorder("app"), recorder("lean"))
    for method, path in requests:
        scope = {"type": "http", "method": method, "path": path, "headers": []}
        await middleware(scope, never, ignore)
    return reached
