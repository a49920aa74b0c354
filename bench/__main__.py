"""`python -m bench`: load-test real `authsvc serve` processes with wrk and print the tables.

Needs wrk on PATH (Debian: `apt-get install wrk`), and for the PostgreSQL configurations and
for more than one worker a PostgreSQL server at AUTHSVC_BENCH_POSTGRES (default
postgres@127.0.0.1:5432) and Redis at AUTHSVC_BENCH_REDIS (default redis://127.0.0.1:6379/0).
Every server, database and load generator it starts is on loopback and gone when it exits.
Exits 1 when any run saw an error or a non-2xx answer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import full, housekeeping, housekeeping_report, mail_report, wrk
from bench.peers import cli as peers
from bench.runner import say
from bench.scenarios import SCENARIOS

STORES = ("sqlite", "postgresql")


def _names(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return names

    return parse


def _numbers(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of whole numbers") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive numbers")
    return numbers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--smoke",
        action="store_true",
        help="1 s per run, one round, 1,000 users: proves every scenario still runs without "
        "errors (what CI does); its figures mean nothing",
    )
    add("--duration", type=float, help="seconds per run (default 3; smoke 1)")
    add("--repeat", type=int, help="rounds, each running every configuration (default 3)")
    add("--connections", type=int, default=50, help="concurrent connections (default 50)")
    add(
        "--threads",
        type=int,
        help="wrk threads (default one per core wrk runs on; refresh always uses one per "
        "connection)",
    )
    add(
        "--pin-wrk",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run wrk on the last CPU only, so it never preempts a server on the others "
        "(default on where there are two CPUs or more and taskset is installed)",
    )
    add("--flood-connections", type=int, default=16, help="login connections of the mixed run")
    add("--scenarios", type=_names(list(SCENARIOS)), default=list(SCENARIOS))
    add("--stores", type=_names(STORES), default=list(STORES))
    add("--workers", type=_numbers, default=[1, 2], help="worker counts (default 1,2)")
    add(
        "--sizes",
        type=_numbers,
        help="users and sessions seeded (default 1000,100000,1000000; smoke 1000); every "
        "scenario runs at the smallest, verify, refresh and login at each; sizes above "
        "100000 run the 1-worker configurations only",
    )
    add("--out", type=Path, help="also write OUT.md (the tables) and OUT.json (every figure)")
    add(
        "--housekeeping",
        action="store_true",
        help="instead of the scenarios: a store of --rows sessions, --live of them live; the "
        "capped user's session list, the metrics scrape, and the purge under refresh load",
    )
    add("--rows", type=int, help="sessions seeded for --housekeeping (default 1000000)")
    add("--live", type=int, help="live ones among them (default 10000)")
    add("--mail", action="store_true", help=mail_report.HELP)
    add("--mails", type=int, help="mails queued for --mail (default 1000; smoke 50)")
    add(
        "--peers",
        action="store_true",
        help="instead of the scenarios: authsvc beside AuthX, fastapi-users and the Express "
        "tutorial (installed under .bench-cache/ on first use), as ratios to a bare route",
    )
    add(
        "--no-peers",
        action="store_true",
        help="leave out of the scenarios run what it runs by default: the peers table after "
        "the scenarios (not in smoke mode) and the Express tutorial's /refresh in its rounds",
    )
    return parser


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _load(average: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in average)


def _housekeeping(args: argparse.Namespace) -> int:
    rows = args.rows or (5_000 if args.smoke else 1_000_000)
    live = args.live or (1_000 if args.smoke else 10_000)
    if not housekeeping.CAP + 100 <= live <= rows:
        print(f"bench: --live must be between {housekeeping.CAP + 100} and --rows", file=sys.stderr)
        return 2
    started, load_before = time.monotonic(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="authsvc-bench-") as workdir:
        plan = housekeeping.HousekeepingPlan(
            rows=rows,
            live=live,
            seconds=args.duration or (1.0 if args.smoke else 5.0),
            connections=args.connections,
            workdir=Path(workdir),
        )
        results = [housekeeping.measure(store, plan) for store in args.stores]
    elapsed, load_after = time.monotonic() - started, os.getloadavg()
    # Other work on the machine inflates latencies; the load says how much there was.
    text = (
        f"## authsvc housekeeping benchmark\n\n{machine()}; {elapsed / 60:.1f} minutes"
        f"{' (smoke mode: the figures mean nothing)' if args.smoke else ''}; load average "
        f"(1, 5, 15 min) {_load(load_before)} at the start, {_load(load_after)} at the end.\n\n"
        + housekeeping_report.table(results)
    )
    print(text)
    if args.out is not None:
        args.out.with_suffix(".md").write_text(text, encoding="utf-8")
        dump = {
            "machine": machine(),
            "load_average": {"start": load_before, "end": load_after},
            "housekeeping": housekeeping.as_dicts(results),
        }
        args.out.with_suffix(".json").write_text(json.dumps(dump, indent=1), encoding="utf-8")
    failed = [r for r in results if r.errors or r.rows_after != r.live]
    if failed:
        say(f"bench: {len(failed)} housekeeping run(s) had errors or left ended sessions")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        wrk.require_wrk()
    except wrk.WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    if args.housekeeping:
        return _housekeeping(args)
    if args.peers:
        return peers.main(args, machine())
    if args.mail:
        return mail_report.main(args, machine())
    return full.main(args, machine())


if __name__ == "__main__":
    sys.exit(main())
