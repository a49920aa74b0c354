"""Size limits hold on the real server, whose HTTP parser would accept anything."""

from __future__ import annotations

from tests.support.processes import Server


def test_oversized_headers_and_bodies_are_refused_over_the_wire(server: Server) -> None:
    with server.client() as client:
        headers = client.get("/healthz", headers={"X-Padding": "a" * 200_000})
        assert headers.status_code == 431
        body = client.post(
            "/auth/login",
            content=b"{" + b" " * 5_000_000 + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert body.status_code == 413
        assert body.json() == {"detail": "Request body too large"}
        assert client.get("/healthz").status_code == 200
