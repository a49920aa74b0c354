"""The event loop of a single-worker `authsvc serve`: uvloop, draining the accept queue.

uvloop (libuv 1.45 and later) accepts one connection each time the listening socket is ready,
that is one per turn of the event loop. A busy worker's turn lasts as long as the requests it
answers in it (10 to 20 ms at 50 connections), so a burst of new connections (a gateway filling
its pool, clients reconnecting after a deploy) waited in the kernel's queue one turn each: with
30 waiting, the last one's first request was read 300 ms after it was sent, while every request
on an open connection was answered within 20 ms. This loop accepts every connection waiting
(up to the backlog) each turn, as the standard library's loop does, and hands each to uvloop as
an accepted socket.

A listening socket that several worker processes share keeps libuv's one per turn (see
`serve.py`): draining it in every worker measured no better with two workers, and a worker
that drains can take a whole burst that the single accept leaves to be shared.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any

import uvloop

log = logging.getLogger("authsvc.accept")

# How long accepting pauses when the process or the kernel is out of file descriptors or
# memory; the listening socket stays ready, so retrying at once would spin.
RETRY_SECONDS = 1.0
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)

ProtocolFactory = Any  # Callable[[], asyncio.Protocol], as the loop's own signature has it


class DrainingListener(asyncio.AbstractServer):
    """Listening sockets whose waiting connections are all accepted each time they are ready.

    The parts of `asyncio.Server` uvicorn uses: `sockets`, `close`, `wait_closed`.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[socket.socket],
        protocol_factory: ProtocolFactory,
        *,
        backlog: int,
    ) -> None:
        self._loop = loop
        self._sockets = sockets
        self._protocol_factory = protocol_factory
        # Both the listen backlog and the most connections one turn accepts.
        self._backlog = max(1, backlog)
        self._serving = False
        # Connections handed to uvloop whose protocol is not yet connected: the loop keeps
        # only weak references to tasks.
        self._opening: set[asyncio.Task[Any]] = set()
        for sock in sockets:
            sock.setblocking(False)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        self._start()

    async def serve_forever(self) -> None:
        self._start()
        await self._loop.create_future()

    def _start(self) -> None:
        if self._serving or not self._sockets:
            return
        self._serving = True
        for sock in self._sockets:
            # A socket handed over may be bound only (uvicorn binds its workers' socket and
            # leaves listening to the loop, as asyncio's servers do); listening again is
            # harmless.
            sock.listen(self._backlog)
            self._loop.add_reader(sock.fileno(), self.accept_waiting, sock)

    def close(self) -> None:
        for sock in self._sockets:
            if self._serving:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets = []
        self._serving = False

    async def wait_closed(self) -> None:
        if self._opening:
            await asyncio.gather(*self._opening, return_exceptions=True)

    def accept_waiting(self, sock: socket.socket) -> int:
        """Accept every connection waiting on `sock`, up to the backlog; how many it took."""
        accepted = 0
        for _ in range(self._backlog):
            try:
                conn, _address = sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionAbortedError:
                continue  # reset by the client while it waited; others may be behind it
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise
                self._pause(sock, exc)
                break
            conn.setblocking(False)
            self._open(conn)
            accepted += 1
        return accepted

    def _open(self, conn: socket.socket) -> None:
        task = self._loop.create_task(
            self._loop.connect_accepted_socket(self._protocol_factory, conn)
        )
        self._opening.add(task)
        task.add_done_callback(self._opened)

    def _opened(self, task: asyncio.Task[Any]) -> None:
        self._opening.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # The client went away before the connection was set up; uvloop closed it.
            log.debug("accepted connection not opened: %s", type(exc).__name__)

    def _pause(self, sock: socket.socket, exc: OSError) -> None:
        reason = errno.errorcode.get(exc.errno or 0, "OSError")
        log.error("accepting connections paused for %g s: %s", RETRY_SECONDS, reason)
        self._loop.remove_reader(sock.fileno())
        self._loop.call_later(RETRY_SECONDS, self._resume, sock)

    def _resume(self, sock: socket.socket) -> None:
        if self._serving and sock in self._sockets:
            self._loop.add_reader(sock.fileno(), self.accept_waiting, sock)


def listening_sockets(host: str | None, port: int, *, backlog: int) -> list[socket.socket]:
    """Sockets bound to every address `host` names (all interfaces for None), as
    `loop.create_server(host=, port=)` binds them. Raises: OSError."""
    bound: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _name, address in dict.fromkeys(
            (info[0], info[1], info[2], "", info[4]) for info in infos
        ):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # Without it, binding :: would also take the IPv4 port bound next.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
    except OSError:
        for sock in bound:
            sock.close()
        raise
    return bound


class DrainingLoop(uvloop.Loop):
    """uvloop, whose TCP servers without TLS accept every waiting connection each turn."""

    async def create_server(  # type: ignore[override]
        self,
        protocol_factory: ProtocolFactory,
        host: str | None = None,
        port: int | None = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        start_serving: bool = True,
        **options: Any,
    ) -> asyncio.AbstractServer:
        if ssl is not None or options or isinstance(host, list):
            # TLS, several hosts, or socket options: uvloop's own server, as asked.
            uvloop_loop: Any = super()
            return await uvloop_loop.create_server(  # type: ignore[no-any-return]
                protocol_factory,
                host,
                port,
                sock=sock,
                backlog=backlog,
                ssl=ssl,
                start_serving=start_serving,
                **options,
            )
        if sock is not None:
            sockets = [sock]
        else:
            sockets = listening_sockets(host, port or 0, backlog=backlog)
        server = DrainingListener(self, sockets, protocol_factory, backlog=backlog)
        if start_serving:
            await server.start_serving()
        return server


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's `loop` factory (`authsvc.accept_loop:new_event_loop`)."""
    return DrainingLoop()
