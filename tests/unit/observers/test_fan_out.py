"""The fan-out: every recipient hears every event, and an app's recipients are chosen once."""

from __future__ import annotations

import logging

import pytest

from authsvc.events import EventKind, SecurityEvent
from authsvc.metrics import Metrics
from authsvc.observers.fan_out import FanOut, build_observer
from tests.support.logs import security_events
from tests.support.scrape import Scrape


class Recording:
    def __init__(self, name: str, heard: list[tuple[str, EventKind]]) -> None:
        self._name = name
        self._heard = heard

    async def record(self, event: SecurityEvent) -> None:
        self._heard.append((self._name, event.kind))


async def test_each_event_reaches_every_recipient_in_order() -> None:
    heard: list[tuple[str, EventKind]] = []
    fan_out = FanOut([Recording("log", heard), Recording("audit", heard)])

    await fan_out.record(SecurityEvent(EventKind.LOGIN_SUCCEEDED))
    await fan_out.record(SecurityEvent(EventKind.SESSIONS_PURGED, count=0))

    assert heard == [
        ("log", EventKind.LOGIN_SUCCEEDED),
        ("audit", EventKind.LOGIN_SUCCEEDED),
        ("log", EventKind.SESSIONS_PURGED),
        ("audit", EventKind.SESSIONS_PURGED),
    ]


@pytest.mark.parametrize("kind", list(EventKind))
async def test_an_apps_observer_logs_and_counts_every_kind(
    kind: EventKind, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="authsvc.security")
    metrics = Metrics()

    await build_observer(metrics).record(SecurityEvent(kind))

    logged = [fields["event"] for fields in security_events(caplog)]
    counted = Scrape.parse(metrics.render(sessions_active=0).decode())
    assert logged == [kind.value]
    assert counted.value("authsvc_security_events_total", event=kind.value) == 1


async def test_without_metrics_the_log_alone_hears_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.security")

    await build_observer(None).record(SecurityEvent(EventKind.LOGIN_SUCCEEDED))

    assert [r.getMessage() for r in caplog.records] == ["login_succeeded"]
