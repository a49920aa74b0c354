"""The outbox sender against a real SMTP server on loopback: delivery, retries, giving up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from authsvc.mail.sender import OutboxSender, SenderPolicy
from authsvc.mail.transport import SmtpTransport
from authsvc.metrics import Metrics
from authsvc.settings.mail import parse_smtp_url
from authsvc.store.records import NewMail
from tests.support.fakes import InMemoryStore
from tests.support.scrape import Scrape
from tests.support.settings import FakeClock
from tests.support.smtp_sink import SINK_PASSWORD, Sink, SinkFactory, text_of

POLICY = SenderPolicy(
    poll_interval_seconds=60,
    batch_size=3,
    lease_seconds=60,
    max_attempts=3,
    backoff_base_seconds=10,
    backoff_max_seconds=100,
)


def sender_for(
    sink: Sink, store: InMemoryStore, clock: FakeClock, *, url: str | None = None, **kw: object
) -> OutboxSender:
    transport = SmtpTransport(
        parse_smtp_url(url or sink.url),
        sender="authsvc <no-reply@authsvc.test>",
        timeout=5,
        ca_file=str(sink.cert_path) if sink.cert_path else None,
    )
    return OutboxSender(
        outbox=store,
        transport=transport,
        policy=POLICY,
        clock=clock,
        wake=asyncio.Event(),
        **kw,  # type: ignore[arg-type]
    )


async def queue(
    store: InMemoryStore, clock: FakeClock, n: int = 1, kind: str = "verify_email"
) -> None:
    for i in range(n):
        await store.enqueue_mail(
            NewMail(
                kind=kind,
                recipient=f"user{i}@example.com",
                subject=f"Mail {i}",
                text_body=f"text {i}",
                html_body=f"<p>html {i}</p>",
                created_at=clock(),
                expires_at=clock() + timedelta(hours=1),
            )
        )


@pytest.mark.parametrize("tls", ["none", "starttls", "implicit"])
async def test_delivers_every_queued_mail_in_batches_and_deletes_it(
    smtp_sinks: SinkFactory, clock: FakeClock, tls: str
) -> None:
    sink = smtp_sinks.start(tls=tls)  # type: ignore[arg-type]
    store = InMemoryStore()
    await queue(store, clock, 7)  # more than two batches of three
    assert await sender_for(sink, store, clock).drain() == 7
    received = await sink.arrived(7)
    assert sorted(m["To"] for m in received) == sorted(f"user{i}@example.com" for i in range(7))
    first = next(m for m in received if m["To"] == "user0@example.com")
    assert first["Subject"] == "Mail 0"
    assert text_of(first).strip() == "text 0"
    html = first.get_body(preferencelist=("html",))
    assert html is not None and "<p>html 0</p>" in html.get_content()
    assert store.outbox == {}


async def one_mail_for_a_login_sink(
    smtp_sinks: SinkFactory, clock: FakeClock
) -> tuple[Sink, InMemoryStore]:
    sink = smtp_sinks.start(tls="starttls", login=True)
    store = InMemoryStore()
    await queue(store, clock)
    return sink, store


async def test_logs_in_with_the_credentials_of_the_url_over_starttls(
    smtp_sinks: SinkFactory, clock: FakeClock
) -> None:
    sink, store = await one_mail_for_a_login_sink(smtp_sinks, clock)
    await sender_for(sink, store, clock, url=sink.url_with_login()).drain()
    await sink.arrived(1)
    assert sink.logins == ["mailer"]


async def test_a_wrong_password_is_retried_later_not_lost(
    smtp_sinks: SinkFactory, clock: FakeClock
) -> None:
    sink, store = await one_mail_for_a_login_sink(smtp_sinks, clock)
    url = sink.url_with_login().replace(SINK_PASSWORD, "wrong")
    await sender_for(sink, store, clock, url=url).drain()
    assert sink.received() == []
    [queued] = store.outbox.values()
    assert queued.claimed_by is None and queued.attempts == 1
    assert queued.last_error is not None and "wrong" not in queued.last_error


async def test_an_untrusted_certificate_is_refused(
    smtp_sinks: SinkFactory, clock: FakeClock
) -> None:
    sink = smtp_sinks.start(tls="implicit")
    sink.cert_path = None  # the client trusts the system CAs only
    store = InMemoryStore()
    await queue(store, clock)
    await sender_for(sink, store, clock).drain()
    assert sink.received() == []
    [queued] = store.outbox.values()
    assert queued.attempts == 1 and queued.next_attempt_at > clock()


async def test_a_451_is_retried_after_a_jittered_backoff_then_delivered(
    smtp_sinks: SinkFactory, clock: FakeClock
) -> None:
    sink = smtp_sinks.start(refuse=("451 4.3.0 Try again later", "451 4.3.0 Try again later"))
    store = InMemoryStore()
    metrics = Metrics()
    sender = sender_for(sink, store, clock, metrics=metrics)
    await queue(store, clock)
    for attempt, ceiling in ((1, 10), (2, 20)):
        await sender.drain()
        [queued] = store.outbox.values()
        delay = (queued.next_attempt_at - clock()).total_seconds()
        assert (queued.attempts, queued.last_error) == (attempt, "SMTPDataError 451")
        assert ceiling / 2 <= delay <= ceiling
        await sender.drain()  # not due yet: nothing is tried
        assert sink.refused == attempt
        clock.advance(delay)
    await sender.drain()
    assert len(await sink.arrived(1)) == 1
    assert store.outbox == {}
    scrape = Scrape.parse(metrics.render(sessions_active=None).decode())
    assert scrape.value("authsvc_mails_sent_total", kind="verify_email") == 1
    assert scrape.value("authsvc_mails_failed_total", kind="verify_email") == 0


async def test_gives_up_after_the_last_attempt_and_counts_it_failed(
    smtp_sinks: SinkFactory, clock: FakeClock
) -> None:
    sink = smtp_sinks.start(refuse=("421 4.3.0 Busy",) * 5)
    store = InMemoryStore()
    metrics = Metrics()
    sender = sender_for(sink, store, clock, metrics=metrics)
    await queue(store, clock)
    for _ in range(POLICY.max_attempts):
        await sender.drain()
        clock.advance(POLICY.backoff_max_seconds)
    assert (sink.refused, store.outbox) == (POLICY.max_attempts, {})
    scrape = Scrape.parse(metrics.render(sessions_active=None).decode())
    assert scrape.value("authsvc_mails_failed_total", kind="verify_email") == 1


async def test_a_5xx_refusal_is_final_at_once(smtp_sinks: SinkFactory, clock: FakeClock) -> None:
    sink = smtp_sinks.start(refuse=("554 5.6.0 Rejected",))
    store = InMemoryStore()
    await queue(store, clock)
    await sender_for(sink, store, clock).drain()
    assert (sink.refused, store.outbox) == (1, {})


async def test_expired_mails_are_dropped_unsent(smtp_sinks: SinkFactory, clock: FakeClock) -> None:
    sink = smtp_sinks.start()
    store = InMemoryStore()
    await queue(store, clock)
    clock.advance(3600)
    assert await sender_for(sink, store, clock).drain() == 0
    assert (sink.received(), store.outbox) == ([], {})


async def test_an_unreachable_server_keeps_the_mail(
    clock: FakeClock, smtp_sinks: SinkFactory
) -> None:
    sink = smtp_sinks.start()
    sink.stop()
    store = InMemoryStore()
    await queue(store, clock)
    await sender_for(sink, store, clock).drain()
    [queued] = store.outbox.values()
    assert queued.attempts == 1 and queued.last_error is not None
