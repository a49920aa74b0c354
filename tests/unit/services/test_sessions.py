"""SessionService on a real store: what opening a session checks, in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from authsvc.errors import InvalidCredentials
from authsvc.events import ClientInfo, Observer
from authsvc.metrics import Metrics
from authsvc.observers.fan_out import build_observer
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.revocation import MemoryRevocationList
from authsvc.services.accounts import AccountService
from authsvc.services.sessions import SessionService
from authsvc.settings import Settings
from authsvc.store import Store, open_store
from authsvc.store.records import UserRecord
from authsvc.tokens import TokenService
from tests.support.http import PASSWORD
from tests.support.logs import security_events
from tests.support.scrape import Scrape
from tests.support.services import memory_revocations, memory_throttle
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


def make_accounts(
    settings: Settings,
    store: Store,
    accounts_class: type[AccountService] = AccountService,
) -> AccountService:
    return accounts_class(
        store=store,
        passwords=PasswordService(settings),
        policy=PasswordPolicy(settings),
        clock=FakeClock(),
        registration_enabled=True,
    )


def make_service(
    settings: Settings,
    store: Store,
    accounts_class: type[AccountService] = AccountService,
    observer: Observer | None = None,
) -> tuple[SessionService, MemoryRevocationList]:
    clock = FakeClock()
    accounts = make_accounts(settings, store, accounts_class)
    revocations = memory_revocations(settings)
    service = SessionService(
        store=store,
        tokens=TokenService(settings),
        accounts=accounts,
        revocations=revocations,
        throttle=memory_throttle(settings),
        settings=settings,
        clock=clock,
        observer=observer,
    )
    return service, revocations


async def test_login_whose_password_changed_after_the_check_opens_no_session(
    settings: Settings, store: Store
) -> None:
    await make_accounts(settings, store).create_user("alice", PASSWORD, email=None)
    racing, _ = make_service(settings, store, PasswordChangedMidLogin)

    with pytest.raises(InvalidCredentials):
        await racing.login("alice", PASSWORD, CLIENT)

    user = await store.get_user_by_username("alice")
    assert user is not None
    assert await store.list_active_sessions(user.id, now=FakeClock()()) == []


async def test_a_login_outpaced_by_a_password_change_is_logged_and_counted_as_failed(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.security")
    await make_accounts(settings, store).create_user("alice", PASSWORD, email=None)
    metrics = Metrics()
    racing, _ = make_service(
        settings, store, PasswordChangedMidLogin, observer=build_observer(metrics)
    )

    with pytest.raises(InvalidCredentials):
        await racing.login("alice", PASSWORD, CLIENT)

    logged = security_events(caplog)
    assert [(line["event"], line["ip"]) for line in logged] == [
        ("login_password_changed", "127.0.0.1")
    ]
    counted = Scrape.parse(metrics.render(sessions_active=None).decode())
    assert counted.value("authsvc_logins_total", result="failed") == 1
    assert counted.value("authsvc_security_events_total", event="login_password_changed") == 1
