"""The store as every flow sees it, telling the profile cache of each profile change.

The profile columns (`username`, `email`, `email_verified_at`, `roles`, `disabled_at`,
`deleted_at`) change only in the store methods overridden here; the rest pass straight to the
store. Telling happens after the method returns, that is after its transaction committed, and
before any caller answers: a read that started before the commit is refused by the cache's
version check, and one that starts after it reads the new row. Sitting under every flow (the
API, the CLI, the tests' direct store calls), it cannot be bypassed by a new caller.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any, TypeVar

from authsvc.services.profile_cache import ProfileCache
from authsvc.store.base import Store
from authsvc.store.records import EmailChange, UserChanges, UserUpdate

T = TypeVar("T")


class ProfileWatchingStore:
    """`store`, with `cache` told of every profile change it makes."""

    def __init__(self, store: Store, cache: ProfileCache) -> None:
        self._store = store
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        # Every other method is the store's own, unchanged.
        return getattr(self._store, name)

    async def _whose(self, change: Awaitable[T]) -> T:
        """`change`, whose account only its result names: should it fail, perhaps after its
        commit, no cached profile can be trusted."""
        try:
            return await change
        except BaseException:
            await self._cache.changed(None)
            raise

    async def update_user(
        self, user_id: str, changes: UserChanges, *, now: datetime, keep_holder_of: str
    ) -> UserUpdate | None:
        try:
            return await self._store.update_user(
                user_id, changes, now=now, keep_holder_of=keep_holder_of
            )
        finally:
            await self._cache.changed([user_id])

    async def delete_user(
        self, user_id: str, *, now: datetime, keep_holder_of: str
    ) -> list[str] | None:
        try:
            return await self._store.delete_user(user_id, now=now, keep_holder_of=keep_holder_of)
        finally:
            await self._cache.changed([user_id])

    async def verify_email(self, token_hash: str, *, now: datetime) -> str | None:
        user_id = await self._whose(self._store.verify_email(token_hash, now=now))
        if user_id is not None:
            await self._cache.changed([user_id])
        return user_id

    async def reset_password(
        self, token_hash: str, password_hash: str, *, now: datetime
    ) -> str | None:
        # A reset also verifies the address the link went to.
        user_id = await self._whose(self._store.reset_password(token_hash, password_hash, now=now))
        if user_id is not None:
            await self._cache.changed([user_id])
        return user_id

    async def change_email(self, token_hash: str, *, now: datetime) -> EmailChange | None:
        change = await self._whose(self._store.change_email(token_hash, now=now))
        if change is not None:
            await self._cache.changed([change.user_id])
        return change
