"""Background tasks: loops that live as long as a block (`in_background`), and work a request
starts but does not wait for (`BackgroundWork`), finished before the process stops.

`BackgroundWork` is for answers that must not depend on the work: a password-reset request
answers the same whether or not an account matches, so looking the address up and queueing
the mail happen there, after the answer is decided. Each piece of work is referenced until it
ends (the event loop keeps only weak references); a failure is logged by its class only, since
the work may hold addresses or tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger("authsvc.background")

# How long the shutdown waits for work still running before cancelling it.
SHUTDOWN_GRACE_SECONDS = 10.0


class BackgroundWork:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background work %s failed: %s", task.get_name(), type(exc).__name__)

    async def idle(self) -> None:
        """Wait until every piece of work started so far has ended."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self, grace_seconds: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let running work finish within `grace_seconds`, then cancel what is left."""
        try:
            await asyncio.wait_for(self.idle(), grace_seconds)
        except TimeoutError:
            for task in set(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)


@asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None], *, name: str) -> AsyncIterator[None]:
    """Run `work` as a task while the block runs; cancel it, and wait for it, on exit."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def running_background() -> AsyncIterator[BackgroundWork]:
    """Work started within the block is finished (or, past the grace, cancelled) on exit."""
    work = BackgroundWork()
    try:
        yield work
    finally:
        await work.aclose()
