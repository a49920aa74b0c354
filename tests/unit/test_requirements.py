"""tests/requirements.py: a suite whose tool is absent is skipped with the install command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.requirements import REQUIREMENTS, SUITES, TESTS, _suite_requirements
from tests.support.processes import run_to_end

REPO = TESTS.parent
SUITE = """
import subprocess

import pytest


@pytest.mark.requires("jq")
def test_needs_jq() -> None:
    assert subprocess.run(["jq", "--version"], check=True, capture_output=True).returncode == 0
"""


def _run_suite(tmp_path: Path, path: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_needs_jq.py").write_text(SUITE)
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(REPO)}
    return run_to_end(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.requirements",
            "-rs",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        env=env,
        timeout=60,
    )


def test_an_absent_tool_skips_the_test_with_the_command_that_installs_it(tmp_path: Path) -> None:
    # Only the interpreter's own directory: jq, in /usr/bin, cannot be found.
    result = _run_suite(tmp_path, str(Path(sys.executable).parent))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "SKIPPED" in result.stdout
    assert "jq missing — install with apt-get install jq" in result.stdout
    assert "error" not in result.stdout.lower()


def test_a_present_tool_runs_the_test(tmp_path: Path) -> None:
    result = _run_suite(tmp_path, f"{Path(sys.executable).parent}:/usr/bin:/bin")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "skipped" not in result.stdout


def test_suites_map_to_their_tools() -> None:
    assert _suite_requirements(TESTS / "gateway" / "test_nginx.py") == ("nginx",)
    assert _suite_requirements(TESTS / "browser" / "test_session.py") == ("chromium",)
    assert "wrk" in _suite_requirements(TESTS / "bench" / "test_smoke.py")
    assert _suite_requirements(TESTS / "e2e" / "test_cli.py") == ()
    assert _suite_requirements(TESTS / "gatewayish.py") == ()
    for names in SUITES.values():
        assert set(names) <= set(REQUIREMENTS)
    for prefix in SUITES:
        assert (TESTS / prefix).exists(), prefix
