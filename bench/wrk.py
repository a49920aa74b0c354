"""Running wrk with the scripts in bench/lua and reading the JSON line their done() prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA_DIR = Path(__file__).parent / "lua"
MARKER = "BENCH_JSON "
# Far above any latency the scenarios should see, so a slow answer counts as slow, not lost.
TIMEOUT_SECONDS = 10
INSTALL_HINT = (
    "wrk (https://github.com/wg/wrk) is required: on Debian or Ubuntu run "
    "`sudo apt-get install wrk`, elsewhere build it from source and put it on PATH"
)


class WrkMissing(Exception):
    """wrk is not installed."""


class WrkFailed(Exception):
    """wrk exited without a result."""


def require_wrk() -> str:
    """The path of the wrk binary. Raises: WrkMissing with how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing(INSTALL_HINT)
    return path


@dataclass(frozen=True, slots=True)
class WrkJob:
    script: str  # a file in bench/lua
    url: str  # base URL; the scripts choose the path
    threads: int
    connections: int
    seconds: float
    env: dict[str, str] = field(default_factory=dict)  # BENCH_* inputs of the script
    cpus: tuple[int, ...] = ()  # wrk runs only on these (taskset); empty: wherever


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write and timeout errors
    non_2xx: int  # wrk counts every status above 399
    counters: dict[str, int]  # per-script extras, e.g. rotated/grace for refresh

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non_2xx


def spare_cpus(*, pin: bool) -> tuple[int, ...]:
    """The CPU to pin wrk to: the last one this process may run on, if it may run on two or more.

    On a small machine a load generator that the scheduler puts on the server's core preempts
    the server mid-request, and the tail latency measured is the load generator's; pinned to
    a core of its own, it leaves the others to the server. Empty when `pin` is off, when there
    is one CPU only, or when taskset (util-linux) is missing."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2 or shutil.which("taskset") is None:
        return ()
    return (cpus[-1],)


def start(job: WrkJob) -> subprocess.Popen[str]:
    pinned = ["taskset", "--cpu-list", ",".join(map(str, job.cpus))] if job.cpus else []
    command = [
        *pinned,
        require_wrk(),
        f"--threads={job.threads}",
        f"--connections={job.connections}",
        f"--duration={max(1, round(job.seconds))}s",
        f"--timeout={TIMEOUT_SECONDS}s",
        f"--script={LUA_DIR / job.script}",
        job.url,
    ]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **job.env}
    return subprocess.Popen(  # noqa: S603 (wrk and taskset from PATH, arguments built here)
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], job: WrkJob) -> WrkResult:
    """Wait for a started wrk (bounded) and parse its result."""
    try:
        output, _ = process.communicate(timeout=job.seconds + TIMEOUT_SECONDS + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise WrkFailed(f"wrk did not finish:\n{output}") from None
    return parse(output, process.returncode)


def run(job: WrkJob) -> WrkResult:
    return finish(start(job), job)


def parse(output: str, returncode: int) -> WrkResult:
    lines = [line for line in output.splitlines() if line.startswith(MARKER)]
    if returncode != 0 or len(lines) != 1:
        raise WrkFailed(f"wrk exited with {returncode}:\n{output}")
    data: dict[str, float] = json.loads(lines[0].removeprefix(MARKER))
    standard = {
        "requests", "duration_us", "p50_us", "p90_us", "p99_us", "max_us",
        "connect", "read", "write", "timeout", "status",
    }  # fmt: skip
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        socket_errors=int(data["connect"] + data["read"] + data["write"] + data["timeout"]),
        non_2xx=int(data["status"]),
        counters={name: int(value) for name, value in data.items() if name not in standard},
    )
