"""How many CPUs this process may really use: its affinity mask and its cgroup's CPU quota.

`os.cpu_count()` reports the host's cores; a container limited to one CPU on a 32-core host
would size its hashing pool for 32, and run 32 argon2 buffers at once for the CPU time of one.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The smallest of: the CPUs in our affinity mask and our cgroup's quota, rounded up."""
    limits = [_affinity_cpus()]
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        limits.append(max(1, math.ceil(quota)))
    return max(1, min(limits))


def _affinity_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _cgroup_quota(root: Path) -> float | None:
    """CPUs' worth of time per period allowed to our cgroup; None when there is no limit."""
    # cgroup v2: "<quota> <period>" or "max <period>", in our group and every group above it
    # (the tightest one applies).
    quotas = []
    for directory in _own_cgroup_v2_dirs(root):
        try:
            fields = (directory / "cpu.max").read_text().split()
        except OSError:
            continue
        if len(fields) == 2 and (quota := _ratio(fields[0], fields[1])) is not None:
            quotas.append(quota)
    if quotas:
        return min(quotas)
    # cgroup v1: the quota is -1 when unlimited.
    try:
        quota_us = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
        period_us = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return _ratio(quota_us, period_us)


def _own_cgroup_v2_dirs(root: Path) -> list[Path]:
    """Our cgroup v2 directory (from /proc/self/cgroup) and its ancestors, up to the root."""
    group = "/"
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                group = line[3:]
    except OSError:
        pass
    directory = root / group.strip("/")
    return [directory, *directory.parents[: len(directory.relative_to(root).parts)]]


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None  # "max": no limit
    return q / p if q > 0 and p > 0 else None
