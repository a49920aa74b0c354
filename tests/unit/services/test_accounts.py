"""AccountService on a real SQLite store with real argon2."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher

from authsvc.errors import (
    InvalidCredentials,
    InvalidUsername,
    PasswordChangedMeanwhile,
    PasswordRejected,
    RegistrationClosed,
    SessionEnded,
    UsernameTaken,
    WrongPassword,
)
from authsvc.passwords import PasswordPolicy, PasswordService, Verdict
from authsvc.services.accounts import AccountService, normalize_username
from authsvc.settings import Settings
from authsvc.store import Store, open_store
from authsvc.store.records import UserRecord
from tests.support.http import PASSWORD
from tests.support.settings import FakeClock


def fullwidth(text: str) -> str:
    """The full-width form of printable ASCII, as East Asian keyboards type it."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


class CountingPasswords(PasswordService):
    """The real service, counting how often it is asked to do argon2 work."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.hashed = 0
        self.verified = 0

    async def hash(self, password: str) -> str:
        self.hashed += 1
        return await super().hash(password)

    async def verify(self, password: str, stored_hash: str | None) -> Verdict:
        self.verified += 1
        return await super().verify(password, stored_hash)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    async with open_store(settings.database_url, migrate=True) as opened:
        yield opened


@pytest.fixture
def passwords(settings: Settings) -> CountingPasswords:
    return CountingPasswords(settings)


def make_accounts(
    store: Store,
    passwords: PasswordService,
    settings: Settings,
    clock: FakeClock,
    *,
    registration_enabled: bool = True,
) -> AccountService:
    return AccountService(
        store=store,
        passwords=passwords,
        policy=PasswordPolicy(settings),
        clock=clock,
        registration_enabled=registration_enabled,
    )


@pytest.fixture
def accounts(
    store: Store, passwords: CountingPasswords, settings: Settings, clock: FakeClock
) -> AccountService:
    return make_accounts(store, passwords, settings, clock)


# normalize_username


@pytest.mark.parametrize(
    "raw", ["alice", "Alice", "ALICE", "aLiCe", fullwidth("Alice"), fullwidth("ALICE")]
)
def test_username_variants_share_one_canonical_form(raw: str) -> None:
    assert normalize_username(raw) == "alice"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Alice.Smith", "alice.smith"),
        ("bob_99", "bob_99"),
        ("carol+test@example.com", "carol+test@example.com"),
        ("dash-ed", "dash-ed"),
        ("Zoë", "zoë"),
        (fullwidth("Zo") + "ë", "zoë"),
        ("Straße", "strasse"),
        ("Ǆemal", "džemal"),
        ("ﬁnn", "finn"),
        ("user①", "user1"),
        ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),
        ("日本語", "日本語"),
    ],
)
def test_username_normalisation(raw: str, canonical: str) -> None:
    assert normalize_username(raw) == canonical


def test_username_length_bounds() -> None:
    assert normalize_username("abc") == "abc"
    assert normalize_username("a" * 64) == "a" * 64
    for raw in ("", "a", "ab", fullwidth("AB"), "a" * 65, "a" * 10_000):
        with pytest.raises(InvalidUsername, match="3 to 64"):
            normalize_username(raw)


def test_username_length_is_counted_after_normalisation() -> None:
    assert normalize_username("ﬃ") == "ffi"  # one code point, three letters
    with pytest.raises(InvalidUsername):
        normalize_username("ﬃ" * 22)  # 22 code points, 66 letters


@pytest.mark.parametrize(
    "raw",
    [
        "al ice",
        " alice",
        "alice ",
        "alice\t",
        "alice\n",
        "\nalice",
        "alice\r\n",
        "al\x00ice",
        "alice\x00",
        "alice\x7f",
        "ali\x1bce",
        "ali\u200bce",  # zero-width space
        "ali\u202ece",  # right-to-left override
        "ali\u00adce",  # soft hyphen
        "<script>",
        "<script>alert(1)</script>",
        "alice;drop",
        "../../etc",
        "a/b/c",
        "a\\b\\c",
        "al'ice",
        'al"ice',
        "ali%ce",
        "alice!",
        "${jndi}",
    ],
)
def test_unacceptable_usernames(raw: str) -> None:
    with pytest.raises(InvalidUsername) as caught:
        normalize_username(raw)
    assert str(caught.value)  # the message names the rule


# Registration


async def test_register_creates_the_user(
    accounts: AccountService, store: Store, clock: FakeClock
) -> None:
    user = await accounts.register("Alice", PASSWORD, email="alice@example.com")

    assert user.username == "alice"
    assert user.email == "alice@example.com"
    assert user.created_at == clock.now
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    stored = await store.get_user_by_username("alice")
    assert stored is not None
    assert stored.id == user.id
    assert stored.password_hash == user.password_hash
    assert await accounts.get_user(user.id) == stored


@pytest.mark.parametrize(
    "variant", ["alice", "ALICE", "Alice", fullwidth("alice"), fullwidth("ALICE")]
)
async def test_duplicate_username_in_any_case_or_width(
    accounts: AccountService, store: Store, variant: str
) -> None:
    await accounts.register("Alice", PASSWORD, email=None)
    with pytest.raises(UsernameTaken):
        await accounts.register(variant, "another good passphrase", email=None)
    assert [user.username for user in await store.list_users()] == ["alice"]


async def test_registration_closed(
    store: Store, passwords: CountingPasswords, settings: Settings, clock: FakeClock
) -> None:
    closed = make_accounts(store, passwords, settings, clock, registration_enabled=False)

    with pytest.raises(RegistrationClosed):
        await closed.register("alice", PASSWORD, email=None)

    assert await store.list_users() == []
    assert passwords.hashed == 0
    # Operators can still create accounts.
    user = await closed.create_user("alice", PASSWORD, email=None)
    assert await store.get_user(user.id) is not None


@pytest.mark.parametrize(
    ("username", "password", "rule"),
    [
        ("alice", "short", "at least"),
        ("alice", "password", "common"),
        ("alice", "x" * 129, "at most"),
        ("alice.smith", "Alice.Smith", "username"),
        ("alice", "zzzzzzzzzzzz", "single character"),
    ],
)
async def test_register_applies_the_password_policy_before_hashing(
    accounts: AccountService,
    store: Store,
    passwords: CountingPasswords,
    username: str,
    password: str,
    rule: str,
) -> None:
    with pytest.raises(PasswordRejected, match=rule):
        await accounts.register(username, password, email=None)
    assert passwords.hashed == 0
    assert await store.list_users() == []


async def test_register_refuses_bad_usernames(
    accounts: AccountService, store: Store, passwords: CountingPasswords
) -> None:
    for raw in ("<script>", "al ice", "ab", "al\x00ice"):
        with pytest.raises(InvalidUsername):
            await accounts.register(raw, PASSWORD, email=None)
    assert passwords.hashed == 0
    assert await store.list_users() == []


async def test_trailing_newline_does_not_make_a_look_alike_account(
    accounts: AccountService, store: Store
) -> None:
    # "alice\n" prints exactly like "alice" in logs and admin listings.
    await accounts.register("alice", PASSWORD, email=None)
    with pytest.raises(InvalidUsername):
        await accounts.register("alice\n", PASSWORD, email=None)
    assert [user.username for user in await store.list_users()] == ["alice"]


# Authentication


async def test_authenticate(accounts: AccountService) -> None:
    user = await accounts.register("alice", PASSWORD, email=None)

    for typed in ("alice", "ALICE", fullwidth("Alice")):
        assert (await accounts.authenticate(typed, PASSWORD)).id == user.id


async def test_authenticate_wrong_password(
    accounts: AccountService, passwords: CountingPasswords
) -> None:
    user = await accounts.register("alice", PASSWORD, email=None)

    for wrong in ("Correct horse battery staple", PASSWORD + " ", "", "x"):
        with pytest.raises(InvalidCredentials) as caught:
            await accounts.authenticate("alice", wrong)
        assert caught.value.user_id == user.id  # for the security log
    assert passwords.verified == 4


@pytest.mark.parametrize("username", ["nobody", "<script>", "", "a" * 500, "alice\x00"])
async def test_authenticate_unknown_or_invalid_user_costs_a_verification(
    accounts: AccountService, passwords: CountingPasswords, username: str
) -> None:
    await accounts.register("alice", PASSWORD, email=None)

    with pytest.raises(InvalidCredentials) as caught:
        await accounts.authenticate(username, PASSWORD)

    assert type(caught.value) is InvalidCredentials  # never InvalidUsername: no enumeration
    assert caught.value.user_id is None
    assert passwords.verified == 1  # the dummy hash: same cost as a wrong password


async def test_over_long_password_is_refused_without_hashing(
    accounts: AccountService, passwords: CountingPasswords
) -> None:
    await accounts.register("alice", PASSWORD, email=None)
    before = passwords.hashed

    start = time.perf_counter()
    with pytest.raises(InvalidCredentials):
        await accounts.authenticate("alice", "x" * 129)
    over_long = time.perf_counter() - start

    start = time.perf_counter()
    with pytest.raises(InvalidCredentials):
        await accounts.authenticate("alice", "wrong password")
    wrong = time.perf_counter() - start

    assert passwords.verified == 1  # only the wrong-password attempt
    assert passwords.hashed == before
    assert over_long < wrong / 5


async def test_over_long_password_for_unknown_user_is_refused_too(
    accounts: AccountService, passwords: CountingPasswords
) -> None:
    with pytest.raises(InvalidCredentials):
        await accounts.authenticate("nobody", "y" * 100_000)
    assert passwords.verified == 0


async def test_password_of_maximum_length_works(accounts: AccountService) -> None:
    longest = "".join(chr(ord("a") + i % 26) for i in range(128))
    user = await accounts.register("alice", longest, email=None)
    assert (await accounts.authenticate("alice", longest)).id == user.id


async def test_decomposed_unicode_password_can_log_in_after_registering(
    accounts: AccountService,
) -> None:
    # 70 Hangul syllables typed in decomposed form (macOS and some IMEs send NFD): the policy
    # counts 70 characters and accepts it, so logging in with the same input must work too.
    precomposed = "".join(chr(0xAC00 + (i * 389) % 11172) for i in range(70))
    typed = unicodedata.normalize("NFD", precomposed)
    assert len(typed) > 128

    user = await accounts.register("minji", typed, email=None)

    assert (await accounts.authenticate("minji", typed)).id == user.id
    assert (await accounts.authenticate("minji", precomposed)).id == user.id


async def alice_with_an_outdated_hash(
    accounts: AccountService, store: Store
) -> tuple[UserRecord, str]:
    """Alice, registered, her hash then replaced by one of weaker parameters than today's."""
    user = await accounts.register("alice", PASSWORD, email=None)
    outdated = PasswordHasher(time_cost=3, memory_cost=19_456, parallelism=1).hash(PASSWORD)
    await store.set_password_hash(user.id, outdated, changed_at=None)
    return user, outdated


async def test_authenticate_rehashes_an_outdated_hash(
    accounts: AccountService, store: Store, clock: FakeClock
) -> None:
    user, outdated = await alice_with_an_outdated_hash(accounts, store)
    clock.advance(3600)

    await accounts.authenticate("alice", PASSWORD)

    rehashed = await store.get_user(user.id)
    assert rehashed is not None
    assert rehashed.password_hash != outdated
    assert rehashed.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    # A transparent upgrade, not a password change.
    assert rehashed.password_changed_at == user.password_changed_at
    # The new hash works, and is not replaced again.
    await accounts.authenticate("alice", PASSWORD)
    again = await store.get_user(user.id)
    assert again is not None
    assert again.password_hash == rehashed.password_hash


async def test_wrong_password_leaves_an_outdated_hash_alone(
    accounts: AccountService, store: Store
) -> None:
    user, outdated = await alice_with_an_outdated_hash(accounts, store)

    with pytest.raises(InvalidCredentials):
        await accounts.authenticate("alice", "not the password")

    unchanged = await store.get_user(user.id)
    assert unchanged is not None
    assert unchanged.password_hash == outdated


# Password change


async def test_change_password(accounts: AccountService, store: Store, clock: FakeClock) -> None:
    user = await accounts.register("alice", PASSWORD, email=None)
    clock.advance(60)

    await accounts.change_password(user, PASSWORD, "a brand new passphrase")

    with pytest.raises(InvalidCredentials):
        await accounts.authenticate("alice", PASSWORD)
    changed = await accounts.authenticate("alice", "a brand new passphrase")
    assert changed.password_changed_at == clock.now


async def test_change_password_needs_the_current_one(
    accounts: AccountService, passwords: CountingPasswords
) -> None:
    user = await accounts.register("alice", PASSWORD, email=None)
    hashed = passwords.hashed

    with pytest.raises(WrongPassword):
        await accounts.change_password(user, "not it", "a brand new passphrase")
    with pytest.raises(WrongPassword):
        await accounts.change_password(user, "x" * 129, "a brand new passphrase")

    assert passwords.hashed == hashed
    assert (await accounts.authenticate("alice", PASSWORD)).id == user.id


async def test_change_password_applies_the_policy(accounts: AccountService) -> None:
    user = await accounts.register("alice", PASSWORD, email=None)
    with pytest.raises(PasswordRejected, match="common"):
        await accounts.change_password(user, PASSWORD, "iloveyou")
    assert (await accounts.authenticate("alice", PASSWORD)).id == user.id


class ChangedWhileVerifying(PasswordService):
    """The real service; while a password is being checked, another request changes it."""

    def __init__(self, settings: Settings, store: Store, user_id: str, new_hash: str) -> None:
        super().__init__(settings)
        self._store, self._user_id, self._new_hash = store, user_id, new_hash

    async def verify(self, password: str, stored_hash: str | None) -> Verdict:
        verdict = await super().verify(password, stored_hash)
        await self._store.set_password_hash(self._user_id, self._new_hash, changed_at=None)
        return verdict


async def test_a_rehash_never_writes_back_a_password_changed_during_the_login(
    accounts: AccountService, store: Store, settings: Settings, clock: FakeClock
) -> None:
    user, _ = await alice_with_an_outdated_hash(accounts, store)
    changed = PasswordHasher().hash("the password changed meanwhile")
    racing = make_accounts(
        store, ChangedWhileVerifying(settings, store, user.id, changed), settings, clock
    )

    with pytest.raises(InvalidCredentials):  # what was verified is no longer the password
        await racing.authenticate("alice", PASSWORD)

    stored = await store.get_user(user.id)
    assert stored is not None
    assert stored.password_hash == changed


async def test_authenticate_returns_the_hash_stored_now_after_a_rehash(
    accounts: AccountService, store: Store
) -> None:
    user, outdated = await alice_with_an_outdated_hash(accounts, store)

    authenticated = await accounts.authenticate("alice", PASSWORD)

    stored = await store.get_user(user.id)
    assert stored is not None
    assert authenticated.password_hash == stored.password_hash != outdated
    # Without a re-hash it is the hash that was read, which is the one stored.
    again = await accounts.authenticate("alice", PASSWORD)
    assert again.password_hash == stored.password_hash


async def test_of_two_racing_password_changes_one_wins_and_the_other_is_refused(
    accounts: AccountService, store: Store
) -> None:
    user = await accounts.register("alice", PASSWORD, email=None)  # both read this record

    await accounts.change_password(user, PASSWORD, "the first new passphrase")
    with pytest.raises(PasswordChangedMeanwhile):
        await accounts.change_password(user, PASSWORD, "the second new passphrase")

    assert (await accounts.authenticate("alice", "the first new passphrase")).id == user.id
    with pytest.raises(InvalidCredentials):
        await accounts.authenticate("alice", "the second new passphrase")


@pytest.mark.parametrize("look_alike", ["al\u0131ce", "AL\u0131CE"])
async def test_a_look_alike_of_an_existing_name_is_taken_before_anything_is_hashed(
    accounts: AccountService, passwords: CountingPasswords, look_alike: str
) -> None:
    await accounts.register("alice", PASSWORD, email=None)
    hashed = passwords.hashed

    with pytest.raises(UsernameTaken):
        await accounts.register(look_alike, "another good passphrase", email=None)

    assert passwords.hashed == hashed


@pytest.mark.parametrize("look_alike", ["\u0430lice", "alice\u3164", "\u1d00lice", "bob\u0661"])
async def test_look_alike_names_do_not_register(
    accounts: AccountService, passwords: CountingPasswords, look_alike: str
) -> None:
    with pytest.raises(InvalidUsername):
        await accounts.register(look_alike, PASSWORD, email=None)
    assert passwords.hashed == 0


# profile reads


async def test_profile_and_current_user_of_an_account(accounts: AccountService) -> None:
    user = await accounts.create_user("alice", PASSWORD, email="alice@example.com")
    profile = await accounts.profile(user.id)
    assert (profile.id, profile.username, profile.email) == (user.id, "alice", "alice@example.com")
    assert await accounts.current_user(user.id) == user


async def test_profile_of_a_deleted_account_ends_the_session(accounts: AccountService) -> None:
    with pytest.raises(SessionEnded):
        await accounts.profile("00000000-0000-0000-0000-000000000000")
    with pytest.raises(SessionEnded):
        await accounts.current_user("00000000-0000-0000-0000-000000000000")
