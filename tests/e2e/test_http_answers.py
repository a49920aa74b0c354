"""The real server answers HEAD, pipelined requests, a closing request and an interim
`100 Continue` as HTTP/1.1 has them, through authsvc's own protocol (http_protocol.py), which
tracks where each request's head and body begin."""

from __future__ import annotations

import json

from tests.support.processes import Server
from tests.support.raw_http import (
    connect,
    header_value,
    read_answer,
    read_response,
    read_responses,
    status_of,
)

GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HEAD = b"HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_head_get_and_a_closing_request_are_answered_in_order_on_one_connection(
    server: Server,
) -> None:
    with connect(server) as sock:
        sock.sendall(HEAD)
        head_answer = read_response(sock, with_body=False)
        sock.sendall(GET)
        get_answer = read_response(sock)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        last = read_answer(sock)
    head, _, nothing = head_answer.partition(b"\r\n\r\n")
    assert status_of(head_answer) == 200
    assert nothing == b""
    # HEAD announces the length of the body GET gets.
    get_head, _, body = get_answer.partition(b"\r\n\r\n")
    assert header_value(head, b"content-length") == str(len(body)).encode()
    assert json.loads(body) == {"status": "ok"}
    assert header_value(get_head, b"x-request-id") is not None
    last_head, _, last_body = last.partition(b"\r\n\r\n")
    assert status_of(last) == 200
    assert header_value(last_head, b"connection") == b"close"
    assert json.loads(last_body) == {"status": "ok"}  # all of it, then the close


def test_pipelined_requests_are_answered_whole_and_in_order(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(GET + HEAD + GET)
        answers = read_responses(sock, [True, False, True])
    assert [status_of(answer) for answer in answers] == [200, 200, 200]
    assert [answer.partition(b"\r\n\r\n")[2] for answer in answers] == [
        b'{"status":"ok"}',
        b"",
        b'{"status":"ok"}',
    ]


def test_an_interim_100_continue_is_not_held_back(server: Server) -> None:
    body = json.dumps({"username": "nobody", "password": "not the password"}).encode()
    head = (
        b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with connect(server) as sock:
        sock.sendall(head)
        # The client sends the body only once told to; a held interim answer would stall here.
        interim = sock.recv(65_536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = read_response(sock)
    assert status_of(answer) == 401
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["detail"]
