"""`authsvc keys generate`: a new access-token signing key pair, never over an existing file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from authsvc.cli.base import CommandError, Commands
from authsvc.keys import generate_private_key, key_id, private_pem, public_pem


def add_commands(commands: Commands) -> None:
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
