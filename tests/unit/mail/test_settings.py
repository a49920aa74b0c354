"""The e-mail settings: SMTP_URL's shapes, its password kept out of sight, the mail modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from authsvc.settings.mail import MailMode
from tests.support.settings import make_settings

MAIL = {"mail_from": "authsvc <no-reply@example.com>", "public_url": "https://app.example.com/"}


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "user"),
    [
        ("smtp://mail.example.com", "mail.example.com", 25, "none", None),
        ("smtp+starttls://u:p@mail.example.com", "mail.example.com", 587, "starttls", "u"),
        ("smtps://mail.example.com:2465", "mail.example.com", 2465, "implicit", None),
        ("smtps://me%40example.com:p%3Ass@[::1]", "::1", 465, "implicit", "me@example.com"),
    ],
)
def test_smtp_url_shapes(
    tmp_path: Path, url: str, host: str, port: int, tls: str, user: str | None
) -> None:
    settings = make_settings(tmp_path, smtp_url=url, **MAIL)
    target = settings.smtp_target
    assert target is not None
    assert (target.host, target.port, target.tls, target.username) == (host, port, tls, user)
    assert settings.mail is MailMode.SMTP


def test_the_smtp_password_is_never_shown(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_url="smtps://user:hunter2-secret@mail.example", **MAIL)
    assert settings.smtp_target is not None
    assert settings.smtp_target.password is not None
    assert settings.smtp_target.password.get_secret_value() == "hunter2-secret"
    for shown in (repr(settings), str(settings), repr(settings.smtp_target)):
        assert "hunter2" not in shown


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.com",
        "smtp://",
        "smtp://mail.example.com/path",
        "smtp://mail.example.com?x=1",
        "smtp://user:hunter2-secret@mail.example.com:99999",
        "mail.example.com:25",
    ],
)
def test_a_bad_smtp_url_is_refused_without_quoting_it(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings(tmp_path, smtp_url=url, **MAIL)
    assert "not an SMTP URL" in str(refused.value)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("missing", ["mail_from", "public_url"])
def test_smtp_needs_a_sender_and_a_public_url(tmp_path: Path, missing: str) -> None:
    values = {key: value for key, value in MAIL.items() if key != missing}
    with pytest.raises(ValidationError, match=missing.upper()):
        make_settings(tmp_path, smtp_url="smtp://mail.example.com", **values)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("public_url", "ftp://app.example.com"),
        ("public_url", "https://app.example.com/#x"),
        ("mail_from", "no address"),
        ("mail_from", "a@example.com\r\nBcc: victim@example.com"),
        ("email_verify_url", "{public_url}/verify"),  # no token
        ("email_verify_url", "{public_url}/verify#token={token}&u={user}"),
        ("password_reset_url", "{public_url}/reset#token={token"),
    ],
)
def test_bad_mail_settings_are_refused(tmp_path: Path, field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, **{field: value})


def test_without_smtp_development_prints_and_production_is_off(tmp_path: Path) -> None:
    assert make_settings(tmp_path).mail is MailMode.OFF
    assert make_settings(tmp_path, environment="development").mail is MailMode.CONSOLE


def test_required_verification_needs_smtp_in_production(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="EMAIL_VERIFICATION=required needs SMTP_URL"):
        make_settings(tmp_path, email_verification="required")
    make_settings(tmp_path, environment="development", email_verification="required")


def test_links_carry_the_token_in_the_fragment(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_url="smtp://mail.example.com", **MAIL)
    assert settings.public_url == "https://app.example.com"
    assert (
        settings.link(settings.email_verify_url, "T0K")
        == "https://app.example.com/verify-email#token=T0K"
    )
    assert (
        settings.link(settings.password_reset_url, "T0K")
        == "https://app.example.com/reset-password#token=T0K"
    )
