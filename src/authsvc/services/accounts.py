"""Accounts: usernames, registration, password checks and changes."""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from authsvc.clock import Clock
from authsvc.errors import InvalidCredentials, InvalidUsername, RegistrationClosed, WrongPassword
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.store.base import UserProfile, UserRecord, UserStore

USERNAME_MIN, USERNAME_MAX = 3, 64
# Letters and digits of any script, plus a few separators common in handles and e-mail-style
# names; no spaces, controls or symbols that only serve to build look-alikes.
_USERNAME_CHARS = re.compile(r"[\w.@+\-]+")


def normalize_username(raw: str) -> str:
    """The canonical form a username is stored and looked up by.

    NFKC folds compatibility forms (full-width letters, ligatures) and casefold makes the
    comparison case-insensitive, so "Alice", "ALICE" and its full-width form are one account.

    Raises: InvalidUsername.
    """
    name = unicodedata.normalize("NFKC", raw).casefold()
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise InvalidUsername(f"Username must be {USERNAME_MIN} to {USERNAME_MAX} characters long")
    if not _USERNAME_CHARS.fullmatch(name):
        raise InvalidUsername("Username may contain letters, digits and . _ @ + - only")
    return name


def account_key(raw: str) -> str:
    """What throttling counts attempts against: the canonical username when there is one.

    Names that could never be registered are counted too, folded the same way, so the
    throttle behaves identically for accounts that exist and accounts that do not.
    """
    try:
        return normalize_username(raw)
    except InvalidUsername:
        return unicodedata.normalize("NFKC", raw).casefold()


class AccountService:
    def __init__(
        self,
        *,
        store: UserStore,
        passwords: PasswordService,
        policy: PasswordPolicy,
        clock: Clock,
        registration_enabled: bool,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._policy = policy
        self._clock = clock
        self._registration_enabled = registration_enabled

    async def register(self, username: str, password: str, *, email: str | None) -> UserRecord:
        """Raises: RegistrationClosed, InvalidUsername, PasswordRejected, UsernameTaken."""
        if not self._registration_enabled:
            raise RegistrationClosed
        return await self.create_user(username, password, email=email)

    async def create_user(self, username: str, password: str, *, email: str | None) -> UserRecord:
        """Create an account regardless of the registration switch (operators, the CLI).

        Raises: InvalidUsername, PasswordRejected, UsernameTaken.
        """
        name = normalize_username(username)
        # The policy runs before hashing, so an over-long password is never hashed.
        self._policy.check(password, username=name)
        password_hash = await self._passwords.hash(password)
        return await self._store.create_user(
            username=name, email=email, password_hash=password_hash, now=self._clock()
        )

    async def authenticate(self, username: str, password: str) -> UserRecord:
        """The user these credentials belong to.

        Raises: InvalidCredentials.
        """
        if self._policy.is_too_long(password):
            # Refused before hashing: the length is the caller's own choice, so answering
            # fast tells them nothing about the account.
            raise InvalidCredentials
        try:
            name = normalize_username(username)
        except InvalidUsername:
            user = None
        else:
            user = await self._store.get_user_by_username(name)
        # Unknown users are verified against a dummy hash so they cost the same time.
        verdict = await self._passwords.verify(password, user.password_hash if user else None)
        if user is None or not verdict.ok:
            raise InvalidCredentials(user.id if user else None)
        if verdict.new_hash is not None:
            await self._store.set_password_hash(user.id, verdict.new_hash, changed_at=None)
            # The session about to open is checked against the hash stored now.
            user = dataclasses.replace(user, password_hash=verdict.new_hash)
        return user

    async def change_password(self, user: UserRecord, current: str, new: str) -> None:
        """Raises: WrongPassword, PasswordRejected."""
        if self._policy.is_too_long(current):
            raise WrongPassword
        verdict = await self._passwords.verify(current, user.password_hash)
        if not verdict.ok:
            raise WrongPassword
        self._policy.check(new, username=user.username)
        new_hash = await self._passwords.hash(new)
        await self._store.set_password_hash(user.id, new_hash, changed_at=self._clock())

    async def get_profile(self, user_id: str) -> UserProfile | None:
        return await self._store.get_profile(user_id)

    async def get_user(self, user_id: str) -> UserRecord | None:
        return await self._store.get_user(user_id)

    async def list_users(self) -> list[UserRecord]:
        return await self._store.list_users()
