"""The demo as a newcomer meets it: either loopback host name, the demo account on the sign-in
page, and a protected sample API reached through the gateway's forward-auth rules."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.conftest import Deployment
from tests.browser.spa import (
    Traffic,
    access_token,
    call_api,
    only_refresh_cookie,
    open_demo,
    sign_in,
    signed_in_tab,
    wait_for_state,
)
from tests.support.http import COOKIE, bearer
from tests.support.processes import json_lines

# A request as authsvc's access log records it: method, path and status.
DEMO_ACCOUNT = ("demo", "correct horse battery staple")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_demo_works_on_either_loopback_host_name(
    deployment: Deployment, alice: str, context: BrowserContext, host: str
) -> None:
    other = "localhost" if host == "127.0.0.1" else "127.0.0.1"
    port = deployment.authsvc.port
    here = Traffic(f"http://{host}:{port}").watch(context)
    there = Traffic(f"http://{other}:{port}").watch(context)

    page = context.new_page()
    open_demo(page, deployment.demo_url_on(host))
    sign_in(page, alice)
    assert json.loads(call_api(page))["username"] == alice
    page.reload()
    wait_for_state(page, "signed-in")

    # authsvc was called on the page's own host name: its cookie is that host's, and the
    # page's own site, so SameSite=Strict lets it through on the reload.
    cookie = only_refresh_cookie(context)
    assert (cookie["name"], cookie["domain"], cookie["path"]) == (COOKIE, host, "/")
    assert [e.status for e in here.to("POST", "/auth/login")] == [200]
    assert [e.status for e in here.to("POST", "/auth/refresh")] == [401, 200]
    assert there.exchanges == []


def test_the_sign_in_page_shows_the_demo_account(
    deployment: Deployment, context: BrowserContext
) -> None:
    page = context.new_page()
    open_demo(page, deployment.demo_url)
    assert page.is_hidden("#credentials")  # no demo account, no hint

    deployment.demo.credentials = DEMO_ACCOUNT
    deployment.user("demo")
    page.reload()
    wait_for_state(page, "signed-out")
    assert page.is_visible("#credentials")
    assert page.text_content("#credentials") == (
        "Demo account: demo / correct horse battery staple"
    )
    sign_in(page, *DEMO_ACCOUNT)
    assert page.is_hidden("#credentials")


def test_the_sample_api_is_reached_through_forward_auth_only(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    page = signed_in_tab(context, deployment.demo_url, alice)
    token = access_token(page)
    with deployment.api() as api:
        me = api.get("/auth/me", headers=bearer(token)).json()
        [session] = api.get("/auth/sessions", headers=bearer(token)).json()["sessions"]
    log_start = len(deployment.authsvc.output())

    answer = json.loads(call_api(page))

    assert answer["username"] == alice
    assert (answer["user_id"], answer["session_id"]) == (me["id"], session["id"])
    # Each request as authsvc's access log records it: method and path, and status.
    answered = [
        (f"{entry['method']} {entry['path']}", str(entry["status"]))
        for entry in json_lines(deployment.authsvc.output()[log_start:])
        if entry["logger"] == "authsvc.access"
    ]
    assert ("GET /auth/verify", "200") in answered
    assert not [a for a in answered if a[0] == "GET /auth/me"]
    # The API saw the gateway's identity headers, never the token or a cookie.
    [received] = deployment.sample_api.received
    assert received["X-Auth-Subject"] == me["id"]
    assert "Authorization" not in received and "Cookie" not in received

    # Identity headers the page sends itself are dropped, as the nginx gateway drops them.
    forged = page.evaluate(
        """async () => {
            const { auth } = await import('/app.js');
            const response = await auth.fetch('/api/whoami', {
                headers: { 'X-Auth-Username': 'mallory', 'X-Auth-Subject': 'someone-else' } });
            return response.json();
        }"""
    )
    assert (forged["username"], forged["user_id"]) == (alice, me["id"])

    # A revoked session gets no further than verify.
    with deployment.api() as api:
        assert api.post("/auth/logout-all", headers=bearer(token)).status_code == 204
    calls = len(deployment.sample_api.received)
    assert "session has ended" in call_api(page)
    assert len(deployment.sample_api.received) == calls
    wait_for_state(page, "signed-out")
