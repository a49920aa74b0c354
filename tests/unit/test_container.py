"""The container: every object built once, with one clock, and everything closed on exit."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from authsvc.container import Services, open_services
from authsvc.core import open_core
from authsvc.errors import InvalidToken, SessionEnded
from authsvc.events import EventKind, SecurityEvent
from authsvc.metrics import Metrics
from authsvc.services.sessions import ClientInfo
from authsvc.settings import ManagementSettings, Settings
from tests.support.apps import asgi_client, running_app
from tests.support.fakes import InMemoryStore
from tests.support.http import PASSWORD, login, register
from tests.support.scrape import Scrape
from tests.support.settings import FakeClock, make_settings

CLIENT = ClientInfo(ip="127.0.0.1", user_agent="test")


def argon2_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("argon2")}


async def register_and_log_in_twice(settings: Settings) -> set[threading.Thread]:
    """Serves two logins of one user through a started app; the argon2 threads meanwhile."""
    async with running_app(settings) as app:
        services: Services = app.state.services
        async with asgi_client(app) as client:
            await register(client)
            first, second = await login(client), await login(client)
        assert first.access != second.access
        # Both logins went through the one SessionService: its store holds both sessions.
        user = (await services.core.store.list_users())[0]
        now = services.core.clock()
        assert len(await services.core.store.list_active_sessions(user.id, now=now, limit=9)) == 2
        assert app.state.services is services
        return argon2_threads()


async def test_the_app_state_holds_only_the_container(settings: Settings) -> None:
    async with running_app(settings) as app:
        assert isinstance(app.state.services, Services)
        assert set(app.state._state) == {"services"}


async def test_requests_share_the_services_built_at_startup(settings: Settings) -> None:
    await register_and_log_in_twice(settings)


async def test_the_lifespan_shuts_the_argon2_pool_down(settings: Settings) -> None:
    before = argon2_threads()
    assert await register_and_log_in_twice(settings) - before, "logins hash in the argon2 pool"
    assert not (argon2_threads() - before)


async def test_one_clock_reaches_the_sessions_and_the_authenticator(settings: Settings) -> None:
    clock = FakeClock()
    async with open_services(settings, clock=clock) as services:
        await services.accounts.create_user("alice", PASSWORD, email=None)
        issued = await services.sessions.login("alice", PASSWORD, CLIENT)
        claims = await services.authenticator.authenticate(issued.access.token)
        assert claims.session_id == issued.session_id
        clock.advance(settings.access_token_ttl_seconds + settings.jwt_leeway_seconds + 1)
        with pytest.raises(InvalidToken):
            await services.authenticator.authenticate(issued.access.token)
        # The session's own clock moved too: the page of live sessions is read at the same now.
        page = await services.sessions.list_sessions(claims, limit=10)
        assert [s.id for s in page.sessions] == [issued.session_id]
        clock.advance(settings.session_max_lifetime_seconds)
        assert (await services.sessions.list_sessions(claims, limit=10)).sessions == []


async def test_the_observer_counts_in_the_metrics_when_there_are_metrics(
    settings: Settings,
) -> None:
    metrics = Metrics()
    async with open_services(settings, metrics=metrics) as services:
        assert services.metrics is metrics
        assert services.core.observer is services.observer
        await services.observer.record(SecurityEvent(EventKind.LOGIN_FAILED))
    counted = Scrape.parse(metrics.render(sessions_active=0).decode())
    assert counted.value("authsvc_security_events_total", event="login_failed") == 1
    async with open_services(settings) as services:
        assert services.metrics is None


async def test_a_revoked_session_ends_for_the_authenticator(settings: Settings) -> None:
    async with open_services(settings) as services:
        await services.accounts.create_user("alice", PASSWORD, email=None)
        issued = await services.sessions.login("alice", PASSWORD, CLIENT)
        claims = await services.authenticator.authenticate(issued.access.token)
        await services.sessions.logout_all(claims)
        with pytest.raises(SessionEnded):
            await services.authenticator.authenticate(issued.access.token)


async def test_commands_open_the_core_without_signing_secrets(tmp_path: Path) -> None:
    settings = ManagementSettings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'authsvc.db'}"
    )
    before = argon2_threads()
    async with open_core(settings, migrate=True) as core:
        user = await core.accounts().create_user("alice", PASSWORD, email=None)
        assert [u.id for u in await core.store.list_users()] == [user.id]
    assert not (argon2_threads() - before)


async def test_commands_and_the_app_both_write_the_audit_log(tmp_path: Path) -> None:
    settings = ManagementSettings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'authsvc.db'}"
    )
    event = SecurityEvent(EventKind.PASSWORD_CHANGED, user_id="u1")
    async with open_core(settings, migrate=True) as core:
        await core.observer.record(event)
    app_settings = make_settings(tmp_path)
    async with open_services(app_settings) as services:
        await services.observer.record(event)
        # A container over another store writes that store's audit log.
        other = services.with_store(InMemoryStore())
        await other.observer.record(event)
        stored = await services.core.store.list_audit_events(subject_id="u1", limit=10)
        assert [e.kind for e in stored] == ["password_changed"] * 2
        assert isinstance(other.core.store, InMemoryStore)
        assert [e.subject_id for e in other.core.store.audit] == ["u1"]
