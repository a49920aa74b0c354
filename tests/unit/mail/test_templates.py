"""Mail templates: packaged ones, operator overrides, escaping, one-line subjects."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError

from authsvc.mail.templates import MailRenderer

CONTEXT = {
    "username": "alice",
    "email": "alice@example.com",
    "link": "https://app.example.com/verify-email#token=abc&x=1",
    "valid_for": "24 hours",
}


def test_the_packaged_verification_mail_has_a_subject_text_and_html() -> None:
    mail = MailRenderer().render("verify_email", CONTEXT)
    assert mail.subject == "Confirm your e-mail address"
    assert CONTEXT["link"] in mail.text  # text is not escaped: the link stays usable
    assert "expires in 24 hours" in mail.text
    assert mail.html is not None
    assert 'href="https://app.example.com/verify-email#token=abc&amp;x=1"' in mail.html


def test_html_is_escaped() -> None:
    mail = MailRenderer().render("verify_email", {**CONTEXT, "username": "<script>x</script>"})
    assert mail.html is not None
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html


def test_an_operator_template_replaces_the_packaged_one_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "verify_email.subject.txt").write_text("Welcome,\n{{ username }}!\r\nBcc: x\n")
    (tmp_path / "verify_email.txt").write_text("Go to {{ link }}\n")
    mail = MailRenderer(tmp_path).render("verify_email", CONTEXT)
    assert mail.subject == "Welcome, alice! Bcc: x"  # one line: no header injection
    assert mail.text == f"Go to {CONTEXT['link']}\n"
    assert mail.html is not None and "Confirm my address" in mail.html  # still packaged


def test_a_missing_variable_fails_instead_of_leaving_a_hole() -> None:
    with pytest.raises(UndefinedError):
        MailRenderer().render("verify_email", {"username": "alice"})
