"""Accounts: usernames, registration, password checks and changes."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from authsvc.clock import Clock
from authsvc.errors import (
    InvalidCredentials,
    InvalidUsername,
    PasswordChangedMeanwhile,
    RegistrationClosed,
    SessionEnded,
    Throttled,
    UsernameTaken,
    WrongPassword,
)
from authsvc.events import ClientInfo, EventKind, Observer, SecurityEvent
from authsvc.observers.security_log import SecurityLog
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.services.email_verification import EmailVerification
from authsvc.services.profile_cache import ProfileCache
from authsvc.store.base import UserStore
from authsvc.store.records import UserProfile, UserRecord
from authsvc.throttle import LoginThrottle
from authsvc.usernames import (
    USERNAME_MAX,
    USERNAME_MIN,
    check_new_username,
    normalize_username,
)

__all__ = ["USERNAME_MAX", "USERNAME_MIN", "AccountService", "account_key", "normalize_username"]


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
        throttle: LoginThrottle | None = None,
        observer: Observer | None = None,
        verification: EmailVerification | None = None,
        profiles: ProfileCache | None = None,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._policy = policy
        self._clock = clock
        self._registration_enabled = registration_enabled
        self._throttle = throttle
        # Mails a new account's address its link; None where no mail is sent (the CLI).
        self._verification = verification
        # Profiles recently shown by /auth/me; None reads every one from the store.
        self._profiles = profiles
        # Without one, events still reach the security log, as in the CLI.
        self._observer = observer if observer is not None else SecurityLog()

    async def register(
        self, username: str, password: str, *, email: str | None, ip: str | None = None
    ) -> UserRecord:
        """Self-service registration, throttled per client address.

        Every attempt counts, whatever its outcome: a 409 tells that a name exists, so it is
        an answer worth rationing too.

        Raises: RegistrationClosed, Throttled, InvalidUsername, PasswordRejected,
        UsernameTaken, HashingBusy, StoreUnavailable.
        """
        if not self._registration_enabled:
            raise RegistrationClosed
        if self._throttle is not None:
            try:
                await self._throttle.reserve_registration(ip)
            except Throttled:
                await self._observer.record(
                    SecurityEvent(
                        EventKind.REGISTRATION_THROTTLED,
                        client=ClientInfo(ip=ip, user_agent=None),
                    )
                )
                raise
        user = await self.create_user(username, password, email=email)
        if self._verification is not None:
            # The mail waits in the outbox: a crash after this answer loses nothing.
            await self._verification.registered(user)
        return user

    async def create_user(self, username: str, password: str, *, email: str | None) -> UserRecord:
        """Create an account regardless of the registration switch (operators, the CLI).

        Raises: InvalidUsername, PasswordRejected, UsernameTaken, HashingBusy.
        """
        name = normalize_username(username)
        check_new_username(name)
        # The policy runs before hashing, so an over-long password is never hashed.
        self._policy.check(password, username=name)
        # A taken name (or a look-alike of one) costs no hashing; the unique indexes still
        # decide a race between two registrations of the same name.
        if await self._store.is_username_taken(name):
            raise UsernameTaken
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
        if verdict.new_hash is None:
            return user
        # Only over the hash that was verified: a password change that landed meanwhile must
        # not be overwritten with the old password under new parameters.
        if not await self._store.set_password_hash(
            user.id, verdict.new_hash, expected_hash=user.password_hash, changed_at=None
        ):
            raise InvalidCredentials(user.id)  # the password checked is no longer the password
        # Callers may re-check that the password is still the one verified: give them the
        # hash stored now.
        return replace(user, password_hash=verdict.new_hash)

    async def change_password(self, user: UserRecord, current: str, new: str) -> None:
        """Change the password if `current` is still it when the new one is stored.

        Raises: WrongPassword, PasswordRejected, PasswordChangedMeanwhile, HashingBusy.
        """
        await self.check_password(user, current)
        self._policy.check(new, username=user.username)
        new_hash = await self._passwords.hash(new)
        # Compare-and-set on the hash verified above: of two changes racing each other, one
        # wins and the other is refused instead of silently undoing it.
        if not await self._store.set_password_hash(
            user.id, new_hash, expected_hash=user.password_hash, changed_at=self._clock()
        ):
            raise PasswordChangedMeanwhile

    async def check_password(self, user: UserRecord, password: str) -> None:
        """Raises: WrongPassword unless `password` is the user's, HashingBusy."""
        if self._policy.is_too_long(password):
            raise WrongPassword
        verdict = await self._passwords.verify(password, user.password_hash)
        if not verdict.ok:
            raise WrongPassword

    async def profile(self, user_id: str) -> UserProfile:
        """The user's profile as it is now (roles and e-mail change): every change made
        through this store is seen at once, see services/profile_cache.py.

        Raises: SessionEnded when the account no longer exists.
        """
        cache = self._profiles
        if cache is None:
            profile = await self._store.get_profile(user_id)
        elif (profile := cache.get(user_id)) is None:
            version = cache.version
            profile = await self._store.get_profile(user_id)
            if profile is not None:
                cache.put(profile, version=version)
        if profile is None:
            raise SessionEnded
        return profile

    async def current_user(self, user_id: str) -> UserRecord:
        """Raises: SessionEnded when the account no longer exists."""
        user = await self._store.get_user(user_id)
        if user is None:
            raise SessionEnded
        return user

    async def get_user(self, user_id: str) -> UserRecord | None:
        return await self._store.get_user(user_id)

    async def list_users(self) -> list[UserRecord]:
        return await self._store.list_users()
