"""Security events: one structured log line each, for alerting and forensics.

Fields are identifiers and client facts only. Never pass a password, a token, a token id or a
secret here; usernames are logged only for accounts that exist (a mistyped password often
lands in the username field).
"""

from __future__ import annotations

import logging

from authsvc.logs import request_id_var

log = logging.getLogger("authsvc.security")

FieldValue = str | int | bool | None


def security_event(event: str, *, warning: bool = False, **fields: FieldValue) -> None:
    log.log(
        logging.WARNING if warning else logging.INFO,
        event,
        # Captured now: handlers may format the record after the request has finished.
        extra={"event_fields": {"event": event, "request_id": request_id_var.get(), **fields}},
    )
