"""The compose stack's mail sink: authsvc sends every mail to Mailpit, whose inbox is local."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from authsvc.settings import Settings
from tests.deploy.test_container import ComposeProject

SMTP_PORT, INBOX_PORT = 1025, 8025


def _services(compose: ComposeProject) -> dict[str, Any]:
    services: dict[str, Any] = compose.resolved()["services"]
    return services


def test_authsvc_sends_its_mail_to_mailpit(compose: ComposeProject) -> None:
    services = _services(compose)
    mailpit, authsvc = services["mailpit"], services["authsvc"]
    environment: dict[str, str] = authsvc["environment"]
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in environment.items()})  # type: ignore[arg-type]

    assert mailpit["image"].startswith("axllent/mailpit:")
    assert settings.smtp_url is not None
    smtp = urlsplit(settings.smtp_url.get_secret_value())
    assert (smtp.scheme, smtp.hostname, smtp.port) == ("smtp", "mailpit", SMTP_PORT)
    assert mailpit["environment"]["MP_SMTP_BIND_ADDR"].endswith(f":{SMTP_PORT}")
    assert str(SMTP_PORT) in mailpit["expose"]
    # authsvc reaches it on a network they share.
    assert set(mailpit["networks"]) & set(authsvc["networks"])
    assert authsvc["depends_on"]["mailpit"]["condition"] == "service_started"
    assert settings.mail_from == "authsvc <no-reply@authsvc.localhost>"


def test_links_in_mails_lead_to_the_app_through_the_gateway(compose: ComposeProject) -> None:
    services = _services(compose)
    environment = services["authsvc"]["environment"]
    (gateway_port,) = (p["published"] for p in services["gateway"]["ports"])

    assert environment["PUBLIC_URL"] == f"http://localhost:{gateway_port}"

    compose.dotenv["GATEWAY_PORT"] = "18080"
    moved = _services(compose)
    assert moved["authsvc"]["environment"]["PUBLIC_URL"] == "http://localhost:18080"


def test_the_web_inbox_is_published_on_loopback_only(compose: ComposeProject) -> None:
    mailpit = _services(compose)["mailpit"]

    (port,) = mailpit["ports"]
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "8025", 8025)
    assert mailpit["environment"]["MP_UI_BIND_ADDR"].endswith(f":{INBOX_PORT}")
    # SMTP is not published: only the stack sends mail to the sink.
    assert all(p["target"] != SMTP_PORT for p in mailpit["ports"])
