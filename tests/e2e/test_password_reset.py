"""Password reset through a real `authsvc serve` and a real SMTP server, both on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.http import PASSWORD, at_once, signed_in, sorted_statuses
from tests.support.processes import Server, ServerFactory, server_env
from tests.support.smtp_sink import Sink, SinkFactory, link_token

NEW_PASSWORD = "a brand new passphrase"
RESET_SUBJECT = "Reset your password"


async def only(sink: Sink, count: int) -> list[str]:
    """The subjects of exactly `count` mails: waits for them, then a while for any more."""
    await sink.arrived(count)
    await asyncio.sleep(1.0)
    subjects = [str(message["Subject"]) for message in sink.received()]
    assert len(subjects) == count, subjects
    return subjects


async def test_concurrent_resets_with_one_token_succeed_once_and_the_token_is_never_logged(
    mailing: tuple[Server, Sink],
) -> None:
    server, sink = mailing
    async with signed_in(server.base_url) as (client, access):
        forgot = await client.post("/auth/password/forgot", json={"email": "alice@example.com"})
        assert forgot.status_code == 202
        _, message = await sink.arrived(2)
        token = link_token(message)
        body = {"token": token, "new_password": NEW_PASSWORD}
        answers = await at_once(10, lambda: client.post("/auth/password/reset", json=body))
        assert sorted_statuses(answers) == [204] + [400] * 9
        assert (await client.get("/auth/verify", headers=access)).status_code == 401
        again = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
        assert again.status_code == 401
        new = {"username": "alice", "password": NEW_PASSWORD}
        assert (await client.post("/auth/login", json=new)).status_code == 200
    subjects = await only(sink, 3)
    assert subjects[2] == "Your password was changed"
    output = server.output()
    assert token not in output
    assert "reset-password" not in output
    assert "password_reset" in output  # the events are logged, by account id only


async def test_a_burst_from_one_client_is_held_to_the_per_client_limit(
    mailing: tuple[Server, Sink],
) -> None:
    server, sink = mailing
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as client:
        answers = await asyncio.gather(
            *(
                client.post("/auth/password/forgot", json={"email": f"user{i}@example.com"})
                for i in range(12)
            )
        )
    # THROTTLE_FORGOT_PER_IP's default, 5/minute.
    assert sorted_statuses(answers) == [202] * 5 + [429] * 7
    assert all(int(r.headers["retry-after"]) > 0 for r in answers if r.status_code == 429)
    await only(sink, 1)  # the registration's verification mail, nothing else


async def test_a_burst_for_one_address_mails_within_the_per_address_limit_and_answers_alike(
    servers: ServerFactory, smtp_sinks: SinkFactory, database: Path
) -> None:
    sink = smtp_sinks.start()
    env = server_env(database, **sink.env(THROTTLE_FORGOT_PER_IP="1000/minute"))
    server = servers.start(env)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as client:
        registered = await client.post(
            "/auth/register",
            json={"username": "alice", "password": PASSWORD, "email": "alice@example.com"},
        )
        assert registered.status_code == 201
        body = {"email": "alice@example.com"}
        answers = await at_once(10, lambda: client.post("/auth/password/forgot", json=body))
    assert {(r.status_code, r.text) for r in answers} == {(202, answers[0].text)}
    # THROTTLE_FORGOT_PER_EMAIL's default, 3/hour: three links, and the verification mail.
    subjects = await only(sink, 4)
    assert subjects.count(RESET_SUBJECT) == 3
