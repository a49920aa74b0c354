"""`authsvc users ...`: create and list accounts, without signing secrets."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pydantic import EmailStr, TypeAdapter, ValidationError

from authsvc.cli.base import CommandError, Commands, database, load_settings
from authsvc.settings import Settings


def add_commands(commands: Commands) -> None:
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
    create.set_defaults(run=_users_create)
    users.add_parser("list", help="list users: id, name, e-mail, creation time").set_defaults(
        run=_users_list
    )


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


async def _create_user(settings: Settings, name: str, password: str, email: str | None) -> str:
    async with database(settings) as core:
        user = await core.accounts().create_user(name, password, email=email)
        return f"created user {user.username} ({user.id})"


async def _list_users(settings: Settings) -> list[str]:
    async with database(settings) as core:
        users = await core.store.list_users()
    return [
        f"{u.id}  {u.username:<24}  {u.email or '-':<32}  {u.created_at:%Y-%m-%d %H:%M}"
        for u in users
    ]


def _users_create(args: argparse.Namespace) -> None:
    settings = load_settings(signs_tokens=False)
    email = _checked_email(args.email)
    password = _read_password(args.password_stdin)
    print(asyncio.run(_create_user(settings, args.name, password, email)))


def _users_list(_: argparse.Namespace) -> None:
    for line in asyncio.run(_list_users(load_settings(signs_tokens=False))):
        print(line)
