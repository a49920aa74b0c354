"""The table `python -m bench --housekeeping` prints: every figure of one run, with the
ratios of the figures during the purge to the same load's before it."""

from __future__ import annotations

from bench.housekeeping import HousekeepingResult


def _times(during: float, before: float) -> str:
    return f"x {during / before:.2f}" if before > 0 else "x -"


def table(results: list[HousekeepingResult]) -> str:
    lines = [
        "| store | rows (live) | `GET /auth/sessions?limit=100`, cap reached "
        "| scrape at full / after purge | purge "
        "| refresh p99 before / during / after purge "
        "| `GET /auth/verify` before / during / after purge | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.store} | {r.rows:,} ({r.live:,}) "
            f"| {r.list_rate:,.0f} req/s, p50 {r.list_p50_ms:.1f} ms, p99 {r.list_p99_ms:.1f} ms, "
            f"{r.list_bytes / 1024:.1f} KiB, {r.list_cpu_ms:.1f} CPU ms/req "
            f"| {r.scrape_ms_before:.1f} ms / {r.scrape_ms_after:.1f} ms "
            f"| {r.purged:,} rows in {r.purge_seconds:.1f} s "
            f"({r.purged / max(r.purge_seconds, 1e-9):,.0f} rows/s), {r.rows_after:,} left; "
            f"CPU: purge {r.purge_cores:.2f} cores, server {r.server_cores_before:.2f} / "
            f"{r.server_cores_during_purge:.2f} / {r.server_cores_after:.2f} cores "
            f"| {r.refresh_p99_idle_ms:.1f} / {r.refresh_p99_during_purge_ms:.1f} / "
            f"{r.refresh_p99_after_ms:.1f} ms "
            f"(during {_times(r.refresh_p99_during_purge_ms, r.refresh_p99_idle_ms)} before; "
            f"medians of {r.runs_before} / {r.refresh_runs_during_purge} / {r.runs_before} runs; "
            f"worst during {r.refresh_p99_during_purge_worst_ms:.1f} ms) "
            f"| p99 {r.verify_p99_before_ms:.1f} / {r.verify_p99_during_purge_ms:.1f} / "
            f"{r.verify_p99_after_ms:.1f} ms "
            f"(during {_times(r.verify_p99_during_purge_ms, r.verify_p99_before_ms)} before; "
            f"worst during {r.verify_p99_during_purge_worst_ms:.1f} ms), "
            f"p50 {r.verify_p50_before_ms:.1f} / {r.verify_p50_during_purge_ms:.1f} / "
            f"{r.verify_p50_after_ms:.1f} ms, {r.verify_rate_before:,.0f} / "
            f"{r.verify_rate_during_purge:,.0f} / {r.verify_rate_after:,.0f} req/s "
            f"| {r.errors} |"
        )
    return "\n".join(lines) + "\n"
