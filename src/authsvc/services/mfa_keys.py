"""Key rotation for sealed TOTP secrets: move every one to the current MFA_ENCRYPTION_KEY.

Run after putting the old key into MFA_ENCRYPTION_KEYS_PREVIOUS and a new one into
MFA_ENCRYPTION_KEY; once it reports no failures, the old key can go. Each row is rewritten
only over the value read, so a setup racing the run keeps its fresh secret; a second run
finds nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from authsvc.mfa.sealing import Sealer, UnsealError
from authsvc.store.mfa_base import MfaStore


@dataclass(frozen=True, slots=True)
class ReencryptReport:
    resealed: int  # moved to the current key now
    current: int  # under the current key already
    failed: int  # no configured key opens them: keep the old key until they are dealt with


async def reencrypt(store: MfaStore, sealer: Sealer) -> ReencryptReport:
    resealed = current = failed = 0
    for user_id, sealed in await store.sealed_totp_secrets():
        if sealer.is_current(sealed):
            current += 1
            continue
        try:
            new = sealer.reseal(sealed, user_id=user_id)
        except UnsealError:
            failed += 1
            continue
        if await store.reseal_totp(user_id, old=sealed, new=new):
            resealed += 1
        else:
            current += 1  # replaced meanwhile by a setup, under the current key
    return ReencryptReport(resealed=resealed, current=current, failed=failed)
