"""Client addresses: X-Forwarded-For is believed only from configured proxies."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from authsvc.client_ip import ClientAddressResolver


def request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 5000), "headers": headers})


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        ([], "203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # no proxies configured: ignore it
        (["10.0.0.0/8"], "203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # not from our proxy
        (["10.0.0.0/8"], "10.0.0.2", ["1.2.3.4"], "1.2.3.4"),
        (["10.0.0.0/8"], "10.0.0.2", ["6.6.6.6, 1.2.3.4"], "1.2.3.4"),  # spoofed left part
        (["10.0.0.0/8"], "10.0.0.2", ["1.2.3.4, 10.0.0.7"], "1.2.3.4"),  # two of our hops
        (["10.0.0.0/8"], "10.0.0.2", ["6.6.6.6", "1.2.3.4"], "1.2.3.4"),  # repeated header
        (["10.0.0.0/8"], "10.0.0.2", ["not-an-ip"], "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", [], "10.0.0.2"),
        (["::1"], "::1", ["2001:db8::5"], "2001:db8::5"),
    ],
)
def test_resolve(trusted: list[str], peer: str, forwarded: list[str], expected: str) -> None:
    assert ClientAddressResolver(trusted).resolve(request(peer, *forwarded)) == expected
