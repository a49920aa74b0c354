"""The records the store reads and writes, in domain terms.

Plain frozen dataclasses: the services build and read them, the SQL store and the in-memory
fake map them to rows; the interfaces that take and return them are in `store/base.py`. Those
of second factors are in `factor_records.py`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

# What an audit event's `details` may hold: a reason, a count, a yes or no.
AuditDetail = str | int | bool


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    username: str
    email: str | None
    password_hash: str
    created_at: datetime
    password_changed_at: datetime
    roles: tuple[str, ...] = ()
    disabled_at: datetime | None = None
    email_verified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What `/auth/me` shows; roles and e-mail change, so it is read afresh every time."""

    id: str
    username: str
    email: str | None
    created_at: datetime
    roles: tuple[str, ...] = ()
    email_verified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    id: str
    user_id: str
    token_hash: str
    user_agent: str | None
    ip: str | None
    created_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    # How the user proved who they are (amr.py); every access token of the session says so.
    amr: tuple[str, ...] = ("pwd",)

    def record(self) -> SessionRecord:
        """The session as it stands once opened: never rotated, used or revoked yet."""
        # Every field of a new session is one of the record's, as given.
        return SessionRecord(
            **asdict(self),
            previous_token_hash=None,
            rotated_at=None,
            generation=0,
            last_used_at=self.created_at,
            revoked_at=None,
            revoked_reason=None,
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    user_id: str
    token_hash: str
    previous_token_hash: str | None
    rotated_at: datetime | None
    generation: int
    user_agent: str | None
    ip: str | None
    created_at: datetime
    last_used_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    amr: tuple[str, ...] = ("pwd",)

    def is_active(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and now < self.idle_expires_at
            and now < self.absolute_expires_at
        )


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session: SessionRecord
    # Live sessions of the same user ended in the same transaction to stay within the cap.
    ended: tuple[str, ...]


class RotateResult(enum.Enum):
    ROTATED = "rotated"  # the presented token was current; the session now holds the new one
    GRACE = "grace"  # the token just superseded, inside the grace window: no new cookie
    REUSED = "reused"  # any other superseded token: the session was revoked just now
    ENDED = "ended"  # the session is revoked or expired
    UNKNOWN = "unknown"  # no such session


@dataclass(frozen=True, slots=True)
class RotateOutcome:
    result: RotateResult
    session: SessionRecord | None
    # With ROTATED and GRACE: the account's username, read in the same transaction so that
    # issuing the access token costs no second round trip; None if the account is gone.
    username: str | None = None
    # The account's roles at this rotation, read in the same statement as the username.
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation writes when the presented token is the current one."""

    presented_hash: str
    replacement_hash: str
    now: datetime
    idle_deadline: datetime  # capped at the session's absolute expiry by the store
    grace_seconds: float
    user_agent: str | None
    ip: str | None


@dataclass(frozen=True, slots=True)
class NewAuditEvent:
    """One entry of the audit log, as written; identifiers and client facts only."""

    occurred_at: datetime
    kind: str
    actor_id: str | None
    subject_id: str | None
    session_id: str | None
    ip: str | None
    user_agent: str | None
    details: Mapping[str, AuditDetail]


@dataclass(frozen=True, slots=True)
class AuditRecord(NewAuditEvent):
    """An entry as stored: `id` increases with every entry written."""

    id: int


class Keep(enum.Enum):
    """A field of `UserChanges` left as it is (None is a value some fields may take)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class UserChanges:
    """What an administrator changes about an account; every field defaults to no change."""

    roles: tuple[str, ...] | Keep = KEEP
    disabled: bool | Keep = KEEP
    # A new address is unverified unless `email_verified` says otherwise.
    email: str | Keep | None = KEEP
    email_verified: bool | Keep = KEEP


@dataclass(frozen=True, slots=True)
class UserUpdate:
    before: UserRecord
    after: UserRecord
    # Sessions ended in the same transaction (disabling ends them all).
    revoked: list[str]


@dataclass(frozen=True, slots=True)
class Mail:
    """A rendered mail, as queued and as delivered."""

    kind: str
    recipient: str
    subject: str
    text_body: str
    html_body: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewMail(Mail):
    # When the link inside dies: an unsent mail is worthless after it, so it is dropped.
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxMail(Mail):
    """A mail claimed for delivery; `attempts` counts this one."""

    id: str
    attempts: int


# The purposes of e-mail tokens (the `purpose` column).
VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
CHANGE_EMAIL = "change_email"  # `email` is the new address, the one the token was mailed to


@dataclass(frozen=True, slots=True)
class NewEmailToken:
    user_id: str
    purpose: str  # VERIFY_EMAIL, PASSWORD_RESET or CHANGE_EMAIL
    email: str  # the address the token was sent to
    token_hash: str  # SHA-256 of the token, hex: the token itself is never stored
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class EmailChange:
    """An address changed by a CHANGE_EMAIL token."""

    user_id: str
    username: str
    previous: str | None  # the address before, which is told
    email: str
