"""The demo's protected sample API: a separate HTTP server that knows nothing of tokens.

It trusts the `X-Auth-*` identity headers, as an app behind the gateway does; only the demo
server's forward-auth rules (gateway.py) reach it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


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
