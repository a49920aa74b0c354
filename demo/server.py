"""A static file server for the demo SPA, on its own origin, apart from authsvc's.

Besides the files in `static/` it serves `/config.js`, which tells the page where authsvc is
(on the host name the page was opened on: `localhost` and `127.0.0.1` are different sites, and
the refresh cookie belongs to one of them) and, when the launcher made one, the demo account.
`/api/…` goes to the sample API through the gateway's forward-auth rules (gateway.py). The
pages authsvc's mailed links open (`/reset-password`, `/verify-email`) are the page itself,
which reads the link's token from the URL fragment.
A Content-Security-Policy lets the page run its own scripts and authsvc's client and talk to
authsvc and its own origin alone.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from demo.gateway import forward

STATIC = Path(__file__).resolve().parent / "static"
CONFIG_PATH = "/config.js"
API_PREFIX = "/api/"
# The paths of authsvc's EMAIL_VERIFY_URL and PASSWORD_RESET_URL under the demo's PUBLIC_URL.
LINK_PATHS = ("/verify-email", "/reset-password")
# Names of this machine's loopback interface that a browser treats as a secure context.
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


class DemoServer(ThreadingHTTPServer):
    """Serves the demo on `address`; `authsvc_url` may be set after binding, before use."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        authsvc_url: str | None = None,
        *,
        api_url: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.authsvc_url = authsvc_url
        self.api_url = api_url
        self.credentials = credentials

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    @property
    def origin(self) -> str:
        host = self.server_address[0]
        return f"http://{host!s}:{self.port}"

    @property
    def origins(self) -> list[str]:
        """Every origin the demo can be opened on: authsvc's ALLOWED_ORIGINS needs them all."""
        if self.server_address[0] not in LOOPBACK_NAMES:
            return [self.origin]
        return [f"http://{name}:{self.port}" for name in LOOPBACK_NAMES]

    def authsvc_url_for(self, host_header: str | None) -> str | None:
        """authsvc on the host name the page was opened on, when both are loopback names."""
        if self.authsvc_url is None:
            return None
        authsvc = urlsplit(self.authsvc_url)
        page_host = urlsplit(f"//{host_header or ''}").hostname
        if authsvc.hostname in LOOPBACK_NAMES and page_host in LOOPBACK_NAMES:
            return f"{authsvc.scheme}://{page_host}:{authsvc.port}"
        return self.authsvc_url

    def csp(self, authsvc: str | None) -> str:
        authsvc = authsvc or ""
        return "; ".join(
            (
                "default-src 'none'",
                f"script-src 'self' {authsvc}",
                f"connect-src 'self' {authsvc}",
                "style-src 'self'",
                "base-uri 'none'",
                "form-action 'none'",
                "frame-ancestors 'none'",
            )
        )

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="demo-server", daemon=True)
        thread.start()
        return thread


class _Handler(SimpleHTTPRequestHandler):
    server: DemoServer
    extensions_map = {  # noqa: RUF012 - the base class declares it as a plain dict
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(STATIC), **kwargs)

    @property
    def _authsvc(self) -> str | None:
        return self.server.authsvc_url_for(self.headers.get("Host"))

    def do_GET(self) -> None:
        if self.path.startswith(API_PREFIX):
            self._api()
            return
        super().do_GET()

    def send_head(self) -> BytesIO | BinaryIO | None:
        path = self.path.split("?", 1)[0]
        if path == CONFIG_PATH:
            return self._config()
        if path in LINK_PATHS:
            self.path = "/"  # the page, which routes on location.pathname itself
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404)

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", self.server.csp(self._authsvc))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the launcher says where to look; per-request lines would drown it

    def _config(self) -> BytesIO:
        credentials = self.server.credentials
        demo_account = (
            {"username": credentials[0], "password": credentials[1]} if credentials else None
        )
        body = (
            f"export const AUTHSVC_URL = {json.dumps(self._authsvc)};\n"
            f"export const DEMO_ACCOUNT = {json.dumps(demo_account)};\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return BytesIO(body)

    def _api(self) -> None:
        authsvc, api = self._authsvc, self.server.api_url
        if authsvc is None or api is None:
            self.send_error(404)
            return
        authorization = self.headers.get("Authorization")
        answer = forward("GET", self.path, authorization, authsvc_url=authsvc, api_url=api)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
