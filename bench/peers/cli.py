"""`python -m bench --peers`: install the peers if need be, run them beside authsvc, print the
tables; --out also writes OUT.md and OUT.json. Exits 1 when any run saw an error, 2 when a
peer could not be installed. The full run (`python -m bench`) appends the same tables through
`measure`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.peers import duel, report
from bench.peers.install import Installed, InstallFailed, install
from bench.peers.lineup import lineup
from bench.runner import say
from bench.scenarios import Load

# Users and sessions in authsvc's store: enough for the samples the scenarios draw from.
SIZE = 1_000


@dataclass(frozen=True, slots=True)
class PeersOutcome:
    tables: str
    dump: dict[str, object]
    failed: int  # runs with an error or a non-2xx answer
    seconds: float


def _write(out: Path, text: str, dump: dict[str, object]) -> None:
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(dump, indent=1), encoding="utf-8")


def measure(args: argparse.Namespace, installed: Installed) -> PeersOutcome:
    """The peers run with the load and rounds `args` give."""
    load = Load.of(args)
    rounds = args.repeat or (1 if args.smoke else 3)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="authsvc-bench-peers-") as workdir,
        lineup(installed, Path(workdir), SIZE) as servers,
    ):
        run = duel.run(servers, load, rounds)
    failed = sum(1 for m in run.measurements if m.errors) + sum(1 for b in run.bare if b["errors"])
    return PeersOutcome(report.tables(run), report.dump(run), failed, time.monotonic() - started)


def main(args: argparse.Namespace, machine: str) -> int:
    try:
        installed = install()
    except InstallFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    outcome = measure(args, installed)
    smoke = " (smoke mode: the figures mean nothing)" if args.smoke else ""
    heading = (
        f"{machine}; load average {os.getloadavg()[0]:.2f}; {outcome.seconds / 60:.1f} minutes"
    )
    text = f"## authsvc beside its peers\n\n{heading}{smoke}.\n\n{outcome.tables}"
    print(text)
    if args.out is not None:
        dump = {"machine": machine, "elapsed_seconds": outcome.seconds, **outcome.dump}
        _write(args.out, text, dump)
    if outcome.failed:
        say(f"bench: {outcome.failed} peers run(s) had errors or non-2xx answers")
        return 1
    return 0
