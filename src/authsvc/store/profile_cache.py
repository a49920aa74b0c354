"""`ProfileCache`: the profiles read recently, kept in this process, least recently used first out.

Only for data that never changes once written (see `SqlUserStore.get_profile`): it is never
invalidated, only bounded.
"""

from __future__ import annotations

from collections import OrderedDict

from authsvc.store.base import UserProfile


class ProfileCache:
    """At most `size` profiles by user id; not shared between processes or replicas."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._profiles: OrderedDict[str, UserProfile] = OrderedDict()

    def get(self, user_id: str) -> UserProfile | None:
        profile = self._profiles.get(user_id)
        if profile is not None:
            self._profiles.move_to_end(user_id)
        return profile

    def put(self, profile: UserProfile) -> None:
        self._profiles[profile.id] = profile
        self._profiles.move_to_end(profile.id)
        if len(self._profiles) > self.size:
            self._profiles.popitem(last=False)
