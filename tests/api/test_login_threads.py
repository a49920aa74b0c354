"""argon2 never runs on the event loop's thread, whatever a login or registration does."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from tests.support.http import PASSWORD, register


@pytest.fixture
def argon2_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every argon2 hash and verification from now on."""
    threads: list[int] = []

    def recorded(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            threads.append(threading.get_ident())
            return method(*args, **kwargs)

        return wrapper

    for name in ("hash", "verify"):
        monkeypatch.setattr(PasswordHasher, name, recorded(getattr(PasswordHasher, name)))
    return threads


async def test_logins_hash_only_off_the_event_loop(
    client: httpx.AsyncClient, argon2_threads: list[int]
) -> None:
    await register(client, "alice")
    attempts = [
        {"username": "alice", "password": PASSWORD},
        {"username": "alice", "password": "not the password at all"},
        {"username": "nobody-here", "password": PASSWORD},
    ] * 2

    answers = await asyncio.gather(*(client.post("/auth/login", json=a) for a in attempts))

    assert sorted({answer.status_code for answer in answers}) == [200, 401]
    # One registration and six logins, each hashed once, none on this (the loop's) thread.
    assert len(argon2_threads) >= 7
    assert threading.get_ident() not in argon2_threads
