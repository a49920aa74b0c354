"""The audit log's settings: how long its events are kept."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class AuditSettings(BaseSettings):
    """How long the persisted audit log keeps its events."""

    # Events older than this are deleted by the periodic housekeeping and `authsvc audit purge`.
    # Upper bound: a century, so that a typo cannot overflow a date computation.
    audit_retention_days: int = Field(default=90, ge=1, le=36_500)
