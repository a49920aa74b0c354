"""One tab: signing in, the cookie scripts cannot see, reloads, expiry, refreshing on a 401."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import BrowserContext

from tests.browser.conftest import ARTIFACTS, Deployment
from tests.browser.spa import (
    DEMO_MODULE,
    Traffic,
    access_token,
    auth_state,
    call_api,
    only_refresh_cookie,
    record_states,
    recorded_states,
    signed_in_tab,
    wait_for_state,
)
from tests.support.http import COOKIE, bearer
from tests.support.settings import ACCESS_SECRET

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_sign_in_keeps_the_refresh_token_away_from_scripts(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    page = signed_in_tab(context, deployment.demo_url, alice)

    cookie = only_refresh_cookie(context)
    assert cookie["domain"] == "127.0.0.1"
    assert cookie["name"] == COOKIE
    assert cookie["path"] == "/"
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["value"] not in page.evaluate("document.cookie")
    # A page on the cookie's own host and path: HttpOnly, not the path, is what hides it there.
    probe = context.new_page()
    probe.goto(f"{deployment.authsvc.base_url}/auth/client.js")
    assert COOKIE not in probe.evaluate("document.cookie")
    probe.close()
    # The access token lives in the module's memory only, and is a real one.
    assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
    with deployment.api() as api:
        me = api.get("/auth/me", headers=bearer(access_token(page)))
    assert me.status_code == 200
    assert me.json()["username"] == alice

    assert alice in call_api(page)
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "demo-signed-in.png"
    screenshot.unlink(missing_ok=True)
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.read_bytes().startswith(PNG_SIGNATURE)


def test_a_reload_restores_the_session_from_the_cookie(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    traffic = Traffic(deployment.authsvc.base_url).watch(context)
    page = signed_in_tab(context, deployment.demo_url, alice)
    before = only_refresh_cookie(context)["value"]
    token_before = access_token(page)

    page.reload()
    wait_for_state(page, "signed-in")

    assert page.text_content("#status") == f"Signed in as {alice}"
    assert page.is_hidden("#login")
    assert access_token(page) != token_before, "the token died with the page; a new one came"
    # The reload's refresh rotated the cookie, replacing it rather than adding a second one.
    assert only_refresh_cookie(context)["value"] != before
    assert [(e.status, e.sets_cookie) for e in traffic.to("POST", "/auth/refresh")] == [
        (401, False),  # the first visit, before signing in
        (200, True),
    ]
    assert alice in call_api(page)


def test_a_protected_call_after_the_access_token_expired_just_works(
    deploy: Callable[..., Deployment], context: BrowserContext
) -> None:
    deployment = deploy(ACCESS_TOKEN_TTL_SECONDS="10", JWT_LEEWAY_SECONDS="0")
    alice = deployment.user("alice")
    traffic = Traffic(deployment.authsvc.base_url).watch(context)
    api_traffic = Traffic(deployment.demo.origin).watch(context)
    page = signed_in_tab(context, deployment.demo_url, alice)
    record_states(page)
    first_token = access_token(page)
    expires_at = auth_state(page)["expiresAt"] / 1000

    time.sleep(max(0.0, expires_at - time.time()) + 1.0)
    with deployment.api() as api:
        assert api.get("/auth/me", headers=bearer(first_token)).status_code == 401

    assert alice in call_api(page)
    assert page.text_content("#error") == ""
    assert recorded_states(page) and set(recorded_states(page)) == {"signed-in"}
    # The client renewed the token before it expired, so the API never refused a call.
    assert traffic.to("POST", "/auth/refresh")[-1].status == 200
    assert [e.status for e in api_traffic.to("GET", "/api/whoami")] == [200]


def test_concurrent_401s_in_one_tab_share_one_refresh(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    page = signed_in_tab(context, deployment.demo_url, alice)
    stale = access_token(page)
    # A new access-token secret: every access token issued so far is refused, while sessions
    # and refresh cookies stay valid. The page still believes its token is good.
    deployment.restart(ACCESS_TOKEN_SECRET=ACCESS_SECRET[::-1])
    traffic = Traffic(deployment.authsvc.base_url).watch(context)

    calls = 5
    statuses = page.evaluate(
        f"""async ([calls, url]) => {{
            const {{ auth }} = await {DEMO_MODULE};
            const answers = await Promise.all(
                Array.from({{ length: calls }}, () => auth.fetch(url)));
            return answers.map((response) => response.status);
        }}""",
        [calls, f"{deployment.authsvc.base_url}/auth/me"],
    )

    assert statuses == [200] * calls
    assert len(traffic.to("POST", "/auth/refresh")) == 1
    assert sorted(e.status for e in traffic.to("GET", "/auth/me")) == [200] * calls + [401] * calls
    assert access_token(page) != stale
