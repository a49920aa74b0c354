"""`python -m bench --mail`: run the outbox drain on each store, print the table with the
machine and its load average; --out also writes OUT.md and OUT.json. Exits 1 when a mail was
lost or sent twice, one stayed in the outbox, or a verify request failed."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench.mail_drain import CHUNK_SECONDS, MailPlan, MailResult, run_all
from bench.purge_load import VERIFY_CONNECTIONS, VERIFY_PAUSE_MS
from bench.runner import say

MAILS, SMOKE_MAILS = 1_000, 50
HELP = (
    "instead of the scenarios: queue --mails mails and time their drain to an SMTP sink on "
    "loopback, with gateway checks before and during it"
)


def table(results: list[MailResult]) -> str:
    rows = [
        "| store | mails | queued in | first mail after | drained after | mails/s | "
        "delivered (distinct, duplicates) | `GET /auth/verify` p50 / p99 before | "
        "during the drain | p99 ratio | verify errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.store} | {r.mails:,} | {r.enqueue_seconds:.2f} s | "
            f"{r.first_mail_seconds:.2f} s | {r.drain_seconds:.2f} s | "
            f"{r.mails_per_second:.0f} | {r.delivered:,} ({r.distinct:,}, {r.duplicates}) | "
            f"{r.verify_p50_before_ms:.2f} / {r.verify_p99_before_ms:.2f} ms | "
            f"{r.verify_p50_during_ms:.2f} / {r.verify_p99_during_ms:.2f} ms | "
            f"{r.p99_ratio:.2f} | {r.errors} |"
        )
    note = (
        "\nMails queued through the store's `enqueue_mail` while the server ran; mails/s "
        "between the first and the last mail at the sink. Verify: paced gateway checks "
        f"({VERIFY_CONNECTIONS} connections, {VERIFY_PAUSE_MS} ms pauses), medians of "
        f"{CHUNK_SECONDS:.0f}-second wrk runs.\n"
    )
    return "\n".join(rows) + "\n" + note


def _load(average: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in average)


def failures(results: list[MailResult]) -> list[MailResult]:
    return [
        r for r in results if r.errors or r.duplicates or r.distinct != r.mails or r.left_in_outbox
    ]


def main(args: argparse.Namespace, machine: str) -> int:
    mails = args.mails or (SMOKE_MAILS if args.smoke else MAILS)
    started, load_before = time.monotonic(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="authsvc-bench-") as workdir:
        plan = MailPlan(
            mails=mails,
            seconds=args.duration or (1.0 if args.smoke else 5.0),
            workdir=Path(workdir),
        )
        results = run_all(args.stores, plan)
    elapsed, load_after = time.monotonic() - started, os.getloadavg()
    # Other work on the machine inflates latencies and slows the drain; the load says how much.
    text = (
        f"## authsvc outbox drain benchmark\n\n{machine}; {elapsed / 60:.1f} minutes"
        f"{' (smoke mode: the figures mean nothing)' if args.smoke else ''}; load average "
        f"(1, 5, 15 min) {_load(load_before)} at the start, {_load(load_after)} at the end.\n\n"
        + table(results)
    )
    print(text)
    if args.out is not None:
        args.out.with_suffix(".md").write_text(text, encoding="utf-8")
        dump = {
            "machine": machine,
            "load_average": {"start": load_before, "end": load_after},
            "mail": [{**asdict(r), "p99_ratio": r.p99_ratio} for r in results],
        }
        args.out.with_suffix(".json").write_text(json.dumps(dump, indent=1), encoding="utf-8")
    failed = failures(results)
    if failed:
        say(f"bench: {len(failed)} mail run(s) lost, repeated or left mails, or had errors")
        return 1
    return 0
