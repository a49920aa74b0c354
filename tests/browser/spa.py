"""Driving the demo SPA and watching what the browser does: helpers the browser tests share."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Request, Response, Route

from authsvc.api.client import client_parts, client_source
from tests.support.http import COOKIE, PASSWORD

# The demo's module, imported again from a test: the page's own instance, not a new one.
DEMO_MODULE = "import('/app.js')"


def open_demo(page: Page, url: str, *, expect: str = "signed-out") -> None:
    """Load the demo and wait until it has restored (or not) the session."""
    page.goto(url)
    wait_for_state(page, expect)


# Blob URLs for authsvc's client and each of its parts, as the page's own copy: a blob cannot
# resolve a relative import, so each `from "./…"` is pointed at its part's blob, parts first.
_COPY_CLIENT = """(sources) => {
    const urls = {};
    const load = (name) => {
        const folder = name.slice(0, name.lastIndexOf("/") + 1);
        const code = sources[name].replace(
            /from "\\.\\/([^"]+)"/g, (_, relative) => `from "${load(folder + relative)}"`);
        urls[name] ??= URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
        return urls[name];
    };
    return load("client.js");
}"""


def client_copy(page: Page) -> str:
    """authsvc's client copied into `page` (no request leaves it); the URL to import it from."""
    sources = {"client.js": client_source().decode()}
    sources.update({f"client/{name}": code.decode() for name, code in client_parts().items()})
    url: str = page.evaluate(_COPY_CLIENT, sources)
    return url


def wait_for_state(page: Page, status: str) -> None:
    page.wait_for_selector(f"#status[data-state={status}]")


def submit_credentials(page: Page, username: str, password: str = PASSWORD) -> None:
    """Type the credentials into the demo's sign-in form and send it."""
    page.fill("#login input[name=username]", username)
    page.fill("#login input[name=password]", password)
    page.click("#login button[type=submit]")


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Type the credentials into the demo's form and wait until it says who is signed in."""
    submit_credentials(page, username, password)
    wait_for_state(page, "signed-in")
    assert page.text_content("#status") == f"Signed in as {username}"


def wait_for_account(page: Page) -> None:
    """Wait until the signed-in view has loaded what it asks authsvc for on signing in."""
    page.wait_for_selector("#profile:not(:empty)", state="attached")
    page.wait_for_selector("#sessions li", state="attached")
    page.wait_for_selector("#totp-status[data-enabled]", state="attached")


def reach_second_step(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in with the password of an account with a second factor: the demo asks for it."""
    submit_credentials(page, username, password)
    page.wait_for_selector("#mfa:not([hidden])")


def sign_out(page: Page) -> None:
    page.click("#logout")
    wait_for_state(page, "signed-out")


def clear_error(page: Page) -> None:
    """Forget the refusal the demo shows, so that `shown_error` waits for the next one."""
    page.evaluate("() => { document.getElementById('error').textContent = '' }")


def shown_amr(page: Page) -> str:
    """How the signed-in view says the session was opened: the token's `amr`, comma-separated."""
    value = page.get_attribute("#amr", "data-amr")
    assert value is not None
    return value


def send_second_step(page: Page, code: str, method: str = "totp") -> None:
    """Answer the demo's second-step form; the caller waits for the outcome it expects."""
    clear_error(page)
    page.select_option("#mfa select[name=method]", method)
    page.fill("#mfa input[name=code]", code)
    page.click("#mfa button[type=submit]")


def shown_error(page: Page) -> str:
    """The refusal the demo shows, once it shows one."""
    page.wait_for_selector("#error:not(:empty)")
    return page.text_content("#error") or ""


def signed_in_tab(context: BrowserContext, url: str, username: str) -> Page:
    """A new tab on the demo, signed in through its form."""
    page = context.new_page()
    open_demo(page, url)
    sign_in(page, username)
    return page


def restored_tab(context: BrowserContext, url: str) -> Page:
    """A new tab on the demo, signed in from the cookie alone."""
    page = context.new_page()
    open_demo(page, url, expect="signed-in")
    return page


def call_api(page: Page) -> str:
    """Press the demo's protected-call button; the text it shows once the call is over."""
    page.evaluate(
        "() => { for (const id of ['api-result', 'error'])"
        " document.getElementById(id).textContent = '' }"
    )
    page.click("#call-api")
    page.wait_for_function(
        "() => document.querySelector('#api-result').textContent"
        " || document.querySelector('#error').textContent"
    )
    return (page.text_content("#api-result") or "") + (page.text_content("#error") or "")


def fetch_status(page: Page, url: str) -> str:
    """What the page's `auth.fetch(url)` comes to: the status, or the error it rejects with."""
    outcome: str = page.evaluate(
        f"""async (url) => {{
            const {{ auth }} = await {DEMO_MODULE};
            return auth.fetch(url).then(
                (response) => String(response.status),
                (error) => `${{error.name}} ${{error.status ?? ""}}`.trim());
        }}""",
        url,
    )
    return outcome


def auth_state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(f"async () => (await {DEMO_MODULE}).auth.state")
    return state


def access_token(page: Page) -> str:
    """The token the page holds in memory (refreshed first if it is about to expire)."""
    token: str = page.evaluate(f"async () => (await {DEMO_MODULE}).auth.getAccessToken()")
    return token


def record_states(page: Page) -> None:
    """From now on, collect every state the page's client goes through in `window.__states`."""
    page.evaluate(
        f"""async () => {{
            window.__states = [];
            (await {DEMO_MODULE}).auth.onChange((state) => window.__states.push(state.status));
        }}"""
    )


def recorded_states(page: Page) -> list[str]:
    states: list[str] = page.evaluate("() => window.__states")
    return states


def refresh_cookies(context: BrowserContext) -> list[dict[str, Any]]:
    return [dict(cookie) for cookie in context.cookies() if cookie["name"] == COOKIE]


def only_refresh_cookie(context: BrowserContext) -> dict[str, Any]:
    cookies = refresh_cookies(context)
    assert len(cookies) == 1, cookies
    return cookies[0]


def start_together(pages: list[Page], script: str, delay_seconds: float = 0.25) -> list[Any]:
    """Run `script` (a function of the page's client) in every page at one wall-clock instant.

    Every page shares this machine's clock, so a shared deadline is a barrier across tabs.
    """
    at = (time.time() + delay_seconds) * 1000
    for page in pages:
        page.evaluate(
            f"""([at]) => {{
                window.__together = {DEMO_MODULE}.then(async (demo) => {{
                    await new Promise((wake) => setTimeout(wake, at - Date.now()));
                    return ({script})(demo.auth);
                }});
            }}""",
            [at],
        )
    return [page.evaluate("() => window.__together") for page in pages]


@dataclass
class Gate:
    """Holds the browser's POSTs to one URL until `count` of them are waiting, then lets all go.

    Requests from different tabs then reach the server within a millisecond or so; a JavaScript
    barrier alone often leaves them far enough apart for one answer (and its Set-Cookie) to land
    before the other request leaves. Even so the browser may still send them in turn.
    """

    url: str
    count: int
    held: list[Route] = field(default_factory=list)

    def install(self, context: BrowserContext) -> Gate:
        context.route(self.url, self._hold)
        return self

    def remove(self, context: BrowserContext) -> None:
        context.unroute(self.url, self._hold)

    def _hold(self, route: Route) -> None:
        if route.request.method != "POST" or len(self.held) >= self.count:
            route.continue_()
            return
        self.held.append(route)
        if len(self.held) == self.count:
            for waiting in self.held:
                waiting.continue_()


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    response: Response

    @property
    def sets_cookie(self) -> bool:
        # Cookie headers are only in the raw headers, which take a round trip to the browser;
        # asked here rather than in the event handler, so events are never held up.
        return self.response.header_value("set-cookie") is not None


@dataclass
class Traffic:
    """Every response the browser got from one origin, in order (CORS preflights left out)."""

    origin: str
    exchanges: list[Exchange] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> Traffic:
        context.on("response", self._record)
        return self

    def _record(self, response: Response) -> None:
        request: Request = response.request
        url = urlsplit(request.url)
        if f"{url.scheme}://{url.netloc}" != self.origin or request.method == "OPTIONS":
            return
        self.exchanges.append(Exchange(request.method, url.path, response.status, response))

    def to(self, method: str, path: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.method == method and e.path == path]


def logged_events(page: Page) -> list[tuple[str, str]]:
    """The kinds and reasons of the event stream, as the demo's log shows them, oldest first."""
    entries: list[list[str]] = page.eval_on_selector_all(
        "#log li[data-kind]:not([data-kind=api])",
        "(items) => items.reverse().map((item) => [item.dataset.kind, item.dataset.reason])",
    )
    return [(kind, reason) for kind, reason in entries]
