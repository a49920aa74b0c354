"""The error answers each route declares in OpenAPI (`responses=`), named once.

Only documentation: the answers themselves come from `api/errors.py`. Routes combine these
with `{**A, **B}`; a later fragment overrides an earlier one for the same status.
"""

from __future__ import annotations

from typing import Any

Responses = dict[int | str, dict[str, Any]]


def _describe(status: int, description: str) -> Responses:
    return {status: {"description": description}}


# What any route with a body may answer before its own logic runs.
BODY_ERRORS: Responses = {
    **_describe(400, "The body could not be parsed"),
    **_describe(413, "Request body too large"),
}
NOT_AUTHENTICATED = _describe(401, "Not authenticated")
UNAUTHORIZED = _describe(401, "Missing, invalid, expired or revoked credentials")
CROSS_SITE = _describe(403, "Cross-site request refused (Origin, or the required header)")
DUPLICATE_COOKIE = _describe(400, "More than one refresh cookie (one was planted by another site)")
PASSWORD_CHECKS_THROTTLED = _describe(429, "Too many password checks; see Retry-After")
HASHING_BUSY = _describe(503, "Too many password hashes waiting; see Retry-After")

LOGIN: Responses = {
    **UNAUTHORIZED,
    **_describe(
        403,
        "Cross-site request refused, or the account is disabled (said only after the "
        "password was checked)",
    ),
    **BODY_ERRORS,
    **PASSWORD_CHECKS_THROTTLED,
    **HASHING_BUSY,
}
READS_COOKIE: Responses = {**UNAUTHORIZED, **CROSS_SITE, **DUPLICATE_COOKIE}
LOGOUT: Responses = {**CROSS_SITE, **DUPLICATE_COOKIE}

REGISTER: Responses = {
    **_describe(403, "Registration is switched off"),
    **_describe(409, "Username, or a look-alike of it, is taken"),
    **_describe(422, "Username or password rejected by the policy"),
    **BODY_ERRORS,
    **_describe(429, "Too many registrations from this address; see Retry-After"),
    **HASHING_BUSY,
}
PASSWORD_CHANGE: Responses = {
    **_describe(401, "Not authenticated, or the current password is wrong"),
    **_describe(409, "The password was changed by another request meanwhile"),
    **PASSWORD_CHECKS_THROTTLED,
    **HASHING_BUSY,
    **BODY_ERRORS,
    **_describe(422, "New password rejected by the policy"),
}

SESSIONS_PAGE: Responses = {**_describe(400, "Invalid cursor"), **NOT_AUTHENTICATED}
ACTIVITY_PAGE: Responses = SESSIONS_PAGE
SESSION_END: Responses = {**NOT_AUTHENTICATED, **_describe(404, "No such session")}

EMAIL_VERIFY: Responses = {
    **_describe(400, "Malformed, unknown, used or expired token"),
    **_describe(404, "E-mail verification is switched off, or e-mail is not configured"),
}
EMAIL_RESEND: Responses = {
    **NOT_AUTHENTICATED,
    **_describe(404, "E-mail verification is switched off, or e-mail is not configured"),
    **_describe(409, "No address to verify, or it is verified already"),
    **_describe(429, "Too many requests for another mail; see Retry-After"),
}
MAIL_OFF = _describe(404, "E-mail is not configured")
EMAIL_CHANGE: Responses = {
    **_describe(401, "Not authenticated, or the current password is wrong"),
    **MAIL_OFF,
    **BODY_ERRORS,
    **_describe(422, "Not an e-mail address"),
    **PASSWORD_CHECKS_THROTTLED,
    **HASHING_BUSY,
}
PASSWORD_FORGOT: Responses = {
    **MAIL_OFF,
    **BODY_ERRORS,
    **_describe(422, "Not an e-mail address"),
    **_describe(429, "Too many reset requests from this client; see Retry-After"),
}
PASSWORD_RESET: Responses = {
    **BODY_ERRORS,
    **_describe(400, "Malformed, unknown, used or expired token, or the body could not be parsed"),
    **MAIL_OFF,
    **_describe(422, "New password rejected by the policy"),
    **HASHING_BUSY,
}
ADMIN: Responses = {
    **UNAUTHORIZED,
    **_describe(403, "The access token lacks the role admin"),
    **_describe(404, "No such user"),
}
ADMIN_MFA_RESET: Responses = ADMIN
ADMIN_PAGE: Responses = {**UNAUTHORIZED, **ADMIN, **_describe(400, "Invalid cursor")}
ADMIN_AUDIT_PAGE: Responses = {
    **UNAUTHORIZED,
    **_describe(403, "The access token lacks the role admin"),
    **_describe(400, "Invalid cursor"),
    **_describe(422, "Malformed user id, or an unknown kind"),
}
ADMIN_WRITE: Responses = {
    **ADMIN,
    **BODY_ERRORS,
    **_describe(409, "Username taken, or the change would leave no enabled administrator"),
    **_describe(422, "Username, password, e-mail or roles rejected"),
    **HASHING_BUSY,
}

PASSKEYS_OFF = _describe(404, "Passkeys are not configured (or, with an id, no such passkey)")
_PASSKEY_ANSWER: Responses = {
    **BODY_ERRORS,
    **_describe(
        400,
        "Unknown, used or expired challenge, a malformed credential, or (registration) one "
        "that could not be verified",
    ),
}
PASSKEY_REGISTER: Responses = {
    **NOT_AUTHENTICATED,
    **_PASSKEY_ANSWER,
    **_describe(409, "This passkey is registered already"),
}
PASSKEY_CHANGE: Responses = {**NOT_AUTHENTICATED, **BODY_ERRORS}
PASSKEY_REMOVE: Responses = {
    **_describe(401, "Not authenticated, or the current password is wrong"),
    **_describe(403, "current_password is required to remove the last second factor"),
    **BODY_ERRORS,
    **PASSWORD_CHECKS_THROTTLED,
    **HASHING_BUSY,
}
_PASSKEY_THROTTLED = _describe(429, "Too many passkey logins from this client; see Retry-After")
PASSKEY_LOGIN_OPTIONS: Responses = {**CROSS_SITE, **_PASSKEY_THROTTLED}
PASSKEY_LOGIN: Responses = {
    **_PASSKEY_ANSWER,
    **_describe(401, "The passkey was not accepted"),
    **_describe(
        403,
        "Cross-site request refused, or the account is disabled or its address unverified "
        "(said only to the passkey's holder)",
    ),
    **_PASSKEY_THROTTLED,
}
MFA_LOGIN: Responses = {
    **_describe(
        401,
        "Invalid or expired mfa_token, a wrong, replayed or used code, or a passkey not accepted",
    ),
    **_describe(403, "Cross-site request refused, or the account is disabled"),
    **_describe(404, "TOTP, or passkeys, are not configured on this server"),
    **_describe(
        422,
        "A method the account does not hold, fields that do not fit the method, or a "
        "malformed body",
    ),
    **BODY_ERRORS,
    **_describe(
        400,
        "The body could not be parsed, or (passkey) an unknown, used or expired challenge or "
        "a malformed credential",
    ),
    **_describe(429, "Too many codes tried for this account; see Retry-After"),
}
MFA_PASSKEY_OPTIONS: Responses = {
    **_describe(401, "Invalid or expired mfa_token"),
    **_describe(403, "Cross-site request refused, or the account is disabled"),
    **_describe(404, "Passkeys are not configured on this server"),
    **_describe(422, "The account holds no passkey, or a malformed body"),
    **BODY_ERRORS,
    **_PASSKEY_THROTTLED,
}
_TOTP_CODES = {
    **_describe(404, "TOTP is not configured on this server"),
    **_describe(429, "Too many codes or passwords tried for this account; see Retry-After"),
    **BODY_ERRORS,
}
TOTP_SETUP: Responses = {
    **_describe(401, "Not authenticated, or the current password is wrong"),
    **_describe(403, "The current password is required (no login within five minutes)"),
    **_describe(409, "TOTP is already enabled"),
    **_TOTP_CODES,
    **HASHING_BUSY,
}
TOTP_CONFIRM: Responses = {
    **_describe(401, "Not authenticated, or a wrong or replayed code"),
    **_describe(409, "No setup to confirm, or TOTP is already enabled"),
    **_TOTP_CODES,
}
TOTP_DELETE: Responses = {
    **_describe(401, "Not authenticated, a wrong password, or a wrong or replayed code"),
    **_describe(403, "The current password is required to remove the last second factor"),
    **_describe(404, "TOTP is not enabled, or not configured on this server"),
    **_TOTP_CODES,
    **HASHING_BUSY,
}
