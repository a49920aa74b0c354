"""The access-token check that every protected request and every gateway question makes.

It needs only the signing keys, the revocation list, the clock and a cache of tokens it has
already verified, all built once per app, so one instance serves every request: the hot path
builds no per-request service objects. The cache spares a repeat check the signature; the
revocation list is asked on every check, cached or not, so a logout still counts at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from authsvc.amr import is_multi_factor
from authsvc.clock import Clock
from authsvc.errors import NotAuthenticated, RoleRequired, SecondFactorRequired, SessionEnded
from authsvc.revocation import RevocationList
from authsvc.services.verified_tokens import VerifiedTokenCache
from authsvc.tokens import AccessClaims, TokenService


class Authenticator:
    def __init__(
        self,
        *,
        tokens: TokenService,
        revocations: RevocationList,
        clock: Clock,
        cache_size: int = 0,
    ) -> None:
        """`cache_size`: verified tokens remembered (VERIFY_CACHE_SIZE); 0 verifies every time."""
        self._tokens = tokens
        self._revocations = revocations
        self._clock = clock
        self._verified = VerifiedTokenCache(
            max_entries=cache_size, leeway_seconds=tokens.leeway_seconds
        )

    @property
    def cached_tokens(self) -> int:
        """How many verified tokens are remembered now (at most VERIFY_CACHE_SIZE)."""
        return len(self._verified)

    async def authenticate(self, access_token: str | None) -> AccessClaims:
        """The claims of a valid access token whose session is still live.

        Raises: NotAuthenticated, InvalidToken, SessionEnded.
        """
        if not access_token:
            raise NotAuthenticated
        now = self._clock()
        claims = self._verified.get(access_token, now=now)
        if claims is None:
            claims = self._tokens.verify_access(access_token, now=now)
            self._verified.put(access_token, claims)
        if await self._revocations.is_revoked(claims.session_id, now=now):
            raise SessionEnded
        return claims

    async def authorize(
        self, access_token: str | None, *, roles: Iterable[str], multi_factor: bool = False
    ) -> AccessClaims:
        """The claims of a valid access token that carries every one of `roles` and, when
        `multi_factor`, belongs to a session opened with two factors or more.

        A name that is no valid role name is held by nobody, so asking for one is refused
        like any role the token lacks.

        Raises: NotAuthenticated, InvalidToken, SessionEnded; RoleRequired or
        SecondFactorRequired (the only 403s).
        """
        claims = await self.authenticate(access_token)
        if any(role not in claims.roles for role in roles):
            raise RoleRequired
        if multi_factor and not is_multi_factor(claims.amr):
            raise SecondFactorRequired
        return claims
