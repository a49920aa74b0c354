"""The framework ceiling: a bare FastAPI route under the same uvicorn options as authsvc.

Every authsvc figure is divided by this one, measured in the same round, so the tables say how
much of the machine the service leaves on the table rather than an absolute rate that depends
on whoever else is using the machine. Run as `python -m bench.ceiling --port P [--workers N]`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from fastapi import FastAPI

from authsvc.logs import configure_logging

# uvicorn imports this in every worker it spawns, so it must be an import string.
APP = "bench.ceiling:create_app"


def create_app() -> FastAPI:
    # authsvc logs every request as a JSON line (its access-log middleware); the ceiling pays
    # for about the same through uvicorn's access log and this handler, or the ratio would
    # blame authsvc for it.
    configure_logging()
    return bare_app()


def bare_app() -> FastAPI:
    """`{"ok": True}` at / and /healthz, nothing else; no logging set up."""
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    # The options authsvc.serve passes, but uvicorn's own httptools protocol and event loop:
    # the bounds of authsvc's protocol (http_protocol.py) count as authsvc's cost, and its
    # draining accept (accept_loop.py) as authsvc's gain.
    uvicorn.run(
        APP,
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_config=None,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
