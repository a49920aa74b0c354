"""The throttle's in-process counters: limits' memory storage without its expiry sweep.

limits' `MemoryStorage` (aio) sweeps expired entries in a task that hops to a worker thread
for every key it holds, and starts a new sweep on every hit once the last one has finished.
Under a login load that is thousands of thread hops per sweep, with the event loop handling
every one of them: most of its time went there, and more the more accounts had logged in.

Expired entries never count, whether swept or not (every window check compares timestamps,
and counters are dropped when read after their expiry), so the sweep only frees memory. Here
it runs on the loop without awaiting, so nothing interleaves with it: a new sweep starts at
most every `SWEEP_SECONDS`, and each hit carries it on by at most `SWEEP_BATCH` keys, so no
single hit pays for a store of a million keys.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator

from limits.aio.storage import MemoryStorage

SWEEP_SECONDS = 10.0
SWEEP_BATCH = 500


class LocalStorage(MemoryStorage):
    """limits' aio `MemoryStorage` with an inline, batched expiry sweep."""

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = 0.0
        self._sweeping: Iterator[str] | None = None

    # MemoryStorage calls this (name-mangled) before every hit and every increment; this
    # override replaces its sweep task. Were a release of limits to rename it, the override
    # would go unused and limits' own sweep would run again: slower, never wrong.
    async def _MemoryStorage__schedule_expiry(self) -> None:
        self.sweep(time.time())

    def sweep(self, now: float) -> None:
        """Carry the sweep on by one batch, or start one if it is time to."""
        if self._sweeping is None:
            if now < self._next_sweep:
                return
            self._next_sweep = now + SWEEP_SECONDS
            # A snapshot of the keys: the dictionaries change while the sweep goes on.
            self._sweeping = iter([*self.events, *self.expirations])
        for _ in range(SWEEP_BATCH):
            key = next(self._sweeping, None)
            if key is None:
                self._sweeping = None
                return
            self._expire(key, now)

    def _expire(self, key: str, now: float) -> None:
        if (events := self.events.get(key)) is not None:
            # Newest first (hits are inserted at the front), so the expired ones are a tail.
            del events[bisect.bisect_left(events, -now, key=lambda event: -event.expiry) :]
            if not events:
                del self.events[key]
                self.locks.pop(key, None)
        if self.expirations.get(key, now + 1) <= now:
            self.storage.pop(key, None)
            del self.expirations[key]
            self.locks.pop(key, None)
