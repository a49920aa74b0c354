"""A page on an origin authsvc does not allow gets no token, whatever script it runs.

Two such origins: another port on the demo's host (the same site, so SameSite=Strict does not
keep the cookie back and only authsvc's Origin check and CORS stand in the way) and another
host (another site, where the browser does not send the cookie either).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.conftest import DemoServers, Deployment
from tests.browser.spa import (
    access_token,
    client_copy,
    only_refresh_cookie,
    open_demo,
    sign_in,
    wait_for_account,
    wait_for_state,
)
from tests.support.http import PASSWORD, bearer
from tests.support.polling import eventually_sync
from tests.support.processes import json_lines

FOREIGN_HOSTS = {"same-site": "127.0.0.1", "cross-site": "localhost"}

# What the foreign page tries: authsvc's own client, copied into the page, then bare requests.
ATTACK = """async ([copy, base, username, password]) => {
    const { createAuthClient } = await import(copy);
    const auth = createAuthClient({ baseUrl: base });
    const outcome = (promise) => promise.then(
        (value) => `answered ${JSON.stringify(value)}`, (error) => `refused: ${error.name}`);
    return {
        restore: await outcome(auth.restore()),
        login: await outcome(auth.login(username, password)),
        // A simple request needs no preflight; its answer is unreadable without CORS.
        refresh: await outcome(fetch(`${base}/auth/refresh`,
            { method: "POST", credentials: "include" }).then((r) => r.json())),
        opaque: await outcome(fetch(`${base}/auth/refresh`,
            { method: "POST", credentials: "include", mode: "no-cors" }).then((r) => r.type)),
    };
}"""


@pytest.mark.parametrize("site", ["same-site", "cross-site"])
def test_a_page_on_a_foreign_origin_cannot_obtain_a_token(
    deployment: Deployment,
    alice: str,
    new_context: Callable[..., BrowserContext],
    demo_servers: DemoServers,
    site: str,
) -> None:
    # The foreign page writes its own CSP, so it may run any script; its errors are expected.
    context = new_context(page_errors=False, bypass_csp=True)
    page = context.new_page()
    open_demo(page, deployment.demo_url)
    sign_in(page, alice)
    wait_for_account(page)  # its requests are not the foreign page's
    cookie = only_refresh_cookie(context)["value"]
    foreign = demo_servers.start(deployment.authsvc.base_url)
    foreign_url = f"http://{FOREIGN_HOSTS[site]}:{foreign.server_address[1]}/"
    log_before = len(deployment.authsvc.output())

    attacker = context.new_page()
    with attacker.expect_event("pageerror") as failure:
        attacker.goto(foreign_url)
    # The demo cannot even load authsvc's client there: CORS does not admit that origin.
    assert "client.js" in str(failure.value)
    copy = client_copy(attacker)
    outcome = attacker.evaluate(ATTACK, [copy, deployment.authsvc.base_url, alice, PASSWORD])

    assert outcome == {
        "restore": "refused: TypeError",
        "login": "refused: TypeError",
        "refresh": "refused: TypeError",
        "opaque": 'answered "opaque"',
    }

    def refused_on_their_origin() -> None:
        # Each request as authsvc's access log records it: method and path, and status. A line
        # is written once its answer has gone, so the last may come after the page has it.
        answered = [
            (f"{entry['method']} {entry['path']}", str(entry["status"]))
            for entry in json_lines(deployment.authsvc.output()[log_before:])
            if entry["logger"] == "authsvc.access"
        ]
        # The client's calls stopped at their preflight; the two bare requests reached
        # authsvc, which refused them on their Origin.
        assert [a for a in answered if a[0].startswith("OPTIONS")] == [
            ("OPTIONS /auth/refresh", "400"),
            ("OPTIONS /auth/login", "400"),
        ]
        assert [a for a in answered if a[0].startswith("POST")] == [
            ("POST /auth/refresh", "403")
        ] * 2

    eventually_sync(refused_on_their_origin)
    # Nothing changed for the user: the same cookie, one session, still working.
    assert only_refresh_cookie(context)["value"] == cookie
    with deployment.api() as api:
        sessions = api.get("/auth/sessions", headers=bearer(access_token(page)))
    assert sessions.status_code == 200
    assert len(sessions.json()["sessions"]) == 1
    page.reload()
    wait_for_state(page, "signed-in")
