"""What a benchmarked server is (store and workers) and the exact settings it runs with."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from authsvc.settings import Settings

REDIS_URL = os.environ.get("AUTHSVC_BENCH_REDIS", "redis://127.0.0.1:6379/0")
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True, order=True)
class Config:
    store: str  # "sqlite" or "postgresql"
    workers: int

    @property
    def name(self) -> str:
        return f"{self.store}/{self.workers}w"

    @property
    def uses_redis(self) -> bool:
        # Several workers are replicas: they need Redis for revocations even on SQLite.
        return self.store == "postgresql" or self.workers > 1


class BenchSettings:
    """One pair of signing secrets for the run; the settings every server gets."""

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id
        self._secrets = {
            "access_token_secret": secrets.token_urlsafe(48),
            "refresh_token_secret": secrets.token_urlsafe(48),
        }

    def values(self, config: Config, database_url: str) -> dict[str, str]:
        values = {
            "environment": "production",
            **self._secrets,
            "database_url": database_url,
            # Servers run side by side on one Redis; each gets its own channel and keys.
            "redis_prefix": f"bench-{self._run_id}-{config.store}-{config.workers}",
            # The login scenario signs 1,000 users in from one address, and every checked
            # password counts against the address's throttle.
            "throttle_per_ip": "1000000/minute",
        }
        if config.uses_redis:
            values["redis_url"] = REDIS_URL
        return values

    def settings(self, config: Config, database_url: str) -> Settings:
        """The `Settings` a server of `config` builds, for minting tokens it accepts."""
        # The prefix makes pydantic-settings ignore this process's environment and `.env`:
        # only the values the servers get count.
        return Settings(
            _env_file=None,
            _env_prefix="AUTHSVC_BENCH_IGNORED_",
            **self.values(config, database_url),  # type: ignore[arg-type]
        )

    def server_env(self, config: Config, database_url: str) -> dict[str, str]:
        """Our environment without anything `Settings` reads, plus the server's values."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name.lower() not in Settings.model_fields
        }
        values = self.values(config, database_url)
        env.update({name.upper(): value for name, value in values.items()})
        env["PYTHONUNBUFFERED"] = "1"
        return env


def authsvc_command(workers: int) -> list[str]:
    command = [sys.executable, "-m", "authsvc", "serve"]
    return [*command, "--workers", str(workers)] if workers > 1 else command


def ceiling_command(workers: int) -> list[str]:
    return [sys.executable, "-m", "bench.ceiling", "--workers", str(workers)]


def ceiling_env() -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1"}
