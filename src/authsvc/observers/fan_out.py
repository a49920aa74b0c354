"""One observer for many: the recipients of an app's events, put together in one place."""

from __future__ import annotations

from collections.abc import Iterable

from authsvc.clock import Clock, utc_now
from authsvc.events import Observer, SecurityEvent
from authsvc.metrics import Metrics
from authsvc.observers.audit_log import AuditLog
from authsvc.observers.metrics import MetricsRecorder
from authsvc.observers.security_log import SecurityLog
from authsvc.store.base import AuditStore


class FanOut:
    """Hands every event to each recipient in turn, in the order given."""

    def __init__(self, recipients: Iterable[Observer]) -> None:
        self._recipients = tuple(recipients)

    async def record(self, event: SecurityEvent) -> None:
        for recipient in self._recipients:
            await recipient.record(event)


def build_observer(
    metrics: Metrics | None, *, audit_store: AuditStore | None = None, clock: Clock = utc_now
) -> Observer:
    """Every recipient of an app's events: the security log, its metrics when enabled, and
    the audit log in `audit_store` when given.

    The audit log comes last: a line is in the security log before the row is written.
    """
    recipients: list[Observer] = [SecurityLog()]
    if metrics is not None:
        recipients.append(MetricsRecorder(metrics))
    if audit_store is not None:
        recipients.append(AuditLog(store=audit_store, clock=clock, metrics=metrics))
    return FanOut(recipients)
