"""The process: mode, where secrets are read from, the listening socket, logs and endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator


class ServerSettings(BaseModel):
    environment: Literal["development", "production"] = "production"
    # A directory of files named after settings (`access_token_secret`, any letter case), each
    # holding that setting's value; the environment and `.env` win over it. See
    # settings/sources.py.
    secrets_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # `authsvc serve` worker processes; more than one needs REDIS_URL (see serve.py).
    workers: int = Field(default=1, ge=1)
    # On SIGTERM, requests in flight get this long to finish before they are cancelled.
    shutdown_timeout_seconds: int = Field(default=10, ge=1, le=300)
    # GET /metrics for Prometheus; the gateway must not route it to the outside world.
    metrics_enabled: bool = True
    # /docs, /redoc and /openapi.json; off, all three answer 404.
    docs_enabled: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # One line per request: method, path (never the query string), status, client, duration.
    access_log: bool = True
    # FastAPI's own OpenTelemetry spans, metrics and exception logs. Off, no request looks up
    # the OpenTelemetry providers, which are only ever set up by an SDK outside this service.
    opentelemetry: bool = False

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("secrets_dir")
    @classmethod
    def _check_secrets_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"not a directory: {value}")
        return value
