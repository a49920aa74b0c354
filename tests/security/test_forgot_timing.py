"""A reset request for an address with an account must cost what one without costs.

Sampled like test_login_timing.py: medians of interleaved samples, a wide band. What the band
must catch is the lookup, the token and the mail done before answering for a known address
only: a few database round trips that an unknown address skips.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.settings import Settings
from tests.api.test_email import register_with_email
from tests.security.test_login_timing import SAMPLES, WARM_UP
from tests.support.settings import UNTHROTTLED
from tests.support.smtp_sink import Sink, mail_settings

KNOWN = "alice@example.com"
UNKNOWN = "nobody@example.com"


@pytest.fixture
def settings(tmp_path: Path, sink: Sink) -> Settings:
    # Every known sample must do the whole work: no per-address limit cuts it short.
    return mail_settings(tmp_path, sink, **UNTHROTTLED)


async def timed_forgot(client: httpx.AsyncClient, email: str) -> float:
    start = time.perf_counter()
    response = await client.post("/auth/password/forgot", json={"email": email})
    elapsed = time.perf_counter() - start
    assert response.status_code == 202, response.text
    return elapsed


async def test_a_known_address_costs_the_same_as_an_unknown_one(
    client: httpx.AsyncClient, app: FastAPI, sink: Sink
) -> None:
    await register_with_email(client)
    for _ in range(WARM_UP):
        await timed_forgot(client, KNOWN)
        await timed_forgot(client, UNKNOWN)
    known: list[float] = []
    unknown: list[float] = []
    for i in range(SAMPLES):
        # Swap who goes first each round, so drift, and the work left behind by the known
        # address's request, fall on both sides alike.
        pair = [(KNOWN, known), (UNKNOWN, unknown)]
        for email, samples in pair if i % 2 == 0 else reversed(pair):
            samples.append(await timed_forgot(client, email))
    await app.state.services.background.idle()

    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    ratio = unknown_median / known_median
    assert 0.6 < ratio < 1.6, (
        f"unknown address {unknown_median * 1000:.2f} ms vs known address "
        f"{known_median * 1000:.2f} ms (ratio {ratio:.2f})"
    )
    # The known address's requests did the work, a mail each, just not before answering.
    messages = await sink.arrived(1 + WARM_UP + SAMPLES)
    assert sum(m["To"] == KNOWN for m in messages) == 1 + WARM_UP + SAMPLES
