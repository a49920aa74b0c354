"""Cross-site request defences for the routes that read or set the refresh cookie.

The refresh cookie is sent by the browser on its own, so a page on another site could make
the browser post to `/auth/refresh` or `/auth/logout` with it. Two independent checks stop that
(OWASP CSRF Prevention Cheat Sheet; OAuth 2.0 for Browser-Based Apps):

- `Origin` (or, without it, `Sec-Fetch-Site`) must name this service or a configured SPA
  origin. Browsers set both on cross-site requests and pages cannot forge them.
- The cookie-reading routes also require a custom header. A cross-site form cannot add one,
  and a cross-site `fetch` that adds one needs a CORS preflight, which only configured
  origins pass.

Clients that are not browsers send neither `Origin` nor `Sec-Fetch-Site` and pass the origin
check; they cannot be tricked into sending someone else's cookie in the first place.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from starlette.datastructures import Headers

from authsvc.deps import SettingsDep
from authsvc.errors import CrossSiteRequest
from authsvc.settings import Settings

# What the browser client and the demo send; any non-empty value passes.
CSRF_HEADER_EXAMPLE = "XMLHttpRequest"


# Coroutine functions, like every provider in deps.py (its docstring says why).
async def require_allowed_origin(request: Request, settings: SettingsDep) -> None:
    """Dependency for every cookie route. Raises: CrossSiteRequest."""
    check_allowed_origin(request.headers, settings)


async def require_csrf_header(request: Request, settings: SettingsDep) -> None:
    """Dependency for the routes that read the refresh cookie. Raises: CrossSiteRequest."""
    check_csrf_header(request.headers, settings)


def check_csrf_header(headers: Headers, settings: Settings) -> None:
    """What `require_csrf_header` checks, for the lean refresh endpoint too (no router there).

    Raises: CrossSiteRequest.
    """
    check_allowed_origin(headers, settings)
    if settings.require_csrf_header and not headers.get(settings.csrf_header):
        raise CrossSiteRequest(f"Missing {settings.csrf_header} header")


def check_allowed_origin(headers: Headers, settings: Settings) -> None:
    """What `require_allowed_origin` checks. Raises: CrossSiteRequest."""
    origin = headers.get("origin")
    if origin is None:
        if headers.get("sec-fetch-site") == "cross-site":
            raise CrossSiteRequest("Cross-site request refused")
        return
    if origin in settings.allowed_origins:
        return
    # Same-origin requests (the docs page, an SPA served from this host) carry our own host,
    # and the scheme the cookie can travel over: with Secure cookies, a page on http:// of
    # our own host is anyone on the network path, not us.
    own_host = headers.get("host")
    scheme, _, host = origin.partition("://")
    schemes = _SECURE_SCHEMES if settings.cookie_secure and not _is_loopback(host) else _ANY_SCHEME
    if scheme in schemes and own_host is not None and host == own_host:
        return
    raise CrossSiteRequest("Cross-site request refused")


_SECURE_SCHEMES = ("https",)
_ANY_SCHEME = ("http", "https")


def _is_loopback(host: str) -> bool:
    # Browsers treat loopback origins as secure contexts (W3C Secure Contexts §3.1), and no
    # network lies between them and this service.
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in ("localhost", "127.0.0.1", "[::1]")


def csrf_header_openapi(settings: Settings) -> dict[str, Any]:
    """`openapi_extra` for routes that depend on `require_csrf_header`.

    The check reads the header by hand (its name is a setting), so FastAPI cannot see it;
    declared here, the docs page's "Try it out" sends it, filled in with the example.
    """
    parameter = {
        "name": settings.csrf_header,
        "in": "header",
        "required": settings.require_csrf_header,
        "description": "Any non-empty value; pages on other sites cannot send it",
        # Blank values are refused like missing ones (HTTP strips the spaces around a value).
        "schema": {"type": "string", "pattern": r"\S"},
        "example": CSRF_HEADER_EXAMPLE,
    }
    return {"parameters": [parameter]}


# The `dependencies=` of the routes that open a session and set the cookie (the login routes,
# password or passkey, and their second step).
SESSION_OPENING = (Depends(require_allowed_origin),)
