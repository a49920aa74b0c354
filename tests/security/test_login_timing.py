"""A login for an unknown user must cost what a wrong password costs (no user enumeration).

Timings are compared by their medians over interleaved samples, so a burst of noise on a busy
machine moves both sides alike; the bands are wide on purpose. What they must catch is the
classic shortcut of answering unknown users before hashing, which is an order of magnitude
faster than argon2 and shows up as a ratio far outside the band.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest

from authsvc.settings import Settings
from tests.support.http import register
from tests.support.settings import UNTHROTTLED, make_settings

SAMPLES = 40
WARM_UP = 3
WRONG = "definitely not the password"
UNKNOWN = "nobody-by-this-name"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Every sample is a failed login; the default throttle would answer 429 after five.
    return make_settings(tmp_path, **UNTHROTTLED)


async def timed_post(client: httpx.AsyncClient, body: object, expected: int) -> float:
    start = time.perf_counter()
    response = await client.post("/auth/login", json=body)
    elapsed = time.perf_counter() - start
    assert response.status_code == expected, response.text
    return elapsed


async def failed_login(client: httpx.AsyncClient, username: str) -> float:
    return await timed_post(client, {"username": username, "password": WRONG}, 401)


async def sample_failures(client: httpx.AsyncClient) -> tuple[float, float]:
    """Median seconds of (wrong password for alice, unknown user), sampled alternately."""
    await register(client)
    for _ in range(WARM_UP):
        await failed_login(client, "alice")
        await failed_login(client, UNKNOWN)
    wrong_password: list[float] = []
    unknown_user: list[float] = []
    for i in range(SAMPLES):
        # Swap who goes first each round, so drift and caching favour neither side.
        pair = [("alice", wrong_password), (UNKNOWN, unknown_user)]
        for username, samples in pair if i % 2 == 0 else reversed(pair):
            samples.append(await failed_login(client, username))
    return statistics.median(wrong_password), statistics.median(unknown_user)


async def test_unknown_user_costs_the_same_as_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    wrong_password, unknown_user = await sample_failures(client)

    ratio = unknown_user / wrong_password
    assert 0.6 < ratio < 1.6, (
        f"unknown user {unknown_user * 1000:.1f} ms vs wrong password "
        f"{wrong_password * 1000:.1f} ms (ratio {ratio:.2f})"
    )


async def test_both_failures_cost_a_password_hash(client: httpx.AsyncClient) -> None:
    """Compared with a login refused before any hashing, both failures must be slow.

    This holds even if every login got cheaper together, where the ratio above would not
    notice; the 422 baseline goes through the same route, middleware and JSON handling.
    """
    baseline = statistics.median(
        [await timed_post(client, {}, 422) for _ in range(WARM_UP + SAMPLES)][WARM_UP:]
    )
    wrong_password, unknown_user = await sample_failures(client)

    timings = f"baseline {baseline * 1000:.1f} ms"
    timings += f", wrong password {wrong_password * 1000:.1f} ms"
    timings += f", unknown user {unknown_user * 1000:.1f} ms"
    assert unknown_user > 3 * baseline, timings
    assert wrong_password > 3 * baseline, timings
