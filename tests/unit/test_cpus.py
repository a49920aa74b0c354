"""The CPUs this process may use: affinity and cgroup quota, not the host's core count."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from authsvc.cpus import available_cpus

HOST_CPUS = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "50000 100000\n"}, 1),  # half a CPU still needs one thread
        ({"cpu.max": "max 100000\n"}, HOST_CPUS),
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, HOST_CPUS),
        ({}, HOST_CPUS),
    ],
)
def test_a_cgroup_quota_caps_the_cpus(tmp_path: Path, files: dict[str, str], expected: int) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert available_cpus(tmp_path) == expected


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs util-linux's taskset")
def test_the_default_hashing_concurrency_follows_the_cpu_affinity(tmp_path: Path) -> None:
    script = (
        "from authsvc.passwords import PasswordService\n"
        "from tests.support.settings import make_settings\n"
        "from pathlib import Path\n"
        f"print(PasswordService(make_settings(Path({str(tmp_path)!r}))).concurrency)\n"
    )
    completed = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert completed.stdout.strip() == "1"
