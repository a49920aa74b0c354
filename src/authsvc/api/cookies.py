"""How the refresh token travels: an HttpOnly cookie, host-only (`__Host-`) where it can be."""

from __future__ import annotations

from fastapi import Request, Response

from authsvc.deps import ObserverDep, SettingsDep
from authsvc.errors import DuplicateCookie
from authsvc.events import EventKind, SecurityEvent
from authsvc.settings import Settings
from authsvc.tokens import IssuedToken


def set_refresh_cookie(response: Response, refresh: IssuedToken, settings: Settings) -> None:
    # HttpOnly keeps it from scripts. The name and path come from the settings: a __Host-
    # name (Path=/) where the deployment allows one, else Path=/auth, off every other route.
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


# Coroutine functions, like every provider in deps.py (its docstring says why).
async def require_single_refresh_cookie(
    request: Request, settings: SettingsDep, observer: ObserverDep
) -> None:
    """Dependency for the routes that read the refresh cookie. Raises: DuplicateCookie.

    A sibling subdomain can plant a cookie of our name for the parent domain; the browser then
    sends both, and Starlette keeps only the last value, which may be the planted one. So the
    raw headers are counted: with two, neither can be trusted.
    """
    name = settings.cookie_name
    count = sum(
        1
        for header in request.headers.getlist("cookie")
        for pair in header.split(";")
        if pair.partition("=")[0].strip() == name
    )
    if count > 1:
        await observer.record(SecurityEvent(EventKind.REFRESH_COOKIE_DUPLICATED, count=count))
        raise DuplicateCookie


async def no_store(response: Response) -> None:
    """Dependency: nothing under /auth may be cached by the browser or a proxy (RFC 6749 §5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
