"""One observer for many: the recipients of an app's events, put together in one place."""

from __future__ import annotations

from collections.abc import Iterable

from authsvc.events import Observer, SecurityEvent
from authsvc.metrics import Metrics
from authsvc.observers.metrics import MetricsRecorder
from authsvc.observers.security_log import SecurityLog


class FanOut:
    """Hands every event to each recipient in turn, in the order given."""

    def __init__(self, recipients: Iterable[Observer]) -> None:
        self._recipients = tuple(recipients)

    async def record(self, event: SecurityEvent) -> None:
        for recipient in self._recipients:
            await recipient.record(event)


def build_observer(metrics: Metrics | None) -> Observer:
    """Every recipient of an app's events: the security log, and its metrics when enabled."""
    recipients: list[Observer] = [SecurityLog()]
    if metrics is not None:
        recipients.append(MetricsRecorder(metrics))
    return FanOut(recipients)
