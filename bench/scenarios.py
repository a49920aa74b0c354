"""The scenarios: what load each one puts on a running server, and what it reads back.

A scenario writes its inputs (tokens, cookies, user names) to files the lua scripts read,
runs wrk, and takes the server's CPU time around the run.
"""

from __future__ import annotations

import argparse
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from authsvc.clock import utc_now
from authsvc.settings import Settings
from authsvc.tokens import TokenService
from bench import wrk
from bench.configs import Config
from bench.seed import PASSWORD, Population
from bench.servers import CpuTimes, ServerProcess, machine_busy, machine_now

# Access tokens the verify and /auth/me runs cycle through, and users the logins cycle through.
TOKEN_SAMPLE = 256
LOGIN_SAMPLE = 1_000


@dataclass(frozen=True, slots=True)
class Load:
    seconds: float
    connections: int
    threads: int  # wrk threads, except for refresh (one per connection)
    flood_connections: int  # of the login flood in the mixed scenario
    wrk_cpus: tuple[int, ...] = ()  # wrk is pinned to these; empty: not pinned

    @classmethod
    def of(cls, args: argparse.Namespace) -> Load:
        """The load the command line asks for: by default wrk pinned to a core of its own, with
        one thread per core it runs on."""
        cpus = wrk.spare_cpus(pin=args.pin_wrk)
        threads = args.threads or len(cpus) or os.cpu_count() or 1
        seconds = args.duration or (1.0 if args.smoke else 3.0)
        return cls(seconds, args.connections, threads, args.flood_connections, cpus)

    def lasting(self, seconds: float) -> Load:
        return replace(self, seconds=seconds)

    def job(
        self,
        script: str,
        url: str,
        env: dict[str, str],
        *,
        threads: int | None = None,
        connections: int | None = None,
    ) -> wrk.WrkJob:
        """A wrk run of `script` at `url` under this load; `threads` and `connections` default
        to the load's."""
        return wrk.WrkJob(
            script=script,
            url=url,
            threads=threads or self.threads,
            connections=connections or self.connections,
            seconds=self.seconds,
            env=env,
            cpus=self.wrk_cpus,
        )

    def describe(self) -> str:
        """How wrk ran, for the tables' heading."""
        where = (
            f", pinned to CPU {','.join(map(str, self.wrk_cpus))} (taskset)"
            if self.wrk_cpus
            else ", not pinned"
        )
        return f"wrk with {self.threads} thread(s){where}"


@dataclass
class Target:
    """One running server under test, with what it was seeded with."""

    config: Config
    server: ServerProcess
    settings: Settings
    population: Population
    workdir: Path
    tokens: TokenService = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = TokenService(self.settings)

    def write(self, name: str, lines: list[str]) -> Path:
        path = self.workdir / f"{self.config.store}-{self.config.workers}-{name}.txt"
        path.write_text("".join(line + "\n" for line in lines), encoding="ascii")
        return path


@dataclass(frozen=True, slots=True)
class Outcome:
    result: wrk.WrkResult
    cpu: CpuTimes  # the server's, over the run
    requests: int  # every request the server answered, the flood's included
    errors: int  # likewise
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu.total / max(1, self.requests)

    @property
    def loop_ms_per_request(self) -> float:
        return 1000 * self.cpu.loop / max(1, self.requests)


def _access_tokens(target: Target) -> Path:
    now = utc_now()
    tokens = [
        target.tokens.issue_access(
            user_id=account.user_id,
            username=account.username,
            session_id=account.session_id,
            now=now,
            expires_at=now + timedelta(seconds=target.settings.access_token_ttl_seconds),
        ).token
        for account in target.population.tail(TOKEN_SAMPLE)
    ]
    return target.write("tokens", tokens)


def _login_users(target: Target) -> Path:
    accounts = target.population.live + target.population.revoked
    sample = random.Random(len(accounts)).sample(accounts, min(LOGIN_SAMPLE, len(accounts)))  # noqa: S311
    return target.write("users", [account.username for account in sample])


def _measure(
    server: ServerProcess, jobs: list[wrk.WrkJob]
) -> tuple[list[wrk.WrkResult], CpuTimes, float]:
    """Run the jobs at the same time; their results, the server's CPU time meanwhile, and the
    share of the whole machine's CPU that was busy (server, database, wrk and all else)."""
    before, machine = server.cpu_times(), machine_now()
    processes = [wrk.start(job) for job in jobs]
    results = [wrk.finish(process, job) for process, job in zip(processes, jobs, strict=True)]
    cpu, busy = server.cpu_times() - before, machine_busy(machine, machine_now())
    server.check_alive()
    return results, cpu, busy


def load_server(server: ServerProcess, job: wrk.WrkJob, **extra: float) -> Outcome:
    """One wrk job against `server`, and the server's CPU time meanwhile."""
    (result,), cpu, busy = _measure(server, [job])
    return Outcome(result, cpu, result.requests, result.errors, {"machine_busy": busy, **extra})


def _get(target: Target, load: Load, path: str) -> wrk.WrkJob:
    env = {"BENCH_PATH": path, "BENCH_TOKENS": str(_access_tokens(target))}
    return load.job("get.lua", target.server.base_url, env)


def _login(target: Target, connections: int, load: Load) -> wrk.WrkJob:
    env = {"BENCH_USERS": str(_login_users(target)), "BENCH_PASSWORD": PASSWORD}
    return load.job(
        "login.lua",
        target.server.base_url,
        env,
        threads=min(load.threads, connections),
        connections=connections,
    )


def verify(target: Target, load: Load) -> Outcome:
    return load_server(target.server, _get(target, load, "/auth/verify"))


def me(target: Target, load: Load) -> Outcome:
    return load_server(target.server, _get(target, load, "/auth/me"))


def refresh(target: Target, load: Load) -> Outcome:
    """Each connection rotates its own session, always presenting its newest cookie."""
    now = utc_now()
    owned = target.population.take_fresh(load.connections, keep=TOKEN_SAMPLE)
    cookies = [
        target.tokens.issue_refresh(
            user_id=account.user_id,
            session_id=account.session_id,
            now=now,
            expires_at=now + timedelta(hours=1),
            jti=account.jti,
        ).token
        for account in owned
    ]
    env = {
        "BENCH_COOKIES": str(target.write("cookies", cookies)),
        "BENCH_COOKIE_NAME": target.settings.cookie_name,
    }
    # wrk keeps lua state per thread, so a thread per connection gives each its own cookie.
    job = load.job("refresh.lua", target.server.base_url, env, threads=load.connections)
    return load_server(target.server, job)


def login(target: Target, load: Load) -> Outcome:
    return load_server(target.server, _login(target, load.connections, load))


def mixed(target: Target, load: Load) -> Outcome:
    """/auth/verify while a login flood keeps every hashing thread busy."""
    flood = _login(target, load.flood_connections, load)
    jobs = [_get(target, load, "/auth/verify"), flood]
    (checked, flooded), cpu, busy = _measure(target.server, jobs)
    return Outcome(
        checked,
        cpu,
        checked.requests + flooded.requests,
        checked.errors + flooded.errors,
        {"machine_busy": busy, "flood_rate": flooded.rate, "flood_errors": flooded.errors},
    )


def ceiling(server: ServerProcess, load: Load) -> Outcome:
    """The bare route under `load`, with its server's CPU time, as authsvc's is taken."""
    return load_server(server, load.job("get.lua", server.base_url, {"BENCH_PATH": "/"}))


Scenario = Callable[[Target, Load], Outcome]

SCENARIOS: dict[str, Scenario] = {
    "verify": verify,
    "me": me,
    "refresh": refresh,
    "login": login,
    "mixed": mixed,
}
# Run at every --sizes entry; the others only at the smallest.
GROWTH = ("verify", "refresh", "login")
