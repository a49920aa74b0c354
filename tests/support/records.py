"""Store records built by hand, for tests that talk to a `Store` directly."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from authsvc.store.records import NewAuditEvent, NewSession


def make_session(
    user_id: str,
    *,
    at: datetime,
    idle: timedelta = timedelta(days=1),
    absolute: timedelta = timedelta(days=2),
    token_hash: str | None = None,
    session_id: str | None = None,
    user_agent: str | None = "ua",
    ip: str | None = "127.0.0.1",
) -> NewSession:
    """A session of `user_id` opened `at`; its id and token hash random unless given."""
    return NewSession(
        id=session_id or str(uuid.uuid4()),
        user_id=user_id,
        token_hash=token_hash or uuid.uuid4().hex,
        user_agent=user_agent,
        ip=ip,
        created_at=at,
        idle_expires_at=at + idle,
        absolute_expires_at=at + absolute,
    )


def audit_entry(
    occurred_at: datetime, *, subject: str = "u", kind: str = "login_succeeded", **details: int
) -> NewAuditEvent:
    """An audit-log entry about `subject`, by `subject`, with no client."""
    return NewAuditEvent(
        occurred_at=occurred_at,
        kind=kind,
        actor_id=subject,
        subject_id=subject,
        session_id=None,
        ip=None,
        user_agent=None,
        details=details,
    )
