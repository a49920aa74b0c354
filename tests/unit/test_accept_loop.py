"""The single worker's event loop accepts every waiting connection each turn, on real sockets."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
import uvicorn
import uvloop

from authsvc import accept_loop, serve
from authsvc.accept_loop import DrainingListener, DrainingLoop, listening_sockets
from authsvc.settings import Settings
from tests.support.settings import make_settings

WAITING = 30


class Counting(asyncio.Protocol):
    """Counts the connections made on it and answers each one's bytes with the same bytes."""

    made: ClassVar[int] = 0
    transports: ClassVar[list[asyncio.BaseTransport]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Counting.made += 1
        Counting.transports.append(transport)
        # uvloop's transports have `write` without subclassing asyncio.Transport.
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


@pytest.fixture(autouse=True)
def _reset_count() -> None:
    Counting.made = 0
    Counting.transports = []


def close_connections(loop: asyncio.AbstractEventLoop) -> None:
    """Close every connection made so far, and let the loop see them closed."""
    for transport in Counting.transports:
        transport.close()
    loop.run_until_complete(asyncio.sleep(0.01))


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    new = accept_loop.new_event_loop()
    yield new
    close_connections(new)
    new.close()


def shut(loop: asyncio.AbstractEventLoop, server: asyncio.AbstractServer) -> None:
    """Close the server and every connection it made."""
    server.close()
    close_connections(loop)


def one_turn(loop: asyncio.AbstractEventLoop) -> None:
    """Run the loop for exactly one turn: ready callbacks, one poll for I/O, its callbacks."""
    loop.call_soon(loop.stop)
    loop.run_forever()


def turns_until(loop: asyncio.AbstractEventLoop, done: Callable[[], bool], limit: int = 500) -> int:
    for turn in range(1, limit + 1):
        one_turn(loop)
        if done():
            return turn
    raise AssertionError(f"not done after {limit} turns")


@contextmanager
def clients(port: int, count: int = WAITING) -> Iterator[list[socket.socket]]:
    """`count` connections to `port`, each established (waiting in the kernel's accept queue
    until the server takes it)."""
    with ExitStack() as stack:
        connected = []
        for _ in range(count):
            client = stack.enter_context(socket.create_connection(("127.0.0.1", port), 5))
            connected.append(client)
        yield connected


def queue_is_empty(listener: socket.socket) -> bool:
    """Whether no connection waits on `listener`; takes (and closes) one if one does."""
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


def test_one_turn_accepts_every_waiting_connection(loop: asyncio.AbstractEventLoop) -> None:
    server = loop.run_until_complete(
        loop.create_server(Counting, host="127.0.0.1", port=0, backlog=128)
    )
    assert isinstance(server, DrainingListener)
    (listener,) = server.sockets
    with clients(listener.getsockname()[1]):
        one_turn(loop)
        # Every connection left the kernel's queue in that one turn ...
        assert queue_is_empty(listener)
        # ... and each is a connection of the protocol by the next turn.
        turns = turns_until(loop, lambda: Counting.made == WAITING)
        assert turns <= 2
    shut(loop, server)


def test_uvloop_alone_takes_a_turn_for_every_connection_or_two() -> None:
    """Why the module exists: if uvloop ever drains the queue itself, this fails, and
    `accept_loop` can go."""
    loop = uvloop.new_event_loop()
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    server = loop.run_until_complete(loop.create_server(Counting, sock=listener))
    try:
        with clients(listener.getsockname()[1]):
            turns = turns_until(loop, lambda: Counting.made == WAITING)
        assert turns >= WAITING // 2
    finally:
        shut(loop, server)
        loop.close()


def test_accepted_connections_carry_traffic(loop: asyncio.AbstractEventLoop) -> None:
    server = loop.run_until_complete(
        loop.create_server(Counting, host="127.0.0.1", port=0, backlog=128)
    )
    port = server.sockets[0].getsockname()[1]

    async def talk(index: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"hello {index}".encode())
        await writer.drain()
        echoed = await reader.readexactly(len(f"hello {index}"))
        writer.close()
        await writer.wait_closed()
        return echoed

    async def burst() -> list[bytes]:
        return await asyncio.gather(*(talk(index) for index in range(100)))

    assert loop.run_until_complete(burst()) == [f"hello {i}".encode() for i in range(100)]
    shut(loop, server)


def test_a_turn_takes_at_most_the_backlog(loop: asyncio.AbstractEventLoop) -> None:
    (listener,) = listening_sockets("127.0.0.1", 0, backlog=64)
    server = DrainingListener(loop, [listener], Counting, backlog=10)
    with clients(listener.getsockname()[1], count=25):
        assert server.accept_waiting(listener) == 10
        assert server.accept_waiting(listener) == 10
        assert server.accept_waiting(listener) == 5
        assert server.accept_waiting(listener) == 0
        turns_until(loop, lambda: Counting.made == 25)
    shut(loop, server)


class _FailingOnce(socket.socket):
    """A listening socket whose next accept fails with `error` once."""

    error: OSError | None = None

    def accept(self) -> tuple[socket.socket, Any]:
        error, self.error = self.error, None
        if error is not None:
            raise error
        return super().accept()


def _failing_listener(error: OSError) -> _FailingOnce:
    listener = _FailingOnce(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.error = error
    return listener


def test_a_connection_reset_while_waiting_does_not_stop_the_turn(
    loop: asyncio.AbstractEventLoop,
) -> None:
    listener = _failing_listener(ConnectionAbortedError(errno.ECONNABORTED, "aborted"))
    server = DrainingListener(loop, [listener], Counting, backlog=64)
    with clients(listener.getsockname()[1], count=5):
        assert server.accept_waiting(listener) == 5
        turns_until(loop, lambda: Counting.made == 5)
    shut(loop, server)


def test_out_of_file_descriptors_pauses_accepting_then_resumes(
    loop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(accept_loop, "RETRY_SECONDS", 0.05)
    listener = _failing_listener(OSError(errno.EMFILE, "Too many open files"))
    server = DrainingListener(loop, [listener], Counting, backlog=64)
    loop.run_until_complete(server.start_serving())
    with (
        caplog.at_level(logging.ERROR, logger="authsvc.accept"),
        clients(listener.getsockname()[1], count=5),
    ):
        # The first turn meets EMFILE and stops listening, so later turns take nothing ...
        for _ in range(3):
            one_turn(loop)
        assert Counting.made == 0
        # ... until the retry, which takes all five.
        loop.run_until_complete(asyncio.sleep(0.3))
        assert Counting.made == 5
    assert [record.getMessage() for record in caplog.records] == [
        "accepting connections paused for 0.05 s: EMFILE"
    ]
    shut(loop, server)


def test_any_other_accept_error_is_raised_to_the_loop(loop: asyncio.AbstractEventLoop) -> None:
    listener = _failing_listener(OSError(errno.EINVAL, "Invalid argument"))
    server = DrainingListener(loop, [listener], Counting, backlog=64)
    with pytest.raises(OSError, match="Invalid argument"):
        server.accept_waiting(listener)
    shut(loop, server)


def test_close_stops_accepting_and_closes_the_sockets(loop: asyncio.AbstractEventLoop) -> None:
    server = loop.run_until_complete(
        loop.create_server(Counting, host="127.0.0.1", port=0, backlog=128)
    )
    (listener,) = server.sockets
    port = listener.getsockname()[1]
    assert server.is_serving()
    shut(loop, server)
    assert not server.is_serving()
    assert listener.fileno() == -1
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), 5).close()


def test_a_given_socket_is_served_as_it_is(loop: asyncio.AbstractEventLoop) -> None:
    given = socket.create_server(("127.0.0.1", 0), backlog=64)
    server = loop.run_until_complete(loop.create_server(Counting, sock=given, backlog=64))
    assert server.sockets == (given,)
    with clients(given.getsockname()[1], count=3):
        turns_until(loop, lambda: Counting.made == 3)
    shut(loop, server)


def test_a_given_socket_only_bound_is_made_to_listen(loop: asyncio.AbstractEventLoop) -> None:
    """uvicorn binds the socket its workers share and leaves `listen` to the loop."""
    bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bound.bind(("127.0.0.1", 0))
    server = loop.run_until_complete(loop.create_server(Counting, sock=bound, backlog=64))
    with clients(bound.getsockname()[1], count=3):
        turns_until(loop, lambda: Counting.made == 3)
    shut(loop, server)


def test_tls_is_left_to_uvloop(loop: asyncio.AbstractEventLoop) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server = loop.run_until_complete(
        loop.create_server(Counting, host="127.0.0.1", port=0, ssl=context)
    )
    assert not isinstance(server, DrainingListener)
    shut(loop, server)


def test_listening_sockets_take_nothing_when_the_port_is_taken() -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", taken.getsockname()[1], backlog=16)
    finally:
        taken.close()


def test_uvicorn_builds_the_draining_loop_from_the_name_serve_gives() -> None:
    config = uvicorn.Config(serve.WORKER_APP, loop=serve.SINGLE_WORKER_LOOP)
    factory = config.get_loop_factory()
    assert factory is not None
    made = factory()
    try:
        assert isinstance(made, DrainingLoop)
    finally:
        made.close()


@pytest.mark.parametrize(("workers", "loop_option"), [(1, serve.SINGLE_WORKER_LOOP), (2, None)])
def test_only_a_worker_alone_on_its_socket_drains_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: int, loop_option: str | None
) -> None:
    """Workers sharing a socket keep uvloop's single accept, which leaves a burst of
    connections to be shared between them."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    settings: Settings = make_settings(tmp_path, redis_url="redis://127.0.0.1:6379/0")
    serve.serve(settings, host="127.0.0.1", port=0, workers=workers)
    assert seen.get("loop") == loop_option
