"""The `authsvc` command: serve, manage users, migrate the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from authsvc.clock import utc_now
from authsvc.errors import AuthError, status_for
from authsvc.keys import generate_private_key, key_id, private_pem, public_pem
from authsvc.passwords import PasswordPolicy, PasswordService
from authsvc.services.accounts import AccountService
from authsvc.services.housekeeping import SessionPurger
from authsvc.settings import Settings
from authsvc.store import open_store


class CommandError(Exception):
    """A failure to report as one line on stderr, without a traceback."""


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"]).upper()
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise CommandError("configuration error: " + "; ".join(problems)) from None


def _serve(args: argparse.Namespace) -> None:
    from authsvc.serve import ServeRefused, serve

    settings = _load_settings()
    try:
        serve(
            settings,
            host=args.host if args.host is not None else settings.host,
            port=args.port if args.port is not None else settings.port,
            workers=args.workers if args.workers is not None else settings.workers,
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


async def _create_user(settings: Settings, name: str, password: str, email: str | None) -> str:
    async with open_store(settings.database_url, migrate=settings.migrate_on_start) as store:
        accounts = AccountService(
            store=store,
            passwords=PasswordService(settings),
            policy=PasswordPolicy(settings),
            clock=utc_now,
            registration_enabled=True,
        )
        user = await accounts.create_user(name, password, email=email)
        return f"created user {user.username} ({user.id})"


async def _list_users(settings: Settings) -> list[str]:
    async with open_store(settings.database_url, migrate=settings.migrate_on_start) as store:
        users = await store.list_users()
    return [
        f"{u.id}  {u.username:<24}  {u.email or '-':<32}  {u.created_at:%Y-%m-%d %H:%M}"
        for u in users
    ]


async def _upgrade(settings: Settings) -> str:
    async with open_store(settings.database_url, migrate=True) as store:
        revision = await store.schema_revision()
    return f"database schema at revision {revision}"


async def _purge_sessions(settings: Settings) -> str:
    async with open_store(settings.database_url, migrate=settings.migrate_on_start) as store:
        deleted = await SessionPurger(store=store, settings=settings, clock=utc_now).purge()
    if deleted is None:
        return "another process is purging sessions right now; nothing done"
    return f"deleted {deleted} ended sessions"


def _users_create(args: argparse.Namespace) -> None:
    settings = _load_settings()
    password = _read_password(args.password_stdin)
    print(asyncio.run(_create_user(settings, args.name, password, args.email)))


def _users_list(_: argparse.Namespace) -> None:
    for line in asyncio.run(_list_users(_load_settings())):
        print(line)


def _db_upgrade(_: argparse.Namespace) -> None:
    print(asyncio.run(_upgrade(_load_settings())))


def _sessions_purge(_: argparse.Namespace) -> None:
    print(asyncio.run(_purge_sessions(_load_settings())))


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
    parser = argparse.ArgumentParser(prog="authsvc", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

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
        dest="users_command", required=True
    )
    create = users.add_parser("create", help="create a user (password prompted, or from stdin)")
    create.add_argument("name")
    create.add_argument("--email")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(run=_users_create)
    users.add_parser("list", help="list users").set_defaults(run=_users_list)

    db = commands.add_parser("db", help="manage the database").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply pending schema migrations").set_defaults(run=_db_upgrade)

    sessions = commands.add_parser("sessions", help="manage sessions").add_subparsers(
        dest="sessions_command", required=True
    )
    sessions.add_parser(
        "purge", help="delete sessions ended longer ago than SESSION_RETENTION_SECONDS"
    ).set_defaults(run=_sessions_purge)

    keys = commands.add_parser("keys", help="manage access-token signing keys").add_subparsers(
        dest="keys_command", required=True
    )
    generate = keys.add_parser(
        "generate", help="write a new private key (mode 0600) and its public key (PATH.pub)"
    )
    generate.add_argument("--algorithm", choices=["RS256", "ES256"], required=True)
    generate.add_argument("--out", type=Path, required=True, help="where to write the PEM")
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
        print(f"authsvc: {status_for(exc)[1]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
