"""How the refresh token travels: an HttpOnly cookie, host-only (`__Host-`) where it can be."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request, Response

from authsvc.api.schemas import TokenOut
from authsvc.errors import DuplicateCookie
from authsvc.events import EventKind, Observer, SecurityEvent
from authsvc.services.sessions import IssuedTokens
from authsvc.settings import Settings
from authsvc.tokens import IssuedToken

# What http.cookies writes as it is, unquoted: every refresh token (a compact JWS) is.
_BARE_VALUE = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class RefreshCookie:
    """The refresh cookie's name and attributes, and everything done with them.

    Setting, clearing and reading it go through one object, so the attributes a browser needs
    to match when clearing are the ones it was set with.
    """

    name: str
    path: str
    domain: str | None
    secure: bool
    samesite: Literal["strict", "lax", "none"]

    @classmethod
    def from_settings(cls, settings: Settings) -> RefreshCookie:
        # A __Host- name (Path=/) where the deployment allows one, else Path=/auth, off every
        # other route; settings/cookie.py decides which.
        return cls(
            name=settings.cookie_name,
            path=settings.cookie_path,
            domain=settings.cookie_domain,
            secure=settings.cookie_secure,
            samesite=settings.cookie_samesite,
        )

    def set(self, response: Response, refresh: IssuedToken) -> None:
        # HttpOnly keeps it from scripts.
        if not _BARE_VALUE.fullmatch(refresh.token):
            response.set_cookie(
                self.name, refresh.token, max_age=refresh.lifetime_seconds, **self._attributes()
            )
            return
        # Every rotation sets it: the header Starlette's `set_cookie` writes, written without
        # building an `http.cookies.SimpleCookie` each time (tests/api/test_cookies.py compares).
        response.raw_headers.append(
            (b"set-cookie", self._header(refresh.token, refresh.lifetime_seconds))
        )

    def answer(self, response: Response, issued: IssuedTokens) -> TokenOut:
        """The body of a token response, with the refresh cookie set on `response`."""
        if issued.refresh is not None:  # None inside the grace window: keep the newer cookie
            self.set(response, issued.refresh)
        return TokenOut.from_token(issued.access)

    def clear(self, response: Response) -> None:
        # Attributes must match the ones the cookie was set with, or browsers keep the old one.
        response.delete_cookie(self.name, **self._attributes())

    async def read(self, request: Request, observer: Observer) -> str | None:
        """The refresh token the request carries, if any. Raises: DuplicateCookie.

        A sibling subdomain can plant a cookie of our name for the parent domain; the browser
        then sends both, and Starlette keeps only the last value, which may be the planted one.
        So the raw headers are counted: with two, neither can be trusted.
        """
        count = sum(
            1
            for header in request.headers.getlist("cookie")
            for pair in header.split(";")
            if pair.partition("=")[0].strip() == self.name
        )
        if count > 1:
            await observer.record(SecurityEvent(EventKind.REFRESH_COOKIE_DUPLICATED, count=count))
            raise DuplicateCookie
        return request.cookies.get(self.name)

    def openapi_parameter(self) -> dict[str, Any]:
        """The cookie as an OpenAPI parameter, for the routes that read it with `read`."""
        return {
            "name": self.name,
            "in": "cookie",
            "required": False,
            "description": "The refresh token",
            "schema": {"type": "string"},
        }

    def _header(self, value: str, max_age: int) -> bytes:
        # http.cookies writes a morsel's attributes in the order of their names.
        parts = [f"{self.name}={value}"]
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        parts += [
            "HttpOnly",
            f"Max-Age={max_age}",
            f"Path={self.path}",
            f"SameSite={self.samesite}",
        ]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")

    def _attributes(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "domain": self.domain,
            "secure": self.secure,
            "httponly": True,
            "samesite": self.samesite,
        }


async def no_store(response: Response) -> None:
    """Dependency: nothing under /auth may be cached by the browser or a proxy (RFC 6749 §5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
