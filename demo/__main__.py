"""`python -m demo`: authsvc and the demo SPA on two loopback origins, until Ctrl-C.

authsvc runs in development mode (throwaway secrets) on a throwaway SQLite file, with the
demo's origin in ALLOWED_ORIGINS and the default cookie (Secure, HttpOnly, SameSite=Strict,
Path=/auth): the two origins differ only in their port, so they are one site, as
app.example.com and auth.example.com are.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from demo.server import DemoServer

DEMO_USER = "demo"
DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105 - printed for the person trying it
READY_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 5.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5173, help="the demo's port (5173)")
    parser.add_argument("--authsvc-port", type=int, default=8000, help="authsvc's port (8000)")
    parser.add_argument(
        "--access-ttl",
        type=int,
        default=60,
        help="access-token lifetime in seconds (60, short enough to watch renewals)",
    )
    return parser.parse_args(argv)


def authsvc_env(database: Path, demo_origin: str, access_ttl: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ENVIRONMENT="development",
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        ALLOWED_ORIGINS=demo_origin,
        ACCESS_TOKEN_TTL_SECONDS=str(access_ttl),
        PYTHONUNBUFFERED="1",
    )
    return env


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with httpx.Client(base_url=url, timeout=1.0) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"authsvc exited with {process.returncode}")
            try:
                if probe.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"authsvc did not answer on {url} within {READY_TIMEOUT_SECONDS} s")


def create_demo_user(url: str) -> None:
    body = {"username": DEMO_USER, "password": DEMO_PASSWORD}
    response = httpx.post(f"{url}/auth/register", json=body, timeout=10.0)
    if response.status_code not in (201, 409):
        raise SystemExit(f"could not create the demo user: {response.status_code}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    authsvc_url = f"http://127.0.0.1:{args.authsvc_port}"
    demo = DemoServer(("127.0.0.1", args.port), authsvc_url=authsvc_url)
    demo.start_in_thread()
    with tempfile.TemporaryDirectory(prefix="authsvc-demo-") as workdir:
        command = [sys.executable, "-m", "authsvc", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(args.authsvc_port)]
        env = authsvc_env(Path(workdir) / "authsvc.db", demo.origin, args.access_ttl)
        # Run from the scratch directory so a .env in the checkout does not change the demo.
        authsvc = subprocess.Popen(command, env=env, cwd=workdir)  # noqa: S603
        try:
            wait_ready(authsvc_url, authsvc)
            create_demo_user(authsvc_url)
            print(
                f"\nauthsvc demo: open {demo.origin}/ and sign in as "
                f"{DEMO_USER!r} with {DEMO_PASSWORD!r} (authsvc on {authsvc_url}). "
                "Ctrl-C stops both.\n",
                flush=True,
            )
            while not stopping.wait(0.5):
                if authsvc.poll() is not None:
                    print(f"authsvc exited with {authsvc.returncode}", file=sys.stderr)
                    return 1
        except KeyboardInterrupt:
            pass
        finally:
            demo.shutdown()
            demo.server_close()
            stop(authsvc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
