"""A static file server for the demo SPA, on its own origin, apart from authsvc's.

Besides the files in `static/` it serves `/config.js`, which tells the page where authsvc is,
and a Content-Security-Policy that lets the page run its own scripts and authsvc's client and
talk to authsvc alone.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

STATIC = Path(__file__).resolve().parent / "static"
CONFIG_PATH = "/config.js"


class DemoServer(ThreadingHTTPServer):
    """Serves the demo on `address`; `authsvc_url` may be set after binding, before use."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], authsvc_url: str | None = None) -> None:
        super().__init__(address, _Handler)
        self.authsvc_url = authsvc_url

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def csp(self) -> str:
        authsvc = self.authsvc_url or ""
        return "; ".join(
            (
                "default-src 'none'",
                f"script-src 'self' {authsvc}",
                f"connect-src {authsvc}",
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

    def send_head(self) -> BytesIO | BinaryIO | None:
        if self.path.split("?", 1)[0] == CONFIG_PATH:
            return self._config()
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404)

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", self.server.csp())
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the launcher says where to look; per-request lines would drown it

    def _config(self) -> BytesIO:
        body = f"export const AUTHSVC_URL = {json.dumps(self.server.authsvc_url)};\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return BytesIO(body)
