"""Login, refresh and logout: the routes that hand out and take back tokens."""

# No `from __future__ import annotations` here: the refresh cookie's alias is only known when
# the router is built, so its annotation must be evaluated then, inside `build_router`.
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from authsvc.api.cookies import (
    clear_refresh_cookie,
    no_store,
    require_single_refresh_cookie,
    set_refresh_cookie,
)
from authsvc.api.csrf import require_allowed_origin, require_csrf_header
from authsvc.api.schemas import BODY_ERRORS, LoginIn, TokenOut
from authsvc.deps import ClientDep, CurrentClaimsDep, SessionsDep, SettingsDep
from authsvc.services.sessions import IssuedTokens
from authsvc.settings import Settings

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid, expired or revoked credentials"}
}
CROSS_SITE: dict[int | str, dict[str, Any]] = {
    403: {"description": "Cross-site request refused (Origin, or the required header)"}
}
LOGIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **UNAUTHORIZED,
    **CROSS_SITE,
    **BODY_ERRORS,
    429: {"description": "Too many password checks; see Retry-After"},
    503: {"description": "Too many password hashes waiting; see Retry-After"},
}
DUPLICATE_COOKIE: dict[int | str, dict[str, Any]] = {
    400: {"description": "More than one refresh cookie (one was planted by another site)"}
}
COOKIE_RESPONSES = {**UNAUTHORIZED, **CROSS_SITE, **DUPLICATE_COOKIE}
# Cross-site checks first, then the cookie itself.
READS_COOKIE = [Depends(require_csrf_header), Depends(require_single_refresh_cookie)]


def _token_response(response: Response, issued: IssuedTokens, settings: Settings) -> TokenOut:
    if issued.refresh is not None:  # None inside the grace window: keep the newer cookie
        set_refresh_cookie(response, issued.refresh, settings)
    return TokenOut.from_token(issued.access)


def build_router(cookie_name: str, *, csrf_openapi: dict[str, Any]) -> APIRouter:
    """The routes, with the refresh cookie's configured name bound into their signatures.

    `csrf_openapi` declares the header that `require_csrf_header` checks.
    """
    router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(no_store)])
    RefreshCookie = Annotated[
        str | None, Cookie(alias=cookie_name, description="The refresh token")
    ]

    @router.post(
        "/login", responses=LOGIN_RESPONSES, dependencies=[Depends(require_allowed_origin)]
    )
    async def login(
        body: LoginIn,
        response: Response,
        sessions: SessionsDep,
        client: ClientDep,
        settings: SettingsDep,
    ) -> TokenOut:
        """Check a username and password; answer an access token and set the refresh cookie."""
        issued = await sessions.login(body.username, body.password, client)
        return _token_response(response, issued, settings)

    @router.post(
        "/token", responses=LOGIN_RESPONSES, dependencies=[Depends(require_allowed_origin)]
    )
    async def token(
        form: Annotated[OAuth2PasswordRequestForm, Depends()],
        response: Response,
        sessions: SessionsDep,
        client: ClientDep,
        settings: SettingsDep,
    ) -> TokenOut:
        """The login route in OAuth2 password-form shape, for the docs page's Authorize button."""
        issued = await sessions.login(form.username, form.password, client)
        return _token_response(response, issued, settings)

    @router.post(
        "/refresh",
        responses=COOKIE_RESPONSES,
        dependencies=READS_COOKIE,
        openapi_extra=csrf_openapi,
    )
    async def refresh(
        response: Response,
        sessions: SessionsDep,
        client: ClientDep,
        settings: SettingsDep,
        refresh_token: RefreshCookie = None,
    ) -> TokenOut:
        """Trade the refresh cookie for a new access token, rotating the cookie."""
        issued = await sessions.rotate(refresh_token, client)
        return _token_response(response, issued, settings)

    @router.post(
        "/logout",
        status_code=status.HTTP_204_NO_CONTENT,
        responses={**CROSS_SITE, **DUPLICATE_COOKIE},
        dependencies=READS_COOKIE,
        openapi_extra=csrf_openapi,
    )
    async def logout(
        response: Response,
        sessions: SessionsDep,
        settings: SettingsDep,
        refresh_token: RefreshCookie = None,
    ) -> None:
        """End this session and clear the cookie; safe to repeat."""
        await sessions.logout(refresh_token)
        clear_refresh_cookie(response, settings)

    @router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=UNAUTHORIZED)
    async def logout_all(
        response: Response, sessions: SessionsDep, claims: CurrentClaimsDep, settings: SettingsDep
    ) -> None:
        """End every session of the current user, on every device."""
        await sessions.logout_all(claims)
        clear_refresh_cookie(response, settings)

    return router
