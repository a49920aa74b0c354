"""An in-memory `Store`: a real implementation of the storage interface, kept in dicts.

Like httpx's `MockTransport`, it answers by doing the work, not from canned replies: unit tests
of the services run over it without a database, and tests/unit/store/test_fake_contract.py
holds it to the SQL store's behaviour so the two cannot drift apart. Each method runs without
an `await` inside it, so on one event loop every method is one atomic step, as one transaction
is in the SQL store.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncGenerator
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from authsvc.errors import LastAdmin, UsernameTaken
from authsvc.store.records import (
    CHANGE_EMAIL,
    KEEP,
    PASSWORD_RESET,
    VERIFY_EMAIL,
    AuditRecord,
    EmailChange,
    NewAuditEvent,
    NewEmailToken,
    NewMail,
    NewSession,
    OpenedSession,
    OutboxMail,
    RotateOutcome,
    RotateResult,
    Rotation,
    SessionRecord,
    UserChanges,
    UserProfile,
    UserRecord,
    UserUpdate,
)
from authsvc.store.sql_user_admin import changed_values
from authsvc.store.sql_users import decode_roles
from authsvc.usernames import username_skeleton
from tests.support.fake_mfa import InMemoryMfaStore
from tests.support.fake_passkeys import InMemoryPasskeys


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _recency(record: SessionRecord) -> tuple[datetime, str]:
    return (record.last_used_at, record.id)


@dataclass
class _QueuedMail:
    mail: NewMail
    next_attempt_at: datetime
    attempts: int = 0
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    last_error: str | None = None


class InMemoryStore(InMemoryMfaStore, InMemoryPasskeys):
    def __init__(self) -> None:
        InMemoryMfaStore.__init__(self)
        InMemoryPasskeys.__init__(self)
        self.users: dict[str, UserRecord] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self._skeletons: dict[str, str] = {}  # skeleton -> user id
        self.audit: list[AuditRecord] = []  # oldest first
        self.outbox: dict[str, _QueuedMail] = {}
        self.email_tokens: dict[str, NewEmailToken] = {}  # by hash, the live ones only
        self.closed = False

    # Users

    async def create_user(
        self, *, username: str, email: str | None, password_hash: str, now: datetime
    ) -> UserRecord:
        if self._taken(username):
            raise UsernameTaken(username)
        user = UserRecord(
            id=str(uuid.uuid4()),
            username=username,
            email=email,
            password_hash=password_hash,
            created_at=now,
            password_changed_at=now,
        )
        self.users[user.id] = user
        self._skeletons[username_skeleton(username)] = user.id
        return user

    async def is_username_taken(self, username: str) -> bool:
        return self._taken(username)

    def _taken(self, username: str) -> bool:
        return username_skeleton(username) in self._skeletons or any(
            user.username == username for user in self.users.values()
        )

    async def get_user(self, user_id: str) -> UserRecord | None:
        return self.users.get(user_id)

    async def get_user_by_username(self, username: str) -> UserRecord | None:
        return next((u for u in self.users.values() if u.username == username), None)

    async def get_profile(self, user_id: str) -> UserProfile | None:
        user = self.users.get(user_id)
        if user is None:
            return None
        return UserProfile(
            id=user.id,
            username=user.username,
            email=user.email,
            created_at=user.created_at,
            roles=user.roles,
            email_verified_at=user.email_verified_at,
        )

    async def list_users(self) -> list[UserRecord]:
        return sorted(self.users.values(), key=lambda user: user.username)

    async def search_users(
        self, *, query: str | None, limit: int, after: str | None = None
    ) -> list[UserRecord]:
        found = [
            user
            for user in await self.list_users()
            if (after is None or user.username > after)
            and (
                not query
                or query.casefold() in user.username
                or query.lower() in (user.email or "").lower()
            )
        ]
        return found[:limit]

    async def update_user(
        self, user_id: str, changes: UserChanges, *, now: datetime, keep_holder_of: str
    ) -> UserUpdate | None:
        before = self.users.get(user_id)
        if before is None:
            return None
        values = changed_values(before, changes, now)
        if "roles" in values:
            values["roles"] = decode_roles(values["roles"])
        loses_role = changes.roles is not KEEP and keep_holder_of not in changes.roles
        if loses_role or values.get("disabled_at") is not None:
            self._refuse_last_holder(before, keep_holder_of)
        after = self.users[user_id] = replace(before, **values)
        revoked = []
        if before.disabled_at is None and after.disabled_at is not None:
            revoked = self._revoke_all(user_id, reason="user_disabled", now=now)
        return UserUpdate(before=before, after=after, revoked=revoked)

    async def delete_user(
        self, user_id: str, *, now: datetime, keep_holder_of: str
    ) -> list[str] | None:
        user = self.users.get(user_id)
        if user is None:
            return None
        self._refuse_last_holder(user, keep_holder_of)
        # No row to keep here: the sessions stay in their own dict, unlike SQL's cascade.
        del self.users[user_id]
        self.forget_passkeys(user_id)
        self._skeletons.pop(username_skeleton(user.username), None)
        self.forget_second_factors(user_id)
        return self._revoke_all(user_id, reason="user_deleted", now=now)

    def _refuse_last_holder(self, user: UserRecord, role: str) -> None:
        if role not in user.roles or user.disabled_at is not None:
            return
        if not any(
            other.id != user.id and role in other.roles and other.disabled_at is None
            for other in self.users.values()
        ):
            raise LastAdmin

    async def users_by_email(self, email: str) -> list[UserRecord]:
        wanted = _ascii_lower(email)
        found = [
            user
            for user in self.users.values()
            if user.email is not None and _ascii_lower(user.email) == wanted
        ]
        return sorted(found, key=lambda user: user.username)

    async def set_password_hash(
        self,
        user_id: str,
        password_hash: str,
        *,
        expected_hash: str | None = None,
        changed_at: datetime | None,
    ) -> bool:
        user = self.users.get(user_id)
        if user is None or (expected_hash is not None and user.password_hash != expected_hash):
            return False
        changed = user.password_changed_at if changed_at is None else changed_at
        self.users[user_id] = replace(
            user, password_hash=password_hash, password_changed_at=changed
        )
        return True

    # Sessions

    async def create_session(self, new: NewSession) -> SessionRecord:
        record = new.record()
        self.sessions[record.id] = record
        return record

    async def open_session(
        self, new: NewSession, *, verified_hash: str, max_live: int
    ) -> OpenedSession | None:
        user = self.users.get(new.user_id)
        if (
            user is None
            or user.disabled_at is not None
            or not secrets.compare_digest(user.password_hash, verified_hash)
        ):
            return None
        now = new.created_at
        others = sorted(
            (s for s in self._live(new.user_id, now) if s.id != new.id),
            key=_recency,
            reverse=True,
        )
        record = await self.create_session(new)
        ended = tuple(s.id for s in others[max_live - 1 :])
        for session_id in ended:
            self._revoke(session_id, reason="session_limit", now=now)
        return OpenedSession(record, ended)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return self.sessions.get(session_id)

    async def rotate(self, session_id: str, rotation: Rotation) -> RotateOutcome:
        now = rotation.now
        current = self.sessions.get(session_id)
        if current is None:
            return RotateOutcome(RotateResult.UNKNOWN, None)
        username = self._username(current.user_id)
        user = self.users.get(current.user_id)
        roles = user.roles if user is not None else ()
        if not current.is_active(now):
            return RotateOutcome(RotateResult.ENDED, current)
        if current.token_hash == rotation.presented_hash:
            rotated = replace(
                current,
                token_hash=rotation.replacement_hash,
                previous_token_hash=rotation.presented_hash,
                rotated_at=now,
                last_used_at=now,
                idle_expires_at=min(rotation.idle_deadline, current.absolute_expires_at),
                generation=current.generation + 1,
                user_agent=rotation.user_agent,
                ip=rotation.ip,
            )
            self.sessions[session_id] = rotated
            return RotateOutcome(RotateResult.ROTATED, rotated, username, roles)
        if (
            current.previous_token_hash == rotation.presented_hash
            and current.rotated_at is not None
            and (now - current.rotated_at).total_seconds() <= rotation.grace_seconds
        ):
            return RotateOutcome(RotateResult.GRACE, current, username, roles)
        return RotateOutcome(RotateResult.REUSED, self._revoke(session_id, reason="reuse", now=now))

    def _username(self, user_id: str) -> str | None:
        user = self.users.get(user_id)
        return user.username if user is not None else None

    async def revoke_session(
        self, session_id: str, *, reason: str, now: datetime, user_id: str | None = None
    ) -> bool:
        session = self.sessions.get(session_id)
        if session is None or session.revoked_at is not None:
            return False
        if user_id is not None and session.user_id != user_id:
            return False
        self._revoke(session_id, reason=reason, now=now)
        return True

    async def revoke_user_sessions(
        self, user_id: str, *, reason: str, now: datetime, keep: str | None = None
    ) -> list[str]:
        return self._revoke_all(user_id, reason=reason, now=now, keep=keep)

    def _revoke_all(
        self, user_id: str, *, reason: str, now: datetime, keep: str | None = None
    ) -> list[str]:
        doomed = [
            s.id
            for s in self.sessions.values()
            if s.user_id == user_id and s.revoked_at is None and s.id != keep
        ]
        for session_id in doomed:
            self._revoke(session_id, reason=reason, now=now)
        return doomed

    def _revoke(self, session_id: str, *, reason: str, now: datetime) -> SessionRecord:
        session = self.sessions[session_id]
        if session.revoked_at is None:
            session = replace(session, revoked_at=now, revoked_reason=reason)
            self.sessions[session_id] = session
        return session

    def _live(self, user_id: str, now: datetime) -> list[SessionRecord]:
        return [s for s in self.sessions.values() if s.user_id == user_id and s.is_active(now)]

    async def list_active_sessions(
        self,
        user_id: str,
        *,
        now: datetime,
        limit: int | None = None,
        after: tuple[datetime, str] | None = None,
    ) -> list[SessionRecord]:
        live = sorted(self._live(user_id, now), key=_recency, reverse=True)
        if after is not None:
            live = [s for s in live if _recency(s) < after]
        return live if limit is None else live[:limit]

    async def purge_sessions(self, *, ended_before: datetime, batch_size: int) -> int | None:
        doomed = [
            s.id
            for s in self.sessions.values()
            if (s.revoked_at is not None and s.revoked_at < ended_before)
            or (s.revoked_at is None and s.idle_expires_at < ended_before)
        ]
        for session_id in doomed:
            del self.sessions[session_id]
        return len(doomed)

    async def revoked_since(self, since: datetime) -> AsyncGenerator[tuple[str, datetime], None]:
        # Taken at once, as the other methods are; handed out one by one, as the store does.
        revoked = [
            (s.id, s.revoked_at)
            for s in self.sessions.values()
            if s.revoked_at is not None and s.revoked_at >= since
        ]
        for entry in revoked:
            yield entry

    async def count_active_sessions(self, *, now: datetime) -> int:
        return sum(1 for s in self.sessions.values() if s.is_active(now))

    # Audit log

    async def append_audit_event(self, event: NewAuditEvent) -> None:
        next_id = self.audit[-1].id + 1 if self.audit else 1
        self.audit.append(AuditRecord(**asdict(event), id=next_id))

    async def list_audit_events(
        self,
        *,
        subject_id: str | None = None,
        kind: str | None = None,
        limit: int,
        before: int | None = None,
    ) -> list[AuditRecord]:
        chosen = [
            e
            for e in reversed(self.audit)
            if (subject_id is None or e.subject_id == subject_id)
            and (kind is None or e.kind == kind)
            and (before is None or e.id < before)
        ]
        return chosen[:limit]

    async def purge_audit_events(self, *, before: datetime, batch_size: int) -> int | None:
        kept = [e for e in self.audit if e.occurred_at >= before]
        deleted = len(self.audit) - len(kept)
        self.audit = kept
        return deleted

    # Mail outbox

    async def enqueue_mail(self, mail: NewMail) -> str:
        mail_id = str(uuid.uuid4())
        self.outbox[mail_id] = _QueuedMail(mail, next_attempt_at=mail.created_at)
        return mail_id

    async def claim_mails(
        self, *, claimer: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMail]:
        due = sorted(
            (
                (mail_id, queued)
                for mail_id, queued in self.outbox.items()
                if queued.next_attempt_at <= now
                and queued.mail.expires_at > now
                and (queued.claimed_until is None or queued.claimed_until < now)
            ),
            key=lambda item: item[1].next_attempt_at,
        )[:limit]
        claimed = []
        for mail_id, queued in due:
            queued.claimed_by, queued.claimed_until = claimer, lease_until
            queued.attempts += 1
            content = {k: v for k, v in asdict(queued.mail).items() if k != "expires_at"}
            claimed.append(OutboxMail(id=mail_id, attempts=queued.attempts, **content))
        return sorted(claimed, key=lambda mail: mail.created_at)

    async def mail_sent(self, mail_id: str, *, claimer: str) -> bool:
        queued = self.outbox.get(mail_id)
        if queued is None or queued.claimed_by != claimer:
            return False
        del self.outbox[mail_id]
        return True

    async def mail_failed(
        self, mail_id: str, *, claimer: str, error: str, retry_at: datetime | None
    ) -> bool:
        queued = self.outbox.get(mail_id)
        if queued is None or queued.claimed_by != claimer:
            return False
        if retry_at is None:
            del self.outbox[mail_id]
            return True
        queued.claimed_by, queued.claimed_until = None, None
        queued.next_attempt_at, queued.last_error = retry_at, error[:200]
        return True

    async def drop_expired_mails(self, *, now: datetime) -> int:
        doomed = [i for i, queued in self.outbox.items() if queued.mail.expires_at <= now]
        for mail_id in doomed:
            del self.outbox[mail_id]
        return len(doomed)

    async def oldest_pending_mail(self) -> datetime | None:
        return min((queued.mail.created_at for queued in self.outbox.values()), default=None)

    # E-mail tokens

    async def issue_email_token(self, token: NewEmailToken) -> None:
        for digest, old in list(self.email_tokens.items()):
            if (old.user_id, old.purpose) == (token.user_id, token.purpose):
                del self.email_tokens[digest]
        self.email_tokens[token.token_hash] = token

    async def verify_email(self, token_hash: str, *, now: datetime) -> str | None:
        token = self._use_token(token_hash, purpose=VERIFY_EMAIL, now=now)
        if token is None:
            return None
        user = self.users.get(token.user_id)
        if user is None or user.email != token.email:
            return None
        self.users[user.id] = replace(user, email_verified_at=now)
        return user.id

    async def find_email_token(
        self, token_hash: str, *, purpose: str, now: datetime
    ) -> NewEmailToken | None:
        return self._live_token(token_hash, purpose=purpose, now=now)

    async def reset_password(
        self, token_hash: str, password_hash: str, *, now: datetime
    ) -> str | None:
        token = self._use_token(token_hash, purpose=PASSWORD_RESET, now=now)
        user = self.users.get(token.user_id) if token is not None else None
        if (
            token is None
            or user is None
            or user.disabled_at is not None
            or user.email != token.email
            or user.password_changed_at > token.created_at
        ):
            return None
        self.users[user.id] = replace(
            user,
            password_hash=password_hash,
            password_changed_at=now,
            email_verified_at=user.email_verified_at or now,
        )
        return user.id

    async def change_email(self, token_hash: str, *, now: datetime) -> EmailChange | None:
        token = self._use_token(token_hash, purpose=CHANGE_EMAIL, now=now)
        user = self.users.get(token.user_id) if token is not None else None
        if token is None or user is None:
            return None
        self.users[user.id] = replace(user, email=token.email, email_verified_at=now)
        return EmailChange(
            user_id=user.id, username=user.username, previous=user.email, email=token.email
        )

    def _use_token(self, token_hash: str, *, purpose: str, now: datetime) -> NewEmailToken | None:
        token = self._live_token(token_hash, purpose=purpose, now=now)
        if token is not None:
            del self.email_tokens[token_hash]  # used: gone for good
        return token

    def _live_token(self, token_hash: str, *, purpose: str, now: datetime) -> NewEmailToken | None:
        token = self.email_tokens.get(token_hash)
        if token is None or token.purpose != purpose or token.expires_at <= now:
            return None
        return token

    # Lifecycle

    async def ping(self) -> None:
        return None

    async def schema_revision(self) -> str | None:
        return None

    async def close(self) -> None:
        self.closed = True
