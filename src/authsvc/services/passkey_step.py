"""A passkey as the second login step, after the password: the challenge for the mfa_token's
account (its passkeys in allowCredentials), and the `MfaMethod` entry that checks the answer.

The check is the passkey login's (passkey_assertions.py), with the challenge bound to the
account and the passkey required to be that account's. Its proof (`PasskeyAssertion`) has
spent its challenge and moved its counter already, so the store only claims the mfa_token's
challenge with it, in one conditional update as for a code.

A challenge that is malformed, unknown, used or expired is refused before any key is looked
at and does not count against the mfa_token: it guesses nothing, and copies of the right
answer fired at once must not end the token the first of them is completing. A refused
assertion (another account's passkey, a bad signature, a counter gone back) does count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from authsvc.amr import HWK
from authsvc.errors import AuthError, MfaAnswerMismatch, PasskeyRefused
from authsvc.events import ClientInfo
from authsvc.services.mfa_methods import MfaAnswer, NoFollowUp, PasskeyAnswer
from authsvc.services.passkey_assertions import PasskeyAssertions
from authsvc.services.passkeys import PASSKEY_METHOD, CeremonyStart, PasskeyService
from authsvc.services.two_step_login import TwoStepLogin
from authsvc.store.factor_records import SECOND_STEP, FactorProof, PasskeyAssertion


@dataclass(frozen=True, slots=True)
class PasskeyMethod(NoFollowUp):
    assertions: PasskeyAssertions
    name: ClassVar[str] = PASSKEY_METHOD
    answer_type: ClassVar[type[PasskeyAnswer]] = PasskeyAnswer
    # The password is the knowledge factor here; the key adds possession (RFC 8176 `hwk`).
    amr: ClassVar[tuple[str, ...]] = (HWK,)
    refusal: ClassVar[type[AuthError]] = PasskeyRefused

    async def proof(
        self, user_id: str, answer: MfaAnswer, client: ClientInfo
    ) -> FactorProof | None:
        if not isinstance(answer, PasskeyAnswer):
            raise MfaAnswerMismatch
        try:
            passkey = await self.assertions.verify(
                answer.challenge_id,
                answer.credential,
                purpose=SECOND_STEP,
                user_id=user_id,
                client=client,
            )
        except PasskeyRefused:  # a clone's counter too: refused, and counted
            return None
        return PasskeyAssertion(passkey.id)


class PasskeyStep:
    """The options of the passkey second step: POST /auth/login/mfa/passkey/options."""

    def __init__(
        self, *, login: TwoStepLogin, passkeys: PasskeyService, assertions: PasskeyAssertions
    ) -> None:
        self._login = login
        self._passkeys = passkeys
        self._assertions = assertions

    async def options(self, mfa_token: str, client: ClientInfo) -> CeremonyStart:
        """A challenge for the passkeys of the mfa_token's account, usable once, by it only.

        Raises: PasskeysOff, Throttled, InvalidMfaToken, AccountDisabled,
        MfaMethodUnavailable.
        """
        self._passkeys.ceremonies()
        # Counted per address like the passkey login's options: each one stores a challenge.
        await self._assertions.reserve(client)
        user = await self._login.pending(mfa_token, PASSKEY_METHOD)
        return await self._assertions.start(purpose=SECOND_STEP, user_id=user.id)
