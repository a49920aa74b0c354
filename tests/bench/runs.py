"""Running `python -m bench` from the checkout as the suites here do, and insisting it passed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.processes import run_to_end

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str | Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m bench ARGS`; fails the test, with everything it printed, unless it exits 0."""
    completed = run_to_end(
        [sys.executable, "-m", "bench", *map(str, args)], cwd=REPO, timeout=timeout
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def run_bench_dump(*args: str | Path, out: Path, timeout: float) -> tuple[str, dict[str, Any]]:
    """`python -m bench ARGS --out OUT` for a bench that reports the machine's load average:
    what it printed, and OUT.json; fails the test unless both carry the load average."""
    completed = run_bench(*args, "--out", out, timeout=timeout)
    assert "load average (1, 5, 15 min)" in completed.stdout
    dump: dict[str, Any] = json.loads(out.with_suffix(".json").read_text())
    assert len(dump["load_average"]["start"]) == len(dump["load_average"]["end"]) == 3
    return completed.stdout, dump
