"""Verifying a token of either kind, for tests parametrized over the two."""

from __future__ import annotations

from datetime import datetime

from authsvc.tokens import AccessClaims, RefreshClaims, TokenKind, TokenService


def verify(
    tokens: TokenService, kind: TokenKind, token: str, now: datetime
) -> AccessClaims | RefreshClaims:
    if kind == "access":
        return tokens.verify_access(token, now=now)
    return tokens.verify_refresh(token, now=now)
