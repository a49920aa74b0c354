"""`python -m bench --peers` in smoke mode: every peer installs apart from authsvc, answers its
route under load without an error, and the tables come out with a figure for each.

Like the other smoke runs it asserts completion and correctness (no error, no non-2xx answer,
every authsvc refresh a real rotation), never a speed. The first run installs the peers under
.bench-cache/ (pip from the package index, `npm ci` from the npm registry); later runs reuse them.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.runs import run_bench

TIMEOUT_SECONDS = 600
EXPECTED = {
    ("token check", "authsvc"), ("token check", "AuthX"),
    ("current user", "authsvc"), ("current user", "fastapi-users"),
    ("login", "authsvc"), ("login", "fastapi-users"),
    ("refresh", "authsvc"), ("refresh", "Express tutorial"),
}  # fmt: skip


def test_peers_smoke_measures_every_peer_beside_authsvc(tmp_path: Path) -> None:
    out = tmp_path / "peers"
    completed = run_bench("--peers", "--smoke", "--out", out, timeout=TIMEOUT_SECONDS)
    assert "### authsvc and its peers" in completed.stdout
    assert "### authsvc / peer" in completed.stdout

    dump = json.loads(out.with_suffix(".json").read_text())
    summaries = {(s["pair"], s["server"]): s for s in dump["summaries"]}
    assert set(summaries) == EXPECTED
    for (pair, server), s in summaries.items():
        where = f"{pair} on {server}"
        assert s["errors"] == 0, where
        # A second of argon2 under 50 connections may finish few logins on a loaded machine;
        # every peer, and every other authsvc route, must have answered some.
        if (pair, server) != ("login", "authsvc"):
            assert s["requests"] > 0 and s["rate"] > 0 and s["ratio"] > 0, where
            assert s["p50_ms"] > 0 and s["p99_ms"] >= s["p50_ms"], where
    refresh = summaries[("refresh", "authsvc")]
    assert refresh["counters"]["rotated"] == refresh["requests"]
    assert refresh["counters"]["grace"] == 0
    assert [b["errors"] for b in dump["bare"]] == [0] and dump["bare"][0]["rate"] > 0
    ratios = {r["peer"]: r for r in dump["ratios"] if r["pair"] != "login"}
    assert set(ratios) == {"AuthX", "fastapi-users", "Express tutorial"}
    assert all(r["rate"] > 0 and r["p99"] > 0 for r in ratios.values())
