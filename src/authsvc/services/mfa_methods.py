"""The methods the second login step accepts, one entry each: which answer it takes, how that
becomes a proof the store consumes, which RFC 8176 names the login then carries, what a
refusal says, and what follows a use.

Another kind of factor adds one more `MfaMethod` to the table `TwoStepLogin` is given
(passkeys: services/passkey_step.py); nothing else in the login step changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from authsvc.amr import OTP
from authsvc.clock import Clock
from authsvc.errors import AuthError, InvalidMfaCode, MfaAnswerMismatch
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.mail.outbox import Mailer
from authsvc.mfa import recovery
from authsvc.services.email_verification import NOTICE_LIFETIME
from authsvc.services.totp import RECOVERY_CODE, TOTP, TotpService
from authsvc.store.factor_records import FactorProof, RecoveryCodeHash
from authsvc.store.mfa_base import MfaStore
from authsvc.store.records import UserRecord

RECOVERY_CODE_USED_NOTICE = "recovery_code_used_notice"


@dataclass(frozen=True, slots=True)
class CodeAnswer:
    """A code typed in: TOTP or a recovery code."""

    code: str


@dataclass(frozen=True, slots=True)
class PasskeyAnswer:
    """The browser's answer to a second-step passkey challenge."""

    challenge_id: str
    credential: dict[str, Any]


MfaAnswer = CodeAnswer | PasskeyAnswer


def code_of(answer: MfaAnswer) -> str:
    """Raises: MfaAnswerMismatch."""
    if not isinstance(answer, CodeAnswer):
        raise MfaAnswerMismatch
    return answer.code


class MfaMethod(Protocol):
    @property
    def name(self) -> str:
        """What `method` says in POST /auth/login/mfa."""
        ...

    @property
    def answer_type(self) -> type[CodeAnswer] | type[PasskeyAnswer]:
        """The kind of answer it takes; another is refused before anything is checked."""
        ...

    @property
    def amr(self) -> tuple[str, ...]:
        """The RFC 8176 methods a login completed this way used, besides the password."""
        ...

    @property
    def refusal(self) -> type[AuthError]:
        """What a refused answer raises (after it was counted against the mfa_token)."""
        ...

    async def proof(
        self, user_id: str, answer: MfaAnswer, client: ClientInfo
    ) -> FactorProof | None:
        """What `answer` proves for the account, for the store to consume once; None when it
        proves nothing (counted against the mfa_token).

        Raises: MfaAnswerMismatch, and what the method says of an answer that is no attempt
        at a proof (a malformed or unknown passkey challenge), which is not counted.
        """
        ...

    async def used(self, user: UserRecord, client: ClientInfo) -> None:
        """After a login completed with this method."""
        ...


class NoFollowUp:
    """For a method whose use needs no follow-up (`MfaMethod.used`)."""

    __slots__ = ()

    async def used(self, user: UserRecord, client: ClientInfo) -> None:
        return None


class CodeMethod(NoFollowUp):
    """What the methods answered by a typed code share; each says what its code proves."""

    __slots__ = ()
    answer_type: ClassVar[type[CodeAnswer]] = CodeAnswer
    amr: ClassVar[tuple[str, ...]] = (OTP,)
    refusal: ClassVar[type[AuthError]] = InvalidMfaCode

    async def proof(
        self, user_id: str, answer: MfaAnswer, client: ClientInfo
    ) -> FactorProof | None:
        return await self.code_proof(user_id, code_of(answer))

    async def code_proof(self, user_id: str, code: str) -> FactorProof | None:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class TotpMethod(CodeMethod):
    totp: TotpService
    name: ClassVar[str] = TOTP

    async def code_proof(self, user_id: str, code: str) -> FactorProof | None:
        return await self.totp.proof(user_id, code)


@dataclass(frozen=True, slots=True)
class RecoveryCodeMethod(CodeMethod):
    """A recovery code stands in for the authenticator app: also `otp` in RFC 8176 terms.

    Using one is worth telling the owner: it is what someone holding the password and a
    stolen code sheet would do. The notice goes to a verified address only.
    """

    store: MfaStore
    mailer: Mailer | None
    clock: Clock
    observer: Observer
    name: ClassVar[str] = RECOVERY_CODE

    async def code_proof(self, user_id: str, code: str) -> FactorProof | None:
        normalised = recovery.normalise(code)
        if normalised is None:
            return None
        return RecoveryCodeHash(recovery.code_hash(user_id, normalised))

    async def used(self, user: UserRecord, client: ClientInfo) -> None:
        left = await self.store.recovery_codes_left(user.id)
        await self.observer.record(
            SecurityEvent(EventKind.RECOVERY_CODE_USED, user_id=user.id, count=left, client=client)
        )
        if self.mailer is None or user.email is None or user.email_verified_at is None:
            return
        await self.mailer.queue(
            RECOVERY_CODE_USED_NOTICE,
            to=user.email,
            context={"username": user.username, "codes_left": left},
            expires_at=self.clock() + NOTICE_LIFETIME,
        )
