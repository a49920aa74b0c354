"""Running `python -m bench` from the checkout as the suites here do, and insisting it passed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str | Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m bench ARGS`; fails the test, with everything it printed, unless it exits 0."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed
