"""Gateway fixtures: a real nginx running the shipped template in front of a real authsvc.

Three processes talk over 127.0.0.1 only: `authsvc serve` (tests/support/processes.py), nginx with
deploy/nginx/default.conf.template rendered as the nginx image would render it, and a small
recording app in a thread of this process that stands in for the protected upstream. nginx
runs with every path (config, pid, logs, temp files) under the test's temporary directory.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.requirements import require
from tests.support.processes import (
    LoopbackProcess,
    PortTaken,
    Server,
    ServerFactory,
    free_port,
    server_env,
    stop_and_show,
)

# Root's PATH has /usr/sbin; a developer's often does not, though Debian installs nginx there.
NGINX_SEARCH_PATH = "/usr/sbin:/sbin"
TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "default.conf.template"
# The only names the template may use: docker-compose.yml sets exactly these.
TEMPLATE_VARIABLES = ("LISTEN_PORT", "AUTHSVC_UPSTREAM", "APP_UPSTREAM")

READY_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0
POLL_INTERVAL_SECONDS = 0.05
START_ATTEMPTS = 3


def render_template(text: str, values: Mapping[str, str]) -> str:
    """What envsubst does when exactly `values` are defined: `${NAME}` and `$NAME` replaced.

    Every other `$word` is left alone, as the image's entrypoint leaves nginx's own variables.
    """
    names = "|".join(re.escape(name) for name in values)
    pattern = re.compile(rf"\$(?:\{{({names})\}}|({names})(?![A-Za-z0-9_]))")
    return pattern.sub(lambda match: values[match.group(1) or match.group(2)], text)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the protected app received it, headers in wire order and spelling."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str:
        """The single value of `name`; fails if it is missing or repeated."""
        values = self.header_values(name)
        assert len(values) == 1, (name, self.headers)
        return values[0]


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.lock = threading.Lock()
        self.received: list[RecordedRequest] = []


class _RecordingHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so closing the server never waits on an idle one.
    protocol_version = "HTTP/1.0"
    server: _RecordingServer

    def _record_and_echo(self) -> None:
        assert "transfer-encoding" not in self.headers, "nginx buffers the body and sends a length"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RecordedRequest(
            method=self.command, path=self.path, headers=list(self.headers.items()), body=body
        )
        with self.server.lock:
            self.server.received.append(request)
        echo = json.dumps(
            {
                "method": request.method,
                "path": request.path,
                "headers": request.headers,
                "body_length": len(body),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(echo)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(echo)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _record_and_echo

    def log_message(self, format: str, *args: object) -> None:
        pass


class RecordingApp:
    """The protected upstream: answers 200 with a JSON echo and remembers every request."""

    def __init__(self) -> None:
        self._server = _RecordingServer()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def received(self) -> list[RecordedRequest]:
        with self._server.lock:
            return list(self._server.received)

    def clear(self) -> None:
        with self._server.lock:
            self._server.received.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        self._server.server_close()


@dataclass
class Nginx(LoopbackProcess):
    """A running nginx master (and its one worker); everything it writes is in `directory`."""

    directory: Path

    def output(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.directory / name
            if path.exists():
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "".join(parts)

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Poll until this nginx answers; a page it serves itself, so no upstream is needed."""
        # The internal verify location is a 404 from outside, answered by nginx.
        self.wait_answering(
            lambda probe: probe.get("/_gateway/verify").headers.get("server") == "nginx",
            "nginx",
            timeout,
        )

    def label(self) -> str:
        return f"nginx on port {self.port}"

    def stop(
        self, sig: signal.Signals = signal.SIGQUIT, *, timeout: float = STOP_TIMEOUT_SECONDS
    ) -> int:
        """SIGQUIT (graceful) by default, then SIGKILL after a bounded wait; the exit status."""
        return super().stop(sig, timeout=timeout)


def _user_directive() -> str:
    # A root master hands requests to workers running as `nobody`, which cannot enter pytest's
    # private temporary directories; keep the workers as the user running the tests.
    if os.geteuid() != 0:
        return ""
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};\n"


def _main_config(directory: Path) -> str:
    """A top-level nginx.conf whose `http {}` includes the rendered template, like the image's."""
    temp = directory / "temp"
    return (
        _user_directive()
        + f"""worker_processes 1;
pid "{directory / "nginx.pid"}";
error_log "{directory / "error.log"}" notice;
events {{
    worker_connections 256;
}}
http {{
    access_log "{directory / "access.log"}";
    client_body_temp_path "{temp / "body"}";
    proxy_temp_path "{temp / "proxy"}";
    fastcgi_temp_path "{temp / "fastcgi"}";
    uwsgi_temp_path "{temp / "uwsgi"}";
    scgi_temp_path "{temp / "scgi"}";
    include "{directory / "default.conf"}";
}}
"""
    )


@dataclass
class NginxFactory:
    """Starts nginx on the rendered template and stops every one of them in `close()`."""

    binary: str
    directory: Path
    started: list[Nginx] = field(default_factory=list)

    def start(
        self,
        *,
        authsvc_upstream: str,
        app_upstream: str,
        edit: Callable[[str], str] | None = None,
    ) -> Nginx:
        """nginx on the rendered template, first passed through `edit` if one is given."""
        for attempt in range(1, START_ATTEMPTS + 1):
            nginx = self._spawn(free_port(), authsvc_upstream, app_upstream, edit)
            try:
                nginx.wait_ready()
            except PortTaken:
                if attempt == START_ATTEMPTS:
                    raise
            else:
                return nginx
        raise AssertionError("unreachable")

    def _spawn(
        self,
        port: int,
        authsvc_upstream: str,
        app_upstream: str,
        edit: Callable[[str], str] | None,
    ) -> Nginx:
        directory = self.directory / f"nginx-{len(self.started)}"
        directory.mkdir()
        (directory / "temp").mkdir()
        values = {
            # An address:port value is legal for `listen`; it keeps the test off other interfaces.
            "LISTEN_PORT": f"127.0.0.1:{port}",
            "AUTHSVC_UPSTREAM": authsvc_upstream,
            "APP_UPSTREAM": app_upstream,
        }
        rendered = render_template(TEMPLATE.read_text(encoding="utf-8"), values)
        if edit is not None:
            rendered = edit(rendered)
        (directory / "default.conf").write_text(rendered, encoding="utf-8")
        (directory / "nginx.conf").write_text(_main_config(directory), encoding="utf-8")
        command = [
            self.binary,
            "-p",
            str(directory),
            "-c",
            str(directory / "nginx.conf"),
            "-e",
            str(directory / "error.log"),
            "-g",
            "daemon off;",
        ]
        with (directory / "stderr.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        nginx = Nginx(process=process, port=port, directory=directory)
        self.started.append(nginx)
        return nginx

    def close(self) -> None:
        stop_and_show(self.started)


@dataclass
class Gateway:
    """nginx in front of authsvc and the recording app; `app.received` starts empty."""

    nginx: Nginx
    authsvc: Server
    app: RecordingApp

    def client(self) -> httpx.Client:
        return self.nginx.client()


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    """The nginx executable; without one the suite is skipped (tests/requirements.py)."""
    require("nginx")
    binary = shutil.which("nginx") or shutil.which("nginx", path=NGINX_SEARCH_PATH)
    assert binary is not None
    return binary


@pytest.fixture(scope="module")
def nginx_factory(
    nginx_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NginxFactory]:
    factory = NginxFactory(binary=nginx_binary, directory=tmp_path_factory.mktemp("nginx"))
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def recording_app() -> Iterator[RecordingApp]:
    with contextlib.closing(RecordingApp()) as app:
        yield app


@pytest.fixture(scope="module")
def authsvc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("authsvc")
    factory = ServerFactory(directory)
    try:
        # Every test of the module signs a new user up and in through the gateway, all from
        # 127.0.0.1: registrations and first logins count against that one address.
        env = server_env(
            directory / "authsvc.db",
            THROTTLE_REGISTRATION_PER_IP="1000/minute",
            THROTTLE_PER_IP="1000/minute",
        )
        yield factory.start(env)
    finally:
        factory.close()


@pytest.fixture(scope="module")
def running_gateway(
    nginx_factory: NginxFactory, authsvc: Server, recording_app: RecordingApp
) -> Gateway:
    nginx = nginx_factory.start(
        authsvc_upstream=f"127.0.0.1:{authsvc.port}", app_upstream=recording_app.address
    )
    return Gateway(nginx=nginx, authsvc=authsvc, app=recording_app)


@pytest.fixture
def gateway(running_gateway: Gateway) -> Gateway:
    """The module's gateway, with the app's record of earlier tests' requests forgotten."""
    running_gateway.app.clear()
    return running_gateway
