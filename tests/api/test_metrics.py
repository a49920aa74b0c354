"""GET /metrics: what each flow counts, by exactly how much, and what never becomes a label."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST

from authsvc.deps import get_services
from authsvc.errors import StoreUnavailable
from authsvc.settings import Settings
from tests.support.apps import app_client, asgi_client
from tests.support.http import (
    PASSWORD,
    Tokens,
    cookie_header,
    login,
    new_refresh_token,
    register,
    rotate,
)
from tests.support.scrape import Scrape, counter
from tests.support.settings import FakeClock, make_settings

WRONG = "definitely not it"
CLIENT_IP = "203.0.113.77"


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return Scrape.parse(response.text)


async def test_metrics_are_prometheus_text_with_the_usual_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert "x-request-id" in response.headers
    families = Scrape.parse(response.text).types
    assert all(name.startswith("authsvc_") for name in families), families
    assert families == {
        "authsvc_logins": "counter",
        "authsvc_refreshes": "counter",
        "authsvc_refresh_grace_replays": "counter",
        "authsvc_refresh_reuse_detected": "counter",
        "authsvc_throttled_requests": "counter",
        "authsvc_sessions_revoked": "counter",
        "authsvc_security_events": "counter",
        "authsvc_audit_write_failures": "counter",
        "authsvc_sessions_active": "gauge",
        "authsvc_mails_queued": "counter",
        "authsvc_mails_sent": "counter",
        "authsvc_mails_failed": "counter",
        "authsvc_mail_oldest_pending_age_seconds": "gauge",
        "authsvc_http_requests": "counter",
        "authsvc_http_request_duration_seconds": "histogram",
    }


async def test_logins_count_successes_and_failures(client: httpx.AsyncClient) -> None:
    await register(client)
    before = await scrape(client)

    await login(client)
    after_ok = await scrape(client)
    assert after_ok.domain_deltas(before) == {
        counter("authsvc_logins_total", result="succeeded"): 1
    }

    wrong = await client.post("/auth/login", json={"username": "alice", "password": WRONG})
    unknown = await client.post("/auth/login", json={"username": "nobody", "password": WRONG})
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    after_fail = await scrape(client)
    assert after_fail.domain_deltas(after_ok) == {
        counter("authsvc_logins_total", result="failed"): 2
    }


async def test_refresh_rotation_grace_replay_and_reuse_are_counted_apart(
    client: httpx.AsyncClient, alice: Tokens, clock: FakeClock
) -> None:
    before = await scrape(client)

    first = await rotate(client, alice.refresh)
    assert first.status_code == 200
    rotated = await scrape(client)
    assert rotated.domain_deltas(before) == {counter("authsvc_refreshes_total"): 1}

    clock.advance(2)  # a second tab, inside the grace window
    assert (await rotate(client, alice.refresh)).status_code == 200
    graced = await scrape(client)
    assert graced.domain_deltas(rotated) == {counter("authsvc_refresh_grace_replays_total"): 1}

    clock.advance(6)  # the same superseded token again, past the window: a stolen copy
    assert (await rotate(client, alice.refresh)).status_code == 401
    reused = await scrape(client)
    assert reused.domain_deltas(graced) == {
        counter("authsvc_refresh_reuse_detected_total"): 1,
        counter("authsvc_sessions_revoked_total", reason="reuse_detected"): 1,
    }

    # The session is gone: its newest token is refused, and nothing more is counted as reuse.
    assert (await rotate(client, new_refresh_token(first))).status_code == 401
    assert (await scrape(client)).domain_deltas(reused) == {}


async def test_revocations_are_counted_per_session_by_reason(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    before = await scrape(client)
    laptop = await login(client)
    await login(client)  # a phone
    await login(client)  # a tablet

    await client.post("/auth/logout", headers=cookie_header(laptop.refresh))
    await client.post("/auth/logout", headers=cookie_header(laptop.refresh))  # idempotent
    sessions = (await client.get("/auth/sessions", headers=alice.bearer)).json()["sessions"]
    phone_id = next(s["id"] for s in sessions if not s["current"])
    deleted = await client.delete(f"/auth/sessions/{phone_id}", headers=alice.bearer)
    assert deleted.status_code == 204
    changed = await client.post(
        "/auth/password",
        headers=alice.bearer,
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 204
    ended_all = await client.post("/auth/logout-all", headers=alice.bearer)
    assert ended_all.status_code == 204

    after = await scrape(client)
    assert after.domain_deltas(before) == {
        counter("authsvc_logins_total", result="succeeded"): 3,
        counter("authsvc_sessions_revoked_total", reason="logout"): 1,
        counter("authsvc_sessions_revoked_total", reason="signed_out"): 1,
        # alice's own session stays; the one left of the three logins ends.
        counter("authsvc_sessions_revoked_total", reason="password_changed"): 1,
        counter("authsvc_sessions_revoked_total", reason="logout_all"): 1,
    }


async def test_throttled_requests_are_counted_by_flow_and_are_not_failed_logins(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(
        tmp_path,
        throttle_per_ip="1000/minute",
        throttle_per_account_ip="3/minute",
        throttle_per_account="1000/minute",
    )
    async with app_client(settings, clock=clock) as client:
        await register(client)
        await register(client, "bob")
        bob = await login(client, "bob")
        before = await scrape(client)

        logins = [
            (await client.post("/auth/login", json={"username": "alice", "password": WRONG}))
            for _ in range(5)
        ]
        body = {"current_password": WRONG, "new_password": "a brand new passphrase"}
        changes = [
            (await client.post("/auth/password", headers=bob.bearer, json=body)) for _ in range(4)
        ]

        assert [r.status_code for r in logins] == [401, 401, 401, 429, 429]
        assert [r.status_code for r in changes] == [401, 401, 401, 429]
        after = await scrape(client)
    assert after.domain_deltas(before) == {
        counter("authsvc_logins_total", result="failed"): 3,
        counter("authsvc_throttled_requests_total", flow="login"): 2,
        counter("authsvc_throttled_requests_total", flow="password_change"): 1,
    }


async def test_sessions_active_counts_live_sessions_of_every_user(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert (await scrape(client)).value("authsvc_sessions_active") == 0
    await register(client)
    await register(client, "bob")
    alice = await login(client)
    await login(client)
    await login(client, "bob")
    assert (await scrape(client)).value("authsvc_sessions_active") == 3

    await client.post("/auth/logout", headers=cookie_header(alice.refresh))
    assert (await scrape(client)).value("authsvc_sessions_active") == 2

    clock.advance(86_400 + 1)  # past the idle lifetime of every session
    assert (await scrape(client)).value("authsvc_sessions_active") == 0


async def test_requests_are_labelled_by_route_template_and_status_class(
    client: httpx.AsyncClient, alice: Tokens
) -> None:
    session_id = str(uuid.uuid4())
    await client.delete(f"/auth/sessions/{session_id}", headers=alice.bearer)  # 404
    await client.get("/auth/verify", headers=alice.bearer)  # 200
    await client.post("/auth/verify", headers=alice.bearer)  # forward-auth relays any method
    await client.request("PROPFIND", "/auth/verify", headers=alice.bearer)
    for n in range(3):
        await client.get(f"/no/such/{uuid.uuid4()}/{n}")
    await client.get("/metrics")

    after = await scrape(client)

    def requests(method: str, route: str, status: str) -> float:
        return after.value("authsvc_http_requests_total", method=method, route=route, status=status)

    assert requests("DELETE", "/auth/sessions/{session_id}", "4xx") == 1
    assert requests("GET", "/auth/verify", "2xx") == 1
    assert requests("POST", "/auth/verify", "2xx") == 1
    assert requests("other", "/auth/verify", "2xx") == 1
    assert requests("GET", "unmatched", "4xx") == 3
    assert requests("POST", "/auth/login", "2xx") == 1
    assert requests("POST", "/auth/register", "2xx") == 1
    routes = {dict(labels)["route"] for name, labels in after.values if "_http_" in name}
    assert "/metrics" not in routes  # scrapes are not traffic
    assert all(route == "unmatched" or route.startswith("/") for route in routes)
    assert session_id not in "".join(routes)

    verify = {"route": "/auth/verify", "status": "2xx"}
    assert after.value("authsvc_http_request_duration_seconds_count", **verify) == 3
    assert after.value("authsvc_http_request_duration_seconds_bucket", le="+Inf", **verify) == 3
    assert after.value("authsvc_http_request_duration_seconds_sum", **verify) > 0
    assert after.label_names("authsvc_http_requests_total") == {"method", "route", "status"}
    assert after.label_names("authsvc_http_request_duration_seconds_count") == {"route", "status"}


async def test_no_label_carries_a_username_address_token_or_password(app: FastAPI) -> None:
    async with asgi_client(app, client_ip=CLIENT_IP) as client:
        await register(client, "carol.secretname")
        tokens = await login(client, "carol.secretname")
        refreshed = await rotate(client, tokens.refresh)
        await client.post(
            "/auth/login", json={"username": "mallory.unknown", "password": "hunter2 hunter2"}
        )
        await client.get("/auth/me", headers=tokens.bearer)
        await client.get(f"/{tokens.access}")
        await client.get("/auth/verify", headers={"X-Forwarded-For": "198.51.100.9"})
        text = (await client.get("/metrics")).text

    secrets = {
        "carol.secretname",
        "mallory.unknown",
        CLIENT_IP,
        "198.51.100.9",
        tokens.access,
        tokens.refresh,
        new_refresh_token(refreshed),
        PASSWORD,
        "hunter2 hunter2",
    }
    for label in Scrape.parse(text).label_values():
        assert not any(secret in label for secret in secrets), label
    for secret in secrets:
        assert secret not in text


async def test_a_store_outage_leaves_only_the_gauge_out(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    class Unreachable:
        async def count_active_sessions(self, *, now: object) -> int:
            raise StoreUnavailable("database unavailable")

    services = app.state.services.with_store(Unreachable())
    app.dependency_overrides[get_services] = lambda: services
    response = await client.get("/metrics")

    assert response.status_code == 200
    families = Scrape.parse(response.text).types
    assert "authsvc_sessions_active" not in families
    assert "authsvc_logins" in families


async def test_metrics_can_be_switched_off(tmp_path: Path) -> None:
    settings: Settings = make_settings(tmp_path, metrics_enabled=False)
    async with app_client(settings) as client:
        await register(client)
        await login(client)
        assert (await client.get("/metrics")).status_code == 404
        schema = (await client.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
