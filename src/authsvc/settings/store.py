"""Where state lives: the database and, for replicas, Redis."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

# The drivers authsvc runs on (the store is async throughout), each with the URL's shape.
ASYNC_DATABASE_URLS = {
    "sqlite+aiosqlite": "sqlite+aiosqlite:///PATH",
    "postgresql+asyncpg": "postgresql+asyncpg://USER@HOST:PORT/NAME",
}


class StoreSettings(BaseModel):
    database_url: str = "sqlite+aiosqlite:///./authsvc.db"
    # Connections each process keeps to the database, and never more: requests beyond them
    # wait for one to come back rather than open and close extra connections under load.
    # Ten keep both cores of a small host busy with room for slow statements; PostgreSQL's
    # max_connections must cover processes x replicas x this.
    database_pool_size: int = Field(default=10, ge=1, le=1000)
    # Shared state for replicas: throttling counters and the revocation feed.
    redis_url: str | None = Field(default=None, pattern=r"^rediss?://")
    redis_prefix: str = Field(default="authsvc", pattern=r"^[A-Za-z0-9_\-:]{1,64}$")
    migrate_on_start: bool = True
    # The longest a process shows a cached profile on /auth/me; changes made through any
    # replica reach every cache at once (over Redis when REDIS_URL is set), so this bounds
    # only changes it cannot hear of (a command run without Redis). 0 reads every time.
    profile_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        # Only the scheme is quoted back: the rest of the URL may hold a password.
        scheme = value.partition("://")[0] if "://" in value else ""
        if scheme in ASYNC_DATABASE_URLS:
            return value
        backend = scheme.partition("+")[0]
        shapes = [shape for name, shape in ASYNC_DATABASE_URLS.items() if name.startswith(backend)]
        hint = " or ".join(shapes if backend and shapes else ASYNC_DATABASE_URLS.values())
        if not scheme:
            raise ValueError(f"not a database URL; use {hint}")
        raise ValueError(f"{scheme!r} is not a supported async driver; use {hint}")

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        # Parsed the way the client will parse it, so a misspelt URL stops the start here
        # rather than in the middle of it. Never quoted: it may hold a password.
        if value is not None:
            from redis.asyncio.connection import parse_url  # only where Redis is in use

            try:
                parse_url(value)
            except ValueError:
                raise ValueError("not a Redis URL like redis://[:password@]host:6379/0") from None
        return value
