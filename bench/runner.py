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
from dataclasses import dataclass

from authsvc.clock import utc_now
from bench import scenarios, seed
from bench.baseline import argon2_rate
from bench.configs import BenchSettings, Config, authsvc_command, ceiling_command, ceiling_env
from bench.databases import Databases
from bench.peers.express import Express, start_express
from bench.peers.express import refresh as express_refresh
from bench.records import CEILING, SETTLE_SECONDS, Measurement, Memory, Plan, Run, Seeding
from bench.scenarios import Load, Outcome, Target
from bench.servers import ServerProcess, start_server

__all__ = ["Measurement", "Plan", "Run", "run", "say"]

WARM_UP_SECONDS = 1.0
MB = 2**20


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _rotated(configs: list[Config], turn: int) -> list[Config]:
    turn %= len(configs)
    return configs[turn:] + configs[:turn]


@dataclass
class _Servers:
    """What one size runs against."""

    targets: dict[Config, Target]
    ceilings: dict[int, ServerProcess]
    startup_rss: dict[str, list[int]]  # by server name: each worker's VmRSS once it was ready
    express: Express | None  # at the smallest size only


def _seed(plan: Plan, size: int, population: seed.Population, bench: BenchSettings,
          dbs: Databases, outcome: Run) -> dict[str, str]:  # fmt: skip
    """A seeded template database per store; their URLs."""
    templates: dict[str, str] = {}
    for store in sorted({config.store for config in plan.configs_at(size)}):
        started = time.monotonic()
        url = asyncio.run(dbs.create(store, f"seed{size}"))
        settings = bench.settings(Config(store, 1), url)
        hashed = asyncio.run(seed.password_hash(settings))
        asyncio.run(seed.load(url, population, hashed=hashed, now=utc_now()))
        templates[store] = url
        seconds = time.monotonic() - started
        outcome.seeds.append(Seeding(store, size, seconds))
        say(f"seeded {size} users and sessions on {store} in {seconds:.1f} s")
    return templates


@contextmanager
def _servers(
    plan: Plan,
    size: int,
    population: seed.Population,
    bench: BenchSettings,
    dbs: Databases,
    outcome: Run,
) -> Iterator[_Servers]:
    """Every configuration's server on its own copy of the seeded store, plus the ceilings."""
    templates = _seed(plan, size, population, bench, dbs, outcome)
    with ExitStack() as stack:
        for url in templates.values():
            stack.callback(_drop, dbs, url)
        servers = _Servers({}, {}, {}, None)
        for config in plan.configs_at(size):
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
            servers.startup_rss[server.name] = server.settled_rss_bytes()
            servers.targets[config] = Target(
                config, server, bench.settings(config, url), population, plan.workdir
            )
        for workers in sorted({config.workers for config in servers.targets}):
            server = start_server(
                f"ceiling-{workers}w-{size}",
                ceiling_command(workers),
                env=ceiling_env(),
                cwd=plan.workdir,
                workers=workers,
            )
            stack.callback(server.stop)
            servers.startup_rss[server.name] = server.settled_rss_bytes()
            servers.ceilings[workers] = server
        if plan.express is not None and size == min(plan.sizes) and "refresh" in plan.scenarios:
            servers.express = start_express(*plan.express, plan.workdir, stack)
        yield servers


def _drop(dbs: Databases, url: str) -> None:
    asyncio.run(dbs.drop(url))


def _warm_up(servers: _Servers, load: Load) -> None:
    short = load.lasting(WARM_UP_SECONDS)
    for target in servers.targets.values():
        scenarios.verify(target, short)
    for server in servers.ceilings.values():
        scenarios.ceiling(server, short)
    if servers.express is not None:
        express_refresh(servers.express, short)


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
            with _servers(plan, size, population, bench, dbs, outcome) as servers:
                _warm_up(servers, plan.load)
                for round_ in range(plan.rounds):
                    _round(plan, outcome, size, round_, names, servers)
                _memory(outcome, size, servers)
    finally:
        asyncio.run(dbs.close())
    return outcome


def _memory(outcome: Run, size: int, servers: _Servers) -> None:
    """Each worker's resident memory at start, right after every run of this size, and again
    once it has settled; the bare route's too, for what the framework alone takes."""
    measured = [(c.name, c.workers, target.server) for c, target in servers.targets.items()]
    measured += [(f"{CEILING}/{w}w", w, server) for w, server in servers.ceilings.items()]
    after = {server.name: server.worker_rss_bytes() for _, _, server in measured}
    time.sleep(SETTLE_SECONDS)
    for name, workers, server in measured:
        outcome.memory.append(
            Memory(
                size=size,
                config=name,
                workers=workers,
                startup_rss_mb=[rss / MB for rss in servers.startup_rss[server.name]],
                after_rss_mb=[rss / MB for rss in after[server.name]],
                settled_rss_mb=[rss / MB for rss in server.worker_rss_bytes()],
                peak_rss_mb=server.peak_rss_bytes() / MB,
            )
        )


def _figures(measured: Outcome) -> dict[str, float]:
    result = measured.result
    return {
        "rate": result.rate,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "errors": measured.errors,
        "cpu_ms_per_request": measured.cpu_ms_per_request,
        "loop_ms_per_request": measured.loop_ms_per_request,
    }


def _round(
    plan: Plan, outcome: Run, size: int, round_: int, names: list[str], servers: _Servers
) -> None:
    load = plan.load
    ceilings: dict[int, dict[str, float]] = {}
    for workers, server in servers.ceilings.items():
        ceilings[workers] = _figures(scenarios.ceiling(server, load))
        outcome.ceilings.append({"workers": workers, "size": size, "round": round_,
                                 **ceilings[workers]})  # fmt: skip
        say(f"[{size} r{round_}] ceiling {workers}w: {ceilings[workers]['rate']:,.0f} req/s")
    if "login" in names:
        any_target = next(iter(servers.targets.values()))
        rate = argon2_rate(any_target.settings, threads=os.cpu_count() or 1, seconds=load.seconds)
        outcome.argon2.append({"size": size, "round": round_, "rate": rate})
        say(f"[{size} r{round_}] argon2-cffi alone: {rate:,.1f} verifications/s")
    if servers.express is not None:
        figures = _figures(express_refresh(servers.express, load))
        outcome.express.append({"size": size, "round": round_, **figures})
        say(f"[{size} r{round_}] Express tutorial /refresh: {figures['rate']:,.0f} req/s")
    idle_p99: dict[Config, float] = {}
    for name in names:
        for config in _rotated(list(servers.targets), round_):
            target = servers.targets[config]
            measured = scenarios.SCENARIOS[name](target, load)
            extra = dict(measured.extra)
            if name == "verify":
                idle_p99[config] = measured.result.p99_ms
            if name == "mixed":
                if config not in idle_p99:
                    idle_p99[config] = scenarios.verify(target, load).result.p99_ms
                extra["idle_p99_ms"] = idle_p99[config]
            ceiling = ceilings[config.workers]
            outcome.measurements.append(
                _measurement(name, target, size, round_, measured, ceiling, extra)
            )
            say(
                f"[{size} r{round_}] {name:<7} {config.name:<14} {measured.result.rate:>9,.0f} "
                f"req/s  p99 {measured.result.p99_ms:7.1f} ms  errors {measured.errors}"
            )


def _measurement(
    name: str,
    target: Target,
    size: int,
    round_: int,
    measured: Outcome,
    ceiling: dict[str, float],
    extra: dict[str, float],
) -> Measurement:
    result, config = measured.result, target.config
    return Measurement(
        scenario=name,
        config=config.name,
        store=config.store,
        workers=config.workers,
        size=size,
        round=round_,
        rate=result.rate,
        ceiling_rate=ceiling["rate"],
        p50_ms=result.p50_ms,
        p90_ms=result.p90_ms,
        p99_ms=result.p99_ms,
        requests=result.requests,
        socket_errors=result.socket_errors,
        non_2xx=result.non_2xx,
        errors=measured.errors,
        cpu_ms_per_request=measured.cpu_ms_per_request,
        loop_ms_per_request=measured.loop_ms_per_request,
        ceiling_cpu_ms_per_request=ceiling["cpu_ms_per_request"],
        rss_mb=max(target.server.worker_rss_bytes(), default=0) / MB,
        peak_rss_mb=target.server.peak_rss_bytes() / MB,
        counters=result.counters,
        extra=extra,
    )
