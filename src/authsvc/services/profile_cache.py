"""Profiles `/auth/me` has just read, so the next call for the same user reads no row.

A profile changes only through a handful of store methods (roles, disabling and deletion by
an administrator, the e-mail address and its verification), and `ProfileWatchingStore` tells
this cache of each one before the method returns, so the change's own answer is never
followed by the old profile on this process. Other replicas hear of it over Redis
(`revocation/profiles.py`) when REDIS_URL is set, and only trust their entries while they are
subscribed. A change they cannot hear of (a command run without Redis, a replica without it)
is seen at the latest after PROFILE_CACHE_SECONDS, the most an entry is ever kept.

A read that was under way when a change landed may carry the old row: `put` refuses it,
since every change bumps `version` and the read noted the version it started at.

Lives in one event loop and never awaits except to publish, so each step is atomic.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

from authsvc.clock import Clock
from authsvc.store.records import UserProfile

# About half a kilobyte each: at most a few megabytes.
MAX_ENTRIES = 10_000

# Tells the other replicas which users' profiles changed (None: any user's).
Publish = Callable[[list[str] | None], Awaitable[None]]


class ProfileCache:
    def __init__(
        self, *, max_age_seconds: float, clock: Clock, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._max_age = max_age_seconds
        self._max_entries = max_entries if max_age_seconds > 0 else 0
        self._clock = clock
        # user id -> (profile, stored at, epoch seconds by `clock`)
        self._entries: OrderedDict[str, tuple[UserProfile, float]] = OrderedDict()
        self._version = 0
        self._publish: Publish | None = None
        # False while changes made elsewhere could go unheard (the feed is down).
        self._trusted = True

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def version(self) -> int:
        """Note it before reading a profile, and hand it to `put` with what was read."""
        return self._version

    def get(self, user_id: str) -> UserProfile | None:
        if not self._entries:
            return None
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        profile, stored_at = entry
        age = self._clock().timestamp() - stored_at
        if not 0 <= age < self._max_age:
            # Too old, or the clock went back: read again.
            del self._entries[user_id]
            return None
        self._entries.move_to_end(user_id)
        return profile

    def put(self, profile: UserProfile, *, version: int) -> None:
        """Remember `profile`, read after `version` was noted, unless anything changed since."""
        if version != self._version or not self._trusted or self._max_entries <= 0:
            return
        self._entries[profile.id] = (profile, self._clock().timestamp())
        self._entries.move_to_end(profile.id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def forget(self, user_ids: Iterable[str] | None) -> None:
        """Drop these users' profiles (None: every profile), and any read under way."""
        self._version += 1
        if user_ids is None:
            self._entries.clear()
            return
        for user_id in user_ids:
            self._entries.pop(user_id, None)

    async def changed(self, user_ids: list[str] | None) -> None:
        """A change to these users' profiles (None: unknown whose) was just committed."""
        self.forget(user_ids)
        if self._publish is not None:
            await self._publish(user_ids)

    def share(self, publish: Publish, *, trusted: bool) -> None:
        """From now on, changes made here are published to the other replicas, and entries
        are kept only while `trust` says changes from them are heard."""
        self._publish = publish
        self.trust(trusted)

    def trust(self, heard: bool) -> None:
        """Whether changes made by other replicas reach `forget` now."""
        self._trusted = heard
        self.forget(None)
