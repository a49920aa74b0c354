"""Domain errors, and the one table that turns them into HTTP answers.

    AuthError                      expected failure; carries no HTTP knowledge
    ├── NotAuthenticated           no usable credentials were presented
    ├── InvalidCredentials         wrong username or password
    │   └── WrongPassword          wrong current password on a password change
    ├── InvalidToken               bad signature, claims, type or expiry
    ├── SessionEnded               the token's session is revoked, expired or gone
    │   └── RefreshReused          a superseded refresh token came back: theft
    ├── RegistrationClosed
    ├── UsernameTaken
    ├── InvalidUsername            not a username we accept (message says why)
    ├── PasswordRejected           the password policy said no (message says why)
    ├── SessionNotFound
    ├── InvalidCursor              a page cursor we did not hand out
    ├── CrossSiteRequest           a cookie route called from a page we do not serve
    ├── DuplicateCookie            more than one refresh cookie: one was planted
    ├── PasswordChangedMeanwhile   the password changed after it was checked
    ├── Throttled                  too many attempts; carries Retry-After
    ├── HashingBusy                too many password checks waiting already
    ├── StoreUnavailable           the database did not answer in time
    └── NotReady                   a configured dependency did not answer the readiness probe

Services raise these; `install_error_handlers` maps them once, so routers never build errors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class AuthError(Exception):
    """Base of every expected failure."""


class NotAuthenticated(AuthError):
    pass


class InvalidCredentials(AuthError):
    def __init__(self, user_id: str | None = None) -> None:
        super().__init__()
        self.user_id = user_id  # for the security log when the account exists; never shown


class WrongPassword(InvalidCredentials):
    pass


class InvalidToken(AuthError):
    pass


class SessionEnded(AuthError):
    pass


class RefreshReused(SessionEnded):
    pass


class RegistrationClosed(AuthError):
    pass


class UsernameTaken(AuthError):
    pass


class InvalidUsername(AuthError):
    """The message is shown to the user: it names the rule."""


class PasswordRejected(AuthError):
    """The message is shown to the user: it names the rule, never the password."""


class InvalidCursor(AuthError):
    pass


class SessionNotFound(AuthError):
    pass


class CrossSiteRequest(AuthError):
    """The message is shown: it says which defence refused the request."""


class DuplicateCookie(AuthError):
    pass


class Throttled(AuthError):
    def __init__(self, *, retry_after: int = 1) -> None:
        super().__init__()
        self.retry_after = retry_after  # whole seconds, for the Retry-After header


class PasswordChangedMeanwhile(AuthError):
    """Another request changed the password between its check and this change."""


class HashingBusy(AuthError):
    """The hashing queue is full: answered at once rather than queued without bound."""


class StoreUnavailable(AuthError):
    pass


class NotReady(AuthError):
    pass


HTTP_STATUS: Mapping[type[AuthError], tuple[int, str]] = {
    NotAuthenticated: (401, "Not authenticated"),
    InvalidCredentials: (401, "Invalid username or password"),
    WrongPassword: (401, "Current password is incorrect"),
    InvalidToken: (401, "Invalid or expired token"),
    SessionEnded: (401, "Session has ended"),
    RefreshReused: (401, "Session has ended"),
    RegistrationClosed: (403, "Registration is closed"),
    UsernameTaken: (409, "Username is already taken"),
    InvalidUsername: (422, "Username is not valid"),
    PasswordRejected: (422, "Password does not meet the policy"),
    SessionNotFound: (404, "Session not found"),
    InvalidCursor: (400, "Invalid cursor"),
    CrossSiteRequest: (403, "Cross-site request refused"),
    DuplicateCookie: (400, "More than one refresh cookie"),
    PasswordChangedMeanwhile: (409, "The password was changed meanwhile; try again"),
    Throttled: (429, "Too many attempts; try again later"),
    HashingBusy: (503, "Too busy; try again shortly"),
    StoreUnavailable: (503, "Service temporarily unavailable"),
    NotReady: (503, "Service temporarily unavailable"),
}

# These explain which rule refused the request; every other error keeps its fixed text, so
# nothing internal leaks.
_SHOWS_ITS_MESSAGE = (PasswordRejected, InvalidUsername, CrossSiteRequest)

# RFC 6750 §3: a 401 on a Bearer-protected resource names the scheme.
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}

log = logging.getLogger("authsvc.errors")


def status_for(exc: AuthError) -> tuple[int, str]:
    """The status and detail for an error, looked up along its class hierarchy."""
    for cls in type(exc).__mro__:
        if issubclass(cls, AuthError) and cls in HTTP_STATUS:
            status, detail = HTTP_STATUS[cls]
            if isinstance(exc, _SHOWS_ITS_MESSAGE) and str(exc):
                detail = str(exc)
            return status, detail
    return 500, "Internal server error"


async def _handle_auth_error(_: Request, exc: Exception) -> JSONResponse:
    status, detail = status_for(cast(AuthError, exc))
    headers = dict(BEARER_CHALLENGE) if status == 401 else {}
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable", exc_info=exc.__cause__)
    if status == 503:
        headers["Retry-After"] = "1"
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _handle_http_error(_: Request, exc: Exception) -> JSONResponse:
    http_exc = cast(StarletteHTTPException, exc)
    headers = dict(http_exc.headers or {})
    if http_exc.status_code == 401:
        headers.update(BEARER_CHALLENGE)
    return JSONResponse(
        {"detail": http_exc.detail}, status_code=http_exc.status_code, headers=headers
    )


async def _handle_validation_error(_: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default echoes each rejected input back; that may be a password, so only
    # the location and the reason are returned.
    errors = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in cast(RequestValidationError, exc).errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _handle_unexpected(_: Request, exc: Exception) -> JSONResponse:
    # A bug, not bad input: keep the trace in the log, never in the response.
    log.error("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the single mapping from exceptions to `{"detail": …}` responses."""
    app.add_exception_handler(AuthError, _handle_auth_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(Exception, _handle_unexpected)
