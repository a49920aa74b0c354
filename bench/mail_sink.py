"""An SMTP sink on loopback (aiosmtpd, in a thread of the bench process) that counts mails.

It accepts every mail and keeps only who it was for and when it arrived, so a drain of
thousands costs it next to nothing and duplicates and losses can be told apart.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from bench.servers import free_port


class CountingSink:
    """The aiosmtpd handler: one count per recipient, and the first and last arrival."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: Counter[str] = Counter()
        self.first_at: float | None = None  # time.monotonic()
        self.last_at: float | None = None

    # aiosmtpd calls the hook by this name.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self._received[recipient] += 1
            self.first_at = self.first_at if self.first_at is not None else now
            self.last_at = now
        return "250 OK"

    @property
    def delivered(self) -> int:
        """Mails received, duplicates included."""
        with self._lock:
            return sum(self._received.values())

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self._received)


@contextmanager
def running_sink() -> Iterator[tuple[CountingSink, int]]:
    """A sink listening on 127.0.0.1; it and its port. Stopped when the block ends."""
    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
