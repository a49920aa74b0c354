"""The outbox sender: a background task of every serving process that drains the outbox.

Each round it drops mails whose links have expired, claims a batch under a lease (so every
mail is delivered by one replica), delivers each, and settles it: deleted when sent, released
with a later `next_attempt_at` when the failure may pass (exponential backoff with full
jitter, capped), deleted and counted as failed after MAIL_MAX_ATTEMPTS or on a permanent
(5xx) refusal. It sleeps until the poll interval passes or this process queues a mail.

A crash after the server accepted a mail but before `mail_sent` leaves the claim to expire,
and the mail is sent again: delivery is at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from authsvc.background import in_background
from authsvc.clock import Clock
from authsvc.errors import StoreUnavailable
from authsvc.mail.transport import DeliveryFailed, Transport
from authsvc.metrics import Metrics
from authsvc.store.base import MailOutbox
from authsvc.store.records import OutboxMail

log = logging.getLogger("authsvc.mail")


@dataclass(frozen=True, slots=True)
class SenderPolicy:
    poll_interval_seconds: float
    batch_size: int
    lease_seconds: int
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float

    def retry_delay(self, attempts: int) -> float:
        """Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): replicas
        retrying a failed server do not come back in step."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempts - 1))
        return secrets.SystemRandom().uniform(ceiling / 2, ceiling)


class OutboxSender:
    def __init__(
        self,
        *,
        outbox: MailOutbox,
        transport: Transport,
        policy: SenderPolicy,
        clock: Clock,
        wake: asyncio.Event,
        metrics: Metrics | None = None,
    ) -> None:
        self._outbox = outbox
        self._transport = transport
        self._policy = policy
        self._clock = clock
        self._wake = wake
        self._metrics = metrics
        # Which process holds a claim; random, so a restarted process is a new claimer.
        self.claimer = uuid.uuid4().hex

    async def drain(self) -> int:
        """Deliver every mail due now, batch after batch; how many were settled.

        Raises: StoreUnavailable.
        """
        now = self._clock()
        dropped = await self._outbox.drop_expired_mails(now=now)
        if dropped:
            log.warning("mail outbox: %d unsent mails dropped, their links had expired", dropped)
        settled = 0
        while True:
            now = self._clock()
            batch = await self._outbox.claim_mails(
                claimer=self.claimer,
                now=now,
                lease_until=now + timedelta(seconds=self._policy.lease_seconds),
                limit=self._policy.batch_size,
            )
            for mail in batch:
                await self._settle(mail)
            settled += len(batch)
            if len(batch) < self._policy.batch_size:
                return settled

    async def _settle(self, mail: OutboxMail) -> None:
        try:
            await self._transport.deliver(mail)
        except DeliveryFailed as exc:
            final = exc.permanent or mail.attempts >= self._policy.max_attempts
            retry_at = None if final else self._retry_at(mail.attempts)
            await self._outbox.mail_failed(
                mail.id, claimer=self.claimer, error=exc.reason, retry_at=retry_at
            )
            if final:
                log.warning(
                    "mail %s (%s) given up after %d attempts: %s",
                    mail.id,
                    mail.kind,
                    mail.attempts,
                    exc.reason,
                )
                if self._metrics is not None:
                    self._metrics.mail_failed(mail.kind)
            else:
                log.info(
                    "mail %s (%s) attempt %d failed: %s",
                    mail.id,
                    mail.kind,
                    mail.attempts,
                    exc.reason,
                )
            return
        await self._outbox.mail_sent(mail.id, claimer=self.claimer)
        log.info("mail %s (%s) sent", mail.id, mail.kind)
        if self._metrics is not None:
            self._metrics.mail_sent(mail.kind)

    def _retry_at(self, attempts: int) -> datetime:
        return self._clock() + timedelta(seconds=self._policy.retry_delay(attempts))

    async def run(self) -> None:
        """Drain, then wait for a wake-up or the poll interval; until cancelled."""
        while True:
            self._wake.clear()
            try:
                await self.drain()
            except StoreUnavailable:
                log.warning("mail outbox skipped a round: store unavailable")
            except Exception:
                # A bug must not stop delivery for good: the claims expire, the next round
                # tries again.
                log.exception("mail outbox round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._policy.poll_interval_seconds)


@asynccontextmanager
async def running_sender(sender: OutboxSender | None) -> AsyncIterator[None]:
    """Run the sender in the background while the block runs; None runs nothing."""
    if sender is None:
        yield
        return
    async with in_background(sender.run(), name="mail-outbox"):
        yield
