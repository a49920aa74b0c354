"""How a mail leaves: over SMTP with aiosmtplib, or, in development, into the log.

Both take an `OutboxMail` and either return (delivered) or raise `DeliveryFailed`, which says
whether trying again may help and carries a short reason with no secret and no body in it.
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

from authsvc.settings.mail import SmtpTarget
from authsvc.store.records import OutboxMail

log = logging.getLogger("authsvc.mail")


class DeliveryFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Transport(Protocol):
    async def deliver(self, mail: OutboxMail) -> None:
        """Raises: DeliveryFailed."""
        ...


def build_message(mail: OutboxMail, *, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(mail.created_at.timestamp(), usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    message.set_content(mail.text_body)
    if mail.html_body is not None:
        message.add_alternative(mail.html_body, subtype="html")
    return message


class SmtpTransport:
    """One connection per mail; plain, STARTTLS or implicit TLS, always verifying the server."""

    def __init__(
        self, target: SmtpTarget, *, sender: str, timeout: float, ca_file: str | None = None
    ) -> None:
        self._target = target
        self._sender = sender
        self._timeout = timeout
        # Certificates are always checked; SMTP_CA_FILE only says which CAs to trust.
        self._tls = ssl.create_default_context(cafile=ca_file)

    async def deliver(self, mail: OutboxMail) -> None:
        import aiosmtplib  # loaded by the first mail sent: most workers never send one

        target = self._target
        password = target.password.get_secret_value() if target.password else None
        try:
            await aiosmtplib.send(
                build_message(mail, sender=self._sender),
                hostname=target.host,
                port=target.port,
                username=target.username,
                password=password,
                use_tls=target.tls == "implicit",
                # False, not None: a plain smtp:// never upgrades on its own.
                start_tls=target.tls == "starttls",
                tls_context=self._tls if target.tls != "none" else None,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({refusal.code for refusal in exc.recipients})
            raise DeliveryFailed(
                f"recipient refused ({codes})", permanent=all(500 <= c < 600 for c in codes)
            ) from exc
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            # About this mail: 5xx is final (RFC 5321 §4.2.1), 4xx a "try again later". The
            # server's text is left out: it may quote the recipient or our user name.
            raise DeliveryFailed(
                f"{type(exc).__name__} {exc.code}", permanent=500 <= exc.code < 600
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # About the connection or our login (a wrong password is a 535): the operator
            # fixes it, and the mails still waiting go out then.
            raise DeliveryFailed(f"{type(exc).__name__} {exc.code}", permanent=False) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(type(exc).__name__, permanent=False) from exc


class ConsoleTransport:
    """Development without SMTP_URL: each mail is written to the log instead of being sent."""

    def __init__(self, *, sender: str) -> None:
        self._sender = sender

    async def deliver(self, mail: OutboxMail) -> None:
        log.info(
            "DEVELOPMENT MAIL (console mode, not sent) to %s: %s\n%s",
            mail.recipient,
            mail.subject,
            mail.text_body,
        )
