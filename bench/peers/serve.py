"""How every Python server of the peers run is started: one uvicorn worker, no access log.

Imported by the peer apps inside their own virtualenvs, so it needs uvicorn and nothing else.
The options are those of bench/ceiling.py and `authsvc serve`, less the access log.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn
from starlette.types import ASGIApp


def serve(app: ASGIApp, argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=sys.argv[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
