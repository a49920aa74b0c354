"""The docs page in real Chromium, offline: Authorize, then refresh and log out with Try it out.

Every request the browser makes outside the service's own origin is aborted and recorded, so a
page that still needed a CDN would show up here twice: as a recorded request, and as a page
that never renders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route

from tests.support.http import COOKIE, PASSWORD, register_sync
from tests.support.processes import Server, ServerFactory, server_env

# Records what the page's policy refused, from the moment the document starts.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""

REDOCLY_LOGO = "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def authsvc(servers: ServerFactory, tmp_path: Path) -> Server:
    server = servers.start(server_env(tmp_path / "authsvc.db"))
    with server.client() as client:
        register_sync(client, "alice")
    return server


@pytest.fixture
def offline(
    new_context: Callable[..., BrowserContext], authsvc: Server
) -> Iterator[tuple[BrowserContext, list[str]]]:
    """A browser context that can reach authsvc and nothing else; the list of what it tried."""
    context = new_context()
    outside: list[str] = []

    def only_authsvc(route: Route) -> None:
        url = route.request.url
        if url.startswith(f"{authsvc.base_url}/") or url.startswith("data:"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_authsvc)
    context.add_init_script(CSP_WATCH)
    yield context, outside


def csp_violations(page: Page) -> list[str]:
    violations: list[str] = page.evaluate("window.__cspViolations")
    return violations


def operation(page: Page, path: str) -> Locator:
    """The expanded block of `POST path`, in Try-it-out mode."""
    block = page.locator(".opblock-post").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    return block


def execute(block: Locator) -> str:
    """Click Execute; the status code of the live response."""
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    return status.inner_text().strip()


def refresh_cookie_value(context: BrowserContext) -> str | None:
    values = [cookie["value"] for cookie in context.cookies() if cookie["name"] == COOKIE]
    assert len(values) <= 1, values
    return values[0] if values else None


def test_docs_page_authorizes_then_refreshes_and_logs_out_offline(
    authsvc: Server, offline: tuple[BrowserContext, list[str]]
) -> None:
    context, outside = offline
    page = context.new_page()
    page.goto(f"{authsvc.base_url}/docs")
    page.locator(".swagger-ui .info .title").wait_for()

    page.locator("button.authorize").first.click()
    page.fill("#oauth_username", "alice")
    page.fill("#oauth_password", PASSWORD)
    with page.expect_response(f"{authsvc.base_url}/auth/token") as token:
        page.locator(".auth-btn-wrapper button.authorize").click()
    assert token.value.status == 200
    page.locator(".auth-btn-wrapper button.btn-done").click()
    # The password form went to /auth/token, which set the refresh cookie.
    signed_in = refresh_cookie_value(context)
    assert signed_in

    refresh = operation(page, "/auth/refresh")
    header = refresh.locator('tr[data-param-name="X-Requested-With"] input')
    assert header.input_value() == "XMLHttpRequest"  # filled in from the schema's example
    assert execute(refresh) == "200"
    rotated = refresh_cookie_value(context)
    assert rotated and rotated != signed_in

    logout = operation(page, "/auth/logout")
    assert execute(logout) == "204"
    assert refresh_cookie_value(context) is None
    # The session is over: refreshing now is refused.
    refresh.locator("button.btn-clear").click()
    assert execute(refresh) == "401"

    assert outside == []
    assert csp_violations(page) == []


def test_redoc_renders_offline(authsvc: Server, offline: tuple[BrowserContext, list[str]]) -> None:
    context, outside = offline
    page = context.new_page()
    page.goto(f"{authsvc.base_url}/redoc")
    page.get_by_text("/auth/refresh").first.wait_for()
    assert page.locator(".api-info h1").first.inner_text().startswith("authsvc")
    assert outside == []
    # ReDoc's bundle hard-codes one outside image, Redocly's logo; the policy refuses it and
    # ReDoc hides the logo when it fails to load.
    assert set(csp_violations(page)) <= {REDOCLY_LOGO}
    assert page.locator(f'img[src="{REDOCLY_LOGO.split()[1]}"]').count() == 0
