"""One benchmark run: per size, seed, start every server, then rounds of every scenario.

Configurations take turns within each round (and the turn order rotates between rounds), so
a noisy neighbour slows them alike; each figure is later reported as the median over rounds
and as a ratio to the bare-route ceiling measured in the same round.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from authsvc.clock import utc_now
from bench import scenarios, seed
from bench.baseline import argon2_rate
from bench.configs import BenchSettings, Config, authsvc_command, ceiling_command, ceiling_env
from bench.databases import Databases
from bench.scenarios import Load, Target
from bench.servers import ServerProcess, start_server

WARM_UP_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Plan:
    configs: list[Config]
    sizes: list[int]
    scenarios: list[str]
    rounds: int
    load: Load
    workdir: Path


@dataclass
class Measurement:
    scenario: str
    config: str
    store: str
    workers: int
    size: int
    round: int
    rate: float
    ceiling_rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int  # of the measured load (verify's alone in the mixed run)
    socket_errors: int
    non_2xx: int
    errors: int  # every failed request the run saw, the login flood's included
    cpu_ms_per_request: float
    peak_rss_mb: float  # the largest VmHWM of any process of the server so far
    counters: dict[str, int] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Run:
    plan: Plan
    measurements: list[Measurement] = field(default_factory=list)
    ceilings: list[dict[str, float]] = field(default_factory=list)  # workers, size, round, rate
    argon2: list[dict[str, float]] = field(default_factory=list)  # size, round, rate


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _rotated(configs: list[Config], turn: int) -> list[Config]:
    turn %= len(configs)
    return configs[turn:] + configs[:turn]


@contextmanager
def _servers(
    plan: Plan, size: int, population: seed.Population, bench: BenchSettings, dbs: Databases
) -> Iterator[tuple[dict[Config, Target], dict[int, ServerProcess]]]:
    """Every configuration's server on its own copy of the seeded store, plus the ceilings."""
    stores = sorted({config.store for config in plan.configs})
    templates: dict[str, str] = {}
    for store in stores:
        started = time.monotonic()
        url = asyncio.run(dbs.create(store, f"seed{size}"))
        settings = bench.settings(Config(store, 1), url)
        hashed = asyncio.run(seed.password_hash(settings))
        asyncio.run(seed.load(url, population, hashed=hashed, now=utc_now()))
        templates[store] = url
        say(f"seeded {size} users and sessions on {store} in {time.monotonic() - started:.1f} s")
    with ExitStack() as stack:
        targets: dict[Config, Target] = {}
        for config in plan.configs:
            name = f"{config.store}{config.workers}w{size}"
            url = asyncio.run(dbs.copy(config.store, templates[config.store], name))
            server = start_server(
                f"{config.name}-{size}",
                authsvc_command(config.workers),
                env=bench.server_env(config, url),
                cwd=plan.workdir,
                workers=config.workers,
            )
            stack.callback(server.stop)
            targets[config] = Target(
                config, server, bench.settings(config, url), population, plan.workdir
            )
        ceilings: dict[int, ServerProcess] = {}
        for workers in sorted({config.workers for config in plan.configs}):
            server = start_server(
                f"ceiling-{workers}w-{size}",
                ceiling_command(workers),
                env=ceiling_env(),
                cwd=plan.workdir,
                workers=workers,
            )
            stack.callback(server.stop)
            ceilings[workers] = server
        for url in templates.values():
            stack.callback(_drop, dbs, url)
        yield targets, ceilings


def _drop(dbs: Databases, url: str) -> None:
    asyncio.run(dbs.drop(url))


def _warm_up(targets: dict[Config, Target], ceilings: dict[int, ServerProcess], load: Load) -> None:
    short = Load(WARM_UP_SECONDS, load.connections, load.threads, load.flood_connections)
    for target in targets.values():
        scenarios.verify(target, short)
    for server in ceilings.values():
        scenarios.ceiling(server, short)


def run(plan: Plan) -> Run:
    bench = BenchSettings(run_id=os.urandom(3).hex())
    dbs = Databases(plan.workdir)
    outcome = Run(plan)
    try:
        for size in plan.sizes:
            population = seed.make_population(size, random.Random(size))  # noqa: S311
            names = [
                name
                for name in plan.scenarios
                if size == min(plan.sizes) or name in scenarios.GROWTH
            ]
            with _servers(plan, size, population, bench, dbs) as (targets, ceilings):
                _warm_up(targets, ceilings, plan.load)
                for round_ in range(plan.rounds):
                    _round(plan, outcome, size, round_, names, targets, ceilings)
    finally:
        asyncio.run(dbs.close())
    return outcome


def _round(
    plan: Plan,
    outcome: Run,
    size: int,
    round_: int,
    names: list[str],
    targets: dict[Config, Target],
    ceilings: dict[int, ServerProcess],
) -> None:
    load = plan.load
    ceiling_rates: dict[int, float] = {}
    for workers, server in ceilings.items():
        measured = scenarios.ceiling(server, load)
        result = measured.result
        ceiling_rates[workers] = result.rate
        outcome.ceilings.append(
            {"workers": workers, "size": size, "round": round_, "rate": result.rate,
             "p99_ms": result.p99_ms, "errors": result.errors,
             "cpu_ms_per_request": 1000 * measured.cpu_seconds / max(1, measured.requests)}
        )  # fmt: skip
        say(f"[{size} r{round_}] ceiling {workers}w: {result.rate:,.0f} req/s")
    if "login" in names:
        any_target = next(iter(targets.values()))
        rate = argon2_rate(any_target.settings, threads=os.cpu_count() or 1, seconds=load.seconds)
        outcome.argon2.append({"size": size, "round": round_, "rate": rate})
        say(f"[{size} r{round_}] argon2-cffi alone: {rate:,.1f} verifications/s")
    idle_p99: dict[Config, float] = {}
    for name in names:
        for config in _rotated(list(targets), round_):
            target = targets[config]
            measured = scenarios.SCENARIOS[name](target, load)
            extra = dict(measured.extra)
            if name == "verify":
                idle_p99[config] = measured.result.p99_ms
            if name == "mixed":
                if config not in idle_p99:
                    idle_p99[config] = scenarios.verify(target, load).result.p99_ms
                extra["idle_p99_ms"] = idle_p99[config]
            wrk_result = measured.result
            measurement = Measurement(
                scenario=name,
                config=config.name,
                store=config.store,
                workers=config.workers,
                size=size,
                round=round_,
                rate=wrk_result.rate,
                ceiling_rate=ceiling_rates[config.workers],
                p50_ms=wrk_result.p50_ms,
                p90_ms=wrk_result.p90_ms,
                p99_ms=wrk_result.p99_ms,
                requests=wrk_result.requests,
                socket_errors=wrk_result.socket_errors,
                non_2xx=wrk_result.non_2xx,
                errors=measured.errors,
                cpu_ms_per_request=1000 * measured.cpu_seconds / max(1, measured.requests),
                peak_rss_mb=target.server.peak_rss_bytes() / 2**20,
                counters=wrk_result.counters,
                extra=extra,
            )
            outcome.measurements.append(measurement)
            say(
                f"[{size} r{round_}] {name:<7} {config.name:<14} {wrk_result.rate:>9,.0f} req/s"
                f"  p99 {wrk_result.p99_ms:7.1f} ms  errors {measured.errors}"
            )
