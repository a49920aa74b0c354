"""The `authsvc` command: serve, manage users, migrate the database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from authsvc import __version__
from authsvc.cli import audit, db, keys, mfa, serve, sessions, users
from authsvc.cli.base import CommandError
from authsvc.errors import AuthError

__all__ = ["CommandError", "build_parser", "main"]

# Each command group's module adds its parser; they are listed here in the order of --help.
GROUPS = (serve, users, db, sessions, audit, keys, mfa)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authsvc",
        description=__doc__,
        epilog="Settings come from the environment and .env (see .env.example). "
        "Commands that only manage accounts or the schema need no signing secrets.",
    )
    parser.add_argument("--version", action="version", version=f"authsvc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_commands(commands)
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
