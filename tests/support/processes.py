"""The real `authsvc` as a child process: environment, CLI runs, servers on loopback ports.

Everything here talks to a child process over 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from authsvc.settings import Settings
from tests.support.polling import eventually_sync
from tests.support.settings import ACCESS_SECRET, MFA_KEY, REDIS_URL, REFRESH_SECRET

READY_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 5.0
CLI_TIMEOUT_SECONDS = 30.0
POLL_INTERVAL_SECONDS = 0.05


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it for a socket bound to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database: Path, **overrides: str | None) -> dict[str, str]:
    """The child's environment: ours minus anything `Settings` reads, plus explicit settings.

    An override of None removes the variable.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if name.lower() not in Settings.model_fields
    }
    env.update(
        ENVIRONMENT="production",
        ACCESS_TOKEN_SECRET=ACCESS_SECRET,
        REFRESH_TOKEN_SECRET=REFRESH_SECRET,
        MFA_ENCRYPTION_KEY=MFA_KEY,
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        PYTHONUNBUFFERED="1",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def redis_env(database: Path, **overrides: str | None) -> dict[str, str]:
    """`server_env` plus the shared Redis under a key prefix of this test's own: what replicas
    and `serve --workers N` need."""
    shared = {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": f"authsvc-test-{uuid.uuid4().hex[:12]}"}
    return server_env(database, **{**shared, **overrides})


def console_script() -> str:
    """The installed `authsvc` entry point next to the interpreter running the tests."""
    script = shutil.which("authsvc", path=str(Path(sys.executable).parent))
    assert script is not None, "the authsvc console script is not installed in this environment"
    return script


def run_to_end(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Run `command` to completion, its output captured as text; the caller judges its exit
    status."""
    # No check=True: a failing command is an answer for the caller to judge.
    return subprocess.run(
        command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def run_cli(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    stdin: str | None = None,
    script: bool = False,
    timeout: float = CLI_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Run `authsvc ARGS` (console script) or `python -m authsvc ARGS` to completion."""
    command = [console_script()] if script else [sys.executable, "-m", "authsvc"]
    return run_to_end(
        [*command, *args],
        cwd=cwd,
        env=env,
        stdin=stdin if stdin is not None else "",
        timeout=timeout,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of a log as a JSON object; fails on a line that is not one."""
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"log line is not JSON: {line!r}") from None
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


# Neither is an AssertionError: eventually() gives up on them at once instead of retrying.
class PortTaken(Exception):
    """Another process bound the port between `free_port()` and the child's own bind."""


class ProcessExited(Exception):
    """The child exited while it was expected to come up."""


@dataclass
class LoopbackProcess:
    """A child process serving HTTP on 127.0.0.1:`port`."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10.0)

    def output(self) -> str:
        """What the child wrote so far (its log)."""
        raise NotImplementedError

    def label(self) -> str:
        """The child, as the log of a failed test names it."""
        return f"process {self.process.pid} on port {self.port}"

    def wait_answering(
        self, answered: Callable[[httpx.Client], bool], what: str, timeout: float
    ) -> None:
        """Poll until `answered(probe)` is true; the child stopped and its log shown if it
        never is. PortTaken when it lost its port to another process, ProcessExited when
        it exited for any other reason."""
        with httpx.Client(base_url=self.base_url, timeout=1.0) as probe:

            def ready() -> None:
                if self.process.poll() is not None:
                    if "address already in use" in self.output().lower():
                        raise PortTaken(self.port)
                    raise ProcessExited(
                        f"{what} exited with {self.process.returncode} before it was ready:\n"
                        + self.output()
                    )
                try:
                    ok = answered(probe)
                except httpx.TransportError:
                    ok = False
                assert ok, f"{what} not ready"

            try:
                eventually_sync(ready, timeout=timeout, interval=POLL_INTERVAL_SECONDS)
            except AssertionError:
                self.stop()
                raise AssertionError(
                    f"{what} not ready after {timeout} s:\n{self.output()}"
                ) from None

    def stop(
        self, sig: signal.Signals = signal.SIGTERM, *, timeout: float = STOP_TIMEOUT_SECONDS
    ) -> int:
        """Send `sig`, wait a bounded time, SIGKILL if it is still there; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@dataclass
class Server(LoopbackProcess):
    """A running `authsvc serve` child; its stdout and stderr go to `log_path`."""

    command: list[str]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def label(self) -> str:
        return " ".join(self.command[1:])

    def stop(
        self, sig: signal.Signals = signal.SIGTERM, *, timeout: float = STOP_TIMEOUT_SECONDS
    ) -> int:
        status = super().stop(sig, timeout=timeout)
        # `serve --workers N` runs its workers in the server's own process group: none of
        # them may outlive a parent that had to be killed.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return status

    def events(self) -> list[dict[str, Any]]:
        return json_lines(self.output())

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS, *, announced: bool = True) -> None:
        """Poll GET /healthz until it answers 200; fail with the log if it never does.

        `announced=False` for a server whose log leaves out uvicorn's "running on" info line.
        """

        def answered(probe: httpx.Client) -> bool:
            # The log line proves the answer came from this child, not from another process
            # that grabbed the same port between free_port() and our bind.
            return probe.get("/healthz").status_code == 200 and (
                not announced or f"running on {self.base_url} " in self.output()
            )

        self.wait_answering(answered, "server", timeout)


@dataclass
class ServerFactory:
    """Starts servers under a directory and stops every one of them in `close()`."""

    directory: Path
    started: list[Server] = field(default_factory=list)

    def start(
        self,
        env: dict[str, str],
        *,
        port: int | None = None,
        port_flag: bool = True,
        args: tuple[str, ...] = (),
    ) -> Server:
        """`python -m authsvc serve ARGS` on 127.0.0.1, ready; `--port` unless `port_flag` is False.

        Without an explicit `port`, a port lost to a race is retried on a new one, twice.
        """
        attempt = 1
        while True:
            server = self._spawn(env, port or free_port(), port_flag=port_flag, args=args)
            try:
                server.wait_ready()
            except PortTaken:
                if port is not None or attempt == 3:
                    raise
                attempt += 1
            else:
                return server

    def _spawn(
        self, env: dict[str, str], port: int, *, port_flag: bool, args: tuple[str, ...]
    ) -> Server:
        command = [sys.executable, "-m", "authsvc", "serve", "--host", "127.0.0.1", *args]
        if port_flag:
            command += ["--port", str(port)]
        log_path = self.directory / f"server-{len(self.started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(process=process, command=command, port=port, log_path=log_path)
        self.started.append(server)
        return server

    def close(self) -> None:
        stop_and_show(self.started)


def stop_and_show(started: Sequence[LoopbackProcess]) -> None:
    """Stop every process; print their logs, which pytest shows when the test failed."""
    for process in started:
        status = process.stop()
        print(f"--- {process.label()} (exit {status}) ---")
        print(process.output())


class ThrowawayRedis:
    """A redis-server of this test's own on a free port, so stopping it disturbs nobody."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (Debian package redis-server)"
        self.binary, self.directory, self.port = binary, directory, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        eventually_sync(self._accepts_connections, timeout=READY_TIMEOUT_SECONDS)

    def _accepts_connections(self) -> None:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", self.port)) == 0, "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            self.process = None
