"""The audit log as an observer: which events become rows, what a row holds, and failing open."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from authsvc.errors import StoreUnavailable
from authsvc.events import ClientInfo, EventKind, SecurityEvent
from authsvc.metrics import Metrics
from authsvc.observers.audit_log import SKIPPED, USER_AGENT_MAX, AuditLog
from authsvc.observers.fan_out import build_observer
from authsvc.store.records import NewAuditEvent
from tests.support.fakes import InMemoryStore
from tests.support.logs import security_events
from tests.support.scrape import Scrape

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
USER = "3f0e6a55-7a43-4d8b-9c51-6a0f6b1c2d3e"
ADMIN = "9d2c1b0a-1111-4222-8333-944455556666"
SESSION = "0b1c2d3e-4f50-4617-8899-aabbccddeeff"
CLIENT = ClientInfo(ip="203.0.113.7", user_agent="Firefox/1.0")


def audit_log(store: InMemoryStore, metrics: Metrics | None = None) -> AuditLog:
    return AuditLog(store=store, clock=lambda: NOW, metrics=metrics)


async def test_a_login_is_stored_with_the_user_as_actor_and_subject() -> None:
    store = InMemoryStore()

    await audit_log(store).record(
        SecurityEvent(EventKind.LOGIN_SUCCEEDED, user_id=USER, session_id=SESSION, client=CLIENT)
    )

    [row] = store.audit
    assert (row.id, row.occurred_at, row.kind) == (1, NOW, "login_succeeded")
    assert (row.actor_id, row.subject_id, row.session_id) == (USER, USER, SESSION)
    assert (row.ip, row.user_agent, dict(row.details)) == ("203.0.113.7", "Firefox/1.0", {})


async def test_an_administrators_action_names_the_administrator_as_actor() -> None:
    store = InMemoryStore()

    await audit_log(store).record(
        SecurityEvent(
            EventKind.SESSIONS_REVOKED, user_id=USER, actor_id=ADMIN, reason="admin", count=3
        )
    )

    [row] = store.audit
    assert (row.actor_id, row.subject_id) == (ADMIN, USER)
    assert dict(row.details) == {"reason": "admin", "count": 3}
    assert (row.ip, row.user_agent, row.session_id) == (None, None, None)


async def test_a_long_user_agent_is_cut_short() -> None:
    store = InMemoryStore()
    client = ClientInfo(ip=None, user_agent="x" * 2000)

    await audit_log(store).record(
        SecurityEvent(EventKind.PASSWORD_CHANGED, user_id=USER, client=client)
    )

    assert store.audit[0].user_agent == "x" * USER_AGENT_MAX


def test_the_high_volume_and_accountless_kinds_are_the_ones_skipped() -> None:
    assert set(SKIPPED) == {
        EventKind.REFRESH_ROTATED,
        EventKind.REFRESH_GRACE_REPLAYED,
        EventKind.REFRESH_COOKIE_DUPLICATED,
        EventKind.LOGIN_THROTTLED,
        EventKind.PASSWORD_CHANGE_THROTTLED,
        EventKind.EMAIL_CHANGE_THROTTLED,
        EventKind.REGISTRATION_THROTTLED,
        EventKind.PASSWORD_RESET_THROTTLED,
        EventKind.PASSKEY_LOGIN_THROTTLED,
        EventKind.MFA_THROTTLED,
        EventKind.SESSIONS_PURGED,
        EventKind.AUDIT_EVENTS_PURGED,
    }


@pytest.mark.parametrize("kind", list(EventKind))
async def test_every_kind_naming_an_account_is_stored_unless_skipped(kind: EventKind) -> None:
    store = InMemoryStore()

    await audit_log(store).record(SecurityEvent(kind, user_id=USER, client=CLIENT))

    assert [row.kind for row in store.audit] == ([] if kind in SKIPPED else [kind.value])


async def test_a_failed_login_for_no_existing_account_is_not_stored() -> None:
    store = InMemoryStore()

    await audit_log(store).record(
        SecurityEvent(EventKind.LOGIN_FAILED, known_user=False, client=CLIENT)
    )

    assert store.audit == []


class FailingStore(InMemoryStore):
    async def append_audit_event(self, event: NewAuditEvent) -> None:
        raise StoreUnavailable("database unavailable")


async def test_a_failed_write_is_logged_and_counted_and_the_flow_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="authsvc.audit")
    metrics = Metrics()

    await audit_log(FailingStore(), metrics).record(
        SecurityEvent(EventKind.LOGIN_SUCCEEDED, user_id=USER, session_id=SESSION)
    )

    [line] = [r for r in caplog.records if r.name == "authsvc.audit"]
    assert line.getMessage() == "audit event login_succeeded not stored: StoreUnavailable"
    assert line.exc_info is None
    scrape = Scrape.parse(metrics.render(sessions_active=0).decode())
    assert scrape.value("authsvc_audit_write_failures_total") == 1


async def test_an_apps_observer_stores_events_after_logging_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.security")
    store = InMemoryStore()
    observer = build_observer(None, audit_store=store, clock=lambda: NOW)

    await observer.record(SecurityEvent(EventKind.LOGIN_SUCCEEDED, user_id=USER))

    assert [fields["event"] for fields in security_events(caplog)] == ["login_succeeded"]
    assert [row.subject_id for row in store.audit] == [USER]
