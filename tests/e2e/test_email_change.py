"""Change of address through a real `authsvc serve` and a real SMTP server, both on loopback."""

from __future__ import annotations

from tests.e2e.test_password_reset import only
from tests.support.http import PASSWORD, at_once, signed_in, sorted_statuses
from tests.support.processes import Server
from tests.support.smtp_sink import Sink, link_token

NEW = "alice@new.example.com"


async def test_one_change_link_used_at_once_many_times_moves_the_account_once(
    mailing: tuple[Server, Sink],
) -> None:
    server, sink = mailing
    async with signed_in(server.base_url) as (client, headers):
        body = {"email": NEW, "current_password": PASSWORD}
        assert (await client.post("/auth/email", json=body, headers=headers)).status_code == 202
        _, message = await sink.arrived(2)
        token = link_token(message)
        answers = await at_once(
            10, lambda: client.post("/auth/email/verify", json={"token": token})
        )
        assert sorted_statuses(answers) == [204] + [400] * 9
        profile = (await client.get("/auth/me", headers=headers)).json()
        assert (profile["email"], profile["email_verified"]) == (NEW, True)
    subjects = await only(sink, 3)  # one notice to the old address, not ten
    assert subjects[2] == "Your e-mail address was changed"
    assert sink.received()[2]["To"] == "alice@example.com"
    assert token not in server.output()
