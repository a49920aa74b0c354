"""Issue 15's targets, each judged against one run: met, MISSED, or why it has no verdict.

Every ratio is of figures measured in the same run, and where both sides ran in every round,
the median of each round's ratio: the machine is shared, and two figures minutes apart may
have had different neighbours.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bench.records import CEILING, SETTLE_SECONDS, Measurement, Run
from bench.report import Summary, summarize

MET, MISSED = "met", "MISSED"
SEE_TESTS, REPORTED, NOT_MEASURED = "see tests", "reported", "not measured"
# The size whose memory the RSS target reads, when the run has it.
RSS_SIZE = 100_000
GROWTH = ("verify", "refresh", "login")
REVOCATION_TESTS = "tests/e2e/test_verify_cache.py, tests/e2e/test_replica_processes.py"


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    measured: str
    status: str  # MET, MISSED, SEE_TESTS, REPORTED or NOT_MEASURED


def judged(target: str, measured: str, met: bool) -> Verdict:
    return Verdict(target, measured, MET if met else MISSED)


def _median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


class _Figures:
    """The run's summaries and per-round measurements, looked up by what a target names."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.summaries = summarize(run)
        self.sizes = sorted({s.size for s in self.summaries})
        self.small = self.sizes[0] if self.sizes else 0
        self.stores = sorted({config.store for config in run.plan.configs})

    def summary(self, scenario: str, config: str, size: int | None = None) -> Summary | None:
        size = self.small if size is None else size
        for s in self.summaries:
            if (s.scenario, s.config, s.size) == (scenario, config, size):
                return s
        return None

    def rounds(self, scenario: str, config: str) -> dict[int, Measurement]:
        return {
            m.round: m
            for m in self.run.measurements
            if (m.scenario, m.config, m.size) == (scenario, config, self.small)
        }

    def per_round(
        self,
        scenario: str,
        config: str,
        others: dict[int, float],
        figure: Callable[[Measurement], float],
    ) -> float | None:
        """The median over rounds of figure(measurement) / others[round]."""
        mine = self.rounds(scenario, config)
        return _median(
            figure(mine[r]) / others[r]
            for r in sorted(mine.keys() & others.keys())
            if others[r] > 0
        )


def _verify_and_me(f: _Figures, store: str, connections: int) -> list[Verdict]:
    one = f"{store}/1w"
    verdicts = []
    name = f"`/auth/verify` {one}:"
    s = f.summary("verify", one)
    if s is None:
        for target in ("≥ 0.9 x the bare route", "CPU per request ≤ 1.3 x the bare route's",
                       f"p99 ≤ 3 x its own p50 at {connections} connections"):  # fmt: skip
            verdicts.append(Verdict(f"{name} {target}", "verify did not run", NOT_MEASURED))
    else:
        verdicts += [
            judged(f"{name} ≥ 0.9 x the bare route", f"{s.ratio:.2f} x ({s.rate:,.0f} req/s)",
                   s.ratio >= 0.9),
            judged(f"{name} CPU per request ≤ 1.3 x the bare route's",
                   f"{s.cpu_x_ceiling:.2f} x ({s.cpu_ms_per_request:.3f} ms/req)",
                   0 < s.cpu_x_ceiling <= 1.3),
            judged(f"{name} p99 ≤ 3 x its own p50 at {connections} connections",
                   f"{s.p99_ms / s.p50_ms:.1f} x (p50 {s.p50_ms:.1f} ms, p99 {s.p99_ms:.1f} ms)"
                   f"{_bare_tail(f)}",
                   s.p99_ms <= 3 * s.p50_ms),
        ]  # fmt: skip
    s = f.summary("me", one)
    target = f"`/auth/me` {one}: ≥ 0.7 x the bare route"
    verdicts.append(
        Verdict(target, "me did not run", NOT_MEASURED)
        if s is None
        else judged(target, f"{s.ratio:.2f} x ({s.rate:,.0f} req/s)", s.ratio >= 0.7)
    )
    return verdicts


def _refresh(f: _Figures) -> list[Verdict]:
    verdicts = []
    for store, floor in (("sqlite", 0.25), ("postgresql", 0.2)):
        target = f"`/auth/refresh` {store}/1w, every answer a rotation: ≥ {floor} x the bare route"
        s = f.summary("refresh", f"{store}/1w")
        if s is None:
            verdicts.append(Verdict(target, "refresh did not run", NOT_MEASURED))
            continue
        rotated, grace = s.counters.get("rotated", 0), s.counters.get("grace", 0)
        measured = f"{s.ratio:.2f} x ({s.rate:,.0f} req/s); {rotated:,} rotations of {s.requests:,}"
        all_rotations = rotated == s.requests and grace == 0 and s.errors == 0
        verdicts.append(judged(target, measured, s.ratio >= floor and all_rotations))
    target = "`/auth/refresh` sqlite/1w: ≥ 2 x the Express tutorial's `/refresh`, same rounds"
    express = {int(e["round"]): e["rate"] for e in f.run.express if e["size"] == f.small}
    ratio = f.per_round("refresh", "sqlite/1w", express, lambda m: m.rate)
    verdicts.append(
        Verdict(target, "the Express tutorial or refresh did not run", NOT_MEASURED)
        if ratio is None
        else judged(target, f"{ratio:.2f} x (Express {_median(express.values()):,.0f} req/s)",
                    ratio >= 2)
    )  # fmt: skip
    target = "`/auth/refresh` postgresql: 2 workers ≥ 1.7 x 1 worker (req/s)"
    one = {r: m.rate for r, m in f.rounds("refresh", "postgresql/1w").items()}
    ratio = f.per_round("refresh", "postgresql/2w", one, lambda m: m.rate)
    verdicts.append(
        Verdict(target, "postgresql/1w or /2w refresh did not run", NOT_MEASURED)
        if ratio is None
        else judged(target, f"{ratio:.2f} x{_busy(f.summary('refresh', 'postgresql/2w'))}",
                    ratio >= 1.7)
    )  # fmt: skip
    return verdicts


def _bare_tail(f: _Figures) -> str:
    """The bare route's own p99 over p50 in the same rounds: what the machine's scheduling
    does to any server's tail, beside what authsvc's does."""
    tails = [
        c["p99_ms"] / c["p50_ms"]
        for c in f.run.ceilings
        if c["workers"] == 1 and c["size"] == f.small and c.get("p50_ms", 0) > 0
    ]
    ratio = _median(tails)
    return "" if ratio is None else f"; the bare route {ratio:.1f} x in the same rounds"


def _busy(two: Summary | None) -> str:
    """How busy the whole machine was with two workers: near 100 %, no worker count does more."""
    if two is None or "machine_busy" not in two.extra:
        return ""
    return f"; the machine {two.extra['machine_busy'] * 100:.0f} % busy with 2 workers"


def _login(f: _Figures, store: str) -> list[Verdict]:
    one = f"{store}/1w"
    alone = {int(a["round"]): a["rate"] for a in f.run.argon2 if a["size"] == f.small}
    ratio = f.per_round("login", one, alone, lambda m: m.rate)
    s = f.summary("login", one)
    first = f"login {one}: ≥ 0.9 x argon2-cffi alone, same parameters and threads"
    second = f"login {one}: ≤ 1 ms of event-loop CPU per login"
    if s is None or ratio is None:
        return [Verdict(first, "login did not run", NOT_MEASURED),
                Verdict(second, "login did not run", NOT_MEASURED)]  # fmt: skip
    rate = judged(
        first, f"{ratio:.2f} x ({s.rate:,.1f} vs {_median(alone.values()):,.1f}/s)", ratio >= 0.9
    )
    if s.requests == 0:  # no CPU per login to speak of
        return [rate, Verdict(second, "no login answered", NOT_MEASURED)]
    loop = f"{s.loop_ms_per_request:.2f} ms (all threads {s.cpu_ms_per_request:.2f})"
    return [rate, judged(second, loop, s.loop_ms_per_request <= 1.0)]


def _memory(f: _Figures) -> list[Verdict]:
    # authsvc's servers, not the bare route's
    memory = [m for m in f.run.memory if not m.config.startswith(CEILING)]
    sizes = sorted({m.size for m in memory})
    if not sizes:
        return [
            Verdict("≤ 100 MiB RSS per worker after the 100,000-session run", "-", NOT_MEASURED),
            Verdict("startup RSS of each worker", "-", NOT_MEASURED),
        ]
    size = RSS_SIZE if RSS_SIZE in sizes else sizes[-1]
    at = [m for m in memory if m.size == size]
    # Judged on the settled figure, what a worker holds once a burst is over; the reading
    # right after the runs (argon2 buffers still held) is shown beside it.
    worst = max(at, key=lambda m: max(m.settled_rss_mb, default=0))
    settled = max(worst.settled_rss_mb, default=0)
    right_after = max(rss for m in at for rss in m.after_rss_mb or [0.0])
    started = [(rss, m) for m in memory for rss in m.startup_rss_mb]
    low, high = min(started, key=lambda p: p[0]), max(started, key=lambda p: p[0])
    return [
        judged(f"≤ 100 MiB RSS per worker after the {size:,}-session run",
               f"largest {settled:.0f} MiB ({worst.config}), {SETTLE_SECONDS:.0f} s after the "
               f"runs; right after them up to {right_after:.0f} MiB", settled <= 100),
        Verdict("startup RSS of each worker",
                f"{low[0]:.0f} MiB ({low[1].config}, {low[1].size:,}) to {high[0]:.0f} MiB "
                f"({high[1].config}, {high[1].size:,})", REPORTED),
    ]  # fmt: skip


def _growth(f: _Figures) -> list[Verdict]:
    if len(f.sizes) < 2:
        return [Verdict("no figure worse by more than 10 % from the smallest to the largest size",
                        "one size only", NOT_MEASURED)]  # fmt: skip
    small, large = f.sizes[0], f.sizes[-1]
    verdicts = []
    for scenario in GROWTH:
        for store in f.stores:
            one = f"{store}/1w"
            first, last = f.summary(scenario, one, small), f.summary(scenario, one, large)
            target = (f"{scenario} {one} from {small:,} to {large:,} sessions: x ceiling and CPU "
                      "ms/req each worse by ≤ 10 %")  # fmt: skip
            if first is None or last is None:
                verdicts.append(Verdict(target, "not run at both sizes", NOT_MEASURED))
                continue
            if not first.requests or not last.requests:
                verdicts.append(Verdict(target, "no request answered at one size", NOT_MEASURED))
                continue
            # Judged on the ratio to the same round's ceiling: the absolute rates of two sizes
            # are minutes apart on a machine whose load changes meanwhile.
            rate = last.ratio / first.ratio - 1
            cpu = last.cpu_ms_per_request / first.cpu_ms_per_request - 1
            measured = (
                f"x ceiling {first.ratio:.3f} → {last.ratio:.3f} ({rate:+.0%}); CPU "
                f"{first.cpu_ms_per_request:.2f} → {last.cpu_ms_per_request:.2f} ms ({cpu:+.0%})"
            )
            verdicts.append(judged(target, measured, rate >= -0.10 and cpu <= 0.10))
    return verdicts + _memory_growth(f, small, large)


def _memory_growth(f: _Figures, small: int, large: int) -> list[Verdict]:
    """Memory is a figure too: a worker's settled RSS, the largest of each store's 1-worker
    server, at the smallest and the largest size."""
    verdicts = []
    for store in f.stores:
        one = f"{store}/1w"
        target = f"memory {one} from {small:,} to {large:,} sessions: settled RSS worse by ≤ 10 %"
        found = {
            m.size: max(m.settled_rss_mb)
            for m in f.run.memory
            if m.config == one and m.size in (small, large) and m.settled_rss_mb
        }
        if len(found) < 2:
            verdicts.append(Verdict(target, "not measured at both sizes", NOT_MEASURED))
            continue
        first, last = found[small], found[large]
        growth = last / first - 1
        measured = f"{first:.0f} → {last:.0f} MiB ({growth:+.0%})"
        verdicts.append(judged(target, measured, growth <= 0.10))
    return verdicts


def check(run: Run) -> list[Verdict]:
    f = _Figures(run)
    verdicts: list[Verdict] = []
    for store in f.stores:
        verdicts += _verify_and_me(f, store, run.plan.load.connections)
    verdicts.append(Verdict("`/auth/verify`: revocation checked on every call",
                            REVOCATION_TESTS, SEE_TESTS))  # fmt: skip
    verdicts += _refresh(f)
    for store in f.stores:
        verdicts += _login(f, store)
    return verdicts + _memory(f) + _growth(f)


def table(verdicts: list[Verdict]) -> str:
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {v.target} | {v.measured} | {v.status} |" for v in verdicts]
    return "\n".join(lines) + "\n"
