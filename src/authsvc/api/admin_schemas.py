"""Request and response bodies of the administration API.

Every request body refuses unknown fields: a misspelt `disabeld` must not pass as a no-op.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from authsvc.api.schemas import ActivityEventOut, NextCursor, Password, Username, UserOut
from authsvc.roles import MAX_ROLES
from authsvc.store.records import KEEP, UserChanges, UserRecord

# Names are checked by the service (roles.py); this only bounds how many are parsed.
ROLES_PARSED_MAX = MAX_ROLES * 4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreateIn(_Strict):
    username: str = Username
    password: str = Password
    email: EmailStr | None = None
    roles: list[str] = Field(default_factory=list, max_length=ROLES_PARSED_MAX)


class UserPatchIn(_Strict):
    """Only the fields sent change; `email: null` removes the address."""

    roles: list[str] | None = Field(default=None, max_length=ROLES_PARSED_MAX)
    disabled: bool | None = None
    email: EmailStr | None = None
    email_verified: bool | None = None

    def changes(self) -> UserChanges:
        sent = self.model_fields_set
        return UserChanges(
            roles=tuple(self.roles) if "roles" in sent and self.roles is not None else KEEP,
            disabled=self.disabled if "disabled" in sent and self.disabled is not None else KEEP,
            email=self.email if "email" in sent else KEEP,
            email_verified=(
                self.email_verified
                if "email_verified" in sent and self.email_verified is not None
                else KEEP
            ),
        )


class PasswordSetIn(_Strict):
    new_password: str = Password


class AdminUserOut(UserOut):
    """What `/auth/me` shows, and the account's status besides."""

    email_verified_at: datetime | None
    password_changed_at: datetime
    disabled: bool
    disabled_at: datetime | None

    @classmethod
    def from_user(cls, user: UserRecord) -> AdminUserOut:
        return cls(
            **UserOut.from_record(user).model_dump(),
            email_verified_at=user.email_verified_at,
            password_changed_at=user.password_changed_at,
            disabled=user.disabled_at is not None,
            disabled_at=user.disabled_at,
        )


class AdminUsersOut(BaseModel):
    users: list[AdminUserOut]
    next_cursor: str | None = NextCursor


class SessionsEndedOut(BaseModel):
    ended: int = Field(description="How many live sessions were ended")


class AdminAuditEventOut(ActivityEventOut):
    subject_id: str | None = Field(description="Whose account the event is about")


class AdminAuditOut(BaseModel):
    events: list[AdminAuditEventOut]
    next_cursor: str | None = NextCursor
