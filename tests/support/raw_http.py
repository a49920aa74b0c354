"""HTTP/1.1 over a raw loopback socket, for tests of what the server does on the wire.

Every socket has a timeout and every loop a deadline, so a server that never answers fails
the test instead of hanging it.
"""

from __future__ import annotations

import socket
import time

from tests.support.processes import Server

SOCKET_TIMEOUT_SECONDS = 10.0


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT_SECONDS)
    sock.settimeout(SOCKET_TIMEOUT_SECONDS)
    return sock


def read_answer(sock: socket.socket, deadline_seconds: float = SOCKET_TIMEOUT_SECONDS) -> bytes:
    """Everything the server sends until it closes (or resets) the connection."""
    received = b""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65_536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        received += chunk
    return received


def read_response(sock: socket.socket, *, with_body: bool = True) -> bytes:
    """One response on a kept-alive connection: its head and `Content-Length` bytes of body
    (none when `with_body` is false, as for an answer to HEAD)."""
    received = b""
    deadline = time.monotonic() + SOCKET_TIMEOUT_SECONDS
    while b"\r\n\r\n" not in received and time.monotonic() < deadline:
        chunk = sock.recv(65_536)
        if not chunk:
            break
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = header_value(head, b"content-length")
    expected = int(length) if with_body and length is not None else 0
    while len(body) < expected and time.monotonic() < deadline:
        chunk = sock.recv(65_536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def header_value(head: bytes, name: bytes) -> bytes | None:
    """The value of header `name` (lower case) in a response head, or None."""
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])
