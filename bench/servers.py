"""Server processes on loopback ports, and what /proc says about their CPU time and memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# How long start-up memory may take to settle, read every step, growth under 1 MiB counting
# as settled.
SETTLE_TIMEOUT_SECONDS = 5.0
SETTLE_STEP_SECONDS = 0.25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(Exception):
    """A server did not come up, or died under load."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stat_fields(text: str) -> list[str]:
    """The fields of a /proc stat line after the command name, field 3 of proc(5) first."""
    # The command name may hold spaces and parentheses; the fields start after the last ')'.
    return text[text.rindex(")") + 2 :].split()


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None  # the process or thread has exited


def _stat_fields(pid: int) -> list[str] | None:
    text = _read(f"/proc/{pid}/stat")
    return None if text is None else stat_fields(text)


def stat_cpu_ticks(text: str) -> int:
    """utime plus stime of a /proc stat line (fields 14 and 15 of proc(5))."""
    fields = stat_fields(text)
    return int(fields[11]) + int(fields[12])


def machine_ticks(text: str) -> tuple[int, int]:
    """Busy and total clock ticks of all CPUs, from the `cpu` line of /proc/stat (idle and
    iowait are not busy)."""
    fields = [int(value) for value in text.split("\n", 1)[0].split()[1:9]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def machine_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the machine's CPU time that was busy between two `machine_ticks`."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def machine_now() -> tuple[int, int]:
    return machine_ticks(_read("/proc/stat") or "cpu 0 0 0 0 0 0 0 0")


def status_kib(text: str, name: str) -> int:
    """A `Name:   1234 kB` line of /proc/PID/status, in KiB; 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def process_tree(root: int) -> list[int]:
    """`root` and every live descendant (uvicorn's workers, multiprocessing helpers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def worker_pids(root: int, workers: int) -> list[int]:
    """The processes that serve requests: `root` itself with one worker, else the children
    uvicorn spawned (their command line ends in `--multiprocessing-fork`, which the
    resource tracker's does not)."""
    if workers == 1:
        return [root]
    found = []
    for pid in process_tree(root)[1:]:
        command = _read(f"/proc/{pid}/cmdline") or ""
        if "--multiprocessing-fork" in command.split("\0"):
            found.append(pid)
    return sorted(found)


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far."""
    texts = (_read(f"/proc/{pid}/stat") for pid in pids)
    return sum(stat_cpu_ticks(text) for text in texts if text is not None) / CLOCK_TICKS


def loop_cpu_seconds(pids: list[int]) -> float:
    """CPU time of each process's main thread (TID == PID), where uvicorn runs the event loop;
    the hashing and database threads of the same process are left out."""
    texts = (_read(f"/proc/{pid}/task/{pid}/stat") for pid in pids)
    return sum(stat_cpu_ticks(text) for text in texts if text is not None) / CLOCK_TICKS


def status_bytes(pid: int, name: str) -> int:
    """VmRSS (resident now) or VmHWM (the most ever resident) of a process, in bytes."""
    text = _read(f"/proc/{pid}/status")
    return 0 if text is None else status_kib(text, name) * 1024


def peak_rss_bytes(pid: int) -> int:
    """VmHWM: the most resident memory the process has ever had."""
    return status_bytes(pid, "VmHWM")


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """CPU seconds of a whole server and of its workers' event-loop threads alone."""

    total: float
    loop: float

    def __sub__(self, before: CpuTimes) -> CpuTimes:
        return CpuTimes(self.total - before.total, self.loop - before.loop)


@dataclass
class ServerProcess:
    """A child serving HTTP on 127.0.0.1:`port`, in a process group of its own."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    workers: int = 1

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tree(self) -> list[int]:
        return process_tree(self.process.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.tree())

    def worker_pids(self) -> list[int]:
        return worker_pids(self.process.pid, self.workers)

    def cpu_times(self) -> CpuTimes:
        return CpuTimes(cpu_seconds(self.tree()), loop_cpu_seconds(self.worker_pids()))

    def peak_rss_bytes(self) -> int:
        """The largest VmHWM of any process of the server: one worker's peak."""
        return max((peak_rss_bytes(pid) for pid in self.tree()), default=0)

    def worker_rss_bytes(self) -> list[int]:
        """VmRSS of each worker now, in the order of their process ids."""
        return [status_bytes(pid, "VmRSS") for pid in self.worker_pids()]

    def settled_rss_bytes(self) -> list[int]:
        """Each worker's VmRSS once it stops growing (a bounded wait): with several workers,
        /healthz answers as soon as one of them serves, while the others may still start."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        last = self.worker_rss_bytes()
        while time.monotonic() < deadline:
            time.sleep(SETTLE_STEP_SECONDS)
            now = self.worker_rss_bytes()
            if len(now) == len(last) and all(b - a < 2**20 for a, b in zip(last, now, strict=True)):
                return now
            last = now
        return last

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServerFailed(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, workers: int, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Poll /healthz until it answers 200 and every worker process exists."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=1.0) as probe:
            while time.monotonic() < deadline:
                self.check_alive()
                try:
                    answered = probe.get("/healthz").status_code == 200
                except httpx.TransportError:
                    answered = False
                # With workers, uvicorn's supervisor is the parent of `workers` servers.
                if answered and len(self.worker_pids()) == workers:
                    return
                time.sleep(0.1)
        self.stop()
        raise ServerFailed(f"{self.name} not ready after {timeout} s:\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM, a bounded wait, then SIGKILL to the whole group (this server's workers)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(
    name: str, command: list[str], *, env: dict[str, str], cwd: Path, workers: int
) -> ServerProcess:
    """Start `command` (which must take `--port`) on a free port and wait until it serves."""
    port = free_port()
    log_path = cwd / f"{name.replace('/', '-')}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(name, process, port, log_path, workers)
    server.wait_ready(workers)
    return server
