"""Authenticator: the one access-token check behind /auth/verify and every Bearer route."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from authsvc.errors import InvalidToken, NotAuthenticated, SessionEnded
from authsvc.revocation import MemoryRevocationList
from authsvc.services.authenticator import Authenticator
from authsvc.tokens import TokenService
from tests.support.settings import FakeClock, make_settings
from tests.support.tokens import access_token


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tokens(tmp_path: Path) -> TokenService:
    return TokenService(make_settings(tmp_path, access_token_ttl_seconds=60))


@pytest.fixture
def revocations() -> MemoryRevocationList:
    return MemoryRevocationList(remember_for=timedelta(minutes=5))


@pytest.fixture
def authenticator(
    tokens: TokenService, revocations: MemoryRevocationList, clock: FakeClock
) -> Authenticator:
    return Authenticator(tokens=tokens, revocations=revocations, clock=clock)


def _token(tokens: TokenService, clock: FakeClock, session_id: str = "s-1") -> str:
    return access_token(tokens, clock(), session_id=session_id)


async def test_valid_token_gives_its_claims(
    authenticator: Authenticator, tokens: TokenService, clock: FakeClock
) -> None:
    claims = await authenticator.authenticate(_token(tokens, clock))
    assert (claims.user_id, claims.username, claims.session_id) == ("u-1", "alice", "s-1")


@pytest.mark.parametrize("missing", [None, ""])
async def test_no_token_is_not_authenticated(
    authenticator: Authenticator, missing: str | None
) -> None:
    with pytest.raises(NotAuthenticated):
        await authenticator.authenticate(missing)


async def test_revoked_session_ends_at_once_and_others_stay(
    authenticator: Authenticator,
    tokens: TokenService,
    revocations: MemoryRevocationList,
    clock: FakeClock,
) -> None:
    revoked, other = _token(tokens, clock, "s-1"), _token(tokens, clock, "s-2")
    await revocations.add(["s-1"], revoked_at=clock())
    with pytest.raises(SessionEnded):
        await authenticator.authenticate(revoked)
    assert (await authenticator.authenticate(other)).session_id == "s-2"


async def test_expiry_is_judged_by_the_injected_clock(
    authenticator: Authenticator, tokens: TokenService, clock: FakeClock
) -> None:
    token = _token(tokens, clock)
    clock.advance(61 + 60)  # past exp and any leeway
    with pytest.raises(InvalidToken):
        await authenticator.authenticate(token)
