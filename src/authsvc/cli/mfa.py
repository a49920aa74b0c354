"""`authsvc mfa reencrypt|generate-key`: rotate the key TOTP secrets are sealed under."""

from __future__ import annotations

import argparse
import asyncio
import base64
import secrets

from authsvc.cli.base import CommandError, Commands, database, load_settings
from authsvc.mfa.wiring import build_sealer
from authsvc.services.mfa_keys import reencrypt
from authsvc.settings import Settings
from authsvc.settings.mfa import MFA_KEY_BYTES


def add_commands(commands: Commands) -> None:
    mfa = commands.add_parser("mfa", help="manage second factors").add_subparsers(
        dest="mfa_command", required=True, metavar="COMMAND"
    )
    mfa.add_parser(
        "reencrypt",
        help="seal every TOTP secret under MFA_ENCRYPTION_KEY (after a key rotation)",
    ).set_defaults(run=_reencrypt)
    mfa.add_parser(
        "generate-key", help="print a new random MFA_ENCRYPTION_KEY (32 bytes, base64url)"
    ).set_defaults(run=_generate_key)


async def _run_reencrypt(settings: Settings) -> str:
    sealer = build_sealer(settings)
    if sealer is None:
        raise CommandError("MFA_ENCRYPTION_KEY is not set")
    async with database(settings) as core:
        report = await reencrypt(core.store, sealer)
    line = (
        f"re-encrypted {report.resealed}, already current {report.current}, "
        f"unreadable {report.failed}"
    )
    if report.failed:
        raise CommandError(line + " (no configured key opens them; keep the old key)")
    return line


def _reencrypt(_: argparse.Namespace) -> None:
    # No token is signed; in development the key may come from REFRESH_TOKEN_SECRET.
    print(asyncio.run(_run_reencrypt(load_settings(signs_tokens=False))))


def _generate_key(_: argparse.Namespace) -> None:
    print(base64.urlsafe_b64encode(secrets.token_bytes(MFA_KEY_BYTES)).decode())
