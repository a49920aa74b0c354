"""Security events: what the flows report as it happens, as typed values, and who hears them.

A flow builds one `SecurityEvent` and hands it to one `Observer`; which recipients exist (the
security log, the metrics, the persisted audit log) is decided where the app is wired, in
`authsvc.observers`. Fields are identifiers and client facts only: never a password, a token, a
token id or a secret; a username only as `account_ref`, a keyed hash (a mistyped password often
lands in the username field).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class EventKind(StrEnum):
    """What happened; the value is the event name in the log and the metrics label."""

    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    # The password changed while a login checked the old one, so no session was opened.
    LOGIN_PASSWORD_CHANGED = "login_password_changed"
    LOGIN_THROTTLED = "login_throttled"
    # The right password of a disabled account: no session was opened.
    LOGIN_DISABLED = "login_disabled"
    REFRESH_ROTATED = "refresh_rotated"
    REFRESH_GRACE_REPLAYED = "refresh_grace_replayed"
    REFRESH_REUSE_DETECTED = "refresh_reuse_detected"
    REFRESH_COOKIE_DUPLICATED = "refresh_cookie_duplicated"
    SESSION_REVOKED = "session_revoked"
    SESSIONS_REVOKED = "sessions_revoked"
    SESSIONS_PURGED = "sessions_purged"
    AUDIT_EVENTS_PURGED = "audit_events_purged"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_CHANGE_FAILED = "password_change_failed"
    PASSWORD_CHANGE_THROTTLED = "password_change_throttled"
    REGISTRATION_THROTTLED = "registration_throttled"
    # The right password, but EMAIL_VERIFICATION=required and the address is unverified.
    LOGIN_EMAIL_UNVERIFIED = "login_email_unverified"
    EMAIL_VERIFICATION_SENT = "email_verification_sent"
    EMAIL_VERIFIED = "email_verified"
    EMAIL_VERIFY_FAILED = "email_verify_failed"
    EMAIL_RESEND_THROTTLED = "email_resend_throttled"
    # A reset link mailed to an account (reported off the request path, which never says).
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    # Too many reset requests from one address (answered 429) or for one address (no mail).
    PASSWORD_RESET_THROTTLED = "password_reset_throttled"
    PASSWORD_RESET = "password_reset"
    PASSWORD_RESET_FAILED = "password_reset_failed"
    # A link to confirm a new address mailed to it; the address changes once it is used.
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    EMAIL_CHANGE_FAILED = "email_change_failed"  # the current password was wrong
    EMAIL_CHANGE_THROTTLED = "email_change_throttled"
    EMAIL_CHANGED = "email_changed"
    # Administration (the API or the CLI); `actor_id` is the administrator, None for the CLI.
    USER_CREATED_BY_ADMIN = "user_created_by_admin"
    USER_UPDATED = "user_updated"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    USER_DELETED = "user_deleted"
    PASSWORD_SET_BY_ADMIN = "password_set_by_admin"
    SESSIONS_ENDED_BY_ADMIN = "sessions_ended_by_admin"
    # Passkeys (WebAuthn); a passkey login also reports LOGIN_SUCCEEDED with its session.
    PASSKEY_REGISTERED = "passkey_registered"
    PASSKEY_RENAMED = "passkey_renamed"
    PASSKEY_REMOVED = "passkey_removed"
    PASSKEY_REMOVE_FAILED = "passkey_remove_failed"  # the current password was wrong
    PASSKEY_LOGIN = "passkey_login"
    # An assertion that failed verification: a known passkey's owner in `user_id`.
    PASSKEY_LOGIN_FAILED = "passkey_login_failed"
    PASSKEY_LOGIN_THROTTLED = "passkey_login_throttled"
    # The authenticator's counter did not advance: a copy of the key is in use somewhere.
    PASSKEY_SIGN_COUNT_REGRESSED = "passkey_sign_count_regressed"
    # Second factors (services/totp.py, services/mfa_login.py).
    TOTP_ENABLED = "totp_enabled"
    TOTP_DISABLED = "totp_disabled"
    # A wrong or replayed code while enabling or removing TOTP.
    TOTP_CODE_REJECTED = "totp_code_rejected"
    # A wrong, replayed or used code at the second login step; `reason` names the method.
    MFA_CHALLENGE_FAILED = "mfa_challenge_failed"
    MFA_THROTTLED = "mfa_throttled"
    RECOVERY_CODE_USED = "recovery_code_used"
    # The second step succeeded; LOGIN_SUCCEEDED follows for the session it opened.
    MFA_LOGIN_COMPLETED = "mfa_login_completed"
    # Every second factor of the account removed by an administrator (the API or the CLI).
    MFA_RESET_BY_ADMIN = "mfa_reset_by_admin"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from: the resolved address and the (truncated) User-Agent."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One event; each kind sets the fields that describe it and leaves the rest None."""

    kind: EventKind
    user_id: str | None = None
    # Who acted on `user_id`'s account when it was not the user themself (an administrator).
    actor_id: str | None = None
    session_id: str | None = None
    client: ClientInfo | None = None
    # Why sessions ended, in the services' words ("logout", "session_limit", ...).
    reason: str | None = None
    # How many sessions or cookies the event concerns.
    count: int | None = None
    # The throttled account as a keyed hash of its normalised name, never the name.
    account_ref: str | None = None
    # Whether the failed login named an existing account.
    known_user: bool | None = None


class Observer(Protocol):
    """The one channel flows report to.

    A coroutine, so that a recipient may write to the store (an audit log) before the flow
    answers; the log and the metrics do not wait.
    """

    async def record(self, event: SecurityEvent) -> None: ...
