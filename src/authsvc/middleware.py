"""ASGI middleware: request ids, security headers, access log and metrics; request limits; CORS."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authsvc.client_ip import ClientAddressResolver
from authsvc.logs import request_id_var
from authsvc.metrics import UNMATCHED_ROUTE, Metrics

_REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# JSON responses need no resources at all. The docs pages set their own, narrower than "anything
# goes" but wider than this (api/docs.py); a response that sets one keeps it.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Every response passes here, the gateway's checks most of all: the rows are encoded once.
_HARDENING_ROWS = tuple(
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in {**SECURITY_HEADERS, "Content-Security-Policy": API_CSP}.items()
)
_REQUEST_ID_HEADER = b"x-request-id"
_HSTS_HEADER = b"strict-transport-security"

RawHeaders = Iterable[tuple[bytes, bytes]]


class RequestRecordMiddleware:
    """The outermost layer: tag every request with an id, harden every response (HSTS when over
    HTTPS), and record it: one JSON line on the `authsvc.access` logger, and the request
    metrics by method, route template and status class.

    The id comes from the gateway's `X-Request-ID` when that is harmless to log, else a new
    one; it is echoed in the response and stamped on the request's log lines.

    The access line has the path without its query string: clients put tokens and passwords
    there by mistake, and a log must never hold them. Its client is the address throttling
    sees, so behind a trusted proxy it is the real client, not the proxy.

    Outside every other layer, so their refusals (413, 431) carry an id and are logged and
    counted too. The router writes the route it matched into the scope, so the template is read
    once the app has answered; requests that matched nothing share one metrics label, whatever
    their path.

    One layer for the three, with one wrapped `send` and one clock: every request passes here,
    the gateway's checks most of all, and as layers of their own they cost a closure, a frame
    and a timer each per request.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts: str | None,
        client_addresses: ClientAddressResolver,
        access_log: bool,
        metrics: Metrics | None,
        unmetered_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.hsts = hsts.encode("latin-1") if hsts else None
        self.client_addresses = client_addresses
        self.log = logging.getLogger("authsvc.access") if access_log else None
        self.metrics = metrics
        self.unmetered_paths = unmetered_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Read first: the gateway middleware inside answers every method on verify as a GET.
        method: str = scope["method"]
        request_id = _request_id(scope["headers"])
        request = Request(scope)  # for HSTS and the access line's client both
        # RFC 6797 §7.2: never over plain HTTP, where anyone on the path could forge it.
        hsts = self.hsts if self.hsts and self.client_addresses.is_https(request) else None
        stamp = request_id.encode("latin-1")
        status = 500  # what the client gets if the app raises before answering

        async def send_recorded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _hardened(message.get("headers", ()), stamp, hsts)
            await send(message)

        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_recorded)
        finally:
            try:
                self._record(request, method, status, time.perf_counter() - started)
            finally:
                request_id_var.reset(token)

    def _record(self, request: Request, method: str, status: int, seconds: float) -> None:
        """The request's metrics and access line, while its id is still set."""
        scope = request.scope
        if self.metrics is not None and scope["path"] not in self.unmetered_paths:
            route = getattr(scope.get("route"), "path", None)
            self.metrics.observe_request(
                method, route if isinstance(route, str) else UNMATCHED_ROUTE, status, seconds
            )
        if self.log is not None and self.log.isEnabledFor(logging.INFO):
            fields = {
                "method": method,
                "path": scope["path"],
                "status": status,
                "client": self.client_addresses.resolve(request),
                "duration_ms": round(seconds * 1000, 3),
            }
            self.log.info("request", extra={"event_fields": fields})


def _request_id(headers: RawHeaders) -> str:
    """The gateway's `X-Request-ID` (the first one) when harmless to log, else a new one."""
    for name, value in headers:
        if name == _REQUEST_ID_HEADER:
            incoming = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(incoming):
                return incoming
            break
    return os.urandom(16).hex()


def _hardened(headers: RawHeaders, request_id: bytes, hsts: bytes | None) -> list[Any]:
    """`headers` with this request's id and HSTS (replacing any), and the security headers
    the response does not set itself."""
    replaced = (_REQUEST_ID_HEADER, _HSTS_HEADER) if hsts is not None else (_REQUEST_ID_HEADER,)
    rows: list[Any] = [row for row in headers if row[0] not in replaced]
    present = {row[0] for row in rows}
    rows.extend(row for row in _HARDENING_ROWS if row[0] not in present)
    rows.append((_REQUEST_ID_HEADER, request_id))
    if hsts is not None:
        rows.append((_HSTS_HEADER, hsts))
    return rows


class RequestLimitsMiddleware:
    """Refuse oversized headers (431) and bodies over `max_bytes` (413, declared or streamed).

    `authsvc serve` refuses oversized heads while reading them (http_protocol.py); this check
    holds for any other ASGI server too. A gateway in front should cap them as well (nginx:
    large_client_header_buffers).

    The body is read here, up to the limit, before the app sees the request: the app's own
    parsers turn any error raised mid-read into a 400, and the bodies this service accepts are
    small enough to hold.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # One pass over the headers: every request, the gateway's checks above all, comes here.
        header_bytes = 0
        declared: str | None = None
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value)
            if declared is None and name == b"content-length":
                declared = value.decode("latin-1")
        if header_bytes > self.max_header_bytes:
            await _reject(send, 431, "Request headers too large")
            return
        if declared is not None:
            if not declared.isdigit():
                await _reject(send, 400, "Invalid Content-Length header")
                return
            if int(declared) > self.max_bytes:
                await _reject(send, 413, "Request body too large")
                return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _reject(send, 413, "Request body too large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        await self.app(scope, replaying(b"".join(chunks), receive), send)


def replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` with a body already read handed over first, whole, then `receive` itself."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class SpaCorsMiddleware:
    """CORS for the configured SPA origins, except on `exempt_paths`.

    Starlette's CORS middleware answers a preflight from a foreign origin with its own 400;
    the gateway's verify route may answer nothing but 200 or 401, so it never sees CORS.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        exempt_paths: tuple[str, ...],
        allow_origins: list[str],
        allow_headers: list[str],
    ) -> None:
        self.app = app
        self.exempt_paths = exempt_paths
        self.cors = CORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=allow_headers,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        await self.cors(scope, receive, send)


async def _reject(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
