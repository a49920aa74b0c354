"""The compose project every compose test starts from."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.test_container import COMPOSE_FILE, ComposeProject, compose_command


@pytest.fixture
def compose(tmp_path: Path) -> Iterator[ComposeProject]:
    directory = tmp_path / "stack"
    directory.mkdir()
    shutil.copy2(COMPOSE_FILE, directory / "docker-compose.yml")
    yield ComposeProject(
        directory=directory,
        command=compose_command(),
        dotenv={
            # What a user's .env copied from .env.example holds, with real values.
            "ENVIRONMENT": "development",
            "HOST": "127.0.0.1",
            "PORT": "9000",
            "DATABASE_URL": "sqlite+aiosqlite:///./authsvc.db",
            "ACCESS_TOKEN_SECRET": secrets.token_urlsafe(48),
            "REFRESH_TOKEN_SECRET": secrets.token_urlsafe(48),
            "POSTGRES_PASSWORD": secrets.token_hex(24),
            "ALLOWED_ORIGINS": "https://app.example.com",
        },
    )
