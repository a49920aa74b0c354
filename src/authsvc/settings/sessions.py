"""How long tokens and sessions live, how many a user may hold, and when ended ones go."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SessionSettings(BaseModel):
    access_token_ttl_seconds: int = Field(default=600, ge=10, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=86_400, ge=60)
    session_max_lifetime_seconds: int = Field(default=30 * 86_400, ge=60)
    refresh_grace_seconds: float = Field(default=5.0, ge=0, le=60)
    # Opening one more ends the user's least recently used live session.
    max_sessions_per_user: int = Field(default=100, ge=1, le=10_000)
    # Ended (revoked or expired) sessions are deleted this long after they ended; at least an
    # access-token lifetime plus leeway, so no deletion can forget a revocation still needed.
    session_retention_seconds: int = Field(default=7 * 86_400, ge=0)
    # How often each process purges ended sessions (one process at a time); 0 switches the
    # periodic purge off, for deployments that run `authsvc sessions purge` from cron instead.
    session_purge_interval_seconds: float = Field(default=3_600, ge=0, le=7 * 86_400)
