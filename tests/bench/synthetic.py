"""A benchmark run built from chosen figures, for the report and verdict tests: every figure
of it meets issue 15's targets unless a test changes it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.configs import Config
from bench.records import CEILING, Measurement, Memory, Plan, Run, Seeding
from bench.scenarios import Load

SMALL, RSS_SIZE, LARGE = 1_000, 100_000, 1_000_000
ROUNDS = 3
CEILING_RATE = 1_000.0
CEILING_CPU_MS = 0.2
ARGON2_RATE = 80.0
EXPRESS_RATE = 100.0
# Per scenario: req/s on 1 worker, CPU and event-loop ms per request.
GOOD = {
    "verify": (950.0, 0.24, 0.24),
    "me": (750.0, 0.5, 0.5),
    "refresh": (300.0, 1.0, 0.8),
    "login": (76.0, 25.0, 0.5),
}


def measurement(scenario: str, config: Config, size: int, round_: int) -> Measurement:
    rate, cpu, loop = GOOD[scenario]
    if config.workers == 2:
        rate *= 1.8
    return Measurement(
        scenario=scenario, config=config.name, store=config.store, workers=config.workers,
        size=size, round=round_, rate=rate, ceiling_rate=CEILING_RATE, p50_ms=10.0,
        p90_ms=15.0, p99_ms=25.0, requests=int(rate * 3), socket_errors=0, non_2xx=0, errors=0,
        cpu_ms_per_request=cpu, loop_ms_per_request=loop,
        ceiling_cpu_ms_per_request=CEILING_CPU_MS, rss_mb=90.0, peak_rss_mb=95.0,
        counters={"rotated": int(rate * 3), "grace": 0} if scenario == "refresh" else {},
    )  # fmt: skip


def good_run() -> Run:
    configs = [Config(store, workers) for store in ("postgresql", "sqlite") for workers in (1, 2)]
    plan = Plan(
        configs=configs,
        sizes=[SMALL, RSS_SIZE, LARGE],
        scenarios=list(GOOD),
        rounds=ROUNDS,
        load=Load(3.0, 50, 2, 16),
        workdir=Path("/nonexistent"),
    )
    run = Run(plan)
    for size in plan.sizes:
        for round_ in range(ROUNDS):
            for workers in (1, 2):
                run.ceilings.append(
                    {"workers": workers, "size": size, "round": round_, "rate": CEILING_RATE,
                     "p50_ms": 5.0, "p99_ms": 12.0, "errors": 0,
                     "cpu_ms_per_request": CEILING_CPU_MS, "loop_ms_per_request": 0.2}
                )  # fmt: skip
            run.argon2.append({"size": size, "round": round_, "rate": ARGON2_RATE})
            if size == SMALL:
                run.express.append(
                    {"size": size, "round": round_, "rate": EXPRESS_RATE, "p50_ms": 40.0,
                     "p99_ms": 90.0, "errors": 0, "cpu_ms_per_request": 1.4,
                     "loop_ms_per_request": 1.4}
                )  # fmt: skip
            for scenario in GOOD:
                for config in plan.configs_at(size):
                    if size == SMALL or scenario != "me":
                        run.measurements.append(measurement(scenario, config, size, round_))
        for config in plan.configs_at(size):
            run.memory.append(
                Memory(size, config.name, config.workers, [60.0] * config.workers,
                       [90.0] * config.workers, [80.0] * config.workers, 95.0)
            )  # fmt: skip
        # The bare route's memory is reported, never judged: above the target on purpose.
        for workers in sorted({config.workers for config in plan.configs_at(size)}):
            run.memory.append(
                Memory(size, f"{CEILING}/{workers}w", workers, [50.0] * workers,
                       [120.0] * workers, [110.0] * workers, 130.0)
            )  # fmt: skip
        run.seeds += [Seeding(store, size, size / 20_000) for store in ("postgresql", "sqlite")]
    return run


def changed(
    run: Run, scenario: str, config: str, figures: dict[str, Any], *, size: int = SMALL
) -> Run:
    """`run` with every round of one scenario's measurement given other figures."""
    run.measurements = [
        replace(m, **figures) if (m.scenario, m.config, m.size) == (scenario, config, size) else m
        for m in run.measurements
    ]
    return run
