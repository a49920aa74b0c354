"""The storage interface in domain terms.

One method is one transaction, so every atomic step is visible here: rotation in particular is
a single conditional update, never a read followed by a write in the service.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

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


class UserStore(Protocol):
    async def create_user(
        self, *, username: str, email: str | None, password_hash: str, now: datetime
    ) -> UserRecord:
        """Store an account with its username's skeleton.

        Raises: UsernameTaken, also for a look-alike of an existing name.
        """
        ...

    async def is_username_taken(self, username: str) -> bool:
        """Whether an account has this canonical name or a look-alike of it (same skeleton)."""
        ...

    async def get_user(self, user_id: str) -> UserRecord | None: ...

    async def get_user_by_username(self, username: str) -> UserRecord | None: ...

    async def get_profile(self, user_id: str) -> UserProfile | None:
        """Read from the database every time: another replica may have just changed it."""
        ...

    async def list_users(self) -> list[UserRecord]: ...

    async def search_users(
        self, *, query: str | None, limit: int, after: str | None = None
    ) -> list[UserRecord]:
        """Accounts by username; with `query`, those whose username or e-mail address
        contains it (case-insensitively for ASCII); with `after`, those whose username
        sorts after it."""
        ...

    async def update_user(
        self, user_id: str, changes: UserChanges, *, now: datetime, keep_holder_of: str
    ) -> UserUpdate | None:
        """Apply `changes` in one transaction, ending every session when it disables the
        account; None when there is no such account. Changes to accounts holding
        `keep_holder_of` are serialised, so concurrent ones cannot together take the role
        from its last enabled holder.

        Raises: LastAdmin when this change would.
        """
        ...

    async def delete_user(
        self, user_id: str, *, now: datetime, keep_holder_of: str
    ) -> list[str] | None:
        """End every session and erase the account; the ids of the sessions ended, or None
        when there is no such account. The row stays, scrubbed, until its sessions are
        purged, so the revocations reloaded at startup still cover its access tokens.

        Raises: LastAdmin when it is the last enabled holder of `keep_holder_of`.
        """
        ...

    async def users_by_email(self, email: str) -> list[UserRecord]:
        """The accounts, not deleted, whose address is `email`, ignoring the case of ASCII
        letters (addresses are not unique: several accounts may share one)."""
        ...

    async def set_password_hash(
        self,
        user_id: str,
        password_hash: str,
        *,
        expected_hash: str | None = None,
        changed_at: datetime | None,
    ) -> bool:
        """Store a new hash, only over `expected_hash` when given; False if nothing changed.

        `changed_at` is None for a transparent re-hash.
        """
        ...


class SessionStore(Protocol):
    async def create_session(self, new: NewSession) -> SessionRecord:
        """Insert a session unconditionally (imports and fixtures); logins use open_session."""
        ...

    async def open_session(
        self, new: NewSession, *, verified_hash: str, max_live: int
    ) -> OpenedSession | None:
        """Insert a session only if the user's password hash is still `verified_hash`, and
        end the user's least recently used live sessions beyond `max_live`, all in one
        transaction that concurrent openings for the same user wait for. None when the
        password changed since it was verified or the account was disabled meanwhile."""
        ...

    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    async def rotate(self, session_id: str, rotation: Rotation) -> RotateOutcome:
        """Swap the current token hash if `presented_hash` is current, else classify the
        presentation; a reuse outside the grace window revokes the session in the same
        transaction."""
        ...

    async def revoke_session(
        self, session_id: str, *, reason: str, now: datetime, user_id: str | None = None
    ) -> bool:
        """Revoke one live session (of `user_id`, when given); False if there was none."""
        ...

    async def revoke_user_sessions(
        self, user_id: str, *, reason: str, now: datetime, keep: str | None = None
    ) -> list[str]:
        """Revoke every live session of a user except `keep`; returns the revoked ids."""
        ...

    async def list_active_sessions(
        self,
        user_id: str,
        *,
        now: datetime,
        limit: int | None = None,
        after: tuple[datetime, str] | None = None,
    ) -> list[SessionRecord]:
        """Live sessions, most recently used first (ties by id); with `after`, only those
        that sort after that (last_used_at, id) position."""
        ...

    async def purge_sessions(self, *, ended_before: datetime, batch_size: int) -> int | None:
        """Delete sessions revoked or expired before `ended_before`, `batch_size` rows per
        transaction; the number deleted, or None when another process is purging."""
        ...

    async def revoked_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """Sessions revoked at or after `since`, with their revocation times."""
        ...

    async def count_active_sessions(self, *, now: datetime) -> int:
        """How many sessions, of all users, are neither revoked nor expired at `now`."""
        ...


class AuditStore(Protocol):
    async def append_audit_event(self, event: NewAuditEvent) -> None: ...

    async def list_audit_events(
        self, *, subject_id: str | None = None, limit: int, before: int | None = None
    ) -> list[AuditRecord]:
        """Entries newest first (by id), of one subject when given; with `before`, only
        those with a smaller id."""
        ...

    async def purge_audit_events(self, *, before: datetime, batch_size: int) -> int | None:
        """Delete entries that occurred before `before`, `batch_size` rows per transaction;
        the number deleted, or None when another process is purging them."""
        ...


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


class MailOutbox(Protocol):
    """The durable outbox: mails wait here until one sender, in any replica, delivers them.

    A sent mail's row is deleted: its body holds a one-time link that must not outlive the
    delivery. A claim is a lease: a sender that dies holding it frees the mail when the lease
    ends, so a crash between the SMTP answer and `mail_sent` may deliver a mail twice
    (at-least-once), never zero times.
    """

    async def enqueue_mail(self, mail: NewMail) -> str:
        """Store a mail for delivery; its id."""
        ...

    async def claim_mails(
        self, *, claimer: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMail]:
        """Take up to `limit` due, unexpired mails nobody holds, oldest due first, counting
        an attempt on each; concurrent claimers never get the same mail."""
        ...

    async def mail_sent(self, mail_id: str, *, claimer: str) -> bool:
        """Delete a delivered mail; False if `claimer` no longer holds it."""
        ...

    async def mail_failed(
        self, mail_id: str, *, claimer: str, error: str, retry_at: datetime | None
    ) -> bool:
        """Release a mail to be tried again at `retry_at`, or delete it when None (given up)."""
        ...

    async def drop_expired_mails(self, *, now: datetime) -> int:
        """Delete unsent mails whose link has expired; how many."""
        ...

    async def oldest_pending_mail(self) -> datetime | None:
        """When the oldest mail still waiting was queued; None when none waits."""
        ...


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


class EmailTokenStore(Protocol):
    async def issue_email_token(self, token: NewEmailToken) -> None:
        """Store a token, ending every earlier one of the same user and purpose."""
        ...

    async def verify_email(self, token_hash: str, *, now: datetime) -> str | None:
        """Use a verification token once and mark its address verified, if it is still the
        user's address; the user id, or None for an unknown, used or expired token."""
        ...

    async def find_email_token(
        self, token_hash: str, *, purpose: str, now: datetime
    ) -> NewEmailToken | None:
        """A live token (unused, unexpired) of this purpose, without using it."""
        ...

    async def reset_password(
        self, token_hash: str, password_hash: str, *, now: datetime
    ) -> str | None:
        """Use a reset token once and, in the same transaction, store the new hash and mark
        the address the token was mailed to verified (if it is still the account's). The
        user id, or None for an unknown, used or expired token, a password or address changed
        since the token was issued, or an account disabled or deleted meanwhile."""
        ...

    async def change_email(self, token_hash: str, *, now: datetime) -> EmailChange | None:
        """Use a CHANGE_EMAIL token once and make the address it was mailed to the account's,
        verified; None for an unknown, used or expired token or an account deleted meanwhile.
        Addresses are not unique, so no other account's address stands in the way."""
        ...


class Store(UserStore, SessionStore, AuditStore, MailOutbox, EmailTokenStore, Protocol):
    async def ping(self) -> None:
        """Raises: StoreUnavailable when the database does not answer."""
        ...

    async def schema_revision(self) -> str | None:
        """The migration the schema is at; None before the first one."""
        ...

    async def close(self) -> None: ...
