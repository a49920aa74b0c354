"""The e-mail settings: where mail goes (`SMTP_URL`), who sends it, where its links point.

A section of `Settings` (composed.py), so every setting is still read from one place. Where
mail goes is one of three modes (`MailMode`): SMTP, the console (development without
`SMTP_URL`: mails are written to the log, not sent) or off (production without `SMTP_URL`:
the e-mail flows answer 503 and registration sends nothing).
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

# The schemes SMTP_URL accepts, with their default ports and how TLS is used.
SMTP_SCHEMES: dict[str, tuple[int, Literal["none", "starttls", "implicit"]]] = {
    "smtp": (25, "none"),
    "smtp+starttls": (587, "starttls"),
    "smtps": (465, "implicit"),
}

# The fields a link template may use; anything else is refused at startup.
LINK_FIELDS = frozenset({"public_url", "token"})
# Links in console mode when PUBLIC_URL is not set (a local SPA's usual address).
DEV_PUBLIC_URL = "http://localhost:5173"


class MailMode(enum.Enum):
    SMTP = "smtp"
    CONSOLE = "console"  # development without SMTP_URL: mails go to the log
    OFF = "off"  # production without SMTP_URL: the e-mail flows are switched off


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """SMTP_URL taken apart; `repr` never shows the password."""

    host: str
    port: int
    tls: Literal["none", "starttls", "implicit"]
    username: str | None
    password: SecretStr | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """Raises: ValueError naming the expected shape, never quoting the URL (it may hold a
    password)."""
    shape = "not an SMTP URL like smtp+starttls://user:password@mail.example.com:587"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(shape) from None
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ValueError(shape)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(shape)
    default_port, tls = SMTP_SCHEMES[parts.scheme]
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpTarget(
        host=parts.hostname,
        port=port or default_port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=SecretStr(password) if password else None,
    )


def _check_link_template(value: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError:
        raise ValueError(f"not a link template: {value!r}") from None
    if "token" not in fields or not fields <= LINK_FIELDS:
        raise ValueError(f"a link template uses {{public_url}} and {{token}} only: {value!r}")
    return value


class MailSettings(BaseModel):
    """The e-mail settings; `Settings` inherits them."""

    # smtp:// (plain), smtp+starttls:// or smtps:// (implicit TLS), with optional
    # user:password@ and :port. A secret: it may hold the password.
    smtp_url: SecretStr | None = None
    # A CA bundle (PEM) to trust for the SMTP server's certificate, on top of nothing: set,
    # only these CAs are trusted. Certificates are always verified.
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str | None = None
    # Where the single-page app lives; links in mails point there (token in the fragment).
    public_url: str | None = None
    email_verify_url: str = "{public_url}/verify-email#token={token}"
    password_reset_url: str = "{public_url}/reset-password#token={token}"  # noqa: S105 - a URL
    # Templates here replace the packaged ones of the same name (see mail/templates.py).
    mail_templates_dir: Path | None = None
    email_verification: Literal["off", "optional", "required"] = "optional"
    email_token_ttl_seconds: int = Field(default=86_400, ge=300, le=30 * 86_400)
    # A reset link is a password in transit: it lives half an hour by default.
    password_reset_ttl_seconds: int = Field(default=1_800, ge=60, le=86_400)
    # The outbox sender: how often it looks for due mails when nothing woke it, how many it
    # takes at once, how long its claim on them lasts, and the retry schedule.
    mail_poll_interval_seconds: float = Field(default=5.0, gt=0, le=3_600)
    mail_batch_size: int = Field(default=10, ge=1, le=500)
    mail_lease_seconds: int = Field(default=300, ge=10, le=86_400)
    mail_max_attempts: int = Field(default=8, ge=1, le=100)
    mail_backoff_base_seconds: float = Field(default=30.0, gt=0, le=86_400)
    mail_backoff_max_seconds: float = Field(default=3_600.0, gt=0, le=7 * 86_400)

    @property
    def smtp_target(self) -> SmtpTarget | None:
        if self.smtp_url is None:
            return None
        return parse_smtp_url(self.smtp_url.get_secret_value())

    def link(self, template: str, token: str) -> str:
        """A link into the SPA; the token sits where the template puts it (the fragment)."""
        return template.format(public_url=self.public_url or DEV_PUBLIC_URL, token=token)

    def mail_mode(self, *, production: bool) -> MailMode:
        if self.smtp_url is not None:
            return MailMode.SMTP
        return MailMode.OFF if production else MailMode.CONSOLE

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # `SMTP_URL=` as in .env.example: not configured
        parse_smtp_url(value.get_secret_value())
        return value

    @field_validator("smtp_ca_file", "mail_templates_dir")
    @classmethod
    def _check_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"does not exist: {value}")
        return value

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str | None) -> str | None:
        if not value:
            return None
        _, address = parseaddr(value)
        if "@" not in address or "\n" in value or "\r" in value:
            raise ValueError(f"not an address like 'authsvc <no-reply@example.com>': {value!r}")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"not a URL like https://app.example.com: {value!r}")
        if parts.fragment:
            raise ValueError(f"PUBLIC_URL must not have a fragment: {value!r}")
        return value.rstrip("/")

    @field_validator("email_verify_url", "password_reset_url")
    @classmethod
    def _check_links(cls, value: str) -> str:
        return _check_link_template(value)

    @model_validator(mode="after")
    def _check_mail(self) -> Self:
        if self.smtp_url is not None:
            if self.mail_from is None:
                raise ValueError("SMTP_URL needs MAIL_FROM")
            if self.public_url is None:
                raise ValueError("SMTP_URL needs PUBLIC_URL (the links in mails point there)")
        # `environment` is Settings' own field; a verification nobody can complete would lock
        # every account with an address out.
        production = getattr(self, "environment", "production") == "production"
        if self.email_verification == "required" and production and self.smtp_url is None:
            raise ValueError("EMAIL_VERIFICATION=required needs SMTP_URL in production")
        if self.mail_backoff_base_seconds > self.mail_backoff_max_seconds:
            raise ValueError("MAIL_BACKOFF_BASE_SECONDS must not exceed MAIL_BACKOFF_MAX_SECONDS")
        return self
