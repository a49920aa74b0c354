"""E-mail as SMTP_URL (or development) asks for: the mailer flows queue mails with, and the
outbox sender that delivers them; built by container.py."""

from __future__ import annotations

import logging

from authsvc.clock import Clock
from authsvc.mail.outbox import Mailer
from authsvc.mail.sender import OutboxSender, SenderPolicy
from authsvc.mail.transport import ConsoleTransport, SmtpTransport, Transport
from authsvc.metrics import Metrics
from authsvc.settings import Settings
from authsvc.settings.mail import MailMode
from authsvc.store.base import MailOutbox

log = logging.getLogger("authsvc")


def build_mail(
    settings: Settings, *, store: MailOutbox, clock: Clock, metrics: Metrics | None
) -> tuple[Mailer, OutboxSender] | None:
    """The mailer and the outbox sender that SMTP_URL (or development) asks for; None, and a
    warning, in production without SMTP_URL."""
    sender_address = settings.mail_from or "authsvc@localhost"
    transport: Transport
    target = settings.smtp_target
    if target is None:
        if settings.mail is MailMode.OFF:
            log.warning(
                "SMTP_URL is not set: e-mail is switched off (no verification mails; the "
                "e-mail routes answer 404)"
            )
            return None
        log.warning(
            "DEVELOPMENT MAIL: SMTP_URL is not set; mails are written to this log, not sent"
        )
        transport = ConsoleTransport(sender=sender_address)
    else:
        # Never the URL itself: it may hold the password.
        log.info("mail: SMTP to %s:%d (TLS: %s)", target.host, target.port, target.tls)
        ca_file = settings.smtp_ca_file
        transport = SmtpTransport(
            target,
            sender=sender_address,
            timeout=settings.smtp_timeout_seconds,
            ca_file=str(ca_file) if ca_file is not None else None,
        )
    # Jinja2 is loaded only where mail is on.
    from authsvc.mail.templates import MailRenderer

    mailer = Mailer(
        outbox=store,
        renderer=MailRenderer(settings.mail_templates_dir),
        clock=clock,
        metrics=metrics,
    )
    sender = OutboxSender(
        outbox=store,
        transport=transport,
        policy=SenderPolicy(
            poll_interval_seconds=settings.mail_poll_interval_seconds,
            batch_size=settings.mail_batch_size,
            lease_seconds=settings.mail_lease_seconds,
            max_attempts=settings.mail_max_attempts,
            backoff_base_seconds=settings.mail_backoff_base_seconds,
            backoff_max_seconds=settings.mail_backoff_max_seconds,
        ),
        clock=clock,
        wake=mailer.queued,
        metrics=metrics,
    )
    return mailer, sender
