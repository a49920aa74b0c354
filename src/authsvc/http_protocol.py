"""The HTTP/1.1 protocol `authsvc serve` runs: uvicorn's httptools protocol, with bounds.

uvicorn's own protocol reads a request head of any size before the app sees it (a 99 MiB
header cost 180 MB of RSS) and waits forever for a head or a body that trickles in. This one
counts what it buffers while a head is incomplete and refuses it (414 for the URL, 431 for the
headers) as soon as it passes the limits, and cuts a head or a body that takes longer than its
timeout (408). The httptools parser is kept because it is several times faster than h11.

A refusal is written at once, then the connection lingers briefly, discarding what the client
is still sending, so that the client can read the answer instead of a reset (nginx does the
same, see its `lingering_close`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger("authsvc.http")

# How long a refused connection keeps discarding input before it is closed for good.
LINGER_SECONDS = 2.0
# On shutdown, how long an idle connection stays open for a request the client may already
# have sent, still unread in the socket buffer.
SHUTDOWN_IDLE_GRACE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one request may make the server buffer and wait for."""

    max_url_bytes: int
    max_header_bytes: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    # Paths whose callers understand nothing but 401 (the gateway's verify route).
    deny_only_paths: tuple[str, ...] = ()

    @property
    def max_head_bytes(self) -> int:
        """Bytes read for one incomplete head before it is refused.

        Names and values count against MAX_HEADER_BYTES once the head is parsed; on the wire
        each header line also has its separators, hence the generous factor.
        """
        return self.max_url_bytes + 2 * self.max_header_bytes


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; the answer is already written."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing oversized and slow requests before the app."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HttpLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._deny_only = tuple(path.encode() for path in limits.deny_only_paths)
        # A head is expected from the first byte of a connection and after each request.
        self._reading_head = True
        self._head_bytes = 0
        self._url_bytes = 0
        # The read timeout: a deadline, and one timer that fires at or before it (see
        # `_arm_read_timer`).
        self._read_deadline: float | None = None
        self._read_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._shutting_down = False

    # Connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Also bounds a connection that never sends a byte.
        self._arm_read_timer(self.limits.header_timeout_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: discard what the client still sends
        self._unset_keepalive_if_required()
        if self._reading_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            # Otherwise the request is answered as the plain HTTP request it also is: serve.py
            # loads no WebSocket library, and uvicorn's warning would blame a missing one.
            return
        except httptools.HttpParserError:
            if not self._refused:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return
        if self._reading_head and self._head_bytes > self.limits.max_head_bytes:
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Request headers too large")

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True
        self._url_bytes = 0
        if self._read_deadline is None:
            self._arm_read_timer(self.limits.header_timeout_seconds)

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        # Kept even when too long (one read at most), so a refusal knows the path.
        super().on_url(url)
        if self._url_bytes > self.limits.max_url_bytes:
            self._refuse(HTTPStatus.REQUEST_URI_TOO_LONG, "Request URL too long")
            raise _Refused

    def on_headers_complete(self) -> None:
        if sum(len(name) + len(value) for name, value in self.headers) > (
            self.limits.max_header_bytes
        ):
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Request headers too large")
            raise _Refused
        self._reading_head = False
        self._head_bytes = 0
        self._arm_read_timer(self.limits.body_timeout_seconds)
        super().on_headers_complete()
        if self._shutting_down and self.cycle is not None:
            self.cycle.keep_alive = False  # answered with `Connection: close`

    def on_message_complete(self) -> None:
        self._cancel_read_timer()
        self._reading_head = True
        super().on_message_complete()

    # Graceful shutdown

    def shutdown(self) -> None:
        """Finish the request that has begun arriving or is being answered, then close.

        uvicorn's own protocol closes every connection without a response in progress at
        once, cutting a request whose bytes are already on their way or unread in the socket
        buffer; the server waits for the remaining connections up to its graceful timeout.
        """
        self._shutting_down = True
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False
            return
        if self._head_bytes == 0:
            self.loop.call_later(SHUTDOWN_IDLE_GRACE_SECONDS, self._close_if_idle)

    def _close_if_idle(self) -> None:
        cycle = self.cycle
        answering = cycle is not None and not cycle.response_complete
        if self._head_bytes == 0 and not answering and not self.transport.is_closing():
            self.transport.close()

    # Refusals

    def _refuse(self, status: HTTPStatus, detail: str) -> None:
        """Answer `status` and stop reading requests from this connection."""
        if self._refused:
            return
        self._refused = True  # from here on, input is discarded
        if self.transport.is_closing():
            return
        self._cancel_read_timer()
        cycle = self.cycle
        if not self._reading_head and cycle is not None:
            # The body of the request in `cycle` is what is late.
            if cycle.response_started:
                self.transport.close()  # too late for an answer of our own
                return
            # The app may be waiting for the rest of the body: it gets a disconnect, and
            # anything it sends from now on is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        if self._url_path() in self._deny_only:
            status, detail = HTTPStatus.UNAUTHORIZED, "Not authenticated"
        log.warning(
            "request refused",
            extra={"event_fields": {"status": int(status), "reason": detail}},
        )
        self.transport.write(_refusal(status, detail, self.server_state.default_headers))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _url_path(self) -> bytes:
        url: bytes = getattr(self, "url", b"")
        return url.split(b"?", 1)[0]

    def _arm_read_timer(self, seconds: float) -> None:
        # Every request arms the timeout twice (head, body) and clears it once; a timer of its
        # own each time costs the loop more than parsing the request. So the deadline moves,
        # and the one timer is replaced only when the deadline comes before it; a timer that
        # fires early finds a later deadline (or none) and waits again (or goes).
        deadline = self.loop.time() + seconds
        self._read_deadline = deadline
        if self._read_timer is not None:
            if self._read_timer.when() <= deadline:
                return
            self._read_timer.cancel()
        self._read_timer = self.loop.call_at(deadline, self._on_read_timer)

    def _cancel_read_timer(self) -> None:
        self._read_deadline = None

    def _on_read_timer(self) -> None:
        self._read_timer = None
        deadline = self._read_deadline
        if deadline is None:
            return
        if deadline > self.loop.time():
            self._read_timer = self.loop.call_at(deadline, self._on_read_timer)
            return
        self._read_deadline = None
        self._refuse(HTTPStatus.REQUEST_TIMEOUT, "Request not received in time")


def _refusal(status: HTTPStatus, detail: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = json.dumps({"detail": detail}).encode()
    lines = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"cache-control: no-store",
        b"x-content-type-options: nosniff",
        b"connection: close",
    ]
    if status == HTTPStatus.UNAUTHORIZED:
        lines.append(b"www-authenticate: Bearer")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
