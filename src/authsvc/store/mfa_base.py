"""The second-factor part of the storage interface (base.py composes it into `Store`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from authsvc.store.factor_records import (
    ChallengeOutcome,
    FactorProof,
    MfaChallenge,
    NewMfaChallenge,
    TotpRecord,
)


@dataclass(frozen=True, slots=True)
class FactorCounts:
    """The second factors an account holds, of every kind, as one read finds them."""

    totp: int = 0  # confirmed TOTP credentials: 0 or 1 (one that awaits its first code is 0)
    passkeys: int = 0


class MfaStore(Protocol):
    """Second factors: one TOTP credential per account, its recovery codes, and the
    challenges of the second login step. Every "once" is one conditional update."""

    async def begin_totp(self, user_id: str, sealed_secret: str, *, now: datetime) -> bool:
        """Store an unconfirmed credential, replacing an unconfirmed one; False when the
        account has a confirmed one (nothing changes)."""
        ...

    async def get_totp(self, user_id: str) -> TotpRecord | None: ...

    async def count_factors(self, user_id: str) -> FactorCounts:
        """The account's second factors of every kind, in one read: every login asks."""
        ...

    async def confirm_totp(
        self,
        user_id: str,
        *,
        sealed_secret: str,
        step: int,
        recovery_hashes: list[str],
        now: datetime,
    ) -> bool:
        """Confirm the unconfirmed credential holding `sealed_secret`, with `step` as its first
        accepted step, and replace the account's recovery codes; False when there is none
        (confirmed meanwhile, or replaced by a new setup)."""
        ...

    async def use_factor(self, user_id: str, proof: FactorProof, *, now: datetime) -> bool:
        """Accept a TOTP step above the last accepted one, or use an unused recovery code;
        False when it was used already (or the account has no confirmed TOTP)."""
        ...

    async def delete_totp(self, user_id: str) -> bool:
        """Remove the credential and every recovery code; False when there was none."""
        ...

    async def recovery_codes_left(self, user_id: str) -> int: ...

    async def sealed_totp_secrets(self) -> list[tuple[str, str]]:
        """Every credential's (user id, sealed secret)."""
        ...

    async def reseal_totp(self, user_id: str, *, old: str, new: str) -> bool:
        """Replace the sealed secret only if it is still `old`."""
        ...

    async def create_mfa_challenge(self, challenge: NewMfaChallenge) -> None:
        """Store a challenge (and delete expired ones)."""
        ...

    async def live_mfa_challenge(
        self, token_hash: str, *, now: datetime, max_failures: int
    ) -> MfaChallenge | None:
        """An unused, unexpired challenge with fewer than `max_failures` failures."""
        ...

    async def fail_mfa_challenge(self, token_hash: str, *, now: datetime) -> None:
        """Count one wrong code against an unused challenge."""
        ...

    async def complete_mfa_challenge(
        self, token_hash: str, proof: FactorProof, *, now: datetime, max_failures: int
    ) -> ChallengeOutcome:
        """Use a live challenge and consume `proof` of its account in one transaction: both
        or neither, so of concurrent completions exactly one gets COMPLETED."""
        ...
