"""How the refresh token travels: an HttpOnly cookie scoped to the auth routes."""

from __future__ import annotations

from fastapi import Response

from authsvc.settings import Settings
from authsvc.tokens import IssuedToken


def set_refresh_cookie(response: Response, refresh: IssuedToken, settings: Settings) -> None:
    # HttpOnly keeps it from scripts; Path limits it to the routes that read it, so it never
    # rides along to the APIs the access token protects.
    response.set_cookie(
        settings.cookie_name,
        refresh.token,
        max_age=refresh.lifetime_seconds,
        path=settings.cookie_path,
        domain=settings.cookie_domain,
        secure=settings.cookie_secure,
        httponly=True,
        samesite=settings.cookie_samesite,
    )


def clear_refresh_cookie(response: Response, settings: Settings) -> None:
    # Attributes must match the ones the cookie was set with, or browsers keep the old one.
    response.delete_cookie(
        settings.cookie_name,
        path=settings.cookie_path,
        domain=settings.cookie_domain,
        secure=settings.cookie_secure,
        httponly=True,
        samesite=settings.cookie_samesite,
    )


# A coroutine function, like every provider in deps.py (its docstring says why).
async def no_store(response: Response) -> None:
    """Dependency: nothing under /auth may be cached by the browser or a proxy (RFC 6749 §5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
