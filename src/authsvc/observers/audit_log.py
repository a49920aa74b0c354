"""The persisted audit log as an observer: each event about an account becomes one row.

What is kept: every event that names an account, except those below (`SKIPPED`), each with
who acted (the user themself, unless the event names another actor, an administrator), the
session, the client, and a reason or count. What is never kept: a password, a token, a token
id, a secret, a username (events carry none of them to begin with).

A failed write is logged and counted, and the flow goes on: a login that succeeded answers
200 even when the audit database is failing (fail open). The security log line of the same
event was written before, so nothing goes unrecorded; refusing every login because the audit
table is unwritable would turn a storage fault into an outage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Final

from authsvc.clock import Clock
from authsvc.events import EventKind, SecurityEvent
from authsvc.metrics import Metrics
from authsvc.store.base import AuditStore
from authsvc.store.records import AuditDetail, NewAuditEvent

_FLOOD = (
    "a refusal an attacker produces as fast as requests can be sent: rows would fill the "
    "disk; the security log and the metrics count them, and the failures leading up to it "
    "are kept"
)
_HOUSEKEEPING = "housekeeping, about no account"
# The kinds not persisted, and why; every other kind that names an account is.
SKIPPED: Final[Mapping[EventKind, str]] = MappingProxyType(
    {
        EventKind.REFRESH_ROTATED: (
            "every refresh of every tab, every few minutes per session: not an account "
            "event, and the sessions list shows when each session was last used"
        ),
        EventKind.REFRESH_GRACE_REPLAYED: "a refresh racing another tab's, like a rotation",
        EventKind.REFRESH_COOKIE_DUPLICATED: "names no account",
        EventKind.LOGIN_THROTTLED: _FLOOD,
        EventKind.PASSWORD_CHANGE_THROTTLED: _FLOOD,
        EventKind.EMAIL_CHANGE_THROTTLED: _FLOOD,
        EventKind.REGISTRATION_THROTTLED: _FLOOD,
        EventKind.PASSWORD_RESET_THROTTLED: _FLOOD,
        EventKind.PASSKEY_LOGIN_THROTTLED: _FLOOD,
        EventKind.MFA_THROTTLED: _FLOOD,
        EventKind.SESSIONS_PURGED: _HOUSEKEEPING,
        EventKind.AUDIT_EVENTS_PURGED: _HOUSEKEEPING,
    }
)
# Enough to tell browsers and devices apart; a client may send kilobytes.
USER_AGENT_MAX = 256

log = logging.getLogger("authsvc.audit")


class AuditLog:
    """Writes each event about an account to the store, one small insert, before the flow
    answers."""

    def __init__(self, *, store: AuditStore, clock: Clock, metrics: Metrics | None = None) -> None:
        self._store = store
        self._clock = clock
        self._metrics = metrics

    async def record(self, event: SecurityEvent) -> None:
        # A failed login naming no existing account has no user id: no one to show it to,
        # and no per-account throttle bounding how many an attacker can make.
        if event.user_id is None or event.kind in SKIPPED:
            return
        entry = audit_entry(event, self._clock())
        try:
            await self._store.append_audit_event(entry)
        except Exception as exc:  # any fault: fail open, see the module docstring
            # The type only, no traceback: a driver's message may quote the parameters.
            reason = type(exc).__name__
            log.error("audit event %s not stored: %s", event.kind.value, reason)  # noqa: TRY400
            if self._metrics is not None:
                self._metrics.audit_write_failed()


def audit_entry(event: SecurityEvent, occurred_at: datetime) -> NewAuditEvent:
    """The row an event becomes."""
    client = event.client
    user_agent = client.user_agent if client else None
    details: dict[str, AuditDetail] = {}
    if event.reason is not None:
        details["reason"] = event.reason
    if event.count is not None:
        details["count"] = event.count
    return NewAuditEvent(
        occurred_at=occurred_at,
        kind=event.kind.value,
        actor_id=event.actor_id or event.user_id,
        subject_id=event.user_id,
        session_id=event.session_id,
        ip=client.ip if client else None,
        user_agent=user_agent[:USER_AGENT_MAX] if user_agent else None,
        details=details,
    )
