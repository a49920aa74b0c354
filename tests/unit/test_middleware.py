"""The request record: one layer gives every request its id and hardened headers, its access
line and its metrics, whatever answered it, and however it ended."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from authsvc.client_ip import ClientAddressResolver
from authsvc.logs import JsonFormatter, request_id_var
from authsvc.metrics import Metrics
from authsvc.middleware import RequestLimitsMiddleware, RequestRecordMiddleware
from tests.support.scrape import Scrape

CLIENT = "203.0.113.5"
METRICS_PATH = "/metrics"


async def created(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that reads its body and answers 201, seeing the request id the layer set."""
    while (await receive()).get("more_body", False):
        pass
    body = json.dumps({"seen_id": request_id_var.get()}).encode()
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def raising(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the app failed before answering")


class AccessLog:
    """The `authsvc.access` lines as the service writes them: formatted when emitted, so each
    shows the request id that was set at that moment."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def access_log() -> Iterator[AccessLog]:
    log = AccessLog()
    handler = logging.StreamHandler(log.stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("authsvc.access")
    level, logger.level = logger.level, logging.INFO
    logger.addHandler(handler)
    try:
        yield log
    finally:
        logger.removeHandler(handler)
        logger.level = level


def recorded(
    app: ASGIApp, *, metrics: Metrics | None, access_log: bool = True, hsts: str | None = None
) -> RequestRecordMiddleware:
    return RequestRecordMiddleware(
        app,
        hsts=hsts,
        client_addresses=ClientAddressResolver([]),
        access_log=access_log,
        metrics=metrics,
        unmetered_paths=(METRICS_PATH,),
    )


def client(app: ASGIApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(CLIENT, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://authsvc.test")


def requests_counted(metrics: Metrics, method: str, status: str) -> float:
    scrape = Scrape.parse(metrics.render(sessions_active=None).decode())
    return scrape.value(
        "authsvc_http_requests_total", method=method, route="unmatched", status=status
    )


async def test_each_request_has_one_line_stamped_with_its_id_and_no_query_string(
    access_log: AccessLog,
) -> None:
    metrics = Metrics()
    async with client(recorded(created, metrics=metrics)) as http:
        answer = await http.post(
            "/things",
            params={"access_token": "tok-SHOULD-NOT-BE-LOGGED"},
            headers={"X-Request-ID": "gw-7.abc"},
            content=b"{}",
        )

    assert answer.status_code == 201
    assert answer.headers["x-request-id"] == "gw-7.abc"
    assert answer.json() == {"seen_id": "gw-7.abc"}
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in answer.headers  # plain HTTP
    [line] = access_log.lines()
    assert line["request_id"] == "gw-7.abc"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/things", 201)
    assert line["client"] == CLIENT
    assert isinstance(line["duration_ms"], float)
    assert "SHOULD-NOT-BE-LOGGED" not in access_log.stream.getvalue()
    assert requests_counted(metrics, "POST", "2xx") == 1
    assert request_id_var.get() == "-"  # reset once the request is recorded


async def test_a_refusal_of_the_limits_has_an_id_and_is_logged_and_counted(
    access_log: AccessLog,
) -> None:
    metrics = Metrics()
    limited = RequestLimitsMiddleware(created, max_bytes=8, max_header_bytes=4096)
    async with client(recorded(limited, metrics=metrics)) as http:
        answer = await http.post("/things", content=b"x" * 9)

    assert answer.status_code == 413
    assert answer.json() == {"detail": "Request body too large"}
    request_id = answer.headers["x-request-id"]
    assert len(request_id) == 32
    [line] = access_log.lines()
    assert (line["status"], line["request_id"]) == (413, request_id)
    assert requests_counted(metrics, "POST", "4xx") == 1


async def test_an_app_that_raises_is_logged_and_counted_as_a_500(access_log: AccessLog) -> None:
    metrics = Metrics()
    async with client(recorded(raising, metrics=metrics)) as http:
        with pytest.raises(RuntimeError, match="failed before answering"):
            await http.get("/things", headers={"X-Request-ID": "gw-500"})

    [line] = access_log.lines()
    assert (line["status"], line["request_id"]) == (500, "gw-500")
    assert requests_counted(metrics, "GET", "5xx") == 1
    assert request_id_var.get() == "-"


async def test_scrapes_are_logged_but_never_counted_and_switches_are_kept_apart(
    access_log: AccessLog,
) -> None:
    metrics = Metrics()
    async with client(recorded(created, metrics=metrics)) as http:
        assert (await http.get(METRICS_PATH)).status_code == 201
    async with client(recorded(created, metrics=metrics, access_log=False)) as http:
        assert (await http.get("/unlogged")).status_code == 201
    async with client(recorded(created, metrics=None)) as http:
        assert (await http.get("/uncounted")).status_code == 201

    paths = [line["path"] for line in access_log.lines()]
    assert paths == [METRICS_PATH, "/uncounted"]
    assert requests_counted(metrics, "GET", "2xx") == 1  # only /unlogged


async def test_hsts_is_sent_over_https_only_and_replaces_the_apps_own() -> None:
    async def with_own_hsts(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"strict-transport-security", b"max-age=1"), (b"x-request-id", b"forged")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    app = recorded(with_own_hsts, metrics=None, access_log=False, hsts="max-age=63072000")
    transport = httpx.ASGITransport(app=app, client=(CLIENT, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://authsvc.test") as http:
        secure = await http.get("/")
    assert secure.headers.get_list("strict-transport-security") == ["max-age=63072000"]
    assert secure.headers.get_list("x-request-id") != ["forged"]
    assert len(secure.headers.get_list("x-request-id")) == 1
