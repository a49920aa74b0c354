"""The tables beside the scenarios': the Express tutorial's /refresh measured in the same
rounds, how long seeding took, and each worker's memory at start and after the runs."""

from __future__ import annotations

from bench.records import SETTLE_SECONDS, Run
from bench.report import _median, _table


def _mib(values: list[float]) -> str:
    return ", ".join(f"{value:.0f}" for value in values) or "-"


def express(run: Run) -> list[str]:
    if not run.express:
        return []
    ceilings = {(c["size"], c["round"]): c["rate"] for c in run.ceilings if c["workers"] == 1}
    ratios = [
        e["rate"] / ceilings[e["size"], e["round"]]
        for e in run.express
        if ceilings.get((e["size"], e["round"]), 0) > 0
    ]

    def median(name: str) -> float:
        return _median(e[name] for e in run.express)

    row = [
        f"{median('rate'):,.0f}", f"{_median(ratios):.2f}" if ratios else "-",
        f"{median('p50_ms'):.1f}", f"{median('p99_ms'):.1f}",
        f"{median('cpu_ms_per_request'):.2f}", f"{median('loop_ms_per_request'):.2f}",
        str(int(sum(e["errors"] for e in run.express))),
    ]  # fmt: skip
    header = ["req/s", "x ceiling", "p50 ms", "p99 ms", "CPU ms/req", "loop ms/req", "errors"]
    title = "### The Express tutorial's POST /refresh (stateless, no rotation), same rounds"
    return ["", title, "", *_table(header, [row])]


def seeding(run: Run) -> list[str]:
    if not run.seeds:
        return []
    rows = [
        [f"{s.size:,}", s.store, f"{s.seconds:.1f}"]
        for s in sorted(run.seeds, key=lambda s: (s.store, s.size))
    ]
    title = "### Seeding: migrations, then users and sessions in batches through SQLAlchemy Core"
    return ["", title, "", *_table(["size", "store", "seconds"], rows)]


def memory(run: Run) -> list[str]:
    if not run.memory:
        return []
    rows = [
        [f"{m.size:,}", m.config, _mib(m.startup_rss_mb), _mib(m.after_rss_mb),
         _mib(m.settled_rss_mb), f"{m.peak_rss_mb:.0f}"]
        for m in run.memory
    ]  # fmt: skip
    header = ["size", "config", "startup RSS MiB", "RSS right after the runs MiB",
              f"RSS {SETTLE_SECONDS:.0f} s later MiB", "peak RSS MiB"]  # fmt: skip
    title = "### Memory of each worker (VmRSS; peak: the largest VmHWM of any process)"
    return ["", title, "", *_table(header, rows)]


def tables(run: Run) -> str:
    return "\n".join([*express(run), *seeding(run), *memory(run)]) + "\n"
