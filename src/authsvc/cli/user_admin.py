"""The `authsvc users` verbs that administer an existing account: show, disable, enable,
delete, set-password, set-roles, reset-mfa. They run the administration API's flows
(services/admin.py), so the same rules hold (the last administrator stays one) and the same
events are reported, without an actor.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from authsvc.cli.base import Commands, database, load_settings, read_password
from authsvc.core import open_admin
from authsvc.services.admin import Actor, AdminService
from authsvc.store.records import UserChanges, UserRecord

# The command line acts as nobody in particular: events carry no actor.
OPERATOR = Actor(user_id=None)

Action = Callable[[AdminService, UserRecord], Awaitable[str]]


def _run(args: argparse.Namespace, action: Action) -> None:
    """Find the account the command names, then act on it; one line of output."""

    async def run() -> str:
        async with database(load_settings(signs_tokens=False)) as core, open_admin(core) as admin:
            return await action(admin, await admin.find_user(args.user))

    print(asyncio.run(run()))


def describe(user: UserRecord) -> str:
    status = f"disabled since {user.disabled_at:%Y-%m-%d %H:%M}" if user.disabled_at else "enabled"
    verified = (
        f"verified {user.email_verified_at:%Y-%m-%d}" if user.email_verified_at else "unverified"
    )
    return "\n".join(
        [
            f"id        {user.id}",
            f"username  {user.username}",
            f"email     {user.email or '-'}" + (f" ({verified})" if user.email else ""),
            f"roles     {' '.join(user.roles) or '-'}",
            f"status    {status}",
            f"created   {user.created_at:%Y-%m-%d %H:%M}",
            f"password  changed {user.password_changed_at:%Y-%m-%d %H:%M}",
        ]
    )


def _show(args: argparse.Namespace) -> None:
    async def show(_: AdminService, user: UserRecord) -> str:
        return describe(user)

    _run(args, show)


def _set_disabled(disabled: bool) -> Callable[[argparse.Namespace], None]:
    def command(args: argparse.Namespace) -> None:
        async def change(admin: AdminService, user: UserRecord) -> str:
            after = await admin.update_user(OPERATOR, user.id, UserChanges(disabled=disabled))
            state = "disabled; its sessions ended" if after.disabled_at else "enabled"
            return f"user {user.username} {state}"

        _run(args, change)

    return command


def _delete(args: argparse.Namespace) -> None:
    async def delete(admin: AdminService, user: UserRecord) -> str:
        await admin.delete_user(OPERATOR, user.id)
        return f"deleted user {user.username} ({user.id})"

    _run(args, delete)


def _set_password(args: argparse.Namespace) -> None:
    password = read_password(args.password_stdin)

    async def set_password(admin: AdminService, user: UserRecord) -> str:
        await admin.set_password(OPERATOR, user.id, password)
        return f"password of {user.username} set; its sessions ended"

    _run(args, set_password)


def _reset_mfa(args: argparse.Namespace) -> None:
    async def reset(admin: AdminService, user: UserRecord) -> str:
        removed = await admin.reset_mfa(OPERATOR, user.id)
        return f"second factors of {user.username} removed: {removed}"

    _run(args, reset)


def _set_roles(args: argparse.Namespace) -> None:
    async def set_roles(admin: AdminService, user: UserRecord) -> str:
        after = await admin.update_user(OPERATOR, user.id, UserChanges(roles=tuple(args.roles)))
        return f"roles of {user.username}: {' '.join(after.roles) or '-'}"

    _run(args, set_roles)


def add_user_commands(users: Commands) -> None:
    """Add the verbs to the `users` command's subparsers."""

    def verb(
        name: str, help_text: str, run: Callable[[argparse.Namespace], None]
    ) -> argparse.ArgumentParser:
        parser = users.add_parser(name, help=help_text)
        parser.add_argument("user", metavar="USER", help="a username or a user id")
        parser.set_defaults(run=run)
        return parser

    verb("show", "show one user: id, name, e-mail, roles, status", _show)
    verb(
        "disable",
        "disable a user: logins refused, every session ended at once",
        _set_disabled(True),
    )
    verb("enable", "enable a disabled user again", _set_disabled(False))
    verb("delete", "delete a user: sessions ended, data erased, the name free again", _delete)
    password = verb(
        "set-password",
        "set a user's password (prompted, or from stdin); its sessions end",
        _set_password,
    )
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    verb(
        "reset-mfa",
        "remove a user's second factors (TOTP and recovery codes); no session ends",
        _reset_mfa,
    )
    roles = verb("set-roles", "give a user exactly these roles (none: no role at all)", _set_roles)
    roles.add_argument("roles", metavar="ROLE", nargs="*", help="e.g. admin")
