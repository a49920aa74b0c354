"""Administration: find, create, change, disable and delete accounts, and reset their second
factors; for the API and the CLI.

Every action names its actor (the administrator's user id, None from the command line) in the
event it reports. Disabling, deleting and setting a password end the account's sessions through
the revocation list, as logging out everywhere does, so its access tokens stop working at once
on every replica. The last enabled administrator cannot be demoted, disabled or deleted (409):
the store checks it under a lock, so concurrent demotions cannot together remove them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from authsvc.clock import Clock
from authsvc.errors import InvalidUsername, UserNotFound
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.roles import ADMIN, checked_roles
from authsvc.services.accounts import AccountService
from authsvc.services.cursors import decode_user_cursor, encode_user_cursor, is_user_id
from authsvc.services.second_factors import SecondFactors
from authsvc.services.session_ending import SessionEnder
from authsvc.store.base import Store
from authsvc.store.records import KEEP, UserChanges, UserRecord
from authsvc.usernames import normalize_username


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[UserRecord]
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an administrator's user id (None from the command line), and from where."""

    user_id: str | None
    client: ClientInfo | None = None


class AdminService:
    def __init__(
        self,
        *,
        store: Store,
        accounts: AccountService,
        passwords: PasswordService,
        policy: PasswordPolicy,
        ender: SessionEnder,
        factors: SecondFactors,
        clock: Clock,
        observer: Observer,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._passwords = passwords
        self._policy = policy
        # Sessions it ends reach the revocation list and the events as every other ending.
        self._ender = ender
        self._factors = factors
        self._clock = clock
        self._observer = observer

    async def list_users(
        self, *, query: str | None, limit: int, cursor: str | None = None
    ) -> UserPage:
        """One page of accounts by username, those matching `query` if given.

        Raises: InvalidCursor.
        """
        after = decode_user_cursor(cursor) if cursor is not None else None
        found = await self._store.search_users(query=query, limit=limit + 1, after=after)
        page = found[:limit]
        more = len(found) > limit
        return UserPage(page, encode_user_cursor(page[-1].username) if more else None)

    async def get_user(self, user_id: str) -> UserRecord:
        """Raises: UserNotFound, also for an id of a shape we never issue."""
        user = await self._store.get_user(user_id) if is_user_id(user_id) else None
        if user is None:
            raise UserNotFound
        return user

    async def find_user(self, ref: str) -> UserRecord:
        """An account by id or by username, as an operator types either.

        Raises: UserNotFound.
        """
        if is_user_id(ref):
            return await self.get_user(ref)
        try:
            user = await self._store.get_user_by_username(normalize_username(ref))
        except InvalidUsername:
            user = None
        if user is None:
            raise UserNotFound
        return user

    async def create_user(
        self,
        actor: Actor,
        *,
        username: str,
        password: str,
        email: str | None,
        roles: tuple[str, ...] = (),
    ) -> UserRecord:
        """Create an account with the password policy applied, holding `roles`.

        Raises: InvalidRoles, InvalidUsername, PasswordRejected, UsernameTaken, HashingBusy.
        """
        roles = checked_roles(roles)  # before anything is stored
        user = await self._accounts.create_user(username, password, email=email)
        if roles:
            update = await self._store.update_user(
                user.id, UserChanges(roles=roles), now=self._clock(), keep_holder_of=ADMIN
            )
            if update is None:  # deleted by another administrator in between
                raise UserNotFound
            user = update.after
        await self._report(EventKind.USER_CREATED_BY_ADMIN, actor, user.id)
        return user

    async def update_user(self, actor: Actor, user_id: str, changes: UserChanges) -> UserRecord:
        """Raises: UserNotFound, InvalidRoles, LastAdmin."""
        if changes.roles is not KEEP:
            changes = UserChanges(
                roles=checked_roles(changes.roles),
                disabled=changes.disabled,
                email=changes.email,
                email_verified=changes.email_verified,
            )
        if not is_user_id(user_id):
            raise UserNotFound
        now = self._clock()
        update = await self._store.update_user(user_id, changes, now=now, keep_holder_of=ADMIN)
        if update is None:
            raise UserNotFound
        before, after = update.before, update.after
        await self._ender.ended(user_id, update.revoked, reason="user_disabled", now=now)
        if before.disabled_at is None and after.disabled_at is not None:
            await self._report(EventKind.USER_DISABLED, actor, user_id, len(update.revoked))
        elif before.disabled_at is not None and after.disabled_at is None:
            await self._report(EventKind.USER_ENABLED, actor, user_id)
        if (before.roles, before.email, before.email_verified_at) != (
            after.roles,
            after.email,
            after.email_verified_at,
        ):
            await self._report(EventKind.USER_UPDATED, actor, user_id)
        return after

    async def set_password(self, actor: Actor, user_id: str, password: str) -> None:
        """Set a new password (policy applies) and end every session of the account.

        Raises: UserNotFound, PasswordRejected, HashingBusy.
        """
        user = await self.get_user(user_id)
        self._policy.check(password, username=user.username)
        new_hash = await self._passwords.hash(password)
        now = self._clock()
        if not await self._store.set_password_hash(user.id, new_hash, changed_at=now):
            raise UserNotFound
        # Logins racing this one compare the hash they verified under the row lock
        # (open_session), so none opens a session with the old password after this.
        revoked = await self._ender.end_all(user.id, reason="password_set_by_admin", now=now)
        await self._report(EventKind.PASSWORD_SET_BY_ADMIN, actor, user.id, len(revoked))

    async def end_sessions(self, actor: Actor, user_id: str) -> int:
        """End every session of the account; how many were live.

        Raises: UserNotFound.
        """
        user = await self.get_user(user_id)
        now = self._clock()
        revoked = await self._ender.end_all(user.id, reason="ended_by_admin", now=now)
        await self._report(EventKind.SESSIONS_ENDED_BY_ADMIN, actor, user.id, len(revoked))
        return len(revoked)

    async def reset_mfa(self, actor: Actor, user_id: str) -> int:
        """Remove every second factor of the account (a lost phone, a lost code sheet), so
        its next login takes the password alone; no session ends. How many were removed.

        Raises: UserNotFound.
        """
        user = await self.get_user(user_id)
        removed = await self._factors.remove_all(user.id)
        await self._report(EventKind.MFA_RESET_BY_ADMIN, actor, user.id, removed)
        return removed

    async def delete_user(self, actor: Actor, user_id: str) -> None:
        """Erase the account and end its sessions; its username is free again at once.

        Raises: UserNotFound, LastAdmin.
        """
        if not is_user_id(user_id):
            raise UserNotFound
        now = self._clock()
        revoked = await self._store.delete_user(user_id, now=now, keep_holder_of=ADMIN)
        if revoked is None:
            raise UserNotFound
        await self._ender.ended(user_id, revoked, reason="user_deleted", now=now)
        await self._report(EventKind.USER_DELETED, actor, user_id, len(revoked))

    async def _report(
        self, kind: EventKind, actor: Actor, user_id: str, count: int | None = None
    ) -> None:
        await self._observer.record(
            SecurityEvent(
                kind, user_id=user_id, actor_id=actor.user_id, client=actor.client, count=count
            )
        )
