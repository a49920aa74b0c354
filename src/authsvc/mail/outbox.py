"""`Mailer`: renders a mail and puts it in the durable outbox; the sender delivers it later.

Nothing is sent on the request path: the request only writes the outbox row (its own
transaction), so a crash after the answer loses no mail, and a slow or absent mail server
never slows a request. A mail queued in this process wakes this process's sender at once;
the other replicas find it when they next poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from authsvc.clock import Clock
from authsvc.metrics import Metrics
from authsvc.store.base import MailOutbox
from authsvc.store.records import NewMail

if TYPE_CHECKING:
    from authsvc.mail.templates import MailRenderer


class Mailer:
    def __init__(
        self,
        *,
        outbox: MailOutbox,
        renderer: MailRenderer,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self._outbox = outbox
        self._renderer = renderer
        self._clock = clock
        self._metrics = metrics
        # Set by `queue`, waited on by the sender.
        self.queued = asyncio.Event()

    async def queue(
        self, kind: str, *, to: str, context: Mapping[str, object], expires_at: datetime
    ) -> None:
        """Render a mail of `kind` and store it for delivery until `expires_at`.

        Raises: StoreUnavailable.
        """
        rendered = self._renderer.render(kind, context)
        await self._outbox.enqueue_mail(
            NewMail(
                kind=kind,
                recipient=to,
                subject=rendered.subject,
                text_body=rendered.text,
                html_body=rendered.html,
                created_at=self._clock(),
                expires_at=expires_at,
            )
        )
        if self._metrics is not None:
            self._metrics.mail_queued(kind)
        self.queued.set()
