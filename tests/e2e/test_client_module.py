"""The browser client's parts over the wire: what an HTTP client would never send, sent as is.

httpx (like a browser) removes `.` and `..` segments before sending, so the in-process tests
cannot offer them; the request target is given verbatim here, to a real `authsvc serve`.
"""

from __future__ import annotations

import pytest

from authsvc.api.client import client_parts
from tests.support.processes import Server

VERBATIM_TARGETS = [
    b"/auth/client/../client.js",
    b"/auth/client/../../auth/client.js",
    b"/auth/client/../../../static/authsvc.js",
    b"/auth/client/./session.js",
    b"/auth/client/session.js/..",
    b"/auth/client/..\\authsvc.js",
    b"/auth/client/%2e%2e/client.js",
]


@pytest.mark.parametrize("target", VERBATIM_TARGETS, ids=lambda t: t.decode())
def test_dot_segments_sent_verbatim_find_nothing(server: Server, target: bytes) -> None:
    with server.client() as client:
        response = client.get("/", extensions={"target": target})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_the_parts_are_served_over_the_wire(server: Server) -> None:
    parts = client_parts()
    with server.client() as client:
        for name, source in parts.items():
            response = client.get(f"/auth/client/{name}")
            assert response.status_code == 200, name
            assert response.content == source
            again = client.get(
                f"/auth/client/{name}", headers={"If-None-Match": response.headers["etag"]}
            )
            assert again.status_code == 304, name
