"""The benchmark in smoke mode: every scenario on every configuration still runs cleanly.

This asserts completion and correctness only (no errors, no non-2xx answers, every refresh a
real rotation), never a speed: CI machines are shared and their figures mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.scenarios import SCENARIOS

from tests.bench.runs import run_bench, run_bench_dump
from tests.support.stores import STORES

TIMEOUT_SECONDS = 300


def test_every_scenario_completes_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "smoke"
    completed = run_bench(
        "--smoke", "--stores", ",".join(STORES), "--out", out, timeout=TIMEOUT_SECONDS
    )
    assert "### GET /auth/verify (valid Bearer token)" in completed.stdout

    dump = json.loads(out.with_suffix(".json").read_text())
    configs = {f"{store}/{workers}w" for store in STORES for workers in (1, 2)}
    ran = {(s["scenario"], s["config"]) for s in dump["summaries"]}
    assert ran == {(scenario, config) for scenario in SCENARIOS for config in configs}
    for m in dump["measurements"]:
        where = f"{m['scenario']} on {m['config']}"
        assert m["errors"] == 0, where
        assert m["non_2xx"] == 0, where
        if m["scenario"] != "login":  # a second of argon2 under 50 connections may finish few
            assert m["requests"] > 0, where
            # Every answered request took some CPU, some of it on the event loop. (Both are
            # read in 10 ms clock ticks at slightly different moments: no finer comparison.)
            assert m["cpu_ms_per_request"] > 0 and m["loop_ms_per_request"] > 0, where
        if m["scenario"] == "refresh":
            assert m["counters"]["rotated"] == m["requests"], where
            assert m["counters"]["grace"] == 0, where
        assert m["rss_mb"] > 0 and m["peak_rss_mb"] > 0, where
        assert 0 < m["extra"]["machine_busy"] <= 1, where
    assert all(c["errors"] == 0 and c["rate"] > 0 for c in dump["ceilings"])
    assert all(c["loop_ms_per_request"] > 0 for c in dump["ceilings"])
    # The Express tutorial's stateless /refresh, measured in the same round.
    (express,) = dump["express"]
    assert express["errors"] == 0 and express["rate"] > 0
    assert {(s["store"], s["size"]) for s in dump["seeds"]} == {(st, 1_000) for st in STORES}
    assert all(s["seconds"] > 0 for s in dump["seeds"])
    memory = {m["config"]: m for m in dump["memory"]}
    assert set(memory) == configs | {"bare route/1w", "bare route/2w"}
    for config, m in memory.items():
        readings = [m["startup_rss_mb"], m["after_rss_mb"], m["settled_rss_mb"]]
        assert all(len(workers) == m["workers"] for workers in readings), config
        assert all(rss > 0 for workers in readings for rss in workers), config


def test_housekeeping_smoke_purges_every_ended_session(tmp_path: Path) -> None:
    out = tmp_path / "housekeeping"
    stdout, dump = run_bench_dump(
        "--housekeeping", "--smoke", "--stores", ",".join(STORES), out=out,
        timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    assert "`GET /auth/verify` before / during / after purge" in stdout
    results = dump["housekeeping"]
    assert [r["store"] for r in results] == STORES
    for r in results:
        assert r["errors"] == 0, r["store"]
        assert r["purged"] == r["rows"] - r["live"], r["store"]
        assert r["rows_after"] == r["live"], r["store"]
        assert r["refresh_runs_during_purge"] >= 1, r["store"]
        # The gateway checks ran beside the refreshes in both phases, and were answered.
        for phase in ("before", "during_purge", "after"):
            assert r[f"verify_rate_{phase}"] > 0, (r["store"], phase)
            assert 0 < r[f"verify_p50_{phase}_ms"] <= r[f"verify_p99_{phase}_ms"], r["store"]
            assert r[f"server_cores_{phase}"] > 0, (r["store"], phase)
        assert r["purge_cores"] > 0, r["store"]
