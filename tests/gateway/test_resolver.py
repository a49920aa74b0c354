"""The gateway looks authsvc's name up per request, so recreated replicas are found.

With Compose, a replica that is recreated or scaled gets a new address under the same service
name. nginx resolves a name in an `upstream` block once, at startup (and refuses to start if
the name is unknown then); the template names authsvc through a variable and a `resolver`,
Docker's DNS at 127.0.0.11. Here a DNS server of the test's own on loopback stands in for
Docker's, and the name starts out unknown.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from tests.gateway.conftest import TEMPLATE, NginxFactory, RecordingApp
from tests.support.http import bearer, login_sync, register_sync
from tests.support.polling import eventually_sync
from tests.support.processes import Server

NAME = "authsvc.replicas.test"
DOCKER_RESOLVER = "resolver 127.0.0.11 valid=10s ipv6=off;"
WAIT_SECONDS = 15.0


class Names(BaseResolver):  # type: ignore[misc]
    """Answers A queries for the names it holds, NXDOMAIN otherwise; counts the queries."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.addresses: dict[str, str] = {}
        self.queries = 0

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        with self.lock:
            self.queries += 1
            address = self.addresses.get(name)
        if address is not None and request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=1))
        elif address is None:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


@pytest.fixture
def dns() -> Iterator[tuple[Names, int]]:
    names = Names()
    server = DNSServer(names, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda _: None))
    port: int = server.server.server_address[1]
    server.start_thread()
    try:
        yield names, port
    finally:
        server.stop()
        server.server.server_close()


def test_a_replica_that_appears_after_nginx_started_is_found_without_a_reload(
    dns: tuple[Names, int],
    nginx_factory: NginxFactory,
    authsvc: Server,
    recording_app: RecordingApp,
) -> None:
    names, dns_port = dns
    (resolver,) = (
        line.strip()
        for line in TEMPLATE.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("resolver ")
    )
    assert resolver == DOCKER_RESOLVER, "Compose's DNS is where service names are found"

    def use_test_dns(config: str) -> str:
        return config.replace(DOCKER_RESOLVER, f"resolver 127.0.0.1:{dns_port} valid=1s ipv6=off;")

    nginx = nginx_factory.start(
        authsvc_upstream=f"{NAME}:{authsvc.port}",
        app_upstream=recording_app.address,
        edit=use_test_dns,
    )
    username = f"r{uuid.uuid4().hex[:12]}"
    with authsvc.client() as direct:
        register_sync(direct, username)
        token = login_sync(direct, username).access

    with nginx.client() as gateway:
        # No replica under that name yet: the gateway is up and says authsvc is unavailable.
        assert gateway.get("/healthz").status_code == 502
        unavailable = gateway.get("/orders", headers=bearer(token))
        assert unavailable.status_code == 503, unavailable.text
        assert unavailable.headers["retry-after"] == "5"

        with names.lock:
            names.addresses[NAME] = "127.0.0.1"

        def served() -> None:
            answer = gateway.get("/orders", headers=bearer(token))
            assert answer.status_code == 200, answer

        eventually_sync(served, timeout=WAIT_SECONDS, interval=0.2)
        assert gateway.get("/healthz").status_code == 200
        assert gateway.get("/orders").status_code == 401
    assert any(r.path == "/orders" for r in recording_app.received)
    assert names.queries >= 2
