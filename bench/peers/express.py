"""The Express tutorial authsvc started from, as a peer: started, signed in to once, and its
stateless `POST /refresh` loaded. Used by the peers run and by the full run, whose refresh
target is a ratio to this route measured in the same rounds.
"""

from __future__ import annotations

import os
import secrets
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import scenarios
from bench.scenarios import Load, Outcome
from bench.servers import ServerProcess, start_server

# The tutorial's one hard-coded user.
EXPRESS_USER = {"username": "admin", "password": "admin123"}
SIGN_IN_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Express:
    server: ServerProcess
    cookie: str  # the refresh cookie, `jwt=...`


def sign_in(
    server: ServerProcess,
    path: str,
    *,
    json: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=SIGN_IN_TIMEOUT_SECONDS) as client:
        answer = client.post(path, json=json, data=form)
    if answer.status_code != 200:
        raise RuntimeError(f"{server.name}: POST {path} answered {answer.status_code}")
    return answer


def start_express(node: str, directory: Path, workdir: Path, stack: ExitStack) -> Express:
    """The tutorial's server from `directory` (launch.js, node_modules), stopped by `stack`,
    and the refresh cookie its login answers."""
    server = start_server(
        "express",
        [node, str(directory / "launch.js")],
        env={
            "PATH": os.environ.get("PATH", ""),
            "ACCESS_TOKEN_SECRET": secrets.token_urlsafe(48),
            "REFRESH_TOKEN_SECRET": secrets.token_urlsafe(48),
        },
        cwd=workdir,
        workers=1,
    )
    stack.callback(server.stop)
    cookie = sign_in(server, "/login", json=EXPRESS_USER).cookies["jwt"]
    return Express(server, f"jwt={cookie}")


def refresh(express: Express, load: Load) -> Outcome:
    """`POST /refresh` with the same cookie every time: the tutorial keeps no state."""
    env = {"BENCH_PATH": "/refresh", "BENCH_COOKIE": express.cookie}
    return scenarios.load_server(express.server, load.job("post.lua", express.server.base_url, env))
