"""`authsvc serve`: check what can be checked in one line, then run the HTTP service."""

from __future__ import annotations

import argparse
import asyncio

from authsvc.cli.base import CommandError, Commands, database, load_settings
from authsvc.settings import Settings


def add_commands(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="address to bind (default: HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT, 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: WORKERS, 1); more than one needs REDIS_URL",
    )
    serve.set_defaults(run=_serve)


async def _check_database(settings: Settings) -> None:
    # The server would find the same fault in its lifespan, and uvicorn would report it as
    # a traceback; checking first makes it one line and exit status 2.
    async with database(settings) as core:
        await core.store.schema_revision()


def _serve(args: argparse.Namespace) -> None:
    # Imported when it runs, so that the other commands load no web framework.
    from authsvc.serve import ServeRefused, check_workers, serve

    settings = load_settings()
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
