"""What every command shares: its one-line failures, its settings, its database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from pydantic import ValidationError
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from authsvc.core import Core, open_core
from authsvc.errors import StoreUnavailable
from authsvc.keys import KeyRing
from authsvc.services.housekeeping import Purger
from authsvc.settings import ManagementSettings, Settings
from authsvc.store import MissingDatabaseDirectory
from authsvc.store.engine import UNAVAILABLE_ERRORS

# What `add_subparsers` returns: each group module adds its commands to it.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A failure to report as one line on stderr, without a traceback."""


def load_settings(*, signs_tokens: bool = True) -> Settings:
    """The settings from the environment and `.env`.

    Commands that neither issue nor verify tokens pass `signs_tokens=False`: they run
    without signing secrets (an init container, an operator's shell).
    """
    try:
        settings = Settings() if signs_tokens else ManagementSettings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"]).upper()
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise CommandError("configuration error: " + "; ".join(problems)) from None
    if signs_tokens:
        try:
            KeyRing.from_settings(settings)
        except ValueError as exc:
            # Read here too, so a bad key is one line, before any worker starts.
            raise CommandError(f"configuration error: {exc}") from None
    return settings


def _where(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


def _reason(exc: BaseException | None) -> str:
    """The driver's own words for a failure, on one line."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, StoreUnavailable) and exc.__cause__ is not None:
        return _reason(exc.__cause__)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@asynccontextmanager
async def database(
    settings: Settings, *, migrate: bool | None = None, create_directories: bool = False
) -> AsyncIterator[Core]:
    """The store and accounts, with every failure to reach or use the database one line."""
    where = _where(settings.database_url)
    try:
        async with open_core(
            settings, migrate=migrate, create_directories=create_directories
        ) as core:
            yield core
    except MissingDatabaseDirectory as exc:
        raise CommandError(
            f"configuration error: DATABASE_URL: {exc}; create it, "
            "or run `authsvc db upgrade --create-dirs`"
        ) from None
    except (StoreUnavailable, *UNAVAILABLE_ERRORS) as exc:
        raise CommandError(f"cannot reach the database at {where}: {_reason(exc)}") from None
    except DBAPIError as exc:
        raise CommandError(f"database error at {where}: {_reason(exc)}") from None


def read_password(from_stdin: bool) -> str:
    """A new password: the first line of stdin, or prompted twice. Raises: CommandError."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise CommandError("passwords do not match")
    if not password:
        raise CommandError("empty password")
    return password


def add_purge_group(
    commands: Commands,
    group: str,
    *,
    help: str,
    purge_help: str,
    purger: Callable[[Core], Purger[Any]],
    rows: str,
    busy: str,
) -> None:
    """A command group `GROUP purge` that runs one purge now, for deployments that purge from
    cron; it prints how many `rows` went, or that another process is purging `busy`."""

    async def purge(settings: Settings) -> str:
        async with database(settings) as core:
            deleted = await purger(core).purge()
        if deleted is None:
            return f"another process is purging {busy} right now; nothing done"
        return f"deleted {deleted} {rows}"

    def run(_: argparse.Namespace) -> None:
        # Purging neither issues nor verifies tokens: no signing secrets needed.
        print(asyncio.run(purge(load_settings(signs_tokens=False))))

    subcommands = commands.add_parser(group, help=help).add_subparsers(
        dest=f"{group}_command", required=True, metavar="COMMAND"
    )
    subcommands.add_parser("purge", help=purge_help).set_defaults(run=run)
