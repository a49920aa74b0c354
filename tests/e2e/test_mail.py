"""E-mail through a real `authsvc serve` and a real SMTP server, both on loopback."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.support.http import (
    at_once,
    bearer,
    login_sync,
    register_sync,
    signed_in,
    sorted_statuses,
)
from tests.support.processes import Server, ServerFactory, free_port, server_env
from tests.support.smtp_sink import SINK_PASSWORD, Sink, SinkFactory, link_token

EMAIL = "alice@example.com"


def register_with_email(server: Server, username: str = "alice") -> None:
    with server.client() as client:
        register_sync(client, username, email=f"{username}@example.com")


def verify(server: Server, token: str) -> int:
    with server.client() as client:
        return client.post("/auth/email/verify", json={"token": token}).status_code


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_register_receive_the_link_verify_and_see_it_in_me(
    servers: ServerFactory, smtp_sinks: SinkFactory, database: Path, tls: str
) -> None:
    sink = smtp_sinks.start(tls=tls, login=True)  # type: ignore[arg-type]
    server = servers.start(server_env(database, **sink.env(SMTP_URL=sink.url_with_login())))
    register_with_email(server)
    [message] = sink.wait_for(1)
    assert message["To"] == EMAIL
    assert sink.logins == ["mailer"]
    token = link_token(message)
    assert verify(server, token) == 204
    with server.client() as client:
        tokens = login_sync(client, "alice")
        profile = client.get("/auth/me", headers=bearer(tokens.access)).json()
    assert profile["email_verified"] is True
    assert verify(server, token) == 400
    # Neither the token, nor the mail, nor the SMTP password ever reaches the log.
    output = server.output()
    assert token not in output
    assert "verify-email" not in output
    assert SINK_PASSWORD not in output
    assert f"mail: SMTP to 127.0.0.1:{sink.port}" in output


def test_a_mail_queued_before_a_kill_9_is_delivered_after_the_restart(
    servers: ServerFactory, smtp_sinks: SinkFactory, database: Path
) -> None:
    port = free_port()  # nothing listens yet: the first server cannot deliver
    env = server_env(
        database,
        SMTP_URL=f"smtp://127.0.0.1:{port}",
        MAIL_FROM="no-reply@authsvc.test",
        PUBLIC_URL="https://app.authsvc.test",
        MAIL_POLL_INTERVAL_SECONDS="0.2",
        MAIL_BACKOFF_BASE_SECONDS="0.2",
        MAIL_BACKOFF_MAX_SECONDS="1",
        MAIL_LEASE_SECONDS="10",
    )
    first = servers.start(env)
    register_with_email(first)
    first.stop(signal.SIGKILL)
    sink = smtp_sinks.start(port=port)
    servers.start(env)
    [message] = sink.wait_for(1)
    assert message["To"] == EMAIL


def test_a_451_is_retried_with_backoff_until_the_server_accepts(
    servers: ServerFactory, smtp_sinks: SinkFactory, database: Path
) -> None:
    sink = smtp_sinks.start(refuse=("451 4.3.0 Try again later",) * 2)
    server = servers.start(server_env(database, **sink.env()))
    register_with_email(server)
    [message] = sink.wait_for(1)
    assert (sink.refused, message["To"]) == (2, EMAIL)
    assert server.output().count("SMTPDataError 451") == 2


async def test_one_token_verified_at_once_many_times_succeeds_once(
    mailing: tuple[Server, Sink],
) -> None:
    server, sink = mailing
    [message] = await sink.arrived(1)
    body = {"token": link_token(message)}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        answers = await at_once(12, lambda: client.post("/auth/email/verify", json=body))
    assert sorted_statuses(answers) == [204] + [400] * 11


async def test_concurrent_resends_stay_within_the_throttle(mailing: tuple[Server, Sink]) -> None:
    server, sink = mailing
    async with signed_in(server.base_url, request_timeout=10) as (client, headers):
        answers = await at_once(
            10, lambda: client.post("/auth/email/verify/resend", headers=headers)
        )
    assert sorted_statuses(answers) == [202] * 3 + [429] * 7
    assert all("retry-after" in r.headers for r in answers if r.status_code == 429)
    await sink.arrived(4)  # the registration's and three resends


def test_development_without_smtp_prints_the_mail_and_says_so(
    servers: ServerFactory, database: Path
) -> None:
    server = servers.start(
        server_env(database, ENVIRONMENT="development", MAIL_POLL_INTERVAL_SECONDS="0.2")
    )
    assert "mails are written to this log, not sent" in server.output()
    register_with_email(server)
    server.stop()
    output = server.output()
    assert "DEVELOPMENT MAIL (console mode, not sent) to alice@example.com" in output
    assert "http://localhost:5173/verify-email#token=" in output


def test_production_without_smtp_says_e_mail_is_off(servers: ServerFactory, database: Path) -> None:
    server = servers.start(server_env(database))
    assert "SMTP_URL is not set: e-mail is switched off" in server.output()
    with server.client() as client:
        response = client.post("/auth/email/verify", json={"token": "x" * 43})
    assert (response.status_code, response.json()) == (404, {"detail": "E-mail is not configured"})
