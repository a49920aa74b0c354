"""The in-memory store behaves as the SQLite store does, for every method it implements."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authsvc.store import Store, open_store
from authsvc.store.records import NewAuditEvent, NewSession, RotateResult, Rotation
from tests.support.fakes import InMemoryStore
from tests.support.records import audit_entry, make_session
from tests.support.stores import revoked_since
from tests.unit.store import test_outbox as outbox
from tests.unit.store import test_passkeys as passkeys
from tests.unit.store import test_reset_tokens as reset_tokens

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GRACE = 5.0


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        fake: Store = InMemoryStore()  # mypy holds the fake to the whole Protocol here
        yield fake
        return
    async with open_store(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", migrate=True) as real:
        yield real


async def user_id(store: Store, name: str = "alice", stored: str = "h1") -> str:
    existing = await store.get_user_by_username(name)
    if existing is not None:
        return existing.id
    return (await store.create_user(username=name, email=None, password_hash=stored, now=NOW)).id


def new(owner: str, *, at: datetime = NOW, digest: str = "t0", days: int = 1) -> NewSession:
    return make_session(
        owner, at=at, idle=timedelta(days=days), absolute=timedelta(days=30), token_hash=digest
    )


def rotation(presented: str, replacement: str, at: datetime, *, idle_days: int = 1) -> Rotation:
    return Rotation(
        presented_hash=presented,
        replacement_hash=replacement,
        now=at,
        idle_deadline=at + timedelta(days=idle_days),
        grace_seconds=GRACE,
        user_agent="ua2",
        ip="::1",
    )


async def test_rotation_outcomes(store: Store) -> None:
    owner = await user_id(store)
    session = await store.create_session(new(owner))
    later = NOW + timedelta(minutes=1)

    rotated = await store.rotate(session.id, rotation("t0", "t1", later))
    assert rotated.result is RotateResult.ROTATED
    assert rotated.username == "alice"
    assert rotated.session is not None
    assert (rotated.session.token_hash, rotated.session.previous_token_hash) == ("t1", "t0")
    assert (rotated.session.generation, rotated.session.last_used_at) == (1, later)
    assert (rotated.session.user_agent, rotated.session.ip) == ("ua2", "::1")

    grace = await store.rotate(session.id, rotation("t0", "tx", later + timedelta(seconds=GRACE)))
    assert (grace.result, grace.username) == (RotateResult.GRACE, "alice")
    assert grace.session is not None and grace.session.token_hash == "t1"

    reused = await store.rotate(session.id, rotation("t0", "ty", later + timedelta(seconds=6)))
    assert reused.result is RotateResult.REUSED
    assert reused.session is not None
    assert (reused.session.revoked_reason, reused.username) == ("reuse", None)

    ended = await store.rotate(session.id, rotation("t1", "tz", later + timedelta(seconds=7)))
    assert ended.result is RotateResult.ENDED
    unknown = await store.rotate(str(uuid.uuid4()), rotation("t1", "tz", later))
    assert (unknown.result, unknown.session) == (RotateResult.UNKNOWN, None)


async def test_an_older_generation_is_reuse_even_inside_the_window(store: Store) -> None:
    owner = await user_id(store)
    session = await store.create_session(new(owner))
    await store.rotate(session.id, rotation("t0", "t1", NOW))
    await store.rotate(session.id, rotation("t1", "t2", NOW))

    assert (await store.rotate(session.id, rotation("t0", "t3", NOW))).result is RotateResult.REUSED


async def test_rotation_caps_the_idle_expiry_at_the_absolute_one(store: Store) -> None:
    owner = await user_id(store)
    session = await store.create_session(new(owner))

    outcome = await store.rotate(session.id, rotation("t0", "t1", NOW, idle_days=90))

    assert outcome.session is not None
    assert outcome.session.idle_expires_at == session.absolute_expires_at


async def test_an_idle_expired_session_has_ended(store: Store) -> None:
    owner = await user_id(store)
    session = await store.create_session(new(owner))

    outcome = await store.rotate(session.id, rotation("t0", "t1", NOW + timedelta(days=2)))

    assert outcome.result is RotateResult.ENDED


async def test_open_session_checks_the_hash_and_ends_the_least_recently_used(
    store: Store,
) -> None:
    owner = await user_id(store, stored="h1")
    assert await store.open_session(new(owner), verified_hash="stale", max_live=2) is None
    assert await store.list_active_sessions(owner, now=NOW) == []

    first = await store.open_session(new(owner, digest="a"), verified_hash="h1", max_live=2)
    second = await store.open_session(
        new(owner, at=NOW + timedelta(seconds=1), digest="b"), verified_hash="h1", max_live=2
    )
    assert first is not None and second is not None
    assert (first.ended, second.ended) == ((), ())
    # Using the first session makes the second the least recently used.
    await store.rotate(first.session.id, rotation("a", "a1", NOW + timedelta(seconds=2)))

    third = await store.open_session(
        new(owner, at=NOW + timedelta(seconds=3), digest="c"), verified_hash="h1", max_live=2
    )

    assert third is not None
    assert third.ended == (second.session.id,)
    ended = await store.get_session(second.session.id)
    assert ended is not None and ended.revoked_reason == "session_limit"
    live = await store.list_active_sessions(owner, now=NOW + timedelta(seconds=3))
    assert [s.id for s in live] == [third.session.id, first.session.id]


async def test_revoke_one_and_all(store: Store) -> None:
    alice = await user_id(store)
    bob = await user_id(store, "bob")
    a1, a2, a3 = [await store.create_session(new(alice)) for _ in range(3)]
    b1 = await store.create_session(new(bob))

    assert not await store.revoke_session(b1.id, reason="signed_out", now=NOW, user_id=alice)
    assert await store.revoke_session(a1.id, reason="logout", now=NOW)
    assert not await store.revoke_session(a1.id, reason="logout", now=NOW)
    assert not await store.revoke_session(str(uuid.uuid4()), reason="logout", now=NOW)
    revoked = await store.revoke_user_sessions(alice, reason="logout_all", now=NOW, keep=a3.id)

    assert revoked == [a2.id]
    assert [s.id for s in await store.list_active_sessions(alice, now=NOW)] == [a3.id]
    assert [s.id for s in await store.list_active_sessions(bob, now=NOW)] == [b1.id]
    assert sorted(await revoked_since(store, NOW)) == sorted([(a1.id, NOW), (a2.id, NOW)])


async def test_list_pages_most_recently_used_first(store: Store) -> None:
    owner = await user_id(store)
    made = [
        await store.create_session(new(owner, at=NOW + timedelta(seconds=n % 3))) for n in range(7)
    ]
    expected = sorted(made, key=lambda s: (s.last_used_at, s.id), reverse=True)
    now = NOW + timedelta(minutes=1)

    pages: list[list[str]] = []
    after: tuple[datetime, str] | None = None
    while True:
        page = await store.list_active_sessions(owner, now=now, limit=3, after=after)
        if not page:
            break
        pages.append([s.id for s in page])
        after = (page[-1].last_used_at, page[-1].id)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == [s.id for s in expected]
    assert await store.count_active_sessions(now=now) == 7


async def test_set_password_hash_only_over_the_expected_one(store: Store) -> None:
    owner = await user_id(store, stored="h1")

    assert not await store.set_password_hash(owner, "h2", expected_hash="h0", changed_at=NOW)
    assert await store.set_password_hash(owner, "h2", expected_hash="h1", changed_at=NOW)
    user = await store.get_user(owner)
    assert user is not None and user.password_hash == "h2"


async def test_the_audit_log_appends_pages_newest_first_and_purges_by_time(store: Store) -> None:
    def entry(subject: str, minutes: int) -> NewAuditEvent:
        at = NOW + timedelta(minutes=minutes)
        return audit_entry(at, subject=subject, kind="password_changed", count=minutes)

    for minutes in range(5):
        await store.append_audit_event(entry("alice", minutes))
        await store.append_audit_event(entry("bob", minutes))

    first = await store.list_audit_events(subject_id="alice", limit=3)
    rest = await store.list_audit_events(subject_id="alice", limit=3, before=first[-1].id)
    assert [dict(e.details) for e in first + rest] == [{"count": m} for m in range(4, -1, -1)]
    assert {e.subject_id for e in first + rest} == {"alice"}
    assert len(await store.list_audit_events(limit=100)) == 10

    assert await store.purge_audit_events(before=NOW + timedelta(minutes=3), batch_size=2) == 6
    kept = await store.list_audit_events(limit=100)
    assert [(e.subject_id, e.details["count"]) for e in kept] == [
        ("bob", 4),
        ("alice", 4),
        ("bob", 3),
        ("alice", 3),
    ]


async def test_the_audit_log_filters_by_kind_and_subject_together(store: Store) -> None:
    for minutes, (subject, kind) in enumerate(
        [("alice", "login_failed"), ("bob", "login_failed"), ("alice", "password_changed")] * 3
    ):
        at = NOW + timedelta(minutes=minutes)
        await store.append_audit_event(audit_entry(at, subject=subject, kind=kind, count=minutes))

    failures = await store.list_audit_events(kind="login_failed", limit=100)
    assert [e.details["count"] for e in failures] == [7, 6, 4, 3, 1, 0]
    first = await store.list_audit_events(subject_id="alice", kind="login_failed", limit=2)
    rest = await store.list_audit_events(
        subject_id="alice", kind="login_failed", limit=2, before=first[-1].id
    )
    assert [(e.subject_id, e.kind, e.details["count"]) for e in first + rest] == [
        ("alice", "login_failed", 6),
        ("alice", "login_failed", 3),
        ("alice", "login_failed", 0),
    ]
    assert await store.list_audit_events(kind="user_deleted", limit=100) == []


# The outbox and e-mail token cases of the SQL store, run here over the fake and SQLite alike
# (this module's `store` fixture), so the fake cannot drift from them.
test_outbox_claims_and_leases = outbox.test_a_claimed_mail_is_nobody_elses_until_its_lease_ends
test_outbox_retry_and_sent = (
    outbox.test_a_failed_mail_waits_for_its_retry_time_and_a_sent_one_is_gone
)
test_outbox_gives_up = outbox.test_giving_up_deletes_the_mail
test_outbox_expiry = outbox.test_expired_mails_are_never_claimed_and_are_dropped
test_email_token_once = outbox.test_a_verification_token_works_once
test_email_token_newer_and_expiry = outbox.test_a_newer_token_ends_the_older_one_and_tokens_expire
test_email_token_other_address = outbox.test_a_token_for_another_address_verifies_nothing
test_reset_users_by_email = (
    reset_tokens.test_users_by_email_ignores_ascii_case_and_finds_every_holder
)
test_reset_token_once = (
    reset_tokens.test_a_reset_token_sets_the_password_once_and_verifies_the_address
)
test_reset_token_dead = reset_tokens.test_expired_older_and_verification_tokens_reset_nothing
test_reset_after_change = (
    reset_tokens.test_a_password_change_or_disabling_since_the_issue_ends_the_token
)
test_reset_other_address = reset_tokens.test_a_link_mailed_to_another_address_resets_nothing
test_change_email = reset_tokens.test_a_change_token_moves_the_account_to_its_address_once
test_challenge_once = passkeys.test_a_challenge_is_used_once_by_its_purpose_and_owner_only
test_challenge_expiry = passkeys.test_a_challenge_expires_and_expired_ones_are_cleared
test_login_challenge = passkeys.test_a_login_challenge_is_not_a_users
test_passkeys_basics = passkeys.test_passkeys_are_added_found_listed_renamed_and_unique
test_passkey_counter = passkeys.test_the_counter_only_moves_forward
test_passkey_no_counter = passkeys.test_a_counter_that_stays_zero_is_an_authenticator_without_one
test_passkey_removal = passkeys.test_removal_keeps_the_last_passkey_when_asked
test_passkeys_of_deleted = passkeys.test_a_deleted_accounts_passkeys_are_gone
