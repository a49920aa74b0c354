"""Change of address through a real `authsvc serve` and a real SMTP server, both on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.e2e.test_mail import registered_on_a_mail_server
from tests.e2e.test_password_reset import only
from tests.support.http import PASSWORD, bearer
from tests.support.processes import ServerFactory
from tests.support.smtp_sink import SinkFactory, link_token

NEW = "alice@new.example.com"


async def test_one_change_link_used_at_once_many_times_moves_the_account_once(
    servers: ServerFactory, smtp_sinks: SinkFactory, database: Path
) -> None:
    server, sink = await registered_on_a_mail_server(servers, smtp_sinks, database)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as client:
        login = await client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
        headers = bearer(login.json()["access_token"])
        body = {"email": NEW, "current_password": PASSWORD}
        assert (await client.post("/auth/email", json=body, headers=headers)).status_code == 202
        _, message = await asyncio.to_thread(sink.wait_for, 2)
        token = link_token(message)
        answers = await asyncio.gather(
            *(client.post("/auth/email/verify", json={"token": token}) for _ in range(10))
        )
        assert sorted(r.status_code for r in answers) == [204] + [400] * 9
        profile = (await client.get("/auth/me", headers=headers)).json()
        assert (profile["email"], profile["email_verified"]) == (NEW, True)
    subjects = await only(sink, 3)  # one notice to the old address, not ten
    assert subjects[2] == "Your e-mail address was changed"
    assert sink.received()[2]["To"] == "alice@example.com"
    assert token not in server.output()
