"""The storage interface in domain terms.

One method is one transaction, so every atomic step is visible here: rotation in particular is
a single conditional update, never a read followed by a write in the service.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Protocol

from authsvc.store.mfa_base import MfaStore
from authsvc.store.passkey_base import PasskeyStore
from authsvc.store.records import (
    AuditRecord,
    EmailChange,
    NewAuditEvent,
    NewEmailToken,
    NewMail,
    NewSession,
    OpenedSession,
    OutboxMail,
    RotateOutcome,
    Rotation,
    SessionRecord,
    UserChanges,
    UserProfile,
    UserRecord,
    UserUpdate,
)


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

    def revoked_since(self, since: datetime) -> AsyncGenerator[tuple[str, datetime], None]:
        """Sessions revoked at or after `since`, with their revocation times, as they are
        read: a busy store has a hundred thousand, which the caller need not hold at once."""
        ...

    async def count_active_sessions(self, *, now: datetime) -> int:
        """How many sessions, of all users, are neither revoked nor expired at `now`."""
        ...


class AuditStore(Protocol):
    async def append_audit_event(self, event: NewAuditEvent) -> None: ...

    async def list_audit_events(
        self,
        *,
        subject_id: str | None = None,
        kind: str | None = None,
        limit: int,
        before: int | None = None,
    ) -> list[AuditRecord]:
        """Entries newest first (by id), of one subject and of one kind when given; with
        `before`, only those with a smaller id."""
        ...

    async def purge_audit_events(self, *, before: datetime, batch_size: int) -> int | None:
        """Delete entries that occurred before `before`, `batch_size` rows per transaction;
        the number deleted, or None when another process is purging them."""
        ...


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


class Store(
    UserStore,
    SessionStore,
    AuditStore,
    MailOutbox,
    EmailTokenStore,
    MfaStore,
    PasskeyStore,
    Protocol,
):
    async def ping(self) -> None:
        """Raises: StoreUnavailable when the database does not answer."""
        ...

    async def schema_revision(self) -> str | None:
        """The migration the schema is at; None before the first one."""
        ...

    async def close(self) -> None: ...
