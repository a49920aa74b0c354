"""`GET /auth/me` without the router: the same answers, byte for byte, as the route gives,
refusals and errors included, each from one token check and one store read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from authsvc.api.current_user import CurrentUserMiddleware
from authsvc.app import create_app
from authsvc.deps import get_services
from authsvc.errors import StoreUnavailable
from authsvc.roles import ADMIN
from authsvc.settings import Settings
from authsvc.store.records import UserChanges
from tests.support.apps import asgi_client
from tests.support.http import Tokens, login, register
from tests.support.settings import FakeClock

NAME = "zoë-ü"  # non-ASCII, so the JSON encoding of both answers is compared too


def routed_only(settings: Settings, clock: FakeClock) -> FastAPI:
    """The app as it was before the lean path: every /auth/me through the router."""
    app = create_app(settings, clock=clock)
    lean: object = CurrentUserMiddleware
    app.user_middleware = [m for m in app.user_middleware if m.cls is not lean]
    return app


def refuse_the_router(app: FastAPI) -> None:
    """From now on, every request the router serves with the services fails."""

    def unavailable() -> None:
        raise RuntimeError("the router was asked")

    app.dependency_overrides[get_services] = unavailable


@pytest.fixture
async def apps(
    settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, FastAPI]]:
    lean, routed = create_app(settings, clock=clock), routed_only(settings, clock)
    async with (
        LifespanManager(lean),
        LifespanManager(routed),
        asgi_client(lean) as on_lean,
        asgi_client(routed) as on_routed,
    ):
        yield on_lean, on_routed, lean


def without_request_id(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in response.headers.raw if k.lower() != b"x-request-id"]


async def fill_profile(app: FastAPI, tokens: Tokens) -> None:
    store = app.state.services.core.store
    user = await store.get_user_by_username(NAME)
    changes = UserChanges(roles=("ops", "audit"), email="z@example.org", email_verified=True)
    await store.update_user(user.id, changes, now=user.created_at, keep_holder_of=ADMIN)


async def test_the_answer_is_the_routes_byte_for_byte(
    apps: tuple[httpx.AsyncClient, httpx.AsyncClient, FastAPI],
    clock: FakeClock,
    settings: Settings,
) -> None:
    on_lean, on_routed, lean = apps
    await register(on_lean, NAME)
    tokens = await login(on_lean, NAME)
    for _ in range(2):  # a bare profile, then one with roles and a verified address
        routed = await on_routed.get("/auth/me", headers=tokens.bearer)
        served = await on_lean.get("/auth/me", headers=tokens.bearer)
        assert routed.status_code == served.status_code == 200
        assert served.content == routed.content
        assert without_request_id(served) == without_request_id(routed)
        await fill_profile(lean, tokens)
        # The other app, like another process without Redis, sees it after the max age.
        clock.advance(settings.profile_cache_seconds)
    assert served.json()["roles"] == ["audit", "ops"]


async def test_a_successful_answer_never_reaches_the_router(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    refuse_the_router(app)
    me = await client.get("/auth/me", headers=alice.bearer)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}],
    ids=["none", "invalid", "other-scheme"],
)
async def test_refusals_are_the_routes_own(
    apps: tuple[httpx.AsyncClient, httpx.AsyncClient, FastAPI], headers: dict[str, str]
) -> None:
    on_lean, on_routed, _ = apps
    served = await on_lean.get("/auth/me", headers=headers)
    routed = await on_routed.get("/auth/me", headers=headers)
    assert served.status_code == routed.status_code == 401
    assert served.content == routed.content
    assert without_request_id(served) == without_request_id(routed)


async def test_other_methods_and_a_missing_token_go_to_the_router(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    assert (await client.head("/auth/me", headers=alice.bearer)).status_code == 405
    assert (await client.post("/auth/me", headers=alice.bearer)).status_code == 405
    refuse_the_router(app)
    with pytest.raises(RuntimeError, match="the router was asked"):
        await client.get("/auth/me")


async def test_refusals_are_answered_without_the_router(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens
) -> None:
    refuse_the_router(app)
    bad = await client.get("/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert bad.json() == {"detail": "Invalid or expired token"}
    # An ended account: the same refusal as the route's dependency gives.
    store = app.state.services.core.store
    user = await store.get_user_by_username("alice")
    await store.delete_user(user.id, now=user.created_at, keep_holder_of=ADMIN)
    gone = await client.get("/auth/me", headers=alice.bearer)
    assert gone.status_code == 401
    assert gone.headers["www-authenticate"] == "Bearer"


async def test_an_unavailable_store_is_one_503_from_one_check(
    app: FastAPI, client: httpx.AsyncClient, alice: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = app.state.services
    checks: list[str] = []
    authenticate = services.authenticator.authenticate

    async def counted(token: str) -> object:
        checks.append(token)
        return await authenticate(token)

    async def unavailable(user_id: str) -> object:
        raise StoreUnavailable("down")

    monkeypatch.setattr(services.authenticator, "authenticate", counted)
    monkeypatch.setattr(services.accounts, "profile", unavailable)
    answer = await client.get("/auth/me", headers=alice.bearer)
    assert answer.status_code == 503
    assert answer.json() == {"detail": "Service temporarily unavailable"}
    assert answer.headers["retry-after"] == "1"
    # Before, a failure made the route run again: two token checks and two store reads.
    assert len(checks) == 1
