"""The second-factor half of the in-memory store (fakes.py): `MfaStore` kept in dicts, each
method one step without an `await`, as one transaction is in the SQL store."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

from authsvc.store.factor_records import (
    ChallengeOutcome,
    FactorProof,
    MfaChallenge,
    NewMfaChallenge,
    PasskeyAssertion,
    PasskeyRecord,
    TotpRecord,
    TotpStep,
)
from authsvc.store.mfa_base import FactorCounts


class InMemoryMfaStore:
    passkeys: dict[str, PasskeyRecord]  # kept by the passkeys half (fake_passkeys.py)

    def __init__(self) -> None:
        self.totp: dict[str, TotpRecord] = {}
        self.recovery: dict[tuple[str, str], datetime | None] = {}  # (user, hash) -> used_at
        self.challenges: dict[str, MfaChallenge] = {}
        self._used_challenges: set[str] = set()

    async def begin_totp(self, user_id: str, sealed_secret: str, *, now: datetime) -> bool:
        current = self.totp.get(user_id)
        if current is not None and current.confirmed_at is not None:
            return False
        self.totp[user_id] = TotpRecord(user_id, sealed_secret, now, None, None)
        return True

    async def get_totp(self, user_id: str) -> TotpRecord | None:
        return self.totp.get(user_id)

    async def count_factors(self, user_id: str) -> FactorCounts:
        credential = self.totp.get(user_id)
        return FactorCounts(
            totp=int(credential is not None and credential.confirmed_at is not None),
            passkeys=sum(1 for p in self.passkeys.values() if p.user_id == user_id),
        )

    async def confirm_totp(
        self,
        user_id: str,
        *,
        sealed_secret: str,
        step: int,
        recovery_hashes: list[str],
        now: datetime,
    ) -> bool:
        current = self.totp.get(user_id)
        if current is None or current.confirmed_at is not None:
            return False
        if current.sealed_secret != sealed_secret:
            return False
        self.totp[user_id] = replace(current, confirmed_at=now, last_step=step)
        self._drop_codes(user_id)
        self.recovery.update({(user_id, digest): None for digest in recovery_hashes})
        return True

    async def use_factor(self, user_id: str, proof: FactorProof, *, now: datetime) -> bool:
        return self._consume(user_id, proof, now)

    def _consume(self, user_id: str, proof: FactorProof, now: datetime) -> bool:
        if isinstance(proof, PasskeyAssertion):
            passkey = self.passkeys.get(proof.passkey_id)
            return passkey is not None and passkey.user_id == user_id
        if isinstance(proof, TotpStep):
            current = self.totp.get(user_id)
            if current is None or current.confirmed_at is None:
                return False
            if current.last_step is not None and current.last_step >= proof.step:
                return False
            self.totp[user_id] = replace(current, last_step=proof.step)
            return True
        key = (user_id, proof.code_hash)
        if key not in self.recovery or self.recovery[key] is not None:
            return False
        self.recovery[key] = now
        return True

    async def delete_totp(self, user_id: str) -> bool:
        self._drop_codes(user_id)
        return self.totp.pop(user_id, None) is not None

    def _drop_codes(self, user_id: str) -> None:
        for key in [key for key in self.recovery if key[0] == user_id]:
            del self.recovery[key]

    def forget_second_factors(self, user_id: str) -> None:
        """What deleting the account does to its second factors."""
        self._drop_codes(user_id)
        self.totp.pop(user_id, None)
        for token_hash in [h for h, c in self.challenges.items() if c.user_id == user_id]:
            del self.challenges[token_hash]

    async def recovery_codes_left(self, user_id: str) -> int:
        return sum(1 for (owner, _), used in self.recovery.items() if owner == user_id and not used)

    async def sealed_totp_secrets(self) -> list[tuple[str, str]]:
        return sorted((record.user_id, record.sealed_secret) for record in self.totp.values())

    async def reseal_totp(self, user_id: str, *, old: str, new: str) -> bool:
        current = self.totp.get(user_id)
        if current is None or current.sealed_secret != old:
            return False
        self.totp[user_id] = replace(current, sealed_secret=new)
        return True

    async def create_mfa_challenge(self, challenge: NewMfaChallenge) -> None:
        for token_hash in [
            h for h, c in self.challenges.items() if c.expires_at <= challenge.created_at
        ]:
            del self.challenges[token_hash]
        self.challenges[challenge.token_hash] = MfaChallenge(**asdict(challenge), failures=0)

    async def live_mfa_challenge(
        self, token_hash: str, *, now: datetime, max_failures: int
    ) -> MfaChallenge | None:
        challenge = self.challenges.get(token_hash)
        if (
            challenge is None
            or token_hash in self._used_challenges
            or challenge.expires_at <= now
            or challenge.failures >= max_failures
        ):
            return None
        return challenge

    async def fail_mfa_challenge(self, token_hash: str, *, now: datetime) -> None:
        challenge = self.challenges.get(token_hash)
        if challenge is not None and token_hash not in self._used_challenges:
            self.challenges[token_hash] = replace(challenge, failures=challenge.failures + 1)

    async def complete_mfa_challenge(
        self, token_hash: str, proof: FactorProof, *, now: datetime, max_failures: int
    ) -> ChallengeOutcome:
        challenge = await self.live_mfa_challenge(token_hash, now=now, max_failures=max_failures)
        if challenge is None:
            return ChallengeOutcome.UNUSABLE
        if not self._consume(challenge.user_id, proof, now):
            return ChallengeOutcome.REFUSED
        self._used_challenges.add(token_hash)
        return ChallengeOutcome.COMPLETED
