"""`./scripts/serve` as a newcomer runs it: the environment and `.env` decide, not the script.

Each test runs the real script in a copy of the project. The copy's `.venv` points at the
virtualenv running the tests and is marked installed, so the script starts at once and can
never reinstall anything into it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from authsvc.settings import Settings
from tests.support.processes import Server, free_port, run_to_end

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
TIMEOUT_SECONDS = 30


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the scripts and pyproject.toml, with the tests' virtualenv as its `.venv`."""
    copy = tmp_path / "project"
    shutil.copytree(REPO / "scripts", copy / "scripts")
    shutil.copy2(REPO / "pyproject.toml", copy)
    shutil.copy2(REPO / ".env.example", copy)
    venv = copy / ".venv"
    venv.mkdir()
    for name in ("bin", "lib", "pyvenv.cfg"):
        (venv / name).symlink_to(VENV / name)
    stamp = subprocess.run(
        ["bash", "-c", "source scripts/venv.sh && venv_stamp ."],
        cwd=copy,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (venv / ".authsvc-installed").write_text(stamp)
    return copy


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    return {**env, **extra, "PYTHONUNBUFFERED": "1"}


def _serve(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the script to completion: for a configuration it refuses."""
    return run_to_end(
        ["bash", "scripts/serve", "--port", str(free_port())],
        cwd=project,
        env=env,
        timeout=TIMEOUT_SECONDS,
    )


def _start(project: Path, env: dict[str, str]) -> Server:
    port = free_port()
    command = ["bash", "scripts/serve", "--port", str(port)]
    log_path = project / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process=process, port=port, command=command, log_path=log_path)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


def test_a_copied_env_example_is_refused_not_overridden(project: Path) -> None:
    shutil.copy2(project / ".env.example", project / ".env")
    result = _serve(project, _environment())
    assert result.returncode == 2, result.stdout + result.stderr
    assert "ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must be set in production" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "authsvc.db").exists()


def test_env_file_without_environment_but_with_secrets_is_production(project: Path) -> None:
    # Secrets in .env say "this is a real setup": production rules apply, the example refused.
    (project / ".env").write_text(
        "ACCESS_TOKEN_SECRET=replace-me-with-at-least-32-random-bytes-for-access-tokens\n"
    )
    result = _serve(project, _environment())
    assert result.returncode == 2, result.stdout + result.stderr
    assert "REFRESH_TOKEN_SECRET must be set in production" in result.stderr


def test_environment_in_the_shell_wins_over_the_fallback(project: Path) -> None:
    result = _serve(project, _environment(ENVIRONMENT="production"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "must be set in production" in result.stderr


def test_without_env_file_or_settings_it_runs_in_development_and_says_so(project: Path) -> None:
    server = _start(project, _environment())
    try:
        with server.client() as client:
            assert client.get("/healthz").status_code == 200
    finally:
        server.stop()
    assert "DEVELOPMENT MODE" in server.output()
    assert (project / "authsvc.db").exists()
