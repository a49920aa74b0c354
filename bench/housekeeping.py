"""`python -m bench --housekeeping`: a store grown to many ended sessions, and its purge.

One database per store is seeded with `--rows` sessions of which `--live` are live; the others
ended 30 days ago (half revoked, half expired), far past the default retention. One user holds
MAX_SESSIONS_PER_USER live sessions (the cap reached) and a share of the ended ones. Against one
`authsvc serve` on it, this measures `GET /auth/sessions?limit=100` for that user, the
`/metrics` scrape (the active-sessions gauge counts in the store), and the purge that
`authsvc sessions purge` and the periodic task run, with refresh load (rotations: writes that
compete with the purge) and gateway checks (`GET /auth/verify`: no database) side by side in
2-second wrk runs the whole time, their latency compared with the same load before.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

from authsvc.clock import utc_now
from authsvc.settings import Settings
from authsvc.store import open_store
from authsvc.store.engine import create_engine
from authsvc.store.models import sessions, users
from authsvc.tokens import TokenService, new_token_id, token_hash
from bench import wrk
from bench.configs import BenchSettings, Config, authsvc_command
from bench.databases import Databases
from bench.purge_load import (
    LiveSession,
    Phases,
    SideBySide,
    purge_under_load,
    steady,
)
from bench.runner import say
from bench.servers import ServerProcess, start_server

BATCH = 5_000
CAP = 100  # the default MAX_SESSIONS_PER_USER
LIVE_PER_USER = 10  # the other users' live sessions
SCRAPES = 20
# The load's runs before and after the purge last four times the listing run: 20 s at 5 s.
STEADY_MULTIPLE = 4


@dataclass(frozen=True, slots=True)
class HousekeepingPlan:
    rows: int
    live: int
    seconds: float  # of the listing run; the steady load STEADY_MULTIPLE times as long
    connections: int  # of the listing run
    workdir: Path


@dataclass
class HousekeepingResult:
    store: str
    rows: int
    live: int
    seed_seconds: float
    list_rate: float
    list_p50_ms: float
    list_p99_ms: float
    list_bytes: int
    list_cpu_ms: float  # the server's CPU time per listing request
    scrape_ms_before: float  # median of SCRAPES sequential scrapes, at `rows` rows
    scrape_ms_after: float
    purge_seconds: float
    purged: int
    runs_before: int  # 2-second runs of both loads side by side, before the purge (and after)
    refresh_p99_idle_ms: float  # the median of the runs before the purge
    refresh_p99_during_purge_ms: float  # the median of the 2-second runs during the purge
    refresh_p99_after_ms: float
    refresh_p99_during_purge_worst_ms: float
    refresh_runs_during_purge: int
    # GET /auth/verify beside the refreshes: p50 and p99 medians over the runs of the phase,
    # req/s over all of them
    verify_rate_before: float
    verify_p50_before_ms: float
    verify_p99_before_ms: float
    verify_rate_during_purge: float
    verify_p50_during_purge_ms: float
    verify_p99_during_purge_ms: float
    verify_p99_during_purge_worst_ms: float
    verify_rate_after: float
    verify_p50_after_ms: float
    verify_p99_after_ms: float
    server_cores_before: float  # the server's CPU seconds per second, before the purge
    server_cores_during_purge: float
    server_cores_after: float
    purge_cores: float  # this process's, during the purge: the purge's own CPU
    errors: int
    rows_after: int


async def _seed(url: str, *, rows: int, live: int) -> tuple[list[LiveSession], list[LiveSession]]:
    """The heavy user's live sessions, and everyone else's."""
    async with open_store(url, migrate=True):
        pass
    now = utc_now()
    ended_at = now - timedelta(days=30)
    others = max(1, (live - CAP) // LIVE_PER_USER)
    user_ids = [str(uuid.uuid4()) for _ in range(others + 1)]
    heavy: list[LiveSession] = []
    rest: list[LiveSession] = []
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for start in range(0, len(user_ids), BATCH):
                await conn.execute(
                    insert(users),
                    [
                        {"id": uid, "username": f"hk{start + n:07d}", "email": None,
                         "password_hash": "-", "created_at": ended_at,
                         "password_changed_at": ended_at}
                        for n, uid in enumerate(user_ids[start : start + BATCH])
                    ],
                )  # fmt: skip
            for start in range(0, rows, BATCH):
                batch = []
                for n in range(start, min(rows, start + BATCH)):
                    if n < live:
                        owner = user_ids[0] if n < CAP else user_ids[1 + n % others]
                        session = LiveSession(owner, str(uuid.uuid4()), new_token_id())
                        (heavy if n < CAP else rest).append(session)
                        batch.append(_row(session, now - timedelta(seconds=n), live=True))
                    else:
                        # Every tenth ended session is the heavy user's: listing must not care.
                        owner = user_ids[0] if n % 10 == 0 else user_ids[n % len(user_ids)]
                        session = LiveSession(owner, str(uuid.uuid4()), new_token_id())
                        batch.append(_row(session, ended_at, live=False, revoked=n % 2 == 0))
                await conn.execute(insert(sessions), batch)
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
            if engine.dialect.name == "sqlite":
                await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        await engine.dispose()
    return heavy, rest


def _row(
    session: LiveSession, used_at: datetime, *, live: bool, revoked: bool = False
) -> dict[str, object]:
    return {
        "id": session.session_id,
        "user_id": session.user_id,
        "token_hash": token_hash(session.jti),
        "previous_token_hash": None,
        "rotated_at": None,
        "generation": 0,
        "user_agent": "bench-housekeeping",
        "ip": "127.0.0.1",
        "created_at": used_at,
        "last_used_at": used_at,
        # Ended ones expired a day after their last use, or were revoked then.
        "idle_expires_at": used_at + timedelta(days=1),
        "absolute_expires_at": used_at + timedelta(days=30 if live else 1),
        "revoked_at": used_at if revoked else None,
        "revoked_reason": "logout" if revoked else None,
    }


async def _count(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(sessions)) or 0)
    finally:
        await engine.dispose()


def _scrape_ms(server: ServerProcess) -> float:
    timings = []
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for _ in range(SCRAPES):
            started = time.perf_counter()
            answer = client.get("/metrics")
            timings.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200 or "authsvc_sessions_active " not in answer.text:
                raise RuntimeError("the scrape did not carry authsvc_sessions_active")
    return statistics.median(timings)


def measure(store: str, plan: HousekeepingPlan) -> HousekeepingResult:
    bench = BenchSettings(run_id=uuid.uuid4().hex[:6])
    dbs = Databases(plan.workdir)
    rows, live, workdir = plan.rows, plan.live, plan.workdir
    config = Config(store, 1)
    try:
        url = asyncio.run(dbs.create(store, "housekeeping"))
        started = time.monotonic()
        heavy, rest = asyncio.run(_seed(url, rows=rows, live=live))
        seeded = time.monotonic() - started
        say(f"housekeeping: seeded {rows:,} sessions ({live:,} live) on {store} in {seeded:.0f} s")
        env = bench.server_env(config, url)
        # The purge runs only when this benchmark starts it, so its time can be taken.
        env["SESSION_PURGE_INTERVAL_SECONDS"] = "0"
        settings = bench.settings(config, url)
        server = start_server(
            f"housekeeping-{store}", authsvc_command(1), env=env, cwd=workdir, workers=1
        )
        try:
            measured = _measure(server, settings, heavy, rest, plan)
            rows_after = asyncio.run(_count(url))
        finally:
            server.stop()
        return HousekeepingResult(store, rows, live, seeded, rows_after=rows_after, **measured)
    finally:
        asyncio.run(dbs.close())


def _measure(
    server: ServerProcess,
    settings: Settings,
    heavy: list[LiveSession],
    rest: list[LiveSession],
    plan: HousekeepingPlan,
) -> dict[str, Any]:
    workdir, seconds = plan.workdir, plan.seconds
    tokens = TokenService(settings)
    now = utc_now()
    access = [
        tokens.issue_access(
            user_id=s.user_id, username="heavy", session_id=s.session_id, now=now,
            expires_at=now + timedelta(seconds=settings.access_token_ttl_seconds),
        ).token
        for s in heavy[:16]
    ]  # fmt: skip
    token_file = workdir / "hk-tokens.txt"
    token_file.write_text("".join(t + "\n" for t in access), encoding="ascii")
    path = "/auth/sessions?limit=100"
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        page = client.get(path, headers={"Authorization": f"Bearer {access[0]}"})
    if page.status_code != 200 or len(page.json()["sessions"]) != CAP:
        raise RuntimeError(f"listing the capped user's sessions failed: {page.text[:200]}")
    cpu_before = server.cpu_seconds()
    listing = wrk.run(
        wrk.WrkJob(
            script="get.lua",
            url=server.base_url,
            threads=2,
            connections=plan.connections,
            seconds=seconds,
            env={"BENCH_PATH": path, "BENCH_TOKENS": str(token_file)},
        )
    )
    list_cpu_ms = 1000 * (server.cpu_seconds() - cpu_before) / max(1, listing.requests)
    scrape_before = _scrape_ms(server)
    load = SideBySide(server, settings, list(rest), token_file, workdir)
    before = steady(load, STEADY_MULTIPLE * seconds)
    purge_seconds, purged, during = purge_under_load(settings, load)
    after = steady(load, STEADY_MULTIPLE * seconds)
    server.check_alive()
    return dict(
        list_rate=listing.rate,
        list_p50_ms=listing.p50_ms,
        list_p99_ms=listing.p99_ms,
        list_bytes=len(page.content),
        list_cpu_ms=list_cpu_ms,
        scrape_ms_before=scrape_before,
        scrape_ms_after=_scrape_ms(server),
        purge_seconds=purge_seconds,
        purged=purged,
        runs_before=len(before.refresh.runs),
        refresh_p99_idle_ms=before.refresh.p99_ms,
        refresh_p99_during_purge_ms=during.refresh.p99_ms,
        refresh_p99_during_purge_worst_ms=during.refresh.worst_p99_ms,
        refresh_p99_after_ms=after.refresh.p99_ms,
        refresh_runs_during_purge=len(during.refresh.runs),
        **_verify_figures(before=before, during_purge=during, after=after),
        server_cores_before=before.server_cores,
        server_cores_during_purge=during.server_cores,
        server_cores_after=after.server_cores,
        purge_cores=during.bench_cores,
        errors=listing.errors + sum(p.errors for ps in (before, during, after) for p in ps.all()),
    )


def _verify_figures(**phases: Phases) -> dict[str, float]:
    figures = {"verify_p99_during_purge_worst_ms": phases["during_purge"].verify.worst_p99_ms}
    for name, phase in phases.items():
        figures[f"verify_rate_{name}"] = phase.verify.rate
        figures[f"verify_p50_{name}_ms"] = phase.verify.p50_ms
        figures[f"verify_p99_{name}_ms"] = phase.verify.p99_ms
    return figures


def as_dicts(results: list[HousekeepingResult]) -> list[dict[str, object]]:
    return [asdict(r) for r in results]
