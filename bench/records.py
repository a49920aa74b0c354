"""What one benchmark run is asked to do (`Plan`) and everything it measured (`Run`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from authsvc.settings import Settings
from bench.configs import Config
from bench.scenarios import Load

# Sizes above this run the 1-worker configurations only: seeding and loading a million
# sessions on every configuration would double the full run for figures the growth targets
# (1 worker) do not read.
ALL_CONFIGS_UP_TO = 100_000
# The configuration name of the bare route's rows in `Run.memory`.
CEILING = "bare route"
# How long after the last run of a size each worker's memory is read again: the servers run
# with the default HASH_IDLE_TRIM_SECONDS, after which each hashing thread gives its argon2
# buffer back, plus time for that release to run.
SETTLE_SECONDS = float(Settings.model_fields["hash_idle_trim_seconds"].default) + 3.0


@dataclass(frozen=True, slots=True)
class Plan:
    configs: list[Config]
    sizes: list[int]
    scenarios: list[str]
    rounds: int
    load: Load
    workdir: Path
    # node and the installed Express tutorial, whose stateless /refresh is measured in every
    # round of the smallest size; None leaves it out.
    express: tuple[str, Path] | None = None

    def configs_at(self, size: int) -> list[Config]:
        if size <= ALL_CONFIGS_UP_TO:
            return self.configs
        return [config for config in self.configs if config.workers == 1]


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
    loop_ms_per_request: float  # CPU of the workers' event-loop threads alone
    ceiling_cpu_ms_per_request: float  # the bare route's, same worker count and round
    rss_mb: float  # the largest VmRSS of a worker right after the run
    peak_rss_mb: float  # the largest VmHWM of any process of the server so far
    counters: dict[str, int] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Seeding:
    store: str
    size: int
    seconds: float  # migrations, users and sessions, the SQLite checkpoint or ANALYZE


@dataclass(frozen=True, slots=True)
class Memory:
    """One server's workers at one size, each list in the order of their process ids."""

    size: int
    config: str
    workers: int
    startup_rss_mb: list[float]  # VmRSS right after the server was ready
    after_rss_mb: list[float]  # VmRSS right after every run of this size
    # VmRSS `SETTLE_SECONDS` later, once the hashing threads' idle release has run: what a
    # worker holds between bursts, and what issue 15's target is judged on
    settled_rss_mb: list[float]
    peak_rss_mb: float  # the largest VmHWM of any process of the server


@dataclass
class Run:
    plan: Plan
    measurements: list[Measurement] = field(default_factory=list)
    # workers, size, round, rate, p50_ms, p99_ms, errors, cpu_ms_per_request, loop_ms_per_request
    ceilings: list[dict[str, float]] = field(default_factory=list)
    argon2: list[dict[str, float]] = field(default_factory=list)  # size, round, rate
    # The Express tutorial's /refresh: size, round, rate, p50_ms, p99_ms, errors, cpu_ms_…
    express: list[dict[str, float]] = field(default_factory=list)
    seeds: list[Seeding] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)
