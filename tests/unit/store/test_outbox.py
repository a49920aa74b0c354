"""The mail outbox and the e-mail tokens in the SQL store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from authsvc.store import Store, open_store
from authsvc.store.records import VERIFY_EMAIL, NewEmailToken, NewMail

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def mail(n: int, *, at: datetime = NOW, hours: int = 24) -> NewMail:
    return NewMail(
        kind="verify_email",
        recipient=f"user{n}@example.com",
        subject=f"Mail {n}",
        text_body=f"text {n}",
        html_body=None if n % 2 else f"<p>{n}</p>",
        created_at=at,
        expires_at=at + timedelta(hours=hours),
    )


async def claim(store: Store, claimer: str, *, at: datetime = NOW, limit: int = 10) -> list[str]:
    mails = await store.claim_mails(claimer=claimer, now=at, lease_until=at + LEASE, limit=limit)
    return [m.recipient for m in mails]


async def test_a_claimed_mail_is_nobody_elses_until_its_lease_ends(store: Store) -> None:
    for n in range(3):
        await store.enqueue_mail(mail(n, at=NOW + timedelta(seconds=n)))
    [first] = await store.claim_mails(
        claimer="a", now=NOW + timedelta(seconds=5), lease_until=NOW + LEASE, limit=1
    )
    assert (first.recipient, first.attempts, first.html_body) == (
        "user0@example.com",
        1,
        "<p>0</p>",
    )
    assert await claim(store, "b", at=NOW + timedelta(seconds=5)) == [
        "user1@example.com",
        "user2@example.com",
    ]
    assert await claim(store, "c", at=NOW + timedelta(seconds=6)) == []
    # The lease of a sender that died ends: the mail is claimed again, one attempt more.
    [again] = await store.claim_mails(
        claimer="c", now=NOW + LEASE + timedelta(seconds=1), lease_until=NOW + 2 * LEASE, limit=1
    )
    assert (again.id, again.attempts) == (first.id, 2)
    assert not await store.mail_sent(first.id, claimer="a")  # no longer a's to settle
    assert await store.mail_sent(first.id, claimer="c")


async def test_a_failed_mail_waits_for_its_retry_time_and_a_sent_one_is_gone(
    store: Store,
) -> None:
    mail_id = await store.enqueue_mail(mail(0))
    assert await store.oldest_pending_mail() == NOW
    await claim(store, "a")
    retry_at = NOW + timedelta(minutes=1)
    assert await store.mail_failed(
        mail_id, claimer="a", error="SMTPDataError 451", retry_at=retry_at
    )
    assert await claim(store, "b", at=retry_at - timedelta(seconds=1)) == []
    assert await claim(store, "b", at=retry_at) == ["user0@example.com"]
    assert await store.mail_sent(mail_id, claimer="b")
    assert await store.oldest_pending_mail() is None
    assert not await store.mail_sent(mail_id, claimer="b")


async def test_giving_up_deletes_the_mail(store: Store) -> None:
    mail_id = await store.enqueue_mail(mail(0))
    await claim(store, "a")
    assert await store.mail_failed(mail_id, claimer="a", error="x", retry_at=None)
    assert await store.oldest_pending_mail() is None


async def test_expired_mails_are_never_claimed_and_are_dropped(store: Store) -> None:
    await store.enqueue_mail(mail(0, hours=1))
    await store.enqueue_mail(mail(1, hours=3))
    later = NOW + timedelta(hours=2)
    assert await claim(store, "a", at=later) == ["user1@example.com"]
    assert await store.drop_expired_mails(now=later) == 1
    assert await store.oldest_pending_mail() == NOW


async def test_concurrent_claimers_never_share_a_mail(database_url: str) -> None:
    # Separate stores, as separate replicas have: separate engines and connections.
    async with open_store(database_url, migrate=True) as first:
        for n in range(60):
            await first.enqueue_mail(mail(n))
        async with open_store(database_url) as second:
            stores = [first, second] * 4

            async def drain(i: int) -> list[str]:
                got: list[str] = []
                while batch := await claim(stores[i], f"claimer-{i}", limit=3):
                    got += batch
                return got

            results = await asyncio.gather(*(drain(i) for i in range(len(stores))))
    claimed = [recipient for result in results for recipient in result]
    assert sorted(claimed) == sorted(f"user{n}@example.com" for n in range(60))


async def user_with_email(store: Store, name: str = "alice") -> str:
    user = await store.create_user(
        username=name, email=f"{name}@example.com", password_hash="h", now=NOW
    )
    return user.id


def token(user_id: str, digest: str, *, email: str = "alice@example.com") -> NewEmailToken:
    return NewEmailToken(
        user_id=user_id,
        purpose=VERIFY_EMAIL,
        email=email,
        token_hash=digest,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )


async def test_a_verification_token_works_once(store: Store) -> None:
    user_id = await user_with_email(store)
    await store.issue_email_token(token(user_id, "d1"))
    assert await store.verify_email("d1", now=NOW) == user_id
    assert await store.verify_email("d1", now=NOW) is None
    user = await store.get_user(user_id)
    assert user is not None and user.email_verified_at == NOW
    profile = await store.get_profile(user_id)
    assert profile is not None and profile.email_verified_at == NOW


async def test_a_newer_token_ends_the_older_one_and_tokens_expire(store: Store) -> None:
    user_id = await user_with_email(store)
    await store.issue_email_token(token(user_id, "d1"))
    await store.issue_email_token(token(user_id, "d2"))
    assert await store.verify_email("d1", now=NOW) is None
    assert await store.verify_email("d2", now=NOW + timedelta(hours=1)) is None  # expired
    assert (await store.get_user(user_id)).email_verified_at is None  # type: ignore[union-attr]


async def test_a_token_for_another_address_verifies_nothing(store: Store) -> None:
    user_id = await user_with_email(store)
    await store.issue_email_token(token(user_id, "d1", email="old@example.com"))
    assert await store.verify_email("d1", now=NOW) is None
    assert (await store.get_user(user_id)).email_verified_at is None  # type: ignore[union-attr]


async def test_an_unverified_profile_is_not_cached_so_the_verification_shows(
    database_url: str,
) -> None:
    async with open_store(database_url, migrate=True) as first, open_store(database_url) as other:
        user_id = await user_with_email(first)
        profile = await other.get_profile(user_id)  # read in another replica before
        assert profile is not None and profile.email_verified_at is None
        await first.issue_email_token(token(user_id, "d1"))
        assert await first.verify_email("d1", now=NOW) == user_id
        profile = await other.get_profile(user_id)
        assert profile is not None and profile.email_verified_at == NOW


async def test_concurrent_uses_of_one_token_have_one_winner(database_url: str) -> None:
    async with open_store(database_url, migrate=True) as first, open_store(database_url) as other:
        user_id = await user_with_email(first)
        await first.issue_email_token(token(user_id, "d1"))
        results = await asyncio.gather(*(s.verify_email("d1", now=NOW) for s in [first, other] * 5))
    assert results.count(user_id) == 1
    assert results.count(None) == 9
