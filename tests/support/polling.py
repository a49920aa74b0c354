"""Waiting for what another task or process does: retry a check until it passes, bounded.

A check is a function that raises AssertionError while the awaited state is not there yet and
returns (anything) once it is. After `timeout` seconds the last AssertionError is raised, so a
failure reads like the plain assertion it is. Nothing sleeps longer than `interval` at a time.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

TIMEOUT_SECONDS = 5.0
INTERVAL_SECONDS = 0.05


def _give_up_after(deadline: float, error: AssertionError) -> None:
    if time.monotonic() >= deadline:
        raise error


@overload
async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = ..., interval: float = ...
) -> T: ...
@overload
async def eventually(
    check: Callable[[], T], *, timeout: float = ..., interval: float = ...
) -> T: ...
async def eventually(
    check: Callable[[], Any],
    *,
    timeout: float = TIMEOUT_SECONDS,
    interval: float = INTERVAL_SECONDS,
) -> Any:
    """Await `check()` (sync or async) until it stops raising AssertionError; its result."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            return (await result) if inspect.isawaitable(result) else result
        except AssertionError as error:
            _give_up_after(deadline, error)
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], T],
    *,
    timeout: float = TIMEOUT_SECONDS,
    interval: float = INTERVAL_SECONDS,
) -> T:
    """`eventually` for plain (blocking) code, such as tests that drive a child process;
    `check` is a plain function here."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError as error:
            _give_up_after(deadline, error)
        time.sleep(interval)
