"""ProfileCache: bounded, least recently used out first."""

from __future__ import annotations

from datetime import UTC, datetime

from authsvc.store.base import UserProfile
from authsvc.store.profile_cache import ProfileCache

CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def profile(user_id: str) -> UserProfile:
    return UserProfile(id=user_id, username=f"user-{user_id}", email=None, created_at=CREATED_AT)


def test_a_cached_profile_is_returned_as_stored() -> None:
    cache = ProfileCache(2)
    alice = profile("a")
    cache.put(alice)
    assert cache.get("a") is alice
    assert cache.get("b") is None


def test_the_least_recently_used_profile_goes_first() -> None:
    cache = ProfileCache(2)
    cache.put(profile("a"))
    cache.put(profile("b"))
    assert cache.get("a") is not None  # now "b" is the least recently used
    cache.put(profile("c"))
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None
