"""`python -m bench --mail`: how fast a real `authsvc serve` drains its outbox, and what the
drain does to gateway checks.

One server per store sends to a counting SMTP sink on loopback (bench/mail_sink.py). Paced
`GET /auth/verify` load (the housekeeping bench's, bench/purge_load.py) runs first with the
outbox empty, then back to back while `--mails` mails are queued and drained. The mails are
queued through the store's `enqueue_mail`, the call the flows make after rendering, not by
registering accounts: a registration hashes a password, and a thousand of them would measure
argon2 rather than the outbox. Every mail has its own recipient, so the sink tells a mail
delivered twice from one never delivered.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from authsvc.clock import utc_now
from authsvc.store import open_store
from authsvc.store.records import NewMail
from bench import wrk
from bench.configs import BenchSettings, Config, authsvc_command
from bench.databases import Databases
from bench.mail_sink import CountingSink, running_sink
from bench.purge_load import VERIFY_CONNECTIONS, VERIFY_PAUSE_MS, VERIFY_THREADS, Phase
from bench.runner import say
from bench.servers import ServerProcess, start_server

# Short runs during the drain: a thousand mails take seconds, and a longer run would mostly
# measure the idle server after it.
CHUNK_SECONDS = 1.0
DRAIN_TIMEOUT_SECONDS = 600.0
# The sender's settings under test: its default batch, and a poll short beside the drain so
# that the wait for the first round hardly counts (the bench queues from another process,
# which cannot wake the server's sender as its own flows do).
POLL_SECONDS = 0.5
ENQUEUE_CONCURRENCY = 8
BENCH_USER = "mailbench"
BENCH_PASSWORD = "a bench password that is long enough"  # noqa: S105 - a throwaway account


@dataclass(frozen=True, slots=True)
class MailPlan:
    mails: int
    seconds: float  # of the verify load before the drain
    workdir: Path


@dataclass
class MailResult:
    store: str
    mails: int
    enqueue_seconds: float
    first_mail_seconds: float  # from the end of the queueing to the first mail at the sink
    drain_seconds: float  # from the end of the queueing to the last mail at the sink
    mails_per_second: float  # between the first and the last mail at the sink
    delivered: int  # mails the sink received, duplicates included
    distinct: int  # recipients that received at least one
    duplicates: int
    left_in_outbox: bool
    verify_rate_before: float
    verify_p50_before_ms: float
    verify_p99_before_ms: float
    verify_rate_during: float
    verify_p50_during_ms: float
    verify_p99_during_ms: float
    verify_runs_during: int
    errors: int  # verify socket errors and non-2xx answers

    @property
    def p99_ratio(self) -> float:
        before = self.verify_p99_before_ms
        return self.verify_p99_during_ms / before if before > 0 else 0.0


def _mail(n: int) -> NewMail:
    now = utc_now()
    return NewMail(
        kind="verify_email",
        recipient=f"bench-{n:06d}@example.org",
        subject="Confirm your e-mail address",
        text_body=f"Bench mail {n}: https://app.example.org/verify-email#token=bench{n}\n",
        html_body=None,
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )


async def _enqueue(url: str, mails: int) -> float:
    """Queue `mails` mails, a few transactions at a time; the seconds it took."""
    async with open_store(url) as store:
        started = time.monotonic()
        gate = asyncio.Semaphore(ENQUEUE_CONCURRENCY)

        async def one(n: int) -> None:
            async with gate:
                await store.enqueue_mail(_mail(n))

        await asyncio.gather(*(one(n) for n in range(mails)))
        return time.monotonic() - started


async def _outbox_empty(url: str) -> bool:
    async with open_store(url) as store:
        return await store.oldest_pending_mail() is None


async def _migrate(url: str) -> None:
    async with open_store(url, migrate=True):
        pass


def _access_tokens(server: ServerProcess, path: Path) -> Path:
    """A real account's access token (no e-mail address: it queues no mail)."""
    credentials = {"username": BENCH_USER, "password": BENCH_PASSWORD}
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        registered = client.post("/auth/register", json=credentials)
        login = client.post("/auth/login", json=credentials)
    if registered.status_code != 201 or login.status_code != 200:
        raise RuntimeError(f"the bench account could not sign in: {login.text[:200]}")
    path.write_text(login.json()["access_token"] + "\n", encoding="ascii")
    return path


def _verify_job(server: ServerProcess, tokens: Path) -> wrk.WrkJob:
    env = {
        "BENCH_PATH": "/auth/verify",
        "BENCH_TOKENS": str(tokens),
        "BENCH_PAUSE_MS": str(VERIFY_PAUSE_MS),
    }
    return wrk.WrkJob(
        "get.lua", server.base_url, VERIFY_THREADS, VERIFY_CONNECTIONS, CHUNK_SECONDS, env
    )


def measure(store: str, plan: MailPlan) -> MailResult:
    bench = BenchSettings(run_id=uuid.uuid4().hex[:6])
    dbs = Databases(plan.workdir)
    config = Config(store, 1)
    try:
        url = asyncio.run(dbs.create(store, "mail"))
        asyncio.run(_migrate(url))
        with running_sink() as (sink, port):
            env = bench.server_env(config, url)
            env.update(
                SMTP_URL=f"smtp://127.0.0.1:{port}",
                MAIL_FROM="authsvc bench <no-reply@example.org>",
                PUBLIC_URL="https://app.example.org",
                MAIL_POLL_INTERVAL_SECONDS=str(POLL_SECONDS),
            )
            server = start_server(
                f"mail-{store}", authsvc_command(1), env=env, cwd=plan.workdir, workers=1
            )
            try:
                result = _measure(store, url, server, sink, plan)
                server.check_alive()
            finally:
                server.stop()
            result.left_in_outbox = not asyncio.run(_outbox_empty(url))
            return result
    finally:
        asyncio.run(dbs.close())


def _verify_figures(**phases: Phase) -> dict[str, float]:
    figures = {}
    for name, phase in phases.items():
        figures[f"verify_rate_{name}"] = phase.rate
        figures[f"verify_p50_{name}_ms"] = phase.p50_ms
        figures[f"verify_p99_{name}_ms"] = phase.p99_ms
    return figures


def _measure(
    store: str, url: str, server: ServerProcess, sink: CountingSink, plan: MailPlan
) -> MailResult:
    job = _verify_job(server, _access_tokens(server, plan.workdir / f"mail-{store}-tokens.txt"))
    before, during = Phase(), Phase()
    for _ in range(max(1, round(plan.seconds / CHUNK_SECONDS))):
        before.runs.append(wrk.run(job))
    enqueue_seconds = asyncio.run(_enqueue(url, plan.mails))
    queued_at = time.monotonic()
    deadline = queued_at + DRAIN_TIMEOUT_SECONDS
    # At least one run, even when the sink has them all already.
    while True:
        during.runs.append(wrk.run(job))
        if sink.delivered >= plan.mails or time.monotonic() > deadline:
            break
    counts = sink.counts()
    first, last = sink.first_at or queued_at, sink.last_at or queued_at
    return MailResult(
        store=store,
        mails=plan.mails,
        enqueue_seconds=enqueue_seconds,
        first_mail_seconds=max(0.0, first - queued_at),
        drain_seconds=max(0.0, last - queued_at),
        mails_per_second=(len(counts) - 1) / (last - first) if last > first else 0.0,
        delivered=sum(counts.values()),
        distinct=len(counts),
        duplicates=sum(c - 1 for c in counts.values()),
        left_in_outbox=False,
        **_verify_figures(before=before, during=during),
        verify_runs_during=len(during.runs),
        errors=before.errors + during.errors,
    )


def run_all(stores: list[str], plan: MailPlan) -> list[MailResult]:
    results = []
    for store in stores:
        say(f"mail: draining {plan.mails:,} mails on {store}")
        results.append(measure(store, plan))
    return results
