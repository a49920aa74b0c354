"""Suites that need a program or server outside Python skip, with the reason, when it is absent.

`./scripts/test` installs and starts all of them on Debian/Ubuntu when it runs as root (or with
sudo); elsewhere it says what is missing, and the tests that need it are reported here as
skipped, naming the command that installs it, never as errors. Each check looks at the machine
itself at the moment the test starts, so a test is skipped only when its tool really is absent.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# Root's PATH has /usr/sbin; a developer's often does not, though Debian installs nginx there.
SYSTEM_PATH = "/usr/sbin:/sbin"
CONNECT_TIMEOUT_SECONDS = 1.0


def _on_path(name: str) -> Callable[[], bool]:
    return lambda: (shutil.which(name) or shutil.which(name, path=SYSTEM_PATH)) is not None


def _file(path: str) -> Callable[[], bool]:
    return lambda: Path(path).exists()


def _listening(host: str, port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS):
                return True
        except OSError:
            return False

    return check


@dataclass(frozen=True)
class Requirement:
    """Something outside Python a suite needs, and how a newcomer gets it."""

    name: str
    is_present: Callable[[], bool]
    install: str

    @property
    def reason(self) -> str:
        return f"{self.name} missing — install with {self.install}"


REQUIREMENTS = {
    r.name: r
    for r in (
        Requirement("nginx", _on_path("nginx"), "apt-get install nginx"),
        Requirement("wrk", _on_path("wrk"), "apt-get install wrk"),
        # The benchmark's Express peer (bench/peers/express_tutorial) runs on Node.js.
        Requirement("npm", _on_path("npm"), "apt-get install npm"),
        # Playwright drives Debian's Chromium at this path and never downloads one.
        Requirement("chromium", _file("/usr/bin/chromium"), "apt-get install chromium"),
        Requirement("redis-server", _on_path("redis-server"), "apt-get install redis-server"),
        Requirement(
            "redis on 127.0.0.1:6379",
            _listening("127.0.0.1", 6379),
            "apt-get install redis-server, then start it (./scripts/test does both)",
        ),
        Requirement(
            "postgresql on 127.0.0.1:5432",
            _listening("127.0.0.1", 5432),
            "apt-get install postgresql, then start it (./scripts/test does both)",
        ),
        Requirement("curl", _on_path("curl"), "apt-get install curl"),
        Requirement("jq", _on_path("jq"), "apt-get install jq"),
    )
}

REDIS = "redis on 127.0.0.1:6379"
POSTGRESQL = "postgresql on 127.0.0.1:5432"

# What each suite (a directory or a file under tests/) needs; tests elsewhere that need a
# server say so with `@pytest.mark.requires(...)`, and the PostgreSQL store fixture calls
# `require()` itself.
SUITES: dict[str, tuple[str, ...]] = {
    "gateway": ("nginx",),
    "bench": ("wrk", "npm", REDIS, POSTGRESQL),
    "browser": ("chromium",),
    "replicas_in_process": ("redis-server", REDIS),
    "faults": (REDIS, POSTGRESQL),
    "e2e/test_replica_processes.py": (REDIS,),
    "e2e/test_metrics_workers.py": (REDIS,),
}


def missing(*names: str) -> list[Requirement]:
    """The requirements among `names` that this machine lacks right now."""
    return [REQUIREMENTS[name] for name in names if not REQUIREMENTS[name].is_present()]


def require(*names: str) -> None:
    """Skip the calling test (or fixture) when any of `names` is absent, saying how to get it."""
    absent = missing(*names)
    if absent:
        pytest.skip("; ".join(r.reason for r in absent))


def _suite_requirements(path: Path) -> tuple[str, ...]:
    try:
        relative = path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return ()
    return tuple(
        name
        for prefix, names in SUITES.items()
        if relative == prefix or relative.startswith(prefix + "/")
        for name in names
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requires(*names): skip unless these programs or servers are present"
    )
    unknown = {name for names in SUITES.values() for name in names if name not in REQUIREMENTS}
    assert not unknown, unknown


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    names = list(_suite_requirements(item.path))
    for marker in item.iter_markers("requires"):
        names.extend(marker.args)
    unknown = [name for name in names if name not in REQUIREMENTS]
    if unknown:
        raise pytest.UsageError(f"unknown requirement(s) {unknown}; known: {list(REQUIREMENTS)}")
    if names:
        require(*dict.fromkeys(names))
