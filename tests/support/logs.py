"""Reading the security events a test's app logged, as `caplog` captured them."""

from __future__ import annotations

from typing import Any

import pytest

SECURITY_LOGGER = "authsvc.security"


def security_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The structured fields of every `authsvc.security` record, oldest first."""
    # observers/security_log.py attaches them as the record's `event_fields` extra.
    return [r.__dict__["event_fields"] for r in caplog.records if r.name == SECURITY_LOGGER]
