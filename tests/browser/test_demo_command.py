"""`python -m demo`, the README's one command: every server up, the demo user signs in on
either loopback host name, with the credentials the sign-in page shows, the links in
authsvc's mails (printed in its log) lead to the demo's pages, and passkeys are on for it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from demo.__main__ import DEMO_EMAIL, DEMO_PASSWORD, DEMO_USER
from playwright.sync_api import BrowserContext

from tests.browser.spa import call_api, open_demo, sign_in
from tests.support.http import COOKIE
from tests.support.polling import eventually_sync
from tests.support.processes import POLL_INTERVAL_SECONDS, LoopbackProcess, ProcessExited, free_port

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "authsvc demo: open"
READY_TIMEOUT_SECONDS = 30.0


def wait_for_line(process: subprocess.Popen[bytes], log: Path, line: str) -> None:
    def written() -> None:
        text = log.read_text(errors="replace")
        if line in text:
            return
        message = f"no {line!r} from python -m demo:\n{text}"
        if process.poll() is not None:
            raise ProcessExited(message)
        raise AssertionError(message)

    eventually_sync(written, timeout=READY_TIMEOUT_SECONDS, interval=POLL_INTERVAL_SECONDS)


def test_one_command_serves_the_demo_and_authsvc(context: BrowserContext, tmp_path: Path) -> None:
    demo_port, authsvc_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "demo", "--port", str(demo_port)]
    command += ["--authsvc-port", str(authsvc_port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
    demo = LoopbackProcess(process=process, port=demo_port)
    try:
        wait_for_line(process, log, READY_LINE)
        ready = next(line for line in log.read_text().splitlines() if READY_LINE in line)
        assert f"http://localhost:{demo_port}/" in ready
        for host in ("127.0.0.1", "localhost"):
            page = context.new_page()
            open_demo(page, f"http://{host}:{demo_port}/")
            hint = page.text_content("#credentials")
            assert hint == f"Demo account: {DEMO_USER} / {DEMO_PASSWORD}"
            sign_in(page, DEMO_USER, DEMO_PASSWORD)
            assert f'"username": "{DEMO_USER}"' in call_api(page)
            page.close()
        cookies = [c for c in context.cookies() if c["name"] == COOKIE]
        assert sorted(c["domain"] for c in cookies) == ["127.0.0.1", "localhost"]
        for cookie in cookies:
            flags = (cookie["secure"], cookie["httpOnly"], cookie["sameSite"])
            assert flags == (True, True, "Strict")
        forgot = httpx.post(
            f"http://127.0.0.1:{authsvc_port}/auth/password/forgot",
            json={"email": DEMO_EMAIL},
            timeout=5.0,
        )
        assert forgot.status_code == 202
        wait_for_line(process, log, f"http://127.0.0.1:{demo_port}/reset-password#token=")
        # Passkeys are on for the demo on localhost, the host name they are bound to.
        options = httpx.post(
            f"http://localhost:{authsvc_port}/auth/passkeys/login/options",
            headers={"Origin": f"http://localhost:{demo_port}"},
            timeout=5.0,
        )
        assert options.status_code == 200, options.text
        assert options.json()["publicKey"]["rpId"] == "localhost"
    finally:
        status = demo.stop(signal.SIGTERM)
    assert status == 0, log.read_text(errors="replace")
    # authsvc went down with it.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{authsvc_port}/healthz", timeout=2.0)
