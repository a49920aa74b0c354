"""Browser fixtures: Debian's Chromium driven by Playwright, the demo SPA, a real authsvc.

Four parties talk over loopback only: headless Chromium (a fresh profile per launch, a fresh
context per test), the demo's static server and its sample API in threads of this process
(demo/server.py, demo/sample_api.py), and `authsvc serve` (tests/support/processes.py) with both
demo origins (`127.0.0.1` and `localhost`) in ALLOWED_ORIGINS. The page calls authsvc on the
host name it was opened on, so the two origins differ only in their port and are one site, as
app.example.com and auth.example.com are; the refresh cookie keeps its defaults (`__Host-`,
Secure, HttpOnly, SameSite=Strict, Path=/).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from demo.sample_api import SampleApi
from demo.server import DemoServer
from playwright.sync_api import Browser, BrowserContext, Error, sync_playwright

from tests.support.http import register_sync
from tests.support.processes import Server, ServerFactory, server_env
from tests.support.smtp_sink import Sink

CHROMIUM = Path("/usr/bin/chromium")
# Playwright adds --headless itself; the rest keeps the browser off the network and quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
LAUNCH_TIMEOUT_MS = 30_000
# Every wait for the page (a selector, a function, a navigation) gives up after this long.
PAGE_TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@dataclass
class Deployment:
    """authsvc and the demo on their two origins, as `python -m demo` runs them."""

    authsvc: Server
    demo: DemoServer
    sample_api: SampleApi
    env: dict[str, str]
    servers: ServerFactory
    mail: Sink | None = None

    @property
    def demo_url(self) -> str:
        return f"{self.demo.origin}/"

    def demo_url_on(self, host: str) -> str:
        return f"http://{host}:{self.demo.port}/"

    def api(self) -> httpx.Client:
        return self.authsvc.client()

    def restart(self, **overrides: str) -> None:
        """Stop authsvc and start it again on the same port and database, with `overrides`."""
        self.authsvc.stop()
        self.env = {**self.env, **overrides}
        self.authsvc = self.servers.start(self.env, port=self.authsvc.port)

    def user(self, username: str, *, email: str | None = None) -> str:
        with self.api() as client:
            register_sync(client, username, email=email)
        return username


@dataclass
class DemoServers:
    started: list[DemoServer | SampleApi] = field(default_factory=list)

    def start(
        self, authsvc_url: str | None = None, *, credentials: tuple[str, str] | None = None
    ) -> DemoServer:
        """A demo server with a sample API of its own behind it."""
        api = self.start_api()
        demo = DemoServer(
            ("127.0.0.1", 0), authsvc_url=authsvc_url, api_url=api.url, credentials=credentials
        )
        demo.start_in_thread()
        self.started.append(demo)
        return demo

    def start_api(self) -> SampleApi:
        api = SampleApi()
        api.start_in_thread()
        self.started.append(api)
        return api

    def api_of(self, demo: DemoServer) -> SampleApi:
        [api] = [s for s in self.started if isinstance(s, SampleApi) and s.url == demo.api_url]
        return api

    def close(self) -> None:
        for server in self.started:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module; CI installs it, so its absence is a failure."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=LAUNCH_TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser contexts (their own cookie jar and storage), checked for page errors.

    Keyword arguments go to `Browser.new_context`; `page_errors=False` allows errors.
    """
    contexts: list[tuple[BrowserContext, list[Error]]] = []

    def make(*, page_errors: bool = True, **options: object) -> BrowserContext:
        context = browser.new_context(**options)  # type: ignore[arg-type]
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        errors: list[Error] = []
        if page_errors:
            context.on("weberror", lambda web_error: errors.append(web_error.error))
        contexts.append((context, errors))
        return context

    yield make
    for context, _ in contexts:
        context.close()
    assert [error for _, errors in contexts for error in errors] == []


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    return new_context()


@pytest.fixture
def demo_servers() -> Iterator[DemoServers]:
    with contextlib.closing(DemoServers()) as started:
        yield started


@pytest.fixture
def deploy(
    servers: ServerFactory, demo_servers: DemoServers, tmp_path: Path
) -> Callable[..., Deployment]:
    """`deploy(**settings)`: the demo and an authsvc that allows its origin, with `settings`;
    `deploy(mail=sink)` also mails through `sink`, with links to the demo's pages;
    `deploy(passkeys=True)` turns passkeys on for the demo opened on `localhost` (WebAuthn
    takes no IP address)."""

    def start(*, mail: Sink | None = None, passkeys: bool = False, **settings: str) -> Deployment:
        demo = demo_servers.start()
        origins = ",".join(demo.origins)
        mailing = mail.env(PUBLIC_URL=demo.origin) if mail is not None else {}
        webauthn = (
            {"WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_ORIGINS": f"http://localhost:{demo.port}"}
            if passkeys
            else {}
        )
        env = server_env(
            tmp_path / "authsvc.db", ALLOWED_ORIGINS=origins, **{**mailing, **webauthn, **settings}
        )
        authsvc = servers.start(env)
        demo.authsvc_url = authsvc.base_url
        return Deployment(
            authsvc=authsvc,
            demo=demo,
            sample_api=demo_servers.api_of(demo),
            env=env,
            servers=servers,
            mail=mail,
        )

    return start


@pytest.fixture
def deployment(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy()


@pytest.fixture
def alice(deployment: Deployment) -> str:
    return deployment.user("alice")
