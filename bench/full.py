"""`python -m bench` without a mode: every scenario on every configuration and size, the
Express tutorial's /refresh in the same rounds, the peers table after them, and issue 15's
targets judged on what was measured."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench import side_tables, targets
from bench.configs import Config
from bench.peers import cli as peers
from bench.peers.install import Installed, InstallFailed, express, install
from bench.records import Plan, Run
from bench.report import summarize, tables
from bench.runner import run, say
from bench.scenarios import Load

SIZES = [1_000, 100_000, 1_000_000]
SMOKE_SIZES = [1_000]


def _plan(args: argparse.Namespace, workdir: Path, node: tuple[str, Path] | None) -> Plan:
    return Plan(
        configs=[Config(store, workers) for store in args.stores for workers in args.workers],
        sizes=sorted(args.sizes or (SMOKE_SIZES if args.smoke else SIZES)),
        scenarios=args.scenarios,
        rounds=args.repeat or (1 if args.smoke else 3),
        load=Load.of(args),
        workdir=workdir,
        express=node,
    )


def _installs(args: argparse.Namespace) -> tuple[tuple[str, Path] | None, Installed | None]:
    """The Express tutorial when refresh runs, every peer when the peers table does.

    Smoke mode leaves the peers table out (tests/bench/test_peers.py smokes it apart) but
    keeps the Express /refresh, a one-second run. Raises: InstallFailed."""
    if args.no_peers:
        return None, None
    if not args.smoke:
        installed = install()
        node = (installed.node, installed.express_dir) if "refresh" in args.scenarios else None
        return node, installed
    return (express() if "refresh" in args.scenarios else None), None


def _dump(result: Run, verdicts: list[targets.Verdict]) -> dict[str, object]:
    return {
        "summaries": [asdict(s) for s in summarize(result)],
        "targets": [asdict(v) for v in verdicts],
        "ceilings": result.ceilings,
        "argon2": result.argon2,
        "express": result.express,
        "seeds": [asdict(s) for s in result.seeds],
        "memory": [asdict(m) for m in result.memory],
        "measurements": [asdict(m) for m in result.measurements],
    }


def main(args: argparse.Namespace, machine: str) -> int:
    try:
        node, installed = _installs(args)
    except InstallFailed as exc:
        print(f"bench: {exc}\n(--no-peers runs without the peers)", file=sys.stderr)
        return 2
    started, load_before = time.monotonic(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="authsvc-bench-") as workdir:
        result = run(_plan(args, Path(workdir), node))
    outcome = peers.measure(args, installed) if installed is not None else None
    elapsed, load_after = time.monotonic() - started, os.getloadavg()
    verdicts = targets.check(result)
    loads = " / ".join(f"{a:.2f} → {b:.2f}" for a, b in zip(load_before, load_after, strict=True))
    text = (
        f"## authsvc benchmark\n\n{machine}; {elapsed / 60:.1f} minutes"
        f"{' (smoke mode: the figures mean nothing)' if args.smoke else ''}; load average "
        f"(1, 5, 15 min) {loads}.\n\n"
        + tables(result)
        + side_tables.tables(result)
        + ("\n## Peers\n\n" + outcome.tables if outcome is not None else "")
        + ("\n### Targets of issue 15\n\n" + targets.table(verdicts) if not args.smoke else "")
    )
    print(text)
    if args.out is not None:
        dump = {"machine": machine, "elapsed_seconds": elapsed, **_dump(result, verdicts)}
        if outcome is not None:
            dump["peers"] = outcome.dump
        args.out.with_suffix(".md").write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(dump, indent=1), encoding="utf-8")
    failed = (
        sum(1 for m in result.measurements if m.errors)
        + sum(1 for c in result.ceilings if c["errors"])
        + sum(1 for e in result.express if e["errors"])
        + (outcome.failed if outcome is not None else 0)
    )
    if failed:
        say(f"bench: {failed} run(s) had errors or non-2xx answers")
        return 1
    return 0
