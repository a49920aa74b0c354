"""The metrics as an observer: each event moves the counters it concerns."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from authsvc.events import EventKind, SecurityEvent
from authsvc.metrics import OTHER, Metrics

# Refusals by throttling, by the flow refused (the `flow` label).
_THROTTLED_FLOWS: Final[Mapping[EventKind, str]] = MappingProxyType(
    {
        EventKind.LOGIN_THROTTLED: "login",
        EventKind.PASSWORD_CHANGE_THROTTLED: "password_change",
        EventKind.REGISTRATION_THROTTLED: "registration",
        EventKind.EMAIL_RESEND_THROTTLED: "email_resend",
        EventKind.PASSWORD_RESET_THROTTLED: "password_reset",
        EventKind.EMAIL_CHANGE_THROTTLED: "email_change",
        EventKind.PASSKEY_LOGIN_THROTTLED: "passkey_login",
        EventKind.MFA_THROTTLED: "mfa",
    }
)


class MetricsRecorder:
    """Counts every event by name, and the flow outcomes the dashboards chart on their own."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def record(self, event: SecurityEvent) -> None:
        metrics = self._metrics
        kind = event.kind
        metrics.event_recorded(kind.value)
        flow = _THROTTLED_FLOWS.get(kind)
        if flow is not None:
            metrics.throttled(flow)
        elif kind is EventKind.LOGIN_SUCCEEDED:
            metrics.login_succeeded()
        elif kind in (
            EventKind.LOGIN_FAILED,
            EventKind.LOGIN_PASSWORD_CHANGED,
            EventKind.LOGIN_DISABLED,
            EventKind.PASSKEY_LOGIN_FAILED,
            EventKind.PASSKEY_SIGN_COUNT_REGRESSED,
        ):
            metrics.login_failed()
        elif kind is EventKind.REFRESH_ROTATED:
            metrics.refresh_rotated()
        elif kind is EventKind.REFRESH_GRACE_REPLAYED:
            metrics.refresh_grace_replayed()
        elif kind is EventKind.REFRESH_REUSE_DETECTED:
            # Reuse revokes the whole session the token belongs to.
            metrics.refresh_reuse_detected()
            metrics.sessions_revoked("reuse_detected", 1)
        elif kind is EventKind.SESSION_REVOKED:
            metrics.sessions_revoked(event.reason or OTHER, 1)
        elif kind is EventKind.SESSIONS_REVOKED:
            metrics.sessions_revoked(event.reason or OTHER, event.count or 0)
