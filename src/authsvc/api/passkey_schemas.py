"""Request and response bodies of the passkey routes."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, Field

from authsvc.services.passkeys import CeremonyStart
from authsvc.settings import PASSWORD_HARD_LIMIT
from authsvc.store.factor_records import PasskeyRecord

NAME_MAX = 64


def _clean_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("a passkey's name must not be blank")
    # Shown back in lists: no control or formatting characters that could rearrange them.
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in value):
        raise ValueError("a passkey's name must not contain control characters")
    return value


PasskeyName = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(_clean_name)]
# An id the options route handed out; anything else is an unknown challenge (400).
ChallengeId = Annotated[str, Field(min_length=1, max_length=64)]
Credential = Annotated[
    dict[str, Any],
    Field(description="The PublicKeyCredential as `toJSON()` gives it (base64url fields)"),
]


class CeremonyOut(BaseModel):
    challenge_id: str = Field(description="Send back with the browser's answer")
    # camelCase: the member name of the browser API (`{publicKey: ...}` is what .create() takes).
    publicKey: dict[str, Any] = Field(
        description="Options for navigator.credentials.create() or .get(), in their JSON form "
        "(PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON)"
    )

    @classmethod
    def from_start(cls, start: CeremonyStart) -> Self:
        return cls(challenge_id=start.challenge_id, publicKey=start.options)


class RegisterIn(BaseModel):
    challenge_id: ChallengeId
    credential: Credential
    name: PasskeyName | None = None


class LoginIn(BaseModel):
    challenge_id: ChallengeId
    credential: Credential


class RenameIn(BaseModel):
    name: PasskeyName


class RemoveIn(BaseModel):
    # Needed only to remove the account's last second factor.
    current_password: str | None = Field(default=None, min_length=1, max_length=PASSWORD_HARD_LIMIT)


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool = Field(description="Synced by a passkey provider across devices")
    transports: list[str]

    @classmethod
    def from_record(cls, passkey: PasskeyRecord) -> Self:
        return cls.model_validate(passkey, from_attributes=True)


class PasskeysOut(BaseModel):
    passkeys: list[PasskeyOut]
