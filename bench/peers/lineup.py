"""Every server of the peers run, started side by side on loopback ports for one run.

authsvc runs as a single `authsvc serve` does (SQLite, one worker, no Redis) on a seeded store,
with its access log off like every other server here; the bare route runs on authsvc's
interpreter, each peer on its own. Each peer is signed in to once, before any load, for the
token or cookie its load presents.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from authsvc.clock import utc_now
from bench import seed
from bench.configs import BenchSettings, Config, authsvc_command
from bench.databases import Databases
from bench.peers.express import Express, sign_in, start_express
from bench.peers.install import REPO, Installed
from bench.scenarios import Target
from bench.servers import ServerProcess, start_server

AUTHSVC = Config("sqlite", 1)
PEER_EMAIL = "bench@example.com"


@dataclass(frozen=True, slots=True)
class Lineup:
    authsvc: Target
    bare: ServerProcess
    authx: ServerProcess
    fastapi_users: ServerProcess
    express: Express
    authx_tokens: Path  # one access token a line, for get.lua
    fastapi_users_tokens: Path


def _python_env(**values: str) -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1", **values}


def _seeded_authsvc(workdir: Path, size: int, bench: BenchSettings, dbs: Databases) -> Target:
    population = seed.make_population(size, random.Random(size))  # noqa: S311
    url = asyncio.run(dbs.create(AUTHSVC.store, f"peers{size}"))
    settings = bench.settings(AUTHSVC, url)
    hashed = asyncio.run(seed.password_hash(settings))
    asyncio.run(seed.load(url, population, hashed=hashed, now=utc_now()))
    env = {**bench.server_env(AUTHSVC, url), "ACCESS_LOG": "false"}
    server = start_server("authsvc", authsvc_command(1), env=env, cwd=workdir, workers=1)
    return Target(AUTHSVC, server, settings, population, workdir)


def _token_file(workdir: Path, name: str, answer: httpx.Response) -> Path:
    path = workdir / f"{name}-tokens.txt"
    path.write_text(str(answer.json()["access_token"]) + "\n", encoding="ascii")
    return path


@contextmanager
def lineup(installed: Installed, workdir: Path, size: int) -> Iterator[Lineup]:
    bench = BenchSettings(run_id=os.urandom(3).hex())
    dbs = Databases(workdir)
    with ExitStack() as stack:
        stack.callback(lambda: asyncio.run(dbs.close()))
        target = _seeded_authsvc(workdir, size, bench, dbs)
        stack.callback(target.server.stop)
        argon2 = target.settings
        secret = secrets.token_urlsafe(48)
        peer = {"PEER_SECRET": secret, "PEER_PASSWORD": seed.PASSWORD}

        def start(name: str, command: list[str], env: dict[str, str]) -> ServerProcess:
            server = start_server(name, command, env=env, cwd=workdir, workers=1)
            stack.callback(server.stop)
            return server

        bare = start("bare", [sys.executable, "-m", "bench.peers.bare"], _python_env())
        authx = start(
            "authx",
            [str(installed.authx_python), "-m", "bench.peers.authx_app"],
            _python_env(**peer, PEER_USERNAME=PEER_EMAIL),
        )
        fastapi_users = start(
            "fastapi-users",
            [str(installed.fastapi_users_python), "-m", "bench.peers.fastapi_users_app"],
            _python_env(
                **peer,
                PEER_USERNAME=PEER_EMAIL,
                PEER_DATABASE=str(workdir / "fastapi-users.db"),
                PEER_ARGON2=f"{argon2.argon2_time_cost},{argon2.argon2_memory_kib},"
                f"{argon2.argon2_parallelism}",
            ),
        )
        express = start_express(installed.node, installed.express_dir, workdir, stack)
        credentials = {"username": PEER_EMAIL, "password": seed.PASSWORD}
        yield Lineup(
            authsvc=target,
            bare=bare,
            authx=authx,
            fastapi_users=fastapi_users,
            express=express,
            authx_tokens=_token_file(workdir, "authx", sign_in(authx, "/login", json=credentials)),
            fastapi_users_tokens=_token_file(
                workdir,
                "fastapi-users",
                sign_in(fastapi_users, "/auth/jwt/login", form=credentials),
            ),
        )
