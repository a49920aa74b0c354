"""The access-token check that every protected request and every gateway question makes.

It needs only the signing keys, the revocation list and the clock, all built once per app, so
one instance serves every request: the hot path builds no per-request service objects.
"""

from __future__ import annotations

from collections.abc import Iterable

from authsvc.amr import is_multi_factor
from authsvc.clock import Clock
from authsvc.errors import NotAuthenticated, RoleRequired, SecondFactorRequired, SessionEnded
from authsvc.revocation import RevocationList
from authsvc.tokens import AccessClaims, TokenService


class Authenticator:
    def __init__(self, *, tokens: TokenService, revocations: RevocationList, clock: Clock) -> None:
        self._tokens = tokens
        self._revocations = revocations
        self._clock = clock

    async def authenticate(self, access_token: str | None) -> AccessClaims:
        """The claims of a valid access token whose session is still live.

        Raises: NotAuthenticated, InvalidToken, SessionEnded.
        """
        if not access_token:
            raise NotAuthenticated
        now = self._clock()
        claims = self._tokens.verify_access(access_token, now=now)
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
