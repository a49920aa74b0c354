"""HTTP/1.1 over a raw loopback socket, for tests of what the server does on the wire.

Every socket has a timeout and every loop a deadline, so a server that never answers fails
the test instead of hanging it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

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


def read_responses(sock: socket.socket, with_bodies: Sequence[bool]) -> list[bytes]:
    """Responses on a kept-alive connection, one for each entry of `with_bodies`: its head and
    `Content-Length` bytes of body (none where the entry is false, as for an answer to HEAD).

    Bytes past one response are kept for the next, so pipelined answers that arrive in one
    read are split where they end."""
    buffer = b""
    deadline = time.monotonic() + SOCKET_TIMEOUT_SECONDS

    def received_more() -> bool:
        nonlocal buffer
        if time.monotonic() >= deadline:
            return False
        chunk = sock.recv(65_536)
        buffer += chunk
        return bool(chunk)

    responses = []
    for with_body in with_bodies:
        while b"\r\n\r\n" not in buffer and received_more():
            pass
        head, separator, _ = buffer.partition(b"\r\n\r\n")
        length = header_value(head, b"content-length")
        size = len(head) + len(separator) + (int(length) if with_body and length else 0)
        while len(buffer) < size and received_more():
            pass
        responses.append(buffer[:size])
        buffer = buffer[size:]
    return responses


def read_response(sock: socket.socket, *, with_body: bool = True) -> bytes:
    """One response on a kept-alive connection (see `read_responses`)."""
    return read_responses(sock, [with_body])[0]


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
