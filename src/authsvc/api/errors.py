"""The one table that turns domain errors into HTTP answers, and the handlers that use it.

Every failure leaves the service as `{"detail": …}`: domain errors by the table below, HTTP and
validation errors by their own handlers, anything else as a bare 500 with the trace in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from authsvc.errors import (
    AccountDisabled,
    AuthError,
    CrossSiteRequest,
    CurrentPasswordRequired,
    DuplicateCookie,
    EmailAlreadyVerified,
    EmailNotVerified,
    EmailVerificationOff,
    HashingBusy,
    InvalidChallenge,
    InvalidCredentials,
    InvalidCursor,
    InvalidEmailToken,
    InvalidMfaCode,
    InvalidMfaToken,
    InvalidRoles,
    InvalidToken,
    InvalidUsername,
    LastAdmin,
    MailNotConfigured,
    MalformedCredential,
    MfaAnswerMismatch,
    MfaMethodUnavailable,
    NoEmailAddress,
    NotAuthenticated,
    NoTotpSetup,
    NotReady,
    PasskeyNotFound,
    PasskeyNotVerified,
    PasskeyRefused,
    PasskeysOff,
    PasskeyTaken,
    PasswordChangedMeanwhile,
    PasswordRejected,
    RefreshReused,
    RegistrationClosed,
    RoleRequired,
    SecondFactorRequired,
    SessionEnded,
    SessionNotFound,
    SignCountRegressed,
    StoreUnavailable,
    Throttled,
    TotpAlreadyEnabled,
    TotpNotConfigured,
    TotpNotEnabled,
    UsernameTaken,
    UserNotFound,
    WrongPassword,
)

HTTP_STATUS: Mapping[type[AuthError], tuple[int, str]] = {
    NotAuthenticated: (401, "Not authenticated"),
    InvalidCredentials: (401, "Invalid username or password"),
    WrongPassword: (401, "Current password is incorrect"),
    InvalidToken: (401, "Invalid or expired token"),
    SessionEnded: (401, "Session has ended"),
    # Told apart so the client can say why: whoever presents the copy learns nothing new, as
    # the session it belonged to is already ended for every holder.
    RefreshReused: (401, "Session ended: refresh token reused"),
    AccountDisabled: (403, "Account disabled"),
    RoleRequired: (403, "Not allowed"),
    SecondFactorRequired: (403, "A second factor is required"),
    RegistrationClosed: (403, "Registration is closed"),
    UsernameTaken: (409, "Username is already taken"),
    InvalidUsername: (422, "Username is not valid"),
    PasswordRejected: (422, "Password does not meet the policy"),
    SessionNotFound: (404, "Session not found"),
    UserNotFound: (404, "User not found"),
    InvalidRoles: (422, "Roles are not valid"),
    LastAdmin: (409, "The last administrator must stay an enabled administrator"),
    InvalidCursor: (400, "Invalid cursor"),
    CrossSiteRequest: (403, "Cross-site request refused"),
    DuplicateCookie: (400, "More than one refresh cookie"),
    PasswordChangedMeanwhile: (409, "The password was changed meanwhile; try again"),
    Throttled: (429, "Too many attempts; try again later"),
    HashingBusy: (503, "Too busy; try again shortly"),
    InvalidEmailToken: (400, "Invalid or expired token"),
    EmailNotVerified: (403, "E-mail address not verified"),
    EmailVerificationOff: (404, "E-mail verification is switched off"),
    # Switched off by the deployment, like EMAIL_VERIFICATION=off: no retry will help.
    MailNotConfigured: (404, "E-mail is not configured"),
    NoEmailAddress: (409, "The account has no e-mail address"),
    EmailAlreadyVerified: (409, "E-mail address already verified"),
    # Switched off by the deployment, as e-mail is: no retry will help.
    PasskeysOff: (404, "Passkeys are not configured"),
    InvalidChallenge: (400, "Unknown, used or expired challenge"),
    MalformedCredential: (400, "Malformed passkey credential"),
    PasskeyNotVerified: (400, "The passkey could not be verified"),
    PasskeyRefused: (401, "Passkey not accepted"),
    # The same words as any refusal: whoever holds the clone learns nothing from them.
    SignCountRegressed: (401, "Passkey not accepted"),
    PasskeyTaken: (409, "This passkey is registered already"),
    PasskeyNotFound: (404, "Passkey not found"),
    StoreUnavailable: (503, "Service temporarily unavailable"),
    NotReady: (503, "Service temporarily unavailable"),
    TotpNotConfigured: (404, "TOTP is not configured"),
    TotpAlreadyEnabled: (409, "TOTP is already enabled"),
    TotpNotEnabled: (404, "TOTP is not enabled"),
    NoTotpSetup: (409, "No TOTP setup to confirm; start a new one"),
    InvalidMfaCode: (401, "Invalid code"),
    InvalidMfaToken: (401, "Invalid or expired mfa_token; log in again"),
    MfaMethodUnavailable: (422, "This method is not available for the account"),
    MfaAnswerMismatch: (
        422,
        "totp and recovery_code take a code; passkey takes challenge_id and credential",
    ),
    CurrentPasswordRequired: (403, "The current password is required"),
}

# These explain which rule refused the request; every other error keeps its fixed text, so
# nothing internal leaks.
_SHOWS_ITS_MESSAGE = (PasswordRejected, InvalidUsername, InvalidRoles, CrossSiteRequest)

# RFC 6750 §3: a 401 on a Bearer-protected resource names the scheme.
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}

log = logging.getLogger("authsvc.errors")  # the name operators already filter on


def status_for(exc: AuthError) -> tuple[int, str]:
    """The status and detail for an error, looked up along its class hierarchy."""
    for cls in type(exc).__mro__:
        if issubclass(cls, AuthError) and cls in HTTP_STATUS:
            status, detail = HTTP_STATUS[cls]
            if isinstance(exc, _SHOWS_ITS_MESSAGE) and str(exc):
                detail = str(exc)
            return status, detail
    return 500, "Internal server error"


def auth_error_response(exc: AuthError) -> JSONResponse:
    """The answer to a domain error, as every route gives it (the lean refresh endpoint too)."""
    status, detail = status_for(exc)
    headers = dict(BEARER_CHALLENGE) if status == 401 else {}
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable", exc_info=exc.__cause__)
    if status == 503:
        headers["Retry-After"] = "1"
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _handle_auth_error(_: Request, exc: Exception) -> JSONResponse:
    return auth_error_response(cast(AuthError, exc))


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
