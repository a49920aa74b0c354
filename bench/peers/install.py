"""Installing the peers apart from authsvc, once, into the benchmark's cache directory.

Each Python peer gets a virtualenv of its own, from its pinned requirements file here; the
Express tutorial gets its node_modules from `npm ci` and its package-lock.json. An install is
redone only when what it was made from changes: a stamp beside it holds a digest of its inputs.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = REPO / ".bench-cache"
EXPRESS_SOURCE = HERE / "express_tutorial"
EXPRESS_FILES = ("package.json", "package-lock.json", "server.js", "launch.js")
STAMP = ".bench-installed"
INSTALL_TIMEOUT_SECONDS = 600


class InstallFailed(Exception):
    """A peer could not be installed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Installed:
    authx_python: Path
    fastapi_users_python: Path
    node: str
    express_dir: Path  # launch.js, server.js and node_modules


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _run(command: list[str], cwd: Path, what: str) -> None:
    try:
        completed = subprocess.run(  # noqa: S603 (pip and npm, arguments built here)
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallFailed(f"{what}: {exc}") from None
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip().splitlines()[-20:]
        raise InstallFailed(f"{what} failed:\n" + "\n".join(output))


def _fresh(target: Path, digest: str) -> bool:
    stamp = target / STAMP
    return stamp.exists() and stamp.read_text(encoding="ascii") == digest


def python_peer(name: str) -> Path:
    """The interpreter of the virtualenv for bench/peers/NAME.txt, made first if need be."""
    requirements = HERE / f"{name}.txt"
    venv = CACHE / name
    digest = _digest(requirements)
    python = venv / "bin" / "python"
    if not _fresh(venv, digest):
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)], CACHE, f"a virtualenv for {name}")
        install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "-r", str(requirements)]
        _run(install, CACHE, f"pip install -r {requirements.relative_to(REPO)}")
        (venv / STAMP).write_text(digest, encoding="ascii")
    return python


def express() -> tuple[str, Path]:
    """node, and a copy of the Express tutorial with its node_modules from `npm ci`."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise InstallFailed("the Express peer needs Node.js and npm on PATH (apt-get install npm)")
    sources = [EXPRESS_SOURCE / name for name in EXPRESS_FILES]
    target = CACHE / "express_tutorial"
    digest = _digest(*sources)
    if not _fresh(target, digest):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for source in sources:
            shutil.copy2(source, target / source.name)
        _run([npm, "ci", "--no-audit", "--no-fund"], target, "npm ci for the Express tutorial")
        (target / STAMP).write_text(digest, encoding="ascii")
    return node, target


def install() -> Installed:
    """Every peer, the three installs side by side (they mostly wait on the registries)."""
    CACHE.mkdir(exist_ok=True)
    # Two runs at once from one checkout take turns, rather than rebuild one venv together.
    with (CACHE / ".lock").open("w") as lock, ThreadPoolExecutor(max_workers=3) as pool:
        fcntl.flock(lock, fcntl.LOCK_EX)
        node = pool.submit(express)
        authx = pool.submit(python_peer, "authx")
        fastapi_users = pool.submit(python_peer, "fastapi_users")
        return Installed(authx.result(), fastapi_users.result(), *node.result())
