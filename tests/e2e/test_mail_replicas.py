"""Two real replicas draining one outbox: every mail delivered, each exactly once."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from authsvc.store import open_store
from authsvc.store.records import NewMail
from tests.support.processes import ServerFactory, server_env
from tests.support.smtp_sink import SinkFactory

MAILS = 200
SENT_LINE = re.compile(r"mail ([0-9a-f-]{36}) \(verify_email\) sent")


async def enqueue(database_url: str, count: int) -> None:
    now = datetime.now(UTC)
    async with open_store(database_url) as store:
        for n in range(count):
            await store.enqueue_mail(
                NewMail(
                    kind="verify_email",
                    recipient=f"user{n}@example.com",
                    subject=f"Mail {n}",
                    text_body=f"body {n}",
                    html_body=None,
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                )
            )


def test_two_replicas_deliver_every_mail_of_one_outbox_exactly_once(
    servers: ServerFactory, smtp_sinks: SinkFactory, tmp_path: Path, database_url: str
) -> None:
    sink = smtp_sinks.start()
    env = server_env(
        tmp_path / "unused.db",
        DATABASE_URL=database_url,
        **sink.env(MAIL_BATCH_SIZE="5", MAIL_POLL_INTERVAL_SECONDS="0.05"),
    )
    replicas = [servers.start(env), servers.start(env)]
    asyncio.run(enqueue(database_url, MAILS))  # both replicas are polling meanwhile
    received = sink.wait_for(MAILS, timeout=120)
    time.sleep(1.0)  # long enough for a duplicate to show up at the sink
    received = sink.received()
    per_recipient = Counter(str(message["To"]) for message in received)
    assert len(received) == MAILS
    assert set(per_recipient.values()) == {1}
    assert len(per_recipient) == MAILS
    sent = [mail_id for r in replicas for mail_id in SENT_LINE.findall(r.output())]
    assert len(sent) == len(set(sent)) == MAILS
