"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for mail tests.

`smtp_sinks.start(...)` runs one in a thread of its own: plain, STARTTLS or implicit TLS under
a self-signed certificate (trusted by the client through SMTP_CA_FILE, never by switching
verification off), optionally requiring a login, optionally answering the next N mails with
a 4xx or 5xx. Every sink is stopped when the test ends.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import re
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from authsvc.settings import Settings
from tests.support.processes import free_port
from tests.support.settings import make_settings

SINK_USER = "mailer"
SINK_PASSWORD = "sink-password-0123456789"
WAIT_SECONDS = 20.0
TOKEN_IN_LINK = re.compile(r"#token=([A-Za-z0-9_-]+)")
LINK = re.compile(r"https?://\S+#token=[A-Za-z0-9_-]+")

Tls = Literal["none", "starttls", "implicit"]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key; the certificate is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "authsvc test SMTP")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Sink:
    """The handler aiosmtpd calls, and what the test reads: every accepted mail."""

    port: int
    tls: Tls
    cert_path: Path | None
    refuse: list[str] = field(default_factory=list)  # answers for the next DATA commands
    messages: list[EmailMessage] = field(default_factory=list)
    refused: int = 0
    logins: list[str] = field(default_factory=list)
    controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        scheme = {"none": "smtp", "starttls": "smtp+starttls", "implicit": "smtps"}[self.tls]
        return f"{scheme}://127.0.0.1:{self.port}"

    def url_with_login(self) -> str:
        return self.url.replace("://", f"://{SINK_USER}:{SINK_PASSWORD}@")

    def env(self, **extra: str) -> dict[str, str]:
        """The server settings that send to this sink."""
        values = {
            "SMTP_URL": self.url,
            "MAIL_FROM": "authsvc <no-reply@authsvc.test>",
            "PUBLIC_URL": "https://app.authsvc.test",
            "MAIL_POLL_INTERVAL_SECONDS": "0.2",
            "MAIL_BACKOFF_BASE_SECONDS": "0.2",
            "MAIL_BACKOFF_MAX_SECONDS": "1",
        }
        if self.cert_path is not None:
            values["SMTP_CA_FILE"] = str(self.cert_path)
        values.update(extra)
        return values

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.refuse:
                self.refused += 1
                return self.refuse.pop(0)
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == SINK_USER.encode()
            and data.password == SINK_PASSWORD.encode()
        )
        if ok:
            self.logins.append(SINK_USER)
        return AuthResult(success=ok, handled=False)

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, count: int, timeout: float = WAIT_SECONDS) -> list[EmailMessage]:
        """At least `count` mails, waiting a bounded time for them."""
        deadline = time.monotonic() + timeout
        while len(self.received()) < count:
            assert time.monotonic() < deadline, f"{len(self.received())} mails, not {count}"
            time.sleep(0.05)
        return self.received()

    def wait_for_link(self, to: str, path: str, timeout: float = WAIT_SECONDS) -> str:
        """The link to `path` in the newest mail to `to`, waiting a bounded time for one."""
        deadline = time.monotonic() + timeout
        while True:
            links = [
                link
                for message in self.received()
                if message["To"] == to
                for link in LINK.findall(text_of(message))
                if urlsplit(link).path == path
            ]
            if links:
                return links[-1]
            assert time.monotonic() < deadline, f"no link to {path} mailed to {to}"
            time.sleep(0.05)

    async def arrived(self, count: int) -> list[EmailMessage]:
        """`wait_for` off the event loop, for a test whose server shares the loop."""
        return await asyncio.to_thread(self.wait_for, count)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def mail_settings(tmp_path: Path, sink: Sink, **overrides: object) -> Settings:
    """Settings for an app that mails to `sink`."""
    values: dict[str, object] = {name.lower(): value for name, value in sink.env().items()}
    values.update(overrides)
    return make_settings(tmp_path, **values)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def link_token(message: EmailMessage) -> str:
    """The token in the mail's link (the URL fragment, where the SPA reads it)."""
    found = TOKEN_IN_LINK.search(text_of(message))
    assert found, text_of(message)
    return found.group(1)


@dataclass
class SinkFactory:
    directory: Path
    sinks: list[Sink] = field(default_factory=list)

    def start(
        self,
        *,
        tls: Tls = "none",
        login: bool = False,
        port: int | None = None,
        refuse: tuple[str, ...] = (),
    ) -> Sink:
        cert_path = key_path = None
        if tls != "none":
            cert_path, key_path = self_signed(self.directory)
        sink = Sink(port=port or free_port(), tls=tls, cert_path=cert_path, refuse=list(refuse))
        kwargs: dict[str, Any] = {}
        if tls != "none":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert_path), str(key_path))
            kwargs["ssl_context" if tls == "implicit" else "tls_context"] = context
            kwargs["require_starttls"] = tls == "starttls"
        if login:
            kwargs.update(authenticator=sink.authenticate, auth_required=True)
            # aiosmtpd only sees STARTTLS as TLS and would not offer AUTH on an implicit-TLS
            # connection; the connection is encrypted from its first byte anyway.
            kwargs["auth_require_tls"] = tls != "implicit"
        controller = Controller(
            sink, hostname="127.0.0.1", port=sink.port, server_hostname="localhost", **kwargs
        )
        controller.start()
        sink.controller = controller
        self.sinks.append(sink)
        return sink

    def close(self) -> None:
        for sink in self.sinks:
            sink.stop()
        # A connection the SMTP client dropped mid-dialogue (a refused login, an untrusted
        # certificate) leaves a socket transport in a reference cycle, which the garbage
        # collector finds at some later point; collected here, its ResourceWarning cannot
        # land in an unrelated test.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


@pytest.fixture
def smtp_sinks(tmp_path: Path) -> Iterator[SinkFactory]:
    with closing(SinkFactory(tmp_path)) as factory:
        yield factory


@pytest.fixture
def sink(smtp_sinks: SinkFactory) -> Sink:
    """One plain sink, for the tests of the mail flows."""
    return smtp_sinks.start()
