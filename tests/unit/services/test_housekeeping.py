"""The periodic purge of ended sessions, in a running app on a real store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from authsvc.events import EventKind, SecurityEvent
from authsvc.services.housekeeping import AuditPurger, SessionPurger
from authsvc.store import Store
from tests.support.apps import asgi_client, running_app
from tests.support.fakes import InMemoryStore
from tests.support.http import Tokens, cookie_header, login, register, rotate
from tests.support.polling import eventually
from tests.support.records import audit_entry
from tests.support.settings import FakeClock, make_settings

RETENTION = 3_600


async def session_id_of(client: httpx.AsyncClient, tokens: Tokens) -> str:
    listed = (await client.get("/auth/sessions", headers=tokens.bearer)).json()["sessions"]
    return str(next(s["id"] for s in listed if s["current"]))


async def wait_until_gone(store: Store, session_id: str) -> None:
    async def gone() -> None:
        assert await store.get_session(session_id) is None, "the purge never deleted the session"

    await eventually(gone, timeout=10)


async def test_the_periodic_purge_deletes_sessions_ended_before_the_retention(
    tmp_path: Path, database_url: str
) -> None:
    clock = FakeClock()
    purging = {"session_retention_seconds": RETENTION, "session_purge_interval_seconds": 0.05}
    settings = make_settings(tmp_path, database_url=database_url, **purging)
    async with running_app(settings, clock=clock) as app, asgi_client(app) as client:
        await register(client)
        ended = await login(client)
        ended_id = await session_id_of(client, ended)
        await client.post("/auth/logout", headers=cookie_header(ended.refresh))
        store: Store = app.state.services.core.store

        await asyncio.sleep(0.2)  # several purges run: none deletes a recent revocation
        assert await store.get_session(ended_id) is not None

        clock.advance(RETENTION + 1)
        kept = await login(client)  # live, though the clock moved on
        await wait_until_gone(store, ended_id)

        refused = await rotate(client, ended.refresh)
        assert refused.status_code == 401
        assert (await client.get("/auth/me", headers=kept.bearer)).status_code == 200
        assert (await rotate(client, kept.refresh)).status_code == 200


async def test_a_revocation_outlives_restarts_and_purges_while_its_tokens_can_pass(
    tmp_path: Path, database_url: str
) -> None:
    clock = FakeClock()
    # The shortest retention allowed: one access-token lifetime plus leeway.
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        access_token_ttl_seconds=600,
        jwt_leeway_seconds=10,
        session_retention_seconds=610,
        session_purge_interval_seconds=0,
    )

    @asynccontextmanager
    async def running() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        async with running_app(settings, clock=clock) as app, asgi_client(app) as c:
            yield app, c

    async with running() as (_, client):
        await register(client)
        revoked = await login(client)
        await client.post("/auth/logout", headers=cookie_header(revoked.refresh))

    clock.advance(605)  # the access token has not expired: only the revocation stops it
    async with running() as (app, client):  # a restart reloads revocations from the store
        purger = SessionPurger(store=app.state.services.core.store, settings=settings, clock=clock)
        assert await purger.purge() == 0
        assert (await client.get("/auth/me", headers=revoked.bearer)).status_code == 401
        assert (await client.get("/auth/verify", headers=revoked.bearer)).status_code == 401


async def test_the_periodic_purge_deletes_audit_events_older_than_the_retention(
    tmp_path: Path, database_url: str
) -> None:
    clock = FakeClock()
    purging = {"audit_retention_days": 2, "session_purge_interval_seconds": 0.05}
    settings = make_settings(tmp_path, database_url=database_url, **purging)
    async with running_app(settings, clock=clock) as app, asgi_client(app) as client:
        await register(client)
        await login(client)
        store: Store = app.state.services.core.store
        await asyncio.sleep(0.2)  # several purges run: none deletes a recent event
        assert len(await store.list_audit_events(limit=10)) == 1

        clock.advance(2 * 86_400 + 1)
        await login(client)
        for _ in range(200):  # at most ten seconds
            events = await store.list_audit_events(limit=10)
            if len(events) == 1:
                break
            await asyncio.sleep(0.05)
        assert [(e.kind, e.occurred_at) for e in events] == [("login_succeeded", clock.now)]


async def test_the_audit_purge_reports_what_it_deleted(tmp_path: Path) -> None:
    clock = FakeClock()
    store = InMemoryStore()
    heard: list[SecurityEvent] = []

    class Recording:
        async def record(self, event: SecurityEvent) -> None:
            heard.append(event)

    for age_hours in (30, 25, 23):
        await store.append_audit_event(audit_entry(clock.now - timedelta(hours=age_hours)))
    settings = make_settings(tmp_path, audit_retention_days=1)
    purger = AuditPurger(store=store, settings=settings, clock=clock, observer=Recording())

    assert await purger.purge() == 2
    assert [e.occurred_at for e in store.audit] == [clock.now - timedelta(hours=23)]
    assert heard == [SecurityEvent(EventKind.AUDIT_EVENTS_PURGED, count=2)]
