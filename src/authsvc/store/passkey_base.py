"""The passkey part of the storage interface (base.py composes it into `Store`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from authsvc.store.factor_records import NewChallenge, NewPasskey, PasskeyRecord, PasskeyRemoval


class PasskeyStore(Protocol):
    async def add_challenge(self, challenge: NewChallenge) -> None:
        """Store a challenge; challenges expired by `challenge.created_at` are deleted."""
        ...

    async def use_challenge(
        self, challenge_id: str, *, purpose: str, user_id: str | None, now: datetime
    ) -> str | None:
        """Mark a live challenge of this purpose and user (None: a login's) used, once; its
        hash, or None for an unknown, used, expired or someone else's challenge."""
        ...

    async def add_passkey(self, passkey: NewPasskey) -> PasskeyRecord:
        """Raises: PasskeyTaken when the credential is registered already (to anyone)."""
        ...

    async def list_passkeys(self, user_id: str) -> list[PasskeyRecord]:
        """The user's passkeys, oldest first."""
        ...

    async def find_passkey(self, credential_id: str) -> PasskeyRecord | None:
        """The passkey of a live account with this credential id."""
        ...

    async def rename_passkey(
        self, user_id: str, passkey_id: str, *, name: str
    ) -> PasskeyRecord | None:
        """None when the user has no such passkey."""
        ...

    async def remove_passkey(
        self, user_id: str, passkey_id: str, *, keep_last: bool
    ) -> PasskeyRemoval:
        """Delete one of the user's passkeys; with `keep_last`, only while another of theirs
        remains, decided under a lock on their passkeys so that two removals racing each
        other cannot together take the last."""
        ...

    async def remove_all_passkeys(self, user_id: str) -> int:
        """Delete every passkey of the user (an administrator's reset); how many there were."""
        ...

    async def passkey_used(
        self, passkey_id: str, *, sign_count: int, backed_up: bool, now: datetime
    ) -> bool:
        """Record a login: the counter only moves forward (or stays 0 for authenticators that
        keep none). False, and nothing written, when the stored counter is at or past it."""
        ...
