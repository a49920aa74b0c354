"""The per-user session cap across replicas: a session ended on one dies on the other at once."""

from __future__ import annotations

from tests.replicas_in_process.conftest import Replicas
from tests.support.http import login, register, seconds_until_refused
from tests.support.settings import REDIS_URL


async def test_a_session_ended_by_the_cap_on_one_replica_is_refused_by_the_other(
    replicas: Replicas,
) -> None:
    a, b = await replicas(REDIS_URL, REDIS_URL, max_sessions_per_user=1)
    await register(a)
    first = await login(a)
    assert (await b.get("/auth/verify", headers=first.bearer)).status_code == 200

    second = await login(a)

    assert await seconds_until_refused(b, first) < 0.5
    assert (await b.get("/auth/verify", headers=second.bearer)).status_code == 200
