"""Request and response bodies of the second-factor routes."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from authsvc.api.passkey_schemas import ChallengeId, Credential
from authsvc.services.mfa_methods import CodeAnswer, MfaAnswer, PasskeyAnswer
from authsvc.services.totp import MfaStatus, TotpEnrolment
from authsvc.services.two_step_login import MfaRequired
from authsvc.settings import PASSWORD_HARD_LIMIT

# Generous bounds on raw input: the services check the real shapes.
Code = Field(min_length=1, max_length=64, description="A TOTP code, or a recovery code")
MfaToken = Field(min_length=1, max_length=256)
OptionalCode = Field(default=None, min_length=1, max_length=64)
OptionalPassword = Field(default=None, min_length=1, max_length=PASSWORD_HARD_LIMIT)


class MfaRequiredOut(BaseModel):
    """The password was right; POST /auth/login/mfa completes the login."""

    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="Single-use; send it with a code to /auth/login/mfa")
    methods: list[str] = Field(description="What the account can complete the login with")
    expires_in: int = Field(description="Seconds the mfa_token works for")

    @classmethod
    def from_challenge(cls, required: MfaRequired) -> Self:
        return cls(
            mfa_token=required.token,
            methods=list(required.methods),
            expires_in=required.expires_in,
        )


class LoginMfaIn(BaseModel):
    mfa_token: str = MfaToken
    # Checked against the methods the account holds: an unknown one is a 422 as well.
    method: str = Field(max_length=32, description="`totp`, `recovery_code` or `passkey`")
    code: str | None = Field(
        default=None, min_length=1, max_length=64, description="`totp`, `recovery_code`"
    )
    challenge_id: ChallengeId | None = Field(
        default=None, description="`passkey`: from /auth/login/mfa/passkey/options"
    )
    credential: Credential | None = Field(
        default=None, description="`passkey`: the browser's answer (`toJSON()`)"
    )

    @model_validator(mode="after")
    def _one_answer(self) -> Self:
        passkey = (self.challenge_id, self.credential)
        if self.code is not None and passkey == (None, None):
            return self
        if self.code is None and None not in passkey:
            return self
        raise ValueError("give code, or challenge_id and credential")

    def answer(self) -> MfaAnswer:
        """Which fields the method needs is the method's to say (services/mfa_methods.py)."""
        if self.challenge_id is not None and self.credential is not None:
            return PasskeyAnswer(self.challenge_id, self.credential)
        return CodeAnswer(self.code or "")


class PasskeyStepIn(BaseModel):
    mfa_token: str = MfaToken


class TotpSetupIn(BaseModel):
    # Not needed within five minutes of the login that opened this session.
    current_password: str | None = OptionalPassword


class TotpSetupOut(BaseModel):
    secret: str = Field(description="Base32, for typing into an authenticator app")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code, an SVG document")

    @classmethod
    def from_enrolment(cls, enrolment: TotpEnrolment) -> Self:
        return cls(secret=enrolment.secret, otpauth_uri=enrolment.uri, qr_svg=enrolment.qr_svg)


class TotpConfirmIn(BaseModel):
    code: str = Code


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Shown this once; each works once")


class TotpDeleteIn(BaseModel):
    code: str | None = OptionalCode
    current_password: str | None = OptionalPassword

    @model_validator(mode="after")
    def _one_proof(self) -> Self:
        if self.code is None and self.current_password is None:
            raise ValueError("give code or current_password")
        return self


class MfaStatusOut(BaseModel):
    totp_enabled: bool
    totp_pending: bool = Field(description="Set up but not confirmed with a first code yet")
    recovery_codes_left: int
    methods: list[str] = Field(description="What the second login step offers this account")

    @classmethod
    def from_status(cls, status: MfaStatus) -> Self:
        return cls.model_validate(status, from_attributes=True)
