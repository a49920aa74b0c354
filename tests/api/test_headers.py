"""Response hardening: security headers everywhere, request ids, no caching of tokens."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.support.http import PASSWORD, Tokens


@pytest.mark.parametrize("path", ["/healthz", "/auth/me", "/openapi.json", "/nowhere"])
async def test_security_headers_on_every_response(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )


async def test_docs_page_keeps_its_own_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith(
        "default-src 'none'; script-src 'self';"
    )
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_request_id_is_made_or_taken_from_the_gateway(client: httpx.AsyncClient) -> None:
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    taken = await client.get("/healthz", headers={"X-Request-ID": "gw-1234.abc"})
    assert taken.headers["x-request-id"] == "gw-1234.abc"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "a\tb" + "x" * 100})
    assert hostile.headers["x-request-id"] != "a\tb" + "x" * 100
    assert len(hostile.headers["x-request-id"]) == 32


async def test_security_events_carry_the_request_id_and_no_secrets(
    client: httpx.AsyncClient, alice: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    from authsvc.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="authsvc.security")
    await client.post(
        "/auth/login",
        json={"username": "alice", "password": "wrong " + PASSWORD},
        headers={"X-Request-ID": "req-42"},
    )
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    failed = [line for line in lines if line.get("event") == "login_failed"]
    assert failed
    assert failed[0]["request_id"] == "req-42"
    assert failed[0]["user_id"]
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in (PASSWORD, alice.access, alice.refresh):
        assert secret not in text
