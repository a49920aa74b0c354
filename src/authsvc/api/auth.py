"""Login, refresh and logout: the routes that hand out and take back tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from authsvc.api import responses
from authsvc.api.cookies import RefreshCookie, no_store
from authsvc.api.csrf import SESSION_OPENING, require_csrf_header
from authsvc.api.mfa_schemas import LoginMfaIn, MfaRequiredOut, PasskeyStepIn
from authsvc.api.passkey_schemas import CeremonyOut
from authsvc.api.schemas import LoginIn, TokenOut
from authsvc.deps import (
    ClientDep,
    CurrentClaimsDep,
    LoginDep,
    ObserverDep,
    PasskeyStepDep,
    SessionsDep,
)
from authsvc.services.sessions import IssuedTokens
from authsvc.services.two_step_login import MfaRequired


def first_step_answer(
    cookie: RefreshCookie, response: Response, begun: IssuedTokens | MfaRequired
) -> TokenOut | MfaRequiredOut:
    """The body of a login's answer, with the refresh cookie set on `response` for a session."""
    if isinstance(begun, MfaRequired):  # no token, no cookie until the second step
        return MfaRequiredOut.from_challenge(begun)
    return cookie.answer(response, begun)


def build_router(cookie: RefreshCookie, *, csrf_openapi: dict[str, Any]) -> APIRouter:
    """The routes, with the refresh cookie they set, read and clear.

    `csrf_openapi` declares the header that `require_csrf_header` checks; the routes that read
    the cookie declare it too, since they read it by hand (its name is a setting).
    """
    router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(no_store)])
    reads_cookie: dict[str, Any] = {
        **csrf_openapi,
        "parameters": [*csrf_openapi.get("parameters", []), cookie.openapi_parameter()],
    }

    # `create_app` answers a POST whose body is a valid `LoginIn` with `LoginEndpoint`
    # (lean_login.py), which does the same without the router; this route documents it and
    # answers every other body (its 422s) and whenever a router reaches it.
    @router.post("/login", responses=responses.LOGIN, dependencies=SESSION_OPENING)
    async def login(
        body: LoginIn, response: Response, login: LoginDep, client: ClientDep
    ) -> TokenOut | MfaRequiredOut:
        """Check a username and password; answer an access token and set the refresh cookie,
        or, for an account with a second factor, the mfa_token that /auth/login/mfa takes."""
        begun = await login.begin(body.username, body.password, client)
        return first_step_answer(cookie, response, begun)

    @router.post("/login/mfa", responses=responses.MFA_LOGIN, dependencies=SESSION_OPENING)
    async def login_mfa(
        body: LoginMfaIn, response: Response, login: LoginDep, client: ClientDep
    ) -> TokenOut:
        """Complete a login with a second factor (a code, or a passkey's answer to the
        challenge of /auth/login/mfa/passkey/options): the usual token and cookie."""
        issued = await login.complete(body.mfa_token, body.method, body.answer(), client)
        return cookie.answer(response, issued)

    @router.post(
        "/login/mfa/passkey/options",
        responses=responses.MFA_PASSKEY_OPTIONS,
        dependencies=SESSION_OPENING,
    )
    async def login_mfa_passkey_options(
        body: PasskeyStepIn, step: PasskeyStepDep, client: ClientDep
    ) -> CeremonyOut:
        """Options for navigator.credentials.get() with the passkeys of the mfa_token's
        account, to answer with `method: "passkey"` at /auth/login/mfa."""
        return CeremonyOut.from_start(await step.options(body.mfa_token, client))

    @router.post("/token", responses=responses.LOGIN, dependencies=SESSION_OPENING)
    async def token(
        form: Annotated[OAuth2PasswordRequestForm, Depends()],
        response: Response,
        login: LoginDep,
        client: ClientDep,
    ) -> TokenOut | MfaRequiredOut:
        """The login route in OAuth2 password-form shape, for the docs page's Authorize button."""
        begun = await login.begin(form.username, form.password, client)
        return first_step_answer(cookie, response, begun)

    # Cross-site checks run first, as dependencies; then the route reads the cookie.
    # `create_app` answers the POST with `RefreshEndpoint` (lean_refresh.py), which does the
    # same without the router; this route documents it and answers when a router reaches it.
    @router.post(
        "/refresh",
        responses=responses.READS_COOKIE,
        dependencies=[Depends(require_csrf_header)],
        openapi_extra=reads_cookie,
    )
    async def refresh(
        request: Request,
        response: Response,
        sessions: SessionsDep,
        client: ClientDep,
        observer: ObserverDep,
    ) -> TokenOut:
        """Trade the refresh cookie for a new access token, rotating the cookie."""
        issued = await sessions.rotate(await cookie.read(request, observer), client)
        return cookie.answer(response, issued)

    @router.post(
        "/logout",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=responses.LOGOUT,
        dependencies=[Depends(require_csrf_header)],
        openapi_extra=reads_cookie,
    )
    async def logout(
        request: Request,
        response: Response,
        sessions: SessionsDep,
        observer: ObserverDep,
        client: ClientDep,
    ) -> None:
        """End this session and clear the cookie; safe to repeat."""
        await sessions.logout(await cookie.read(request, observer), client)
        cookie.clear(response)

    @router.post(
        "/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=responses.UNAUTHORIZED
    )
    async def logout_all(
        response: Response, sessions: SessionsDep, claims: CurrentClaimsDep, client: ClientDep
    ) -> None:
        """End every session of the current user, on every device."""
        await sessions.logout_all(claims, client)
        cookie.clear(response)

    return router
