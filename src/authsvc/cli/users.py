"""`authsvc users create|list`: make and list accounts, without signing secrets; the verbs
that administer one account are in user_admin.py."""

from __future__ import annotations

import argparse
import asyncio

from pydantic import EmailStr, TypeAdapter, ValidationError

from authsvc.cli.base import CommandError, Commands, database, load_settings, read_password
from authsvc.cli.user_admin import add_user_commands
from authsvc.core import open_admin
from authsvc.services.admin import Actor
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
    add_user_commands(users)


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
    async with database(settings) as core, open_admin(core) as admin:
        user = await admin.create_user(
            Actor(user_id=None), username=name, password=password, email=email, roles=roles
        )
        held = f"; roles: {' '.join(user.roles)}" if user.roles else ""
        return f"created user {user.username} ({user.id}){held}"


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
    password = read_password(args.password_stdin)
    print(asyncio.run(_create_user(settings, args.name, password, email, tuple(args.role))))


def _users_list(_: argparse.Namespace) -> None:
    for line in asyncio.run(_list_users(load_settings(signs_tokens=False))):
        print(line)
