"""What a serving process loads at start: the libraries of features it does not use stay out
(Alembic with the schema at head, redis-py without REDIS_URL, asyncpg on SQLite, Jinja2
with mail off, each backend's dialect and driver on the other), each worth megabytes of every
worker's memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from authsvc.store import open_store
from tests.requirements import REDIS
from tests.support.settings import ACCESS_SECRET, REDIS_URL, REFRESH_SECRET

OPTIONAL = (
    "alembic",
    "redis",
    "asyncpg",
    "jinja2",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.sqlite",
    "sqlite3",
)
SQLITE = ["sqlalchemy.dialects.sqlite", "sqlite3"]

# A worker's start: the app built, its lifespan entered (store, revocations, throttle, mail).
_START = """
import asyncio, json, sys
from authsvc.app import create_app

async def start():
    app = create_app()
    async with app.router.lifespan_context(app):
        pass

asyncio.run(start())
print(json.dumps(sorted(name for name in sys.argv[1:] if name in sys.modules)))
"""


def _loaded_at_start(database_url: str, **settings: str) -> list[str]:
    # The test's environment holds none of the settings (see conftest.py); these are all.
    values = {
        "environment": "production",
        "database_url": database_url,
        "access_token_secret": ACCESS_SECRET,
        "refresh_token_secret": REFRESH_SECRET,
        **settings,
    }
    env = os.environ | {name.upper(): value for name, value in values.items()}
    done = subprocess.run(
        [sys.executable, "-c", _START, *OPTIONAL], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return loaded


async def _at_head(url: str) -> None:
    async with open_store(url, migrate=True):
        pass


async def test_a_sqlite_replica_without_redis_or_mail_loads_only_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'authsvc.db'}"
    await _at_head(url)

    assert _loaded_at_start(url) == SQLITE


@pytest.mark.requires(REDIS)
async def test_what_is_configured_is_loaded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'authsvc.db'}"
    await _at_head(url)

    # Nothing listens on the SMTP port: the sender only tries once a mail is queued.
    mail = {
        "smtp_url": "smtp://127.0.0.1:2525",
        "mail_from": "authsvc@example.com",
        "public_url": "https://auth.example.com",
    }

    assert _loaded_at_start(url, redis_url=REDIS_URL, **mail) == sorted(
        ["jinja2", "redis", *SQLITE]
    )


@pytest.mark.requires(REDIS)
def test_a_postgresql_replica_loads_its_driver_and_redis_only(postgres_database: str) -> None:
    assert _loaded_at_start(postgres_database, redis_url=REDIS_URL) == [
        "asyncpg",
        "redis",
        "sqlalchemy.dialects.postgresql",
    ]
