"""Verifying a token of either kind, for tests parametrized over the two; minting an access
token without a login."""

from __future__ import annotations

from datetime import datetime, timedelta

from authsvc.tokens import AccessClaims, RefreshClaims, TokenKind, TokenService


def verify(
    tokens: TokenService, kind: TokenKind, token: str, now: datetime
) -> AccessClaims | RefreshClaims:
    if kind == "access":
        return tokens.verify_access(token, now=now)
    return tokens.verify_refresh(token, now=now)


def access_token(
    tokens: TokenService,
    now: datetime,
    *,
    session_id: str = "s-1",
    ttl_seconds: int = 60,
    roles: tuple[str, ...] = (),
) -> str:
    """Alice's (user u-1) access token of `session_id`, issued at `now`."""
    return tokens.issue_access(
        user_id="u-1",
        username="alice",
        session_id=session_id,
        now=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
        roles=roles,
    ).token
