"""Running the real `authsvc` process: environment, CLI runs, a server on a loopback port.

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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from authsvc.settings import HOST_COOKIE_NAME, Settings

ACCESS_SECRET = "e2e-access-secret-0123456789abcdef0123456789abcdef"
REFRESH_SECRET = "e2e-refresh-secret-fedcba9876543210fedcba9876543210"
PASSWORD = "correct horse battery staple"
# The refresh cookie under the default settings (Secure, no COOKIE_DOMAIN): host-only.
COOKIE = HOST_COOKIE_NAME
# The cookie routes require it (api/csrf.py); a browser SPA sends it with every call.
CSRF_HEADER = {"X-Requested-With": "XMLHttpRequest"}

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
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        PYTHONUNBUFFERED="1",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def console_script() -> str:
    """The installed `authsvc` entry point next to the interpreter running the tests."""
    script = shutil.which("authsvc", path=str(Path(sys.executable).parent))
    assert script is not None, "the authsvc console script is not installed in this environment"
    return script


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
    return subprocess.run(
        [*command, *args],
        env=env,
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
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


class PortTaken(AssertionError):
    """Another process bound the port between `free_port()` and the server's own bind."""


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

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Poll GET /healthz until it answers 200; fail with the log if it never does."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=1.0) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    if "address already in use" in self.output():
                        raise PortTaken(self.port)
                    raise AssertionError(
                        f"server exited with {self.process.returncode} before it was ready:\n"
                        + self.output()
                    )
                try:
                    answered = probe.get("/healthz").status_code == 200
                except httpx.TransportError:
                    answered = False
                # The log line proves the answer came from this child, not from another
                # process that grabbed the same port between free_port() and our bind.
                if answered and f"running on {self.base_url} " in self.output():
                    return
                time.sleep(POLL_INTERVAL_SECONDS)
        self.stop()
        raise AssertionError(f"server not ready after {timeout} s:\n" + self.output())


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
        """Stop every server; print their logs, which pytest shows when the test failed."""
        for server in self.started:
            status = server.stop()
            print(f"--- {' '.join(server.command[1:])} (exit {status}) ---")
            print(server.output())


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]  # lower-cased names; flags such as HttpOnly map to ""


def parse_set_cookie(header: str) -> SetCookie:
    """One raw `Set-Cookie` header, split exactly as it came over the wire (RFC 6265 §4.1)."""
    pair, *parts = (part.strip() for part in header.split(";"))
    name, _, value = pair.partition("=")
    attributes = {}
    for part in parts:
        key, _, attr_value = part.partition("=")
        attributes[key.strip().lower()] = attr_value.strip()
    return SetCookie(name=name.strip(), value=value.strip(), attributes=attributes)


def only_set_cookie(response: httpx.Response) -> SetCookie:
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    return parse_set_cookie(headers[0])


def cookie_header(refresh_token: str) -> dict[str, str]:
    """Send a refresh token by hand: the cookie is `Secure`, so no http:// client returns it."""
    return {"Cookie": f"{COOKIE}={refresh_token}", **CSRF_HEADER}


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str


def register(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/auth/register", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def token_pair(response: httpx.Response) -> Tokens:
    """The access token and the rotated refresh cookie of a 200 login or refresh answer."""
    assert response.status_code == 200, response.text
    cookie = only_set_cookie(response)
    assert cookie.name == COOKIE
    assert cookie.value
    return Tokens(access=response.json()["access_token"], refresh=cookie.value)


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> Tokens:
    response = client.post("/auth/login", json={"username": username, "password": password})
    return token_pair(response)


def refresh(client: httpx.Client, refresh_token: str) -> httpx.Response:
    return client.post("/auth/refresh", headers=cookie_header(refresh_token))
