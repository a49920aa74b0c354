"""`python -m demo`: authsvc, the demo SPA and its protected sample API, until Ctrl-C.

authsvc runs in development mode (throwaway secrets) on a throwaway SQLite file, with both of
the demo's origins (`localhost` and `127.0.0.1`) in ALLOWED_ORIGINS and the default cookie
(`__Host-`, Secure, HttpOnly, SameSite=Strict): the page calls authsvc on the host name it was
opened on, so the two differ only in their port and are one site, as app.example.com and
auth.example.com are. The sample API is reached through the gateway's forward-auth rules.
authsvc's mailed links (PUBLIC_URL) lead to the demo's pages; the mails themselves are printed
in authsvc's log, or sent to the SMTP server `--smtp-url` names (a local Mailpit, say).
Passkeys work on the `localhost` origin (WEBAUTHN_RP_ID=localhost).
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
from urllib.parse import urlsplit

import httpx

from demo.sample_api import SampleApi
from demo.server import DemoServer

DEMO_USER = "demo"
DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105 - printed for the person trying it
DEMO_EMAIL = "demo@example.com"
DEMO_MAIL_FROM = "authsvc demo <no-reply@example.com>"
# The demo's origin on which passkeys work (WebAuthn takes no IP address).
LOOPBACK_HOST_NAME = "localhost"
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
    parser.add_argument(
        "--smtp-url",
        help="send authsvc's mails to this SMTP server (e.g. smtp://127.0.0.1:1025 for a local "
        "Mailpit) instead of printing them in its log",
    )
    return parser.parse_args(argv)


def authsvc_env(
    database: Path, demo_origins: list[str], access_ttl: int, smtp_url: str | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ENVIRONMENT="development",
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        ALLOWED_ORIGINS=",".join(demo_origins),
        ACCESS_TOKEN_TTL_SECONDS=str(access_ttl),
        # Reset and verification links open the demo's /reset-password and /verify-email.
        PUBLIC_URL=demo_origins[0],
        # Passkeys are bound to a host name, never an IP address: the demo on localhost.
        WEBAUTHN_RP_ID=LOOPBACK_HOST_NAME,
        WEBAUTHN_ORIGINS=",".join(
            origin for origin in demo_origins if urlsplit(origin).hostname == LOOPBACK_HOST_NAME
        ),
        PYTHONUNBUFFERED="1",
    )
    if smtp_url:
        env.update(SMTP_URL=smtp_url, MAIL_FROM=DEMO_MAIL_FROM)
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
    body = {"username": DEMO_USER, "password": DEMO_PASSWORD, "email": DEMO_EMAIL}
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
    api = SampleApi()
    api.start_in_thread()
    demo = DemoServer(
        ("127.0.0.1", args.port),
        authsvc_url=authsvc_url,
        api_url=api.url,
        credentials=(DEMO_USER, DEMO_PASSWORD),
    )
    demo.start_in_thread()
    with tempfile.TemporaryDirectory(prefix="authsvc-demo-") as workdir:
        command = [sys.executable, "-m", "authsvc", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(args.authsvc_port)]
        env = authsvc_env(
            Path(workdir) / "authsvc.db", demo.origins, args.access_ttl, args.smtp_url
        )
        # Run from the scratch directory so a .env in the checkout does not change the demo.
        authsvc = subprocess.Popen(command, env=env, cwd=workdir)  # noqa: S603
        try:
            wait_ready(authsvc_url, authsvc)
            create_demo_user(authsvc_url)
            opened = " or ".join(f"{origin}/" for origin in demo.origins)
            print(
                f"\nauthsvc demo: open {opened} and sign in as "
                f"{DEMO_USER!r} with {DEMO_PASSWORD!r} (authsvc on port {args.authsvc_port}). "
                "Ctrl-C stops everything.\n",
                flush=True,
            )
            while not stopping.wait(0.5):
                if authsvc.poll() is not None:
                    print(f"authsvc exited with {authsvc.returncode}", file=sys.stderr)
                    return 1
        except KeyboardInterrupt:
            pass
        finally:
            for server in (demo, api):
                server.shutdown()
                server.server_close()
            stop(authsvc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
