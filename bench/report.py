"""Tables of a run: medians over rounds, ratios to the same round's ceiling, worst errors."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bench.records import Measurement, Run

TITLES = {
    "verify": "GET /auth/verify (valid Bearer token)",
    "me": "GET /auth/me (valid Bearer token)",
    "refresh": "POST /auth/refresh (every connection follows its own session's rotations)",
    "login": "POST /auth/login (argon2id)",
    "mixed": "GET /auth/verify during a login flood",
}


@dataclass(frozen=True, slots=True)
class Summary:
    """One scenario on one configuration at one size, over every round."""

    scenario: str
    config: str
    store: str
    workers: int
    size: int
    rounds: int
    rate: float
    ratio: float  # to the bare-route ceiling of the same round (median of the rounds' ratios)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: int
    non_2xx: int
    cpu_ms_per_request: float
    loop_ms_per_request: float  # the workers' event-loop threads alone
    cpu_x_ceiling: float  # CPU per request over the same round's ceiling's (median)
    rss_mb: float  # the largest VmRSS of a worker right after a run
    peak_rss_mb: float
    counters: dict[str, int]
    extra: dict[str, float]


def _median(values: Iterable[float]) -> float:
    found = list(values)
    return statistics.median(found) if found else 0.0


def summarize(run: Run) -> list[Summary]:
    groups: dict[tuple[str, str, int], list[Measurement]] = {}
    for m in run.measurements:
        groups.setdefault((m.scenario, m.config, m.size), []).append(m)
    summaries = []
    for (scenario, config, size), ms in groups.items():
        counter_names = sorted({name for m in ms for name in m.counters})
        extra_names = sorted({name for m in ms for name in m.extra})
        summaries.append(
            Summary(
                scenario=scenario,
                config=config,
                store=ms[0].store,
                workers=ms[0].workers,
                size=size,
                rounds=len(ms),
                rate=_median(m.rate for m in ms),
                ratio=_median(m.rate / m.ceiling_rate for m in ms if m.ceiling_rate > 0),
                p50_ms=_median(m.p50_ms for m in ms),
                p90_ms=_median(m.p90_ms for m in ms),
                p99_ms=_median(m.p99_ms for m in ms),
                requests=sum(m.requests for m in ms),
                errors=sum(m.errors for m in ms),
                non_2xx=sum(m.non_2xx for m in ms),
                cpu_ms_per_request=_median(m.cpu_ms_per_request for m in ms),
                loop_ms_per_request=_median(m.loop_ms_per_request for m in ms),
                cpu_x_ceiling=_median(
                    m.cpu_ms_per_request / m.ceiling_cpu_ms_per_request
                    for m in ms
                    if m.ceiling_cpu_ms_per_request > 0
                ),
                rss_mb=max(m.rss_mb for m in ms),
                peak_rss_mb=max(m.peak_rss_mb for m in ms),
                counters={n: sum(m.counters.get(n, 0) for m in ms) for n in counter_names},
                extra={n: _median(m.extra[n] for m in ms if n in m.extra) for n in extra_names},
            )
        )
    order = {name: i for i, name in enumerate(TITLES)}
    summaries.sort(key=lambda s: (order.get(s.scenario, 99), s.size, s.store, s.workers))
    return summaries


def argon2_rate(run: Run, size: int) -> float | None:
    rates = [entry["rate"] for entry in run.argon2 if entry["size"] == size]
    return _median(rates) if rates else None


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return [line(header), rule, *(line(row) for row in rows)]


Column = tuple[str, Callable[[Summary], str]]

COMMON: list[Column] = [
    ("size", lambda s: f"{s.size:,}"),
    ("config", lambda s: s.config),
    ("req/s", lambda s: f"{s.rate:,.0f}"),
    ("x ceiling", lambda s: f"{s.ratio:.2f}"),
    ("p50 ms", lambda s: f"{s.p50_ms:.1f}"),
    ("p90 ms", lambda s: f"{s.p90_ms:.1f}"),
    ("p99 ms", lambda s: f"{s.p99_ms:.1f}"),
    ("errors", lambda s: str(s.errors)),
    ("non-2xx", lambda s: str(s.non_2xx)),
    ("CPU ms/req", lambda s: f"{s.cpu_ms_per_request:.2f}"),
    ("CPU x ceiling", lambda s: f"{s.cpu_x_ceiling:.2f}"),
    ("loop ms/req", lambda s: f"{s.loop_ms_per_request:.2f}"),
    ("RSS MiB", lambda s: f"{s.rss_mb:.0f}"),
    ("peak RSS MiB", lambda s: f"{s.peak_rss_mb:.0f}"),
]


def _extra_columns(scenario: str, run: Run) -> list[Column]:
    if scenario == "refresh":
        return [
            ("rotations", lambda s: f"{s.counters.get('rotated', 0):,}"),
            ("grace replays", lambda s: str(s.counters.get("grace", 0))),
            # With PostgreSQL on the same cores, how much room a second worker had.
            ("machine busy %", lambda s: f"{s.extra.get('machine_busy', 0) * 100:.0f}"),
        ]
    if scenario == "login":

        def ratio(s: Summary) -> str:
            rate = argon2_rate(run, s.size)
            return f"{s.rate / rate:.2f}" if rate else "-"

        return [("x argon2 alone", ratio)]
    if scenario == "mixed":
        return [
            ("idle p99 ms", lambda s: f"{s.extra.get('idle_p99_ms', 0):.1f}"),
            ("p99 x idle", lambda s: f"{s.p99_ms / s.extra['idle_p99_ms']:.2f}"
             if s.extra.get("idle_p99_ms") else "-"),
            ("login flood req/s", lambda s: f"{s.extra.get('flood_rate', 0):,.0f}"),
        ]  # fmt: skip
    return []


def _ceilings(run: Run) -> list[str]:
    rows = []
    for workers in sorted({int(c["workers"]) for c in run.ceilings}):
        for size in sorted({int(c["size"]) for c in run.ceilings}):
            entries = [c for c in run.ceilings if c["workers"] == workers and c["size"] == size]
            if not entries:
                continue

            def median(name: str, entries: list[dict[str, float]] = entries) -> float:
                return _median(c.get(name, 0.0) for c in entries)

            rows.append(
                [f"{size:,}", f"{workers}w", f"{median('rate'):,.0f}", f"{median('p50_ms'):.1f}",
                 f"{median('p99_ms'):.1f}", f"{median('cpu_ms_per_request'):.2f}",
                 f"{median('loop_ms_per_request'):.2f}",
                 str(int(sum(c["errors"] for c in entries)))]
            )  # fmt: skip
    header = ["during size", "workers", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "loop ms/req"]
    return _table([*header, "errors"], rows)


def tables(run: Run) -> str:
    summaries = summarize(run)
    load = run.plan.load
    out = [
        f"{run.plan.rounds} round(s) of {load.seconds:g} s per run, {load.connections} "
        f"connections, {load.describe()} (refresh: a thread per connection); "
        "medians over rounds, x ceiling = ratio to the bare FastAPI route in the same round.",
        "",
        "### Ceiling: bare FastAPI route, same uvicorn options",
        "",
    ]
    out += _ceilings(run)
    if run.argon2:
        out += ["", "### argon2-cffi alone, same parameters, one thread per core", ""]
        sizes = sorted({int(a["size"]) for a in run.argon2})
        out += _table(
            ["during size", "verifications/s"],
            [[f"{size:,}", f"{argon2_rate(run, size) or 0:,.1f}"] for size in sizes],
        )
    for scenario, title in TITLES.items():
        chosen = [s for s in summaries if s.scenario == scenario]
        if not chosen:
            continue
        columns = COMMON + _extra_columns(scenario, run)
        out += ["", f"### {title}", ""]
        out += _table([name for name, _ in columns], [[f(s) for _, f in columns] for s in chosen])
    return "\n".join(out) + "\n"
