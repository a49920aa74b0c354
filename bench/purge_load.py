"""The load measured before and during the purge, both kinds side by side in each wrk run.

Refresh rotations are writes, the requests a purge can delay. Gateway checks
(`GET /auth/verify` with a valid Bearer token) read no database: the token is checked in
memory and the revocation list is in memory too, so a purge should leave them alone.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from authsvc.clock import utc_now
from authsvc.services.housekeeping import SessionPurger
from authsvc.settings import Settings
from authsvc.store import open_store
from authsvc.tokens import TokenService
from bench import wrk
from bench.servers import ServerProcess

CHUNK_SECONDS = 2.0
REFRESH_CONNECTIONS = 8
# A gateway's steady checks, not a flood: each connection pauses between answer and request,
# at most about 530 req/s in all, a fifth of what one worker answers flat out. A flood would
# take the worker from the refreshes, and its p99 would be its own queue rather than what
# the purge does to a check.
VERIFY_CONNECTIONS = 8
VERIFY_THREADS = 2
VERIFY_PAUSE_MS = 15
PURGE_TIMEOUT_SECONDS = 3_600


@dataclass(frozen=True, slots=True)
class LiveSession:
    user_id: str
    session_id: str
    jti: str


@dataclass
class Phase:
    """The wrk runs of one load in one phase (before the purge, or during it)."""

    runs: list[wrk.WrkResult] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs) if self.runs else 0.0

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs) if self.runs else 0.0

    @property
    def worst_p99_ms(self) -> float:
        return max((r.p99_ms for r in self.runs), default=0.0)

    @property
    def rate(self) -> float:
        seconds = sum(r.seconds for r in self.runs)
        return sum(r.requests for r in self.runs) / seconds if seconds > 0 else 0.0

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


@dataclass
class Phases:
    refresh: Phase = field(default_factory=Phase)
    verify: Phase = field(default_factory=Phase)
    # CPU time per second of the phase: of the server, and of this process, which runs the
    # purge (and, on SQLite, its deletes); the machine has other work, and these say who had it.
    server_cores: float = 0.0
    bench_cores: float = 0.0

    def all(self) -> tuple[Phase, Phase]:
        return self.refresh, self.verify


class SideBySide:
    """Refresh and verify wrk runs at the same time; each refresh run on sessions no earlier
    run rotated (a replay would be reuse)."""

    def __init__(
        self,
        server: ServerProcess,
        settings: Settings,
        pool: list[LiveSession],
        access_tokens: Path,
        workdir: Path,
    ) -> None:
        self._server = server
        self._settings = settings
        self._tokens = TokenService(settings)
        self._pool = pool
        self._access_tokens = access_tokens
        self._workdir = workdir

    def _refresh_job(self, seconds: float) -> wrk.WrkJob:
        if len(self._pool) < REFRESH_CONNECTIONS:
            raise RuntimeError("not enough live sessions left for another refresh run")
        owned = [self._pool.pop() for _ in range(REFRESH_CONNECTIONS)]
        now = utc_now()
        cookies = [
            self._tokens.issue_refresh(
                user_id=s.user_id, session_id=s.session_id, now=now,
                expires_at=now + timedelta(hours=1), jti=s.jti,
            ).token
            for s in owned
        ]  # fmt: skip
        path = self._workdir / f"hk-cookies-{uuid.uuid4().hex[:8]}.txt"
        path.write_text("".join(c + "\n" for c in cookies), encoding="ascii")
        env = {"BENCH_COOKIES": str(path), "BENCH_COOKIE_NAME": self._settings.cookie_name}
        # One thread per connection: each lua state follows its own session's rotations.
        return self._job("refresh.lua", REFRESH_CONNECTIONS, REFRESH_CONNECTIONS, seconds, env)

    def _verify_job(self, seconds: float) -> wrk.WrkJob:
        env = {
            "BENCH_PATH": "/auth/verify",
            "BENCH_TOKENS": str(self._access_tokens),
            "BENCH_PAUSE_MS": str(VERIFY_PAUSE_MS),
        }
        return self._job("get.lua", VERIFY_THREADS, VERIFY_CONNECTIONS, seconds, env)

    def _job(
        self, script: str, threads: int, connections: int, seconds: float, env: dict[str, str]
    ) -> wrk.WrkJob:
        return wrk.WrkJob(script, self._server.base_url, threads, connections, seconds, env)

    @contextmanager
    def timing(self, phases: Phases) -> Iterator[None]:
        server, bench, wall = self._server.cpu_seconds(), time.process_time(), time.monotonic()
        yield
        wall = max(time.monotonic() - wall, 1e-9)
        phases.server_cores = (self._server.cpu_seconds() - server) / wall
        phases.bench_cores = (time.process_time() - bench) / wall

    def run(self, seconds: float, into: Phases) -> None:
        jobs = [self._refresh_job(seconds), self._verify_job(seconds)]
        processes = [wrk.start(job) for job in jobs]
        refresh, verify = (wrk.finish(p, job) for p, job in zip(processes, jobs, strict=True))
        into.refresh.runs.append(refresh)
        into.verify.runs.append(verify)


def steady(load: SideBySide, seconds: float) -> Phases:
    """The load with no purge running, in runs as long as those during the purge, so that
    their medians are of like figures; taken before the purge and again after it, since the
    other work on the machine changes meanwhile."""
    phases = Phases()
    with load.timing(phases):
        for _ in range(max(1, math.ceil(seconds / CHUNK_SECONDS))):
            load.run(CHUNK_SECONDS, phases)
    return phases


def purge_under_load(settings: Settings, load: SideBySide) -> tuple[float, int, Phases]:
    """The purge `authsvc sessions purge` runs, in a thread of this process, while the load
    runs back to back against the server: its seconds, the rows it deleted, the runs."""
    outcome: list[tuple[float, int | None]] = []

    async def purge() -> None:
        async with open_store(settings.database_url) as store:
            started = time.perf_counter()
            deleted = await SessionPurger(store=store, settings=settings, clock=utc_now).purge()
            outcome.append((time.perf_counter() - started, deleted))

    worker = threading.Thread(target=asyncio.run, args=(purge(),), name="purge")
    during = Phases()
    with load.timing(during):
        worker.start()
        while worker.is_alive():
            load.run(CHUNK_SECONDS, during)
        worker.join(PURGE_TIMEOUT_SECONDS)
    if not outcome or outcome[0][1] is None:
        raise RuntimeError("the purge did not run")
    seconds, deleted = outcome[0]
    return seconds, int(deleted or 0), during
