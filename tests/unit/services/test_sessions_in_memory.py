"""SessionService over the in-memory store: every rotation outcome and every way a session ends.

The store is tests/support/fakes.py's, held to the SQL store's behaviour by its contract test,
so these run without a database; argon2 runs only where a password is hashed or checked for real.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from authsvc.errors import InvalidCredentials, RefreshReused, SessionEnded, SessionNotFound
from authsvc.events import ClientInfo, EventKind, SecurityEvent
from authsvc.revocation import RevocationList
from authsvc.services.accounts import AccountService
from authsvc.services.sessions import IssuedTokens, SessionService
from authsvc.store.records import UserRecord
from authsvc.tokens import AccessClaims, TokenService
from tests.support.fakes import InMemoryStore
from tests.support.http import PASSWORD
from tests.support.services import rig_core, rig_services
from tests.support.settings import FakeClock, make_settings

CLIENT = ClientInfo(ip="127.0.0.1", user_agent="test")
GRACE = 5.0


@dataclass
class RecordingObserver:
    events: list[SecurityEvent] = field(default_factory=list)

    async def record(self, event: SecurityEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[EventKind]:
        return [event.kind for event in self.events]


class PasswordChangedMidLogin(AccountService):
    """Checks the password for real, then lets a password change land before the session opens."""

    async def authenticate(self, username: str, password: str) -> UserRecord:
        user = await super().authenticate(username, password)
        # Any other hash stands for the new password: the store compares hashes only.
        await self._store.set_password_hash(user.id, "$argon2id$other", changed_at=self._clock())
        return user


@dataclass
class Rig:
    service: SessionService
    accounts: AccountService
    store: InMemoryStore
    tokens: TokenService
    revocations: RevocationList
    clock: FakeClock
    observer: RecordingObserver

    async def login(self) -> IssuedTokens:
        return await self.service.login("alice", PASSWORD, CLIENT)

    def claims(self, issued: IssuedTokens) -> AccessClaims:
        return self.tokens.verify_access(issued.access.token, now=self.clock())

    def refresh(self, issued: IssuedTokens) -> str:
        assert issued.refresh is not None
        return issued.refresh.token

    async def is_revoked(self, session_id: str) -> bool:
        return await self.revocations.is_revoked(session_id, now=self.clock())


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[MakeRig]:
    """Builds the services as the container's `assemble()` does, over the in-memory store."""
    async with AsyncExitStack() as stack:

        async def make(
            accounts_class: type[AccountService] = AccountService, **overrides: object
        ) -> Rig:
            settings = make_settings(tmp_path, refresh_grace_seconds=GRACE, **overrides)
            clock, store, observer = FakeClock(), InMemoryStore(), RecordingObserver()
            core = await stack.enter_async_context(
                rig_core(
                    settings,
                    store=store,
                    clock=clock,
                    observer=observer,
                    accounts_class=accounts_class,
                )
            )
            services = rig_services(core)
            await services.accounts.create_user("alice", PASSWORD, email=None)
            return Rig(
                services.sessions,
                services.accounts,
                store,
                services.tokens,
                services.revocations,
                clock,
                observer,
            )

        yield make


@pytest.fixture
async def rig(make_rig: MakeRig) -> Rig:
    return await make_rig()


async def test_login_opens_a_session(rig: Rig) -> None:
    issued = await rig.login()

    session = rig.store.sessions[issued.session_id]
    assert session.is_active(rig.clock())
    assert (session.user_agent, session.ip) == ("test", "127.0.0.1")
    claims = rig.claims(issued)
    assert (claims.username, claims.session_id) == ("alice", issued.session_id)
    assert issued.refresh is not None
    # JWT times are whole seconds.
    assert issued.refresh.expires_at == session.idle_expires_at.replace(microsecond=0)
    assert rig.observer.kinds() == [EventKind.LOGIN_SUCCEEDED]


async def test_a_wrong_password_opens_nothing(rig: Rig) -> None:
    with pytest.raises(InvalidCredentials):
        await rig.service.login("alice", "not the passphrase at all", CLIENT)

    assert rig.store.sessions == {}
    assert rig.observer.kinds() == [EventKind.LOGIN_FAILED]


async def test_rotation_gives_a_new_refresh_token(rig: Rig) -> None:
    issued = await rig.login()
    rig.clock.advance(60)

    rotated = await rig.service.rotate(rig.refresh(issued), CLIENT)

    assert rotated.session_id == issued.session_id
    assert rotated.refresh is not None
    assert rotated.refresh.token != rig.refresh(issued)
    assert rig.store.sessions[issued.session_id].generation == 1
    assert rig.claims(rotated).session_id == issued.session_id
    # The new token rotates in turn.
    again = await rig.service.rotate(rotated.refresh.token, CLIENT)
    assert again.refresh is not None
    assert rig.observer.kinds()[-2:] == [EventKind.REFRESH_ROTATED] * 2


async def test_the_just_superseded_token_inside_the_grace_window_gets_only_an_access_token(
    rig: Rig,
) -> None:
    issued = await rig.login()
    rotated = await rig.service.rotate(rig.refresh(issued), CLIENT)
    rig.clock.advance(GRACE)

    replayed = await rig.service.rotate(rig.refresh(issued), CLIENT)

    assert replayed.refresh is None
    assert rig.claims(replayed).session_id == issued.session_id
    assert not await rig.is_revoked(issued.session_id)
    assert rig.observer.kinds()[-1] is EventKind.REFRESH_GRACE_REPLAYED
    # The newer token stays the session's current one.
    assert (await rig.service.rotate(rig.refresh(rotated), CLIENT)).refresh is not None


async def test_the_superseded_token_after_the_window_is_reuse_and_revokes_the_session(
    rig: Rig,
) -> None:
    issued = await rig.login()
    rotated = await rig.service.rotate(rig.refresh(issued), CLIENT)
    rig.clock.advance(GRACE + 1)

    with pytest.raises(RefreshReused):
        await rig.service.rotate(rig.refresh(issued), CLIENT)

    assert rig.store.sessions[issued.session_id].revoked_reason == "reuse"
    assert await rig.is_revoked(issued.session_id)
    assert rig.observer.events[-1] == SecurityEvent(
        EventKind.REFRESH_REUSE_DETECTED,
        user_id=rig.claims(rotated).user_id,
        session_id=issued.session_id,
        client=CLIENT,
    )
    # Whoever holds the newer token is signed out too.
    with pytest.raises(SessionEnded) as ended:
        await rig.service.rotate(rig.refresh(rotated), CLIENT)
    assert not isinstance(ended.value, RefreshReused)


async def test_an_older_generation_inside_the_window_is_reuse(rig: Rig) -> None:
    issued = await rig.login()
    first = await rig.service.rotate(rig.refresh(issued), CLIENT)
    await rig.service.rotate(rig.refresh(first), CLIENT)

    with pytest.raises(RefreshReused):
        await rig.service.rotate(rig.refresh(issued), CLIENT)

    assert await rig.is_revoked(issued.session_id)


async def test_an_ended_session_does_not_rotate(rig: Rig) -> None:
    issued = await rig.login()
    await rig.service.logout(rig.refresh(issued))

    with pytest.raises(SessionEnded) as ended:
        await rig.service.rotate(rig.refresh(issued), CLIENT)

    assert not isinstance(ended.value, RefreshReused)


async def test_an_unknown_session_does_not_rotate(rig: Rig) -> None:
    issued = await rig.login()
    claims = rig.claims(issued)
    stray = rig.tokens.issue_refresh(
        user_id=claims.user_id,
        session_id=str(uuid.uuid4()),
        now=rig.clock(),
        expires_at=rig.clock() + timedelta(hours=1),
        jti="stray",
    )

    with pytest.raises(SessionEnded):
        await rig.service.rotate(stray.token, CLIENT)


async def test_the_absolute_lifetime_caps_the_idle_expiry(make_rig: MakeRig) -> None:
    rig = await make_rig(refresh_token_ttl_seconds=600, session_max_lifetime_seconds=900)
    issued = await rig.login()
    session = rig.store.sessions[issued.session_id]
    assert session.idle_expires_at == session.created_at + timedelta(seconds=600)
    rig.clock.advance(500)

    rotated = await rig.service.rotate(rig.refresh(issued), CLIENT)

    renewed = rig.store.sessions[issued.session_id]
    assert renewed.idle_expires_at == session.absolute_expires_at
    assert rotated.refresh is not None
    assert rotated.refresh.expires_at == session.absolute_expires_at.replace(microsecond=0)
    assert rotated.access.expires_at <= session.absolute_expires_at


async def test_the_per_user_cap_ends_the_least_recently_used(make_rig: MakeRig) -> None:
    rig = await make_rig(max_sessions_per_user=2)
    first = await rig.login()
    rig.clock.advance(1)
    second = await rig.login()
    rig.clock.advance(1)
    await rig.service.rotate(rig.refresh(first), CLIENT)  # now the second is least recent
    rig.clock.advance(1)

    third = await rig.login()

    live = await rig.store.list_active_sessions(rig.claims(third).user_id, now=rig.clock())
    assert {s.id for s in live} == {first.session_id, third.session_id}
    assert rig.store.sessions[second.session_id].revoked_reason == "session_limit"
    assert await rig.is_revoked(second.session_id)
    assert not await rig.is_revoked(first.session_id)
    assert (
        SecurityEvent(
            EventKind.SESSIONS_REVOKED,
            user_id=rig.claims(third).user_id,
            # The login that went beyond the cap: where it came from.
            client=CLIENT,
            reason="session_limit",
            count=1,
        )
        in rig.observer.events
    )


async def test_a_password_changed_between_check_and_open_refuses_the_login(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(PasswordChangedMidLogin)

    with pytest.raises(InvalidCredentials):
        await rig.login()

    assert rig.store.sessions == {}
    assert rig.observer.kinds()[-1] is EventKind.LOGIN_PASSWORD_CHANGED


async def test_logout_ends_the_session_and_ignores_unusable_tokens(rig: Rig) -> None:
    issued = await rig.login()
    await rig.service.logout(None)
    await rig.service.logout("not a token")
    assert not await rig.is_revoked(issued.session_id)

    await rig.service.logout(rig.refresh(issued))

    assert rig.store.sessions[issued.session_id].revoked_reason == "logout"
    assert await rig.is_revoked(issued.session_id)
    assert rig.observer.events[-1] == SecurityEvent(
        EventKind.SESSION_REVOKED,
        user_id=rig.store.sessions[issued.session_id].user_id,
        session_id=issued.session_id,
        reason="logout",
    )


async def test_logout_all_ends_every_session_of_the_user(rig: Rig) -> None:
    sessions = [await rig.login() for _ in range(2)]

    await rig.service.logout_all(rig.claims(sessions[0]))

    for issued in sessions:
        assert rig.store.sessions[issued.session_id].revoked_reason == "logout_all"
        assert await rig.is_revoked(issued.session_id)
    assert rig.observer.events[-1].count == 2


async def test_end_session_ends_only_the_callers_own(rig: Rig) -> None:
    mine, other = await rig.login(), await rig.login()
    claims = rig.claims(mine)
    stranger = AccessClaims(
        user_id=str(uuid.uuid4()),
        username="mallory",
        session_id=str(uuid.uuid4()),
        jti="j",
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
    )

    with pytest.raises(SessionNotFound):
        await rig.service.end_session(stranger, other.session_id)
    with pytest.raises(SessionNotFound):
        await rig.service.end_session(claims, "not-an-id")
    with pytest.raises(SessionNotFound):
        await rig.service.end_session(claims, str(uuid.uuid4()))
    assert not await rig.is_revoked(other.session_id)

    await rig.service.end_session(claims, other.session_id)

    assert rig.store.sessions[other.session_id].revoked_reason == "signed_out"
    assert await rig.is_revoked(other.session_id)
    assert rig.store.sessions[mine.session_id].revoked_at is None
    with pytest.raises(SessionNotFound):  # once
        await rig.service.end_session(claims, other.session_id)


async def test_list_sessions_pages_through_the_callers_sessions(rig: Rig) -> None:
    opened = []
    for _ in range(3):
        opened.append(await rig.login())
        rig.clock.advance(1)
    claims = rig.claims(opened[0])

    first = await rig.service.list_sessions(claims, limit=2)
    assert first.next_cursor is not None
    last = await rig.service.list_sessions(claims, limit=2, cursor=first.next_cursor)

    assert [s.id for s in first.sessions + last.sessions] == [
        issued.session_id for issued in reversed(opened)
    ]
    assert last.next_cursor is None
