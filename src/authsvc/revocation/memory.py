"""Which sessions were revoked recently, answered from memory.

Access tokens are checked on every request, so their session check must not cost a database
round trip. A revoked session's access tokens die on their own at `exp`, so a session only has
to be remembered as revoked for one access-token lifetime (plus leeway) after revocation; the
list therefore stays small, and it is rebuilt from the store at startup.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Protocol

from authsvc.store.base import SessionStore

# How `load` packs a session: its hash made non-negative, above the epoch microseconds.
_HASH_OFFSET = 1 << 63
_UNTIL_BITS = 64
_UNTIL_MASK = (1 << _UNTIL_BITS) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class RevocationList(Protocol):
    async def is_revoked(self, session_id: str, *, now: datetime) -> bool: ...

    async def add(self, session_ids: Iterable[str], *, revoked_at: datetime) -> None: ...


class MemoryRevocationList:
    """Revocations of this process, and of any process before the last start.

    Good for one process; replicas need a shared list so that a logout on one is seen by all.
    """

    def __init__(self, *, remember_for: timedelta) -> None:
        self._remember_for = remember_for
        self._until: dict[str, datetime] = {}
        # What `load` read, which may be a hundred thousand sessions on a busy store: kept as
        # two arrays, sorted by the session id's hash, and the epoch seconds until which each
        # is remembered (12 bytes a session instead of some 170 as a str-keyed dict of
        # datetimes). A hash shared by a revoked and a live session makes the live one look
        # revoked: it fails closed, and with 64-bit hashes it does not happen in practice.
        self._loaded_hashes = array("q")
        self._loaded_until = array("d")
        # Pruning scans every entry: done on every revocation, a burst of logouts over a
        # large list would cost one full scan each. Once per eighth of the memory span keeps
        # the scans rare and the forgotten-but-not-yet-pruned entries to an eighth more.
        self._prune_every = remember_for / 8
        self._next_prune: datetime | None = None

    async def load(self, store: SessionStore, *, now: datetime) -> None:
        """Seed from the store: sessions revoked recently enough to have live access tokens."""
        remember = self._remember_for // _MICROSECOND
        # One int per session while the rows arrive, the id's hash above the microsecond
        # until which it is remembered, so that sorting them sorts by hash: pairs of strings
        # and datetimes held until the last row (some 200 bytes a session) left a starting
        # worker megabytes larger, in allocator pools long-lived objects landed in meanwhile.
        packed: list[int] = []
        async with aclosing(store.revoked_since(now - self._remember_for)) as revoked:
            async for session_id, revoked_at in revoked:
                until = (revoked_at - _EPOCH) // _MICROSECOND + remember
                packed.append((hash(session_id) + _HASH_OFFSET) << _UNTIL_BITS | until)
        packed.sort()
        self._loaded_hashes = array("q", ((key >> _UNTIL_BITS) - _HASH_OFFSET for key in packed))
        # The same float as `(revoked_at + remember_for).timestamp()`.
        self._loaded_until = array("d", ((key & _UNTIL_MASK) / 1_000_000 for key in packed))

    async def is_revoked(self, session_id: str, *, now: datetime) -> bool:
        until = self._until.get(session_id)
        if until is not None and now < until:
            return True
        return bool(self._loaded_hashes) and self._loaded_is_revoked(session_id, now)

    def _loaded_is_revoked(self, session_id: str, now: datetime) -> bool:
        key, hashes = hash(session_id), self._loaded_hashes
        moment = now.timestamp()
        at = bisect_left(hashes, key)
        while at < len(hashes) and hashes[at] == key:
            if moment < self._loaded_until[at]:
                return True
            at += 1
        return False

    async def add(self, session_ids: Iterable[str], *, revoked_at: datetime) -> None:
        self.add_now(session_ids, revoked_at=revoked_at)

    def add_now(self, session_ids: Iterable[str], *, revoked_at: datetime) -> None:
        until = revoked_at + self._remember_for
        for session_id in session_ids:
            self._until[session_id] = until
        if self._next_prune is None or revoked_at >= self._next_prune:
            self._prune(revoked_at)

    def _prune(self, now: datetime) -> None:
        expired = [sid for sid, until in self._until.items() if until <= now]
        for sid in expired:
            del self._until[sid]
        # Loaded entries all expire within one span of the load: dropped together.
        if self._loaded_until and max(self._loaded_until) <= now.timestamp():
            self._loaded_hashes, self._loaded_until = array("q"), array("d")
        self._next_prune = now + self._prune_every

    def __len__(self) -> int:
        return len(self._until) + len(self._loaded_hashes)
