"""Request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, EmailStr, Field

from authsvc.settings import PASSWORD_HARD_LIMIT
from authsvc.store.records import AuditDetail, AuditRecord, SessionRecord, UserProfile, UserRecord
from authsvc.tokens import IssuedToken

# Generous bounds on raw input; the services apply the real rules after normalisation.
Username = Field(min_length=1, max_length=256)
Password = Field(min_length=1, max_length=PASSWORD_HARD_LIMIT)
NextCursor = Field(description="Pass as `cursor` for the next page; null on the last page")


class LoginIn(BaseModel):
    username: str = Username
    password: str = Password


class RegisterIn(BaseModel):
    username: str = Username
    password: str = Password
    email: EmailStr | None = None


class PasswordChangeIn(BaseModel):
    current_password: str = Password
    new_password: str = Password


class EmailTokenIn(BaseModel):
    # Any string: a malformed token is a 400 like an unknown one (the service checks it).
    token: str


class EmailChangeIn(BaseModel):
    email: EmailStr
    current_password: str = Password


class ForgotPasswordIn(BaseModel):
    email: EmailStr


class ForgotPasswordOut(BaseModel):
    # The same words whatever happens next: they must not tell whether an account matched.
    detail: Literal["If an account has this address, a reset link is on its way"] = (
        "If an account has this address, a reset link is on its way"
    )


class ResetPasswordIn(BaseModel):
    # Any string, as for EmailTokenIn: a malformed token is a 400 like an unknown one.
    token: str
    new_password: str = Password


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the RFC 6750 scheme name
    expires_in: int = Field(description="Seconds until the access token expires")

    @classmethod
    def from_token(cls, access: IssuedToken) -> TokenOut:
        return cls(access_token=access.token, expires_in=access.lifetime_seconds)


class UserOut(BaseModel):
    id: str
    username: str
    email: str | None
    email_verified: bool = Field(description="True once the address was confirmed by mail")
    created_at: datetime
    roles: list[str] = Field(description="Sorted role names; empty for none")

    @classmethod
    def from_record(cls, user: UserRecord | UserProfile) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            email_verified=user.email_verified_at is not None,
            created_at=user.created_at,
            roles=list(user.roles),
        )


class SessionOut(BaseModel):
    id: str
    current: bool = Field(description="True for the session making this request")
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime = Field(description="When the session ends unless it is used again")
    absolute_expires_at: datetime = Field(description="When the session ends regardless")
    user_agent: str | None
    ip: str | None

    @classmethod
    def from_record(cls, session: SessionRecord, *, current_id: str) -> SessionOut:
        return cls(
            id=session.id,
            current=session.id == current_id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.idle_expires_at,
            absolute_expires_at=session.absolute_expires_at,
            user_agent=session.user_agent,
            ip=session.ip,
        )


class SessionsOut(BaseModel):
    sessions: list[SessionOut]
    next_cursor: str | None = NextCursor


class ActivityEventOut(BaseModel):
    occurred_at: datetime
    kind: str = Field(description="The event name, as in the security log")
    actor_id: str | None = Field(
        description="Who did it: the user's own id, or the administrator's who acted"
    )
    session_id: str | None
    ip: str | None
    user_agent: str | None
    details: dict[str, AuditDetail] = Field(description="Why (`reason`), how many (`count`)")

    @classmethod
    def from_record(cls, event: AuditRecord) -> Self:
        return cls.model_validate(event, from_attributes=True)


class ActivityOut(BaseModel):
    events: list[ActivityEventOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class StatusOut(BaseModel):
    status: str
