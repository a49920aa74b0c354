"""SessionService on a real store: what opening a session checks, in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from authsvc.errors import InvalidCredentials
from authsvc.events import ClientInfo, Observer
from authsvc.metrics import Metrics
from authsvc.observers.fan_out import build_observer
from authsvc.services.accounts import AccountService
from authsvc.services.sessions import SessionService
from authsvc.settings import Settings
from authsvc.store import Store, open_store
from authsvc.store.records import UserRecord
from tests.support.http import PASSWORD
from tests.support.logs import security_events
from tests.support.scrape import Scrape
from tests.support.services import rig_core, rig_services
from tests.support.settings import FakeClock, make_settings

CLIENT = ClientInfo(ip="127.0.0.1", user_agent="test")


class PasswordChangedMidLogin(AccountService):
    """Authenticates for real, then lets a password change land before the session opens."""

    async def authenticate(self, username: str, password: str) -> UserRecord:
        user = await super().authenticate(username, password)
        new_hash = await self._passwords.hash("a brand new passphrase")
        await self._store.set_password_hash(user.id, new_hash, changed_at=self._clock())
        return user


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    async with open_store(settings.database_url, migrate=True) as opened:
        yield opened


@asynccontextmanager
async def racing(
    settings: Settings, store: Store, observer: Observer | None = None
) -> AsyncIterator[SessionService]:
    """The session flows as the container builds them, with alice registered, over account
    flows that let a password change land in the middle of each login."""
    async with rig_core(
        settings,
        store=store,
        clock=FakeClock(),
        observer=observer,
        accounts_class=PasswordChangedMidLogin,
    ) as core:
        services = rig_services(core)
        await services.accounts.create_user("alice", PASSWORD, email=None)
        yield services.sessions


async def test_login_whose_password_changed_after_the_check_opens_no_session(
    settings: Settings, store: Store
) -> None:
    async with racing(settings, store) as sessions:
        with pytest.raises(InvalidCredentials):
            await sessions.login("alice", PASSWORD, CLIENT)

    user = await store.get_user_by_username("alice")
    assert user is not None
    assert await store.list_active_sessions(user.id, now=FakeClock()()) == []


async def test_a_login_outpaced_by_a_password_change_is_logged_and_counted_as_failed(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.security")
    metrics = Metrics()
    async with racing(settings, store, build_observer(metrics)) as sessions:
        with pytest.raises(InvalidCredentials):
            await sessions.login("alice", PASSWORD, CLIENT)

    logged = security_events(caplog)
    assert [(line["event"], line["ip"]) for line in logged] == [
        ("login_password_changed", "127.0.0.1")
    ]
    counted = Scrape.parse(metrics.render(sessions_active=None).decode())
    assert counted.value("authsvc_logins_total", result="failed") == 1
    assert counted.value("authsvc_security_events_total", event="login_password_changed") == 1
