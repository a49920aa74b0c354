"""The `authsvc` command as an operator runs it: users, migrations, configuration errors."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import authsvc
from authsvc.cli import build_parser
from authsvc.settings import EXAMPLE_SECRETS
from authsvc.store import open_store
from authsvc.store.migrate import head_revision
from tests.support.http import PASSWORD, login_sync
from tests.support.keys import private_key_pem
from tests.support.processes import ServerFactory, free_port, run_cli, server_env
from tests.support.records import make_session

STRONG = "e2e-strong-secret-0123456789abcdef0123456789abcdef"


def assert_one_line_error(result: subprocess.CompletedProcess[str], *, code: int | None) -> str:
    """A refusal: non-zero exit, exactly one `authsvc: …` line on stderr, no traceback."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    if code is None:
        assert result.returncode != 0, output
    else:
        assert result.returncode == code, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("authsvc: "), lines[0]
    return lines[0]


def test_users_create_then_login_over_http(
    servers: ServerFactory, env: dict[str, str], tmp_path: Path
) -> None:
    created = run_cli(
        ["users", "create", "Carol", "--password-stdin"],
        env,
        tmp_path,
        stdin=PASSWORD + "\n",
        script=True,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created user carol (")
    assert PASSWORD not in created.stdout + created.stderr

    server = servers.start(env)
    with server.client() as client:
        tokens = login_sync(client, "carol")
        me = client.get("/auth/me", headers=tokens.bearer)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "carol"
        wrong = client.post("/auth/login", json={"username": "carol", "password": PASSWORD + "!"})
        assert wrong.status_code == 401


def test_users_create_refuses_a_weak_password(
    env: dict[str, str], database: Path, tmp_path: Path
) -> None:
    refused = run_cli(
        ["users", "create", "weakling", "--password-stdin"], env, tmp_path, stdin="password\n"
    )
    line = assert_one_line_error(refused, code=None)
    assert "too common" in line
    assert refused.stdout == ""

    if database.exists():
        with closing(sqlite3.connect(database)) as db:
            assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_users_list_and_duplicate_names(env: dict[str, str], tmp_path: Path) -> None:
    for name in ("erin", "frank"):
        created = run_cli(
            ["users", "create", name, "--password-stdin", "--email", f"{name}@example.org"],
            env,
            tmp_path,
            stdin=PASSWORD + "\n",
        )
        assert created.returncode == 0, created.stderr

    # Usernames compare case-insensitively, so "Erin" is the same account.
    duplicate = run_cli(
        ["users", "create", "Erin", "--password-stdin"],
        env,
        tmp_path,
        stdin="an entirely different passphrase\n",
        script=True,
    )
    line = assert_one_line_error(duplicate, code=None)
    assert "already taken" in line

    listed = run_cli(["users", "list"], env, tmp_path, script=True)
    assert listed.returncode == 0, listed.stderr
    rows = [row.split() for row in listed.stdout.splitlines()]
    assert [row[1] for row in rows] == ["erin", "frank"]
    assert [row[2] for row in rows] == ["erin@example.org", "frank@example.org"]


def test_db_upgrade_on_a_fresh_file_is_repeatable(
    env: dict[str, str], database: Path, tmp_path: Path
) -> None:
    assert not database.exists()
    expected = f"database schema at revision {head_revision()}"
    for attempt in range(2):
        result = run_cli(["db", "upgrade"], env, tmp_path, script=attempt == 0)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected
        assert "Traceback" not in result.stderr
    assert database.exists()


ACCESS_EXAMPLE, REFRESH_EXAMPLE = sorted(EXAMPLE_SECRETS)

BAD_CONFIGS: dict[str, tuple[dict[str, str | None], str]] = {
    "missing-secrets": (
        {"ACCESS_TOKEN_SECRET": None, "REFRESH_TOKEN_SECRET": None},
        "ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must be set in production",
    ),
    "short-secret": (
        {"REFRESH_TOKEN_SECRET": "x" * 31},
        "REFRESH_TOKEN_SECRET must be at least 32 bytes",
    ),
    "equal-secrets": (
        {"ACCESS_TOKEN_SECRET": STRONG, "REFRESH_TOKEN_SECRET": STRONG},
        "must differ",
    ),
    "example-secrets": (
        {"ACCESS_TOKEN_SECRET": ACCESS_EXAMPLE, "REFRESH_TOKEN_SECRET": REFRESH_EXAMPLE},
        "example value",
    ),
    "unreadable-key-file": (
        {"JWT_ALGORITHM": "ES256", "ACCESS_TOKEN_PRIVATE_KEY_FILE": "/nonexistent/signing.pem"},
        "ACCESS_TOKEN_PRIVATE_KEY_FILE: cannot read the file",
    ),
    "key-unfit-for-algorithm": (
        {"JWT_ALGORITHM": "RS256", "ACCESS_TOKEN_PRIVATE_KEY": private_key_pem("ES256")},
        "ACCESS_TOKEN_PRIVATE_KEY: RS256 needs an RSA key of at least 2048 bits",
    ),
}


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=list(BAD_CONFIGS))
def test_bad_configuration_is_one_line_and_exit_2(
    case: str, database: Path, tmp_path: Path
) -> None:
    overrides, message = BAD_CONFIGS[case]
    env = server_env(database, **overrides)
    # A serve that does not refuse runs into the timeout, which fails the test.
    result = run_cli(["serve", "--port", str(free_port())], env, tmp_path, timeout=10.0)
    line = assert_one_line_error(result, code=2)
    assert line.startswith("authsvc: configuration error: ")
    assert message in line
    # Refused before anything started: no log line, no database file.
    assert result.stdout == ""
    assert not database.exists()


def test_sessions_purge_deletes_sessions_ended_before_the_retention(
    env: dict[str, str], tmp_path: Path, database: Path
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=30)

    async def seed() -> tuple[str, str]:
        async with open_store(f"sqlite+aiosqlite:///{database}", migrate=True) as store:
            user = await store.create_user(
                username="carol", email=None, password_hash="x", now=long_ago
            )
            ids = []
            for _ in range(2):
                session = await store.create_session(
                    make_session(
                        user.id,
                        at=long_ago,
                        idle=timedelta(days=60),
                        absolute=timedelta(days=60),
                        token_hash="h",
                        user_agent=None,
                        ip=None,
                    )
                )
                ids.append(session.id)
            await store.revoke_session(ids[0], reason="logout", now=long_ago)
            return ids[0], ids[1]

    async def remaining(*ids: str) -> list[str]:
        async with open_store(f"sqlite+aiosqlite:///{database}") as store:
            return [sid for sid in ids if await store.get_session(sid) is not None]

    ended, live = asyncio.run(seed())

    purged = run_cli(["sessions", "purge"], env, tmp_path, script=True)

    assert purged.returncode == 0, purged.stderr
    assert purged.stdout == "deleted 1 ended sessions\n"
    assert asyncio.run(remaining(ended, live)) == [live]
    again = run_cli(["sessions", "purge"], env, tmp_path)
    assert again.stdout == "deleted 0 ended sessions\n"


# Commands that sign nothing: no signing secrets needed, every database failure one line.

NO_SECRETS: dict[str, str | None] = {"ACCESS_TOKEN_SECRET": None, "REFRESH_TOKEN_SECRET": None}


def test_account_commands_need_no_signing_secrets(database: Path, tmp_path: Path) -> None:
    env = server_env(database, **NO_SECRETS)
    upgraded = run_cli(["db", "upgrade"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"database schema at revision {head_revision()}"
    created = run_cli(
        ["users", "create", "grace", "--password-stdin"], env, tmp_path, stdin=PASSWORD + "\n"
    )
    assert created.returncode == 0, created.stderr
    listed = run_cli(["users", "list"], env, tmp_path, script=True)
    assert listed.returncode == 0, listed.stderr
    assert [row.split()[1] for row in listed.stdout.splitlines()] == ["grace"]


def test_weak_secrets_do_not_block_account_commands_but_still_block_serve(
    database: Path, tmp_path: Path
) -> None:
    env = server_env(database, ACCESS_TOKEN_SECRET=ACCESS_EXAMPLE)
    listed = run_cli(["users", "list"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    served = run_cli(["serve", "--port", str(free_port())], env, tmp_path, timeout=10.0)
    line = assert_one_line_error(served, code=2)
    assert "ACCESS_TOKEN_SECRET is the example value" in line


@pytest.mark.parametrize(
    "email", ["not-an-address", "two@@example.org", "nobody@localhost", "a@b@example.org"]
)
def test_users_create_refuses_an_invalid_email_as_the_api_does(
    env: dict[str, str], database: Path, tmp_path: Path, email: str
) -> None:
    refused = run_cli(
        ["users", "create", "heidi", "--email", email, "--password-stdin"],
        env,
        tmp_path,
        stdin=PASSWORD + "\n",
    )
    line = assert_one_line_error(refused, code=2)
    assert "--email" in line and "not a valid e-mail address" in line
    assert not database.exists()


def test_users_create_stores_the_email_as_the_api_normalises_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    created = run_cli(
        ["users", "create", "ivan", "--email", "Ivan@EXAMPLE.Org", "--password-stdin"],
        env,
        tmp_path,
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    listed = run_cli(["users", "list"], env, tmp_path)
    assert listed.stdout.split()[2] == "Ivan@example.org"


# What each broken DATABASE_URL must say; {port} is a port nothing listens on.
BAD_DATABASES: dict[str, tuple[str, list[str]]] = {
    "postgres-wrong-role": (
        "postgresql+asyncpg://no_such_role@127.0.0.1:5432/postgres",
        ["database error", "127.0.0.1:5432", 'role "no_such_role" does not exist'],
    ),
    "postgres-closed-port": (
        "postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
        ["cannot reach the database", "127.0.0.1:{port}", "connection refused"],
    ),
    "sync-sqlite-url": (
        "sqlite:///x.db",
        ["configuration error", "DATABASE_URL", "'sqlite' is not a supported async driver"],
    ),
    "sync-postgres-url": (
        "postgresql://postgres@127.0.0.1/postgres",
        ["configuration error", "DATABASE_URL", "postgresql+asyncpg://"],
    ),
    "missing-directory": (
        "sqlite+aiosqlite:///{tmp}/no/such/dir/authsvc.db",
        ["{tmp}/no/such", "does not exist", "--create-dirs"],
    ),
}


@pytest.mark.parametrize("case", BAD_DATABASES, ids=list(BAD_DATABASES))
@pytest.mark.parametrize(
    "command",
    [["users", "list"], ["db", "upgrade"], ["serve", "--port", "{port}"]],
    ids=["users-list", "db-upgrade", "serve"],
)
def test_database_errors_are_one_line_and_exit_2(
    case: str, command: list[str], tmp_path: Path
) -> None:
    port = str(free_port())
    url, expected = BAD_DATABASES[case]

    def fill(text: str) -> str:
        return text.replace("{port}", port).replace("{tmp}", str(tmp_path))

    env = server_env(tmp_path / "unused.db", DATABASE_URL=fill(url))
    result = run_cli([fill(arg) for arg in command], env, tmp_path, timeout=20.0)
    line = assert_one_line_error(result, code=2)
    for part in expected:
        assert fill(part) in line, line
    assert result.stdout == ""
    assert not (tmp_path / "no").exists()
    assert not (tmp_path / "x.db").exists()


def test_db_upgrade_creates_missing_directories_only_when_asked(
    env: dict[str, str], tmp_path: Path
) -> None:
    database = tmp_path / "new" / "dir" / "authsvc.db"
    env = {**env, "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    upgraded = run_cli(["db", "upgrade", "--create-dirs"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert database.exists()
    listed = run_cli(["users", "list"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr


def test_version_and_help(tmp_path: Path) -> None:
    env = server_env(tmp_path / "unused.db")
    version = run_cli(["--version"], env, tmp_path, script=True)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"authsvc {authsvc.__version__}"
    shown = run_cli(["users", "create", "--help"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "checked as POST /auth/register checks it" in " ".join(shown.stdout.split())


def test_every_argument_of_every_command_has_help() -> None:
    def walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}")
            else:
                yield path, action

    actions = list(walk(build_parser(), "authsvc"))
    assert len(actions) > 10
    undocumented = [
        (path, action.dest) for path, action in actions if not action.help or len(action.help) < 10
    ]
    assert undocumented == []
