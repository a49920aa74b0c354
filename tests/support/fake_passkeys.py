"""The passkeys half of the in-memory store (fakes.py), held to the SQL store's behaviour by
tests/unit/store/test_passkeys.py."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

from authsvc.errors import PasskeyTaken
from authsvc.store.factor_records import NewChallenge, NewPasskey, PasskeyRecord, PasskeyRemoval
from authsvc.store.records import UserRecord


class InMemoryPasskeys:
    users: dict[str, UserRecord]

    def __init__(self) -> None:
        self.passkeys: dict[str, PasskeyRecord] = {}
        self.webauthn_challenges: dict[
            str, tuple[NewChallenge, datetime | None]
        ] = {}  # and used_at

    async def add_challenge(self, challenge: NewChallenge) -> None:
        self.webauthn_challenges = {
            key: entry
            for key, entry in self.webauthn_challenges.items()
            if entry[0].expires_at > challenge.created_at
        }
        self.webauthn_challenges[challenge.id] = (challenge, None)

    async def use_challenge(
        self, challenge_id: str, *, purpose: str, user_id: str | None, now: datetime
    ) -> str | None:
        challenge, used_at = self.webauthn_challenges.get(challenge_id, (None, None))
        if (
            challenge is None
            or used_at is not None
            or challenge.purpose != purpose
            or challenge.user_id != user_id
            or challenge.expires_at <= now
        ):
            return None
        self.webauthn_challenges[challenge_id] = (challenge, now)
        return challenge.challenge_hash

    async def add_passkey(self, passkey: NewPasskey) -> PasskeyRecord:
        if any(p.credential_id == passkey.credential_id for p in self.passkeys.values()):
            raise PasskeyTaken
        record = PasskeyRecord(**asdict(passkey))
        self.passkeys[passkey.id] = record
        return record

    async def list_passkeys(self, user_id: str) -> list[PasskeyRecord]:
        mine = (p for p in self.passkeys.values() if p.user_id == user_id)
        return sorted(mine, key=lambda p: (p.created_at, p.id))

    async def find_passkey(self, credential_id: str) -> PasskeyRecord | None:
        for passkey in self.passkeys.values():
            if passkey.credential_id == credential_id and passkey.user_id in self.users:
                return passkey
        return None

    async def rename_passkey(
        self, user_id: str, passkey_id: str, *, name: str
    ) -> PasskeyRecord | None:
        passkey = self.passkeys.get(passkey_id)
        if passkey is None or passkey.user_id != user_id:
            return None
        self.passkeys[passkey_id] = replace(passkey, name=name)
        return self.passkeys[passkey_id]

    async def remove_passkey(
        self, user_id: str, passkey_id: str, *, keep_last: bool
    ) -> PasskeyRemoval:
        mine = [p.id for p in self.passkeys.values() if p.user_id == user_id]
        if passkey_id not in mine:
            return PasskeyRemoval.NOT_FOUND
        if keep_last and len(mine) == 1:
            return PasskeyRemoval.LAST
        del self.passkeys[passkey_id]
        return PasskeyRemoval.REMOVED

    async def remove_all_passkeys(self, user_id: str) -> int:
        before = len(self.passkeys)
        self.forget_passkeys(user_id)
        return before - len(self.passkeys)

    async def passkey_used(
        self, passkey_id: str, *, sign_count: int, backed_up: bool, now: datetime
    ) -> bool:
        passkey = self.passkeys.get(passkey_id)
        if passkey is None:
            return False
        forward = passkey.sign_count == 0 if sign_count == 0 else passkey.sign_count < sign_count
        if not forward:
            return False
        self.passkeys[passkey_id] = replace(
            passkey, sign_count=sign_count, backed_up=backed_up, last_used_at=now
        )
        return True

    def forget_passkeys(self, user_id: str) -> None:
        """What deleting an account does to its passkeys."""
        self.passkeys = {k: p for k, p in self.passkeys.items() if p.user_id != user_id}
