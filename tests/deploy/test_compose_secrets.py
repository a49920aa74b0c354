"""Compose refuses to start without real secrets, and says which one is missing.

`docker compose config` runs the same interpolation as `docker compose up`, so a refusal here
is a refusal to start: no container is created and nothing crash-loops.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.deploy.test_container import COMPOSE_FILE, ROOT, ComposeProject, compose_command

REQUIRED = ("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "POSTGRES_PASSWORD")


@pytest.fixture
def stack(tmp_path: Path) -> ComposeProject:
    """docker-compose.yml beside a `.env` that is .env.example with every secret filled in."""
    directory = tmp_path / "stack"
    directory.mkdir()
    shutil.copy2(COMPOSE_FILE, directory / "docker-compose.yml")
    example = {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}
    example.update(
        ACCESS_TOKEN_SECRET=secrets.token_urlsafe(48),
        REFRESH_TOKEN_SECRET=secrets.token_urlsafe(48),
        POSTGRES_PASSWORD=secrets.token_hex(24),
    )
    return ComposeProject(directory=directory, command=compose_command(), dotenv=example)


def test_env_example_lists_every_variable_compose_requires() -> None:
    example = dotenv_values(ROOT / ".env.example")
    for name in REQUIRED:
        assert name in example, name
        # Empty, so a copy that nobody edited is refused instead of running on public values.
        assert not example[name], name


def test_an_unedited_copy_of_env_example_is_refused(stack: ComposeProject) -> None:
    shutil.copy2(ROOT / ".env.example", stack.directory / ".env")
    result = stack.run("config", "--quiet")
    assert result.returncode != 0
    assert "set ACCESS_TOKEN_SECRET in .env" in result.stderr


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("how", ["empty", "absent"])
def test_each_required_secret_is_refused_with_a_message(
    stack: ComposeProject, name: str, how: str
) -> None:
    assert stack.resolved()["services"]["authsvc"]["environment"]["ENVIRONMENT"] == "production"
    if how == "empty":
        stack.dotenv[name] = ""
    else:
        del stack.dotenv[name]
    stack.write_dotenv()

    result = stack.run("config", "--quiet")

    assert result.returncode != 0
    assert f"set {name} in .env" in result.stderr


def test_filled_in_env_example_resolves(stack: ComposeProject) -> None:
    environment = stack.resolved()["services"]["authsvc"]["environment"]
    assert environment["ACCESS_TOKEN_SECRET"] == stack.dotenv["ACCESS_TOKEN_SECRET"]
    assert environment["REFRESH_TOKEN_SECRET"] == stack.dotenv["REFRESH_TOKEN_SECRET"]
