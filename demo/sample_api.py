"""The demo's protected API, and the forward-auth rules the demo server applies in front of it.

The rules are the shipped nginx gateway's (deploy/nginx/default.conf.template), so the demo
shows what an app behind that gateway sees: authsvc's `GET /auth/verify` decides, with the
request's `Authorization` header and nothing else; a 200 lets the request through with the
identity from verify's `X-Auth-*` answer headers (any the client sent are dropped); a 401
becomes the gateway's own 401 (with authsvc's `WWW-Authenticate`), a 403 a 403, anything else
a 503, and the API is never called.
The API itself is a separate HTTP server that knows nothing of tokens: it trusts those
headers, as an app behind the gateway does.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import httpx

IDENTITY_HEADERS = ("X-Auth-Subject", "X-Auth-Username", "X-Auth-Session")
VERIFY_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    @classmethod
    def json(cls, status: int, body: object, **headers: str) -> Answer:
        return cls(
            status, json.dumps(body).encode(), {"Content-Type": "application/json"} | headers
        )


def forward(
    method: str, path: str, authorization: str | None, *, authsvc_url: str, api_url: str
) -> Answer:
    """One request through the gateway rules: verify first, then the API or the refusal."""
    verify_headers = {"Authorization": authorization} if authorization is not None else {}
    unavailable = Answer.json(
        503, {"detail": "Authentication service unavailable"}, **{"Retry-After": "5"}
    )
    try:
        verdict = httpx.get(
            f"{authsvc_url}/auth/verify", headers=verify_headers, timeout=VERIFY_TIMEOUT_SECONDS
        )
    except httpx.HTTPError:
        return unavailable
    if verdict.status_code == 401:
        challenge = verdict.headers.get("WWW-Authenticate", "Bearer")
        return Answer.json(401, {"detail": "Not authenticated"}, **{"WWW-Authenticate": challenge})
    if verdict.status_code == 403:
        return Answer.json(403, {"detail": "Forbidden"})
    if verdict.status_code != 200:
        return unavailable
    identity = {name: verdict.headers.get(name, "") for name in IDENTITY_HEADERS}
    try:
        upstream = httpx.request(
            method,
            f"{api_url}{path}",
            headers={k: v for k, v in identity.items() if v},
            timeout=5.0,
        )
    except httpx.HTTPError:
        return Answer.json(502, {"detail": "Sample API unavailable"})
    return Answer(
        upstream.status_code,
        upstream.content,
        {"Content-Type": upstream.headers.get("Content-Type", "application/json")},
    )


class SampleApi(ThreadingHTTPServer):
    """`GET /api/whoami`: who the gateway says is calling. Every request it got is recorded."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        super().__init__(address, _ApiHandler)
        self.received: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="demo-sample-api", daemon=True)
        thread.start()
        return thread


class _ApiHandler(BaseHTTPRequestHandler):
    server: SampleApi

    def do_GET(self) -> None:
        headers = {name: value for name, value in self.headers.items()}
        self.server.received.append({"path": self.path, **headers})
        if self.path != "/api/whoami":
            self._send(404, {"detail": "Not found"})
            return
        if not self.headers.get("X-Auth-Subject"):
            # Only reachable around the gateway, which never lets an anonymous call through.
            self._send(401, {"detail": "Not authenticated"})
            return
        self._send(
            200,
            {
                "message": "Hello from the sample API, behind forward auth",
                "user_id": self.headers["X-Auth-Subject"],
                # The gateway percent-encodes it: a header carries ASCII only.
                "username": unquote(self.headers.get("X-Auth-Username", "")),
                "session_id": self.headers.get("X-Auth-Session"),
            },
        )

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
