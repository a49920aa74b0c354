"""`scripts/provision` where it may not install: it names what is missing and how to get it.

It runs as an unprivileged user (`nobody`, when the tests run as root) with a PATH from which
wrk and jq have been taken out, so from its point of view they are not installed. It must
install nothing, say so, name both with their `apt-get install` command, and not fail: the
suites that need them are skipped by tests/requirements.py instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HIDDEN = ("wrk", "jq")
TIMEOUT_SECONDS = 60


@pytest.fixture
def world() -> Iterator[Path]:
    """A directory `nobody` can read: a copy of scripts/ and a bin/ without wrk and jq."""
    directory = Path(tempfile.mkdtemp(prefix="authsvc-provision-"))
    try:
        directory.chmod(0o755)
        shutil.copytree(REPO / "scripts", directory / "scripts")
        bin_dir = directory / "bin"
        bin_dir.mkdir()
        for source in (Path("/usr/bin"), Path("/bin")):
            for entry in source.iterdir():
                target = bin_dir / entry.name
                if entry.name not in HIDDEN and not target.exists():
                    target.symlink_to(entry)
        yield directory
    finally:
        shutil.rmtree(directory)


def test_without_root_it_names_what_is_missing_and_installs_nothing(world: Path) -> None:
    command = ["bash", str(world / "scripts" / "provision")]
    if os.geteuid() == 0:
        runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin")
        assert runuser is not None
        command = [runuser, "-u", "nobody", "--", *command]
    result = subprocess.run(
        command,
        cwd=world,
        env={"PATH": str(world / "bin"), "HOME": str(world)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "not Debian/Ubuntu or not root (nor passwordless sudo): nothing was installed" in (
        result.stderr
    )
    for name in HIDDEN:
        assert f"missing: {name} — install with: apt-get install {name}" in result.stderr
    assert "reported as SKIPPED" in result.stderr
    assert "missing: nginx" not in result.stderr
    assert "installing" not in result.stderr
