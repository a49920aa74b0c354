"""The security log: one structured line per event, for alerting and forensics."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from authsvc.events import EventKind, SecurityEvent
from authsvc.logs import request_id_var

FieldValue = str | int | bool | None

_CLIENT = ("ip", "user_agent")
# Every administrative action is on record (INFO, the default level): it changes who may do what.
ADMIN_KINDS = (
    EventKind.USER_CREATED_BY_ADMIN,
    EventKind.USER_UPDATED,
    EventKind.USER_DISABLED,
    EventKind.USER_ENABLED,
    EventKind.USER_DELETED,
    EventKind.PASSWORD_SET_BY_ADMIN,
    EventKind.SESSIONS_ENDED_BY_ADMIN,
    EventKind.MFA_RESET_BY_ADMIN,
)
_ADMIN = ("user_id", "actor_id", "count", *_CLIENT)
# Each kind's level and the fields its line carries, None included: a line's shape depends on
# its event name only, so alerts and queries can rely on it.
LINES: Final[Mapping[EventKind, tuple[int, tuple[str, ...]]]] = MappingProxyType(
    {
        EventKind.LOGIN_SUCCEEDED: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        EventKind.LOGIN_FAILED: (logging.WARNING, ("user_id", "known_user", *_CLIENT)),
        EventKind.LOGIN_PASSWORD_CHANGED: (logging.WARNING, ("user_id", *_CLIENT)),
        EventKind.LOGIN_THROTTLED: (logging.WARNING, ("account_ref", *_CLIENT)),
        EventKind.LOGIN_DISABLED: (logging.WARNING, ("user_id", *_CLIENT)),
        # Every refresh of every tab: there when LOG_LEVEL=DEBUG asks for it.
        EventKind.REFRESH_ROTATED: (logging.DEBUG, ("user_id", "session_id", *_CLIENT)),
        # Two tabs racing explain most of these; a stolen token replayed at once looks the
        # same, so the replay is on record either way.
        EventKind.REFRESH_GRACE_REPLAYED: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        EventKind.REFRESH_REUSE_DETECTED: (logging.WARNING, ("user_id", "session_id", *_CLIENT)),
        EventKind.REFRESH_COOKIE_DUPLICATED: (logging.WARNING, ("count",)),
        EventKind.SESSION_REVOKED: (logging.INFO, ("user_id", "session_id", "reason")),
        EventKind.SESSIONS_REVOKED: (logging.INFO, ("user_id", "reason", "count")),
        EventKind.SESSIONS_PURGED: (logging.INFO, ("count",)),
        EventKind.AUDIT_EVENTS_PURGED: (logging.INFO, ("count",)),
        EventKind.PASSWORD_CHANGED: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        EventKind.PASSWORD_CHANGE_FAILED: (logging.WARNING, ("user_id", "session_id", *_CLIENT)),
        EventKind.PASSWORD_CHANGE_THROTTLED: (
            logging.WARNING,
            ("user_id", "session_id", *_CLIENT),
        ),
        EventKind.REGISTRATION_THROTTLED: (logging.WARNING, ("ip",)),
        EventKind.LOGIN_EMAIL_UNVERIFIED: (logging.INFO, ("user_id", *_CLIENT)),
        EventKind.EMAIL_VERIFICATION_SENT: (logging.INFO, ("user_id",)),
        EventKind.EMAIL_VERIFIED: (logging.INFO, ("user_id", *_CLIENT)),
        # Never the token: a wrong one may be a real one mistyped.
        EventKind.EMAIL_VERIFY_FAILED: (logging.WARNING, _CLIENT),
        EventKind.EMAIL_RESEND_THROTTLED: (logging.WARNING, ("user_id",)),
        EventKind.PASSWORD_RESET_REQUESTED: (logging.INFO, ("user_id", *_CLIENT)),
        # Per address asked about: "reason" says which limit; never the address itself.
        EventKind.PASSWORD_RESET_THROTTLED: (logging.WARNING, ("reason", *_CLIENT)),
        EventKind.PASSWORD_RESET: (logging.INFO, ("user_id", *_CLIENT)),
        # Never the token: a wrong one may be a real one mistyped.
        EventKind.PASSWORD_RESET_FAILED: (logging.WARNING, ("user_id", *_CLIENT)),
        EventKind.EMAIL_CHANGE_REQUESTED: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        EventKind.EMAIL_CHANGE_FAILED: (logging.WARNING, ("user_id", "session_id", *_CLIENT)),
        EventKind.EMAIL_CHANGE_THROTTLED: (logging.WARNING, ("user_id", "session_id", *_CLIENT)),
        EventKind.EMAIL_CHANGED: (logging.INFO, ("user_id", *_CLIENT)),
        EventKind.TOTP_ENABLED: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        EventKind.TOTP_DISABLED: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        # Never the code: a wrong one may be a real one mistyped.
        EventKind.TOTP_CODE_REJECTED: (logging.WARNING, ("user_id", "session_id", *_CLIENT)),
        EventKind.MFA_CHALLENGE_FAILED: (logging.WARNING, ("user_id", "reason", *_CLIENT)),
        EventKind.MFA_THROTTLED: (logging.WARNING, ("user_id", *_CLIENT)),
        EventKind.RECOVERY_CODE_USED: (logging.INFO, ("user_id", "count", *_CLIENT)),
        EventKind.MFA_LOGIN_COMPLETED: (logging.INFO, ("user_id", "reason", *_CLIENT)),
        **{kind: (logging.INFO, _ADMIN) for kind in ADMIN_KINDS},
        EventKind.PASSKEY_REGISTERED: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        EventKind.PASSKEY_RENAMED: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        EventKind.PASSKEY_REMOVED: (logging.INFO, ("user_id", "session_id", "count", *_CLIENT)),
        EventKind.PASSKEY_REMOVE_FAILED: (logging.WARNING, ("user_id", "session_id", *_CLIENT)),
        EventKind.PASSKEY_LOGIN: (logging.INFO, ("user_id", "session_id", *_CLIENT)),
        EventKind.PASSKEY_LOGIN_FAILED: (logging.WARNING, ("user_id", "reason", *_CLIENT)),
        EventKind.PASSKEY_LOGIN_THROTTLED: (logging.WARNING, _CLIENT),
        # A copy of a private key at work: worth an alert of its own.
        EventKind.PASSKEY_SIGN_COUNT_REGRESSED: (logging.ERROR, ("user_id", *_CLIENT)),
    }
)


class SecurityLog:
    """Writes each event to the `authsvc.security` logger, its name as the message."""

    def __init__(self) -> None:
        self._log = logging.getLogger("authsvc.security")

    async def record(self, event: SecurityEvent) -> None:
        level, names = LINES[event.kind]
        if not self._log.isEnabledFor(level):
            return
        values = line_values(event)
        self._log.log(
            level,
            event.kind.value,
            # Captured now: handlers may format the record after the request has finished.
            extra={
                "event_fields": {
                    "event": event.kind.value,
                    "request_id": request_id_var.get(),
                    **{name: values[name] for name in names},
                }
            },
        )


def line_values(event: SecurityEvent) -> dict[str, FieldValue]:
    """Every field an event can carry, flat, as the log names them."""
    client = event.client
    return {
        "user_id": event.user_id,
        "actor_id": event.actor_id,
        "session_id": event.session_id,
        "ip": client.ip if client else None,
        "user_agent": client.user_agent if client else None,
        "reason": event.reason,
        "count": event.count,
        "account_ref": event.account_ref,
        "known_user": event.known_user,
    }
