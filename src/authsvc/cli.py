"""The `authsvc` command: serve, manage users, migrate the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from authsvc import __version__
from authsvc.container import Core, open_admin, open_core
from authsvc.errors import AuthError, StoreUnavailable
from authsvc.keys import KeyRing, generate_private_key, key_id, private_pem, public_pem
from authsvc.services.admin import Actor
from authsvc.settings import ManagementSettings, Settings
from authsvc.store import MissingDatabaseDirectory
from authsvc.store.engine import UNAVAILABLE_ERRORS


class CommandError(Exception):
    """A failure to report as one line on stderr, without a traceback."""


def _load_settings(*, signs_tokens: bool = True) -> Settings:
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
async def _database(
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


async def _check_database(settings: Settings) -> None:
    # The server would find the same fault in its lifespan, and uvicorn would report it as
    # a traceback; checking first makes it one line and exit status 2.
    async with _database(settings) as core:
        await core.store.schema_revision()


def _serve(args: argparse.Namespace) -> None:
    from authsvc.serve import ServeRefused, check_workers, serve

    settings = _load_settings()
    workers = args.workers if args.workers is not None else settings.workers
    try:
        # Refusals that need no database come first: they leave no file behind.
        check_workers(settings, workers)
        asyncio.run(_check_database(settings))
        serve(
            settings,
            host=args.host if args.host is not None else settings.host,
            port=args.port if args.port is not None else settings.port,
            workers=workers,
        )
    except ServeRefused as exc:
        raise CommandError(str(exc)) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise CommandError("passwords do not match")
    if not password:
        raise CommandError("empty password")
    return password


def _checked_email(email: str | None) -> str | None:
    """The address as `POST /auth/register` would store it. Raises: CommandError."""
    if email is None:
        return None
    try:
        checked: str = TypeAdapter(EmailStr).validate_python(email)
    except ValidationError as exc:
        reason = str(exc.errors()[0]["msg"]).rpartition(": ")[2]
        raise CommandError(f"--email: not a valid e-mail address: {reason}") from None
    return checked


async def _create_user(
    settings: Settings, name: str, password: str, email: str | None, roles: tuple[str, ...]
) -> str:
    async with _database(settings) as core, open_admin(core) as admin:
        user = await admin.create_user(
            Actor(user_id=None), username=name, password=password, email=email, roles=roles
        )
        held = f"; roles: {' '.join(user.roles)}" if user.roles else ""
        return f"created user {user.username} ({user.id}){held}"


async def _list_users(settings: Settings) -> list[str]:
    async with _database(settings) as core:
        users = await core.store.list_users()
    return [
        f"{u.id}  {u.username:<24}  {u.email or '-':<32}  {u.created_at:%Y-%m-%d %H:%M}"
        for u in users
    ]


async def _upgrade(settings: Settings, *, create_directories: bool) -> str:
    async with _database(settings, migrate=True, create_directories=create_directories) as core:
        revision = await core.store.schema_revision()
    return f"database schema at revision {revision}"


async def _purge_sessions(settings: Settings) -> str:
    async with _database(settings) as core:
        deleted = await core.purger.purge()
    if deleted is None:
        return "another process is purging sessions right now; nothing done"
    return f"deleted {deleted} ended sessions"


def _users_create(args: argparse.Namespace) -> None:
    settings = _load_settings(signs_tokens=False)
    email = _checked_email(args.email)
    password = _read_password(args.password_stdin)
    print(asyncio.run(_create_user(settings, args.name, password, email, tuple(args.role))))


def _users_list(_: argparse.Namespace) -> None:
    for line in asyncio.run(_list_users(_load_settings(signs_tokens=False))):
        print(line)


def _db_upgrade(args: argparse.Namespace) -> None:
    settings = _load_settings(signs_tokens=False)
    print(asyncio.run(_upgrade(settings, create_directories=args.create_dirs)))


def _sessions_purge(_: argparse.Namespace) -> None:
    print(asyncio.run(_purge_sessions(_load_settings(signs_tokens=False))))


def _write_new(path: Path, text: str, mode: int) -> None:
    # O_EXCL: never replace a key, not even one created between the check and the write.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)


def _keys_generate(args: argparse.Namespace) -> None:
    out: Path = args.out
    pub = out.with_name(out.name + ".pub")
    for path in (out, pub):
        if path.exists() or path.is_symlink():
            raise CommandError(f"{path} exists; refusing to overwrite it")
    key = generate_private_key(args.algorithm)
    try:
        _write_new(out, private_pem(key), 0o600)
        os.chmod(out, 0o600)  # the umask may have masked bits off, never on; be explicit
        _write_new(pub, public_pem(key.public_key()), 0o644)
    except OSError as exc:
        raise CommandError(f"cannot write the key: {exc.strerror}") from None
    print(f"kid {key_id(key.public_key())}")
    print(f"private key {out}")
    print(f"public key {pub}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authsvc",
        description=__doc__,
        epilog="Settings come from the environment and .env (see .env.example). "
        "Commands that only manage accounts or the schema need no signing secrets.",
    )
    parser.add_argument("--version", action="version", version=f"authsvc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="address to bind (default: HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT, 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: WORKERS, 1); more than one needs REDIS_URL",
    )
    serve.set_defaults(run=_serve)

    users = commands.add_parser("users", help="manage users").add_subparsers(
        dest="users_command", required=True, metavar="COMMAND"
    )
    create = users.add_parser("create", help="create a user (password prompted, or from stdin)")
    create.add_argument(
        "name", metavar="NAME", help="the username: 3 to 64 letters, digits or . _ @ + -"
    )
    create.add_argument(
        "--email", help="the user's e-mail address, checked as POST /auth/register checks it"
    )
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    create.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE",
        help="give the user this role (repeatable); --role admin makes an administrator",
    )
    create.set_defaults(run=_users_create)
    users.add_parser("list", help="list users: id, name, e-mail, creation time").set_defaults(
        run=_users_list
    )
    # Imported here: cli_users builds on this module's helpers, so it can only load after it.
    from authsvc.cli_users import add_user_commands

    add_user_commands(users)

    db = commands.add_parser("db", help="manage the database").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND"
    )
    upgrade = db.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.add_argument(
        "--create-dirs",
        action="store_true",
        help="create the missing directories of a SQLite DATABASE_URL "
        "(without it a missing directory is refused as a likely typo)",
    )
    upgrade.set_defaults(run=_db_upgrade)

    sessions = commands.add_parser("sessions", help="manage sessions").add_subparsers(
        dest="sessions_command", required=True, metavar="COMMAND"
    )
    sessions.add_parser(
        "purge", help="delete sessions ended longer ago than SESSION_RETENTION_SECONDS"
    ).set_defaults(run=_sessions_purge)

    keys = commands.add_parser("keys", help="manage access-token signing keys").add_subparsers(
        dest="keys_command", required=True, metavar="COMMAND"
    )
    generate = keys.add_parser(
        "generate", help="write a new private key (mode 0600) and its public key (PATH.pub)"
    )
    generate.add_argument(
        "--algorithm",
        choices=["RS256", "ES256"],
        required=True,
        help="the JWT_ALGORITHM the key is for: RS256 (RSA 2048) or ES256 (P-256)",
    )
    generate.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="where to write the private key PEM; never overwritten",
    )
    generate.set_defaults(run=_keys_generate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except CommandError as exc:
        print(f"authsvc: {exc}", file=sys.stderr)
        return 2
    except AuthError as exc:
        # The messages the API answers with; imported only here, so that the management
        # commands load no web framework (`serve` imports it when it runs).
        from authsvc.api.errors import status_for

        print(f"authsvc: {status_for(exc)[1]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
