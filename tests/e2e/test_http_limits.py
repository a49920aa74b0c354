"""The real server bounds what it buffers and waits for, before the app sees a request.

Raw sockets, because an HTTP client would neither stream a 32 MiB header nor trickle a head.
Every socket has a timeout and every loop a deadline, so a server that never answers fails
the test instead of hanging it.
"""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

from tests.support.polling import eventually_sync
from tests.support.processes import Server, ServerFactory
from tests.support.raw_http import (
    connect,
    read_answer,
    read_response,
    status_of,
)

# How long a client trickles a head or body at a server whose timeouts are set to 1 s.
TRICKLE_SECONDS = 8.0
CHUNK = b"a" * 65_536
HUGE_HEADER_BYTES = 32 * 1024 * 1024
# Kernel buffers on both ends of a loopback connection hold a few MiB before a writer blocks;
# an answer that comes after less than this was sent was given long before the header ended.
EARLY_ANSWER_BYTES = 12 * 1024 * 1024
RSS_GROWTH_LIMIT_KIB = 8 * 1024


def memory_kib(server: Server) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of the server process, from /proc."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    values = {}
    for line in status.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def answered_yet(sock: socket.socket) -> bool:
    """Whether the server has sent something (or closed); never waits."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def warm_up(server: Server) -> None:
    with server.client() as client:
        for _ in range(20):
            assert client.get("/healthz").status_code == 200


def test_huge_streamed_header_is_refused_early_and_memory_stays_bounded(server: Server) -> None:
    warm_up(server)
    before = memory_kib(server)
    sent = 0
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        try:
            while sent < HUGE_HEADER_BYTES and not answered_yet(sock):
                sock.sendall(CHUNK)
                sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        answer = read_answer(sock)
    after = memory_kib(server)
    assert sent < EARLY_ANSWER_BYTES, f"sent {sent} bytes before any answer"
    assert status_of(answer) == 431
    assert answer.endswith(b'{"detail": "Request headers too large"}')
    assert after["VmHWM"] - before["VmHWM"] < RSS_GROWTH_LIMIT_KIB, (before, after)
    assert after["VmRSS"] - before["VmRSS"] < RSS_GROWTH_LIMIT_KIB, (before, after)
    with server.client() as client:
        assert client.get("/healthz").status_code == 200


def test_headers_over_the_limit_in_one_piece_get_431(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + b"".join(b"X-Pad-%d: %s\r\n" % (n, b"b" * 1000) for n in range(20))
            + b"\r\n"
        )
        answer = read_answer(sock)
    assert status_of(answer) == 431


def test_long_url_is_refused_before_the_app_and_never_logged(server: Server) -> None:
    marker = "q" * 60_000
    with connect(server) as sock:
        sock.sendall(f"GET /healthz?x={marker} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        answer = read_answer(sock)
    assert status_of(answer) == 414
    assert answer.endswith(b'{"detail": "Request URL too long"}')
    assert "q" * 100 not in server.output()


def test_verify_is_refused_with_401_not_414_or_431(server: Server) -> None:
    for request in (
        b"GET /auth/verify?x=" + b"v" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"v" * 20_000 + b"\r\n\r\n",
    ):
        with connect(server) as sock:
            sock.sendall(request)
            answer = read_answer(sock)
        assert status_of(answer) == 401
        assert b"www-authenticate: Bearer" in answer


def test_a_websocket_upgrade_is_answered_as_plain_http_without_a_warning(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        sock.shutdown(socket.SHUT_WR)
        answer = read_answer(sock)
    assert status_of(answer) == 401
    assert b"www-authenticate: Bearer" in answer
    assert "upgrade" not in server.output().lower()


def test_slowloris_head_and_idle_connection_are_cut_after_the_header_timeout(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    server = servers.start({**env, "REQUEST_HEADER_TIMEOUT_SECONDS": "1"})
    with connect(server) as idle, connect(server) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")

        def head_cut() -> None:
            try:
                slow.sendall(b"X-A: b\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return
            assert answered_yet(slow), "a head trickled for 8 s was never cut"

        eventually_sync(head_cut, timeout=TRICKLE_SECONDS, interval=0.1)
        assert status_of(read_answer(slow)) == 408
        assert status_of(read_answer(idle)) == 408
    with server.client() as client:
        assert client.get("/healthz").status_code == 200


def test_slow_body_is_cut_after_the_body_timeout(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    server = servers.start({**env, "REQUEST_BODY_TIMEOUT_SECONDS": "1"})
    with connect(server) as sock:
        sock.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )

        def body_cut() -> None:
            if answered_yet(sock):
                return
            try:
                sock.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                return
            raise AssertionError("a body trickled for 8 s was never cut")

        eventually_sync(body_cut, timeout=TRICKLE_SECONDS, interval=0.1)
        answer = read_answer(sock)
    assert status_of(answer) == 408
    assert answer.endswith(b'{"detail": "Request not received in time"}')
    assert "Traceback" not in server.output()


def _login_head(content_length: int) -> bytes:
    return (
        b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(content_length).encode()
        + b"\r\n\r\n"
    )


def test_a_body_timeout_shorter_than_the_header_timeout_cuts_the_body_first(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    # The head's deadline (6 s) is armed first; the body's (1 s) comes before it.
    server = servers.start(
        {**env, "REQUEST_HEADER_TIMEOUT_SECONDS": "6", "REQUEST_BODY_TIMEOUT_SECONDS": "1"}
    )
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(_login_head(1000) + b"{")
        answer = read_answer(sock)
        waited = time.monotonic() - started
    assert status_of(answer) == 408
    assert waited < 5, f"cut after {waited:.1f} s, by the head's deadline, not the body's"


def test_a_body_timeout_longer_than_the_header_timeout_lets_a_slow_body_finish(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    # The head's deadline (1 s) passes while the body (4 s allowed) is still arriving.
    server = servers.start(
        {**env, "REQUEST_HEADER_TIMEOUT_SECONDS": "1", "REQUEST_BODY_TIMEOUT_SECONDS": "4"}
    )
    body = b'{"username": "nobody", "password": "not-the-password-of-anyone"}'
    with connect(server) as sock:
        sock.sendall(_login_head(len(body)))
        for start in range(0, len(body), len(body) // 6 + 1):
            time.sleep(0.3)  # 2 s in all: past the head's deadline, within the body's
            sock.sendall(body[start : start + len(body) // 6 + 1])
        answer = read_response(sock)
    assert status_of(answer) == 401


def test_a_kept_alive_connection_is_not_cut_by_the_timeout_of_a_request_it_finished(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    server = servers.start({**env, "REQUEST_HEADER_TIMEOUT_SECONDS": "1"})
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(request)
        assert status_of(read_response(sock)) == 200
        time.sleep(1.5)  # past the deadline the first request's head was given
        assert not answered_yet(sock), "the finished request's timeout cut the connection"
        sock.sendall(request)
        assert status_of(read_response(sock)) == 200
