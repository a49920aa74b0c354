"""The verified-token cache behind `Authenticator`: it spares the signature check, nothing else.

Each test counts the verifications `TokenService` really does, so "served from the cache" and
"verified again" are told apart, and compares the cached answer with a fresh verification.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from authsvc.errors import InvalidToken, SessionEnded
from authsvc.revocation import MemoryRevocationList
from authsvc.services.authenticator import Authenticator
from authsvc.settings import Settings
from authsvc.tokens import AccessClaims, TokenService
from tests.support.settings import FakeClock, make_settings
from tests.support.tokens import access_token

TTL = 60
LEEWAY = 10


class CountingTokenService(TokenService):
    """The real service, counting the access tokens it verifies."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.verified = 0

    def verify_access(self, token: str, *, now: datetime) -> AccessClaims:
        self.verified += 1
        return super().verify_access(token, now=now)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, access_token_ttl_seconds=TTL, jwt_leeway_seconds=LEEWAY)


@pytest.fixture
def tokens(settings: Settings) -> CountingTokenService:
    return CountingTokenService(settings)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def revocations() -> MemoryRevocationList:
    return MemoryRevocationList(remember_for=timedelta(seconds=TTL + LEEWAY))


def checker(
    tokens: TokenService, revocations: MemoryRevocationList, clock: FakeClock, size: int = 100
) -> Authenticator:
    return Authenticator(tokens=tokens, revocations=revocations, clock=clock, cache_size=size)


def issue(tokens: TokenService, clock: FakeClock, session_id: str = "s-1") -> str:
    return access_token(tokens, clock(), session_id=session_id, ttl_seconds=TTL, roles=("ops",))


async def test_a_token_is_verified_once_then_served_from_the_cache(
    tokens: CountingTokenService, revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    authenticator = checker(tokens, revocations, clock)
    token = issue(tokens, clock)
    first = await authenticator.authenticate(token)
    for _ in range(5):
        assert await authenticator.authenticate(token) == first
    assert tokens.verified == 1
    assert authenticator.cached_tokens == 1
    assert first == tokens.verify_access(token, now=clock())


async def test_a_revocation_is_seen_at_once_by_a_cached_token(
    tokens: CountingTokenService, revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    authenticator = checker(tokens, revocations, clock)
    token, other = issue(tokens, clock, "s-1"), issue(tokens, clock, "s-2")
    await authenticator.authenticate(token)
    await authenticator.authenticate(other)
    await revocations.add(["s-1"], revoked_at=clock())
    with pytest.raises(SessionEnded):
        await authenticator.authenticate(token)
    assert (await authenticator.authenticate(other)).session_id == "s-2"
    assert tokens.verified == 2  # both answers came from the cache


@pytest.mark.parametrize("offset", [-1, -0.001, 0, 0.001, 3600])
async def test_a_cached_token_dies_exactly_when_verification_would_refuse_it(
    tokens: CountingTokenService,
    revocations: MemoryRevocationList,
    clock: FakeClock,
    offset: float,
) -> None:
    authenticator = checker(tokens, revocations, clock)
    token = issue(tokens, clock)
    claims = await authenticator.authenticate(token)
    # Around exp + leeway, where TokenService starts refusing the token.
    clock.now = claims.expires_at + timedelta(seconds=LEEWAY + offset)
    try:
        tokens.verify_access(token, now=clock())
    except InvalidToken:
        assert offset >= 0
        with pytest.raises(InvalidToken):
            await authenticator.authenticate(token)
        assert authenticator.cached_tokens == 0
    else:
        assert offset < 0
        assert (await authenticator.authenticate(token)).session_id == "s-1"


async def test_a_clock_gone_back_before_iat_verifies_again(
    tokens: CountingTokenService, revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    authenticator = checker(tokens, revocations, clock)
    token = issue(tokens, clock)
    await authenticator.authenticate(token)
    clock.advance(-(LEEWAY + 1))  # `iat` is now further ahead than the leeway allows
    with pytest.raises(InvalidToken):
        await authenticator.authenticate(token)
    assert tokens.verified == 2


async def test_the_cache_keeps_at_most_its_size_the_least_recently_used_leaving(
    tokens: CountingTokenService, revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    authenticator = checker(tokens, revocations, clock, size=3)
    issued = [issue(tokens, clock, f"s-{n}") for n in range(5)]
    for token in issued[:3]:
        await authenticator.authenticate(token)
    await authenticator.authenticate(issued[0])  # used again: now the most recent
    for token in issued[3:]:
        await authenticator.authenticate(token)
    assert authenticator.cached_tokens == 3
    assert tokens.verified == 5
    for kept in (issued[0], issued[3], issued[4]):
        await authenticator.authenticate(kept)
    assert tokens.verified == 5
    await authenticator.authenticate(issued[1])  # evicted: verified again
    assert tokens.verified == 6
    assert authenticator.cached_tokens == 3


async def test_size_zero_verifies_every_time_and_keeps_nothing(
    tokens: CountingTokenService, revocations: MemoryRevocationList, clock: FakeClock
) -> None:
    authenticator = checker(tokens, revocations, clock, size=0)
    token = issue(tokens, clock)
    for _ in range(3):
        assert (await authenticator.authenticate(token)).username == "alice"
    assert tokens.verified == 3
    assert authenticator.cached_tokens == 0
    await revocations.add(["s-1"], revoked_at=clock())
    with pytest.raises(SessionEnded):
        await authenticator.authenticate(token)


def forgeries(token: str, stranger: TokenService, clock: FakeClock) -> list[str]:
    """Tokens that look like `token` but must never pass: other signature, bytes, key, shape."""
    head, body, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    resigned = issue(stranger, clock)  # the same claims under another secret
    return [
        f"{head}.{body}.{flipped}",
        f"{head}.{body}.",
        f"{head}.{body}.{signature}x",
        f"{head}.{body}.{signature}=",
        f" {token}",
        f"{token} ",
        token.upper(),
        resigned,
        f"{head}.{body}",
        "not.a.jwt",
        token + "\udcff",
    ]


async def test_a_forged_or_malformed_token_is_never_served_from_the_cache(
    tokens: CountingTokenService,
    tmp_path: Path,
    revocations: MemoryRevocationList,
    clock: FakeClock,
) -> None:
    authenticator = checker(tokens, revocations, clock)
    genuine = issue(tokens, clock)
    await authenticator.authenticate(genuine)
    stranger = TokenService(make_settings(tmp_path, access_token_secret="z" * 48))
    fakes = forgeries(genuine, stranger, clock)
    for _ in range(2):
        for forged in fakes:
            with pytest.raises(InvalidToken):
                await authenticator.authenticate(forged)
    # Each one went through the full verification both times, and none was remembered.
    assert tokens.verified == 1 + 2 * len(fakes)
    assert authenticator.cached_tokens == 1
    assert (await authenticator.authenticate(genuine)).session_id == "s-1"
