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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(Exception):
    """A server did not come up, or died under load."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; the fields start after the last ')'.
    return text[text.rindex(")") + 2 :].split()


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


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            # utime and stime, fields 14 and 15 of proc(5), counted from field 3 here.
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def peak_rss_bytes(pid: int) -> int:
    """VmHWM: the most resident memory the process has ever had."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class ServerProcess:
    """A child serving HTTP on 127.0.0.1:`port`, in a process group of its own."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tree(self) -> list[int]:
        return process_tree(self.process.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.tree())

    def peak_rss_bytes(self) -> int:
        """The largest VmHWM of any process of the server: one worker's peak."""
        return max((peak_rss_bytes(pid) for pid in self.tree()), default=0)

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
                if answered and (workers == 1 or len(self.tree()) > workers):
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
    server = ServerProcess(name=name, process=process, port=port, log_path=log_path)
    server.wait_ready(workers)
    return server
