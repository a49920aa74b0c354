"""Several tabs on one cookie: refreshing at the same instant, signing out in one of them."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Deployment
from tests.browser.spa import (
    Gate,
    Traffic,
    access_token,
    auth_state,
    call_api,
    fetch_status,
    only_refresh_cookie,
    refresh_cookies,
    restored_tab,
    sign_in,
    signed_in_tab,
    start_together,
    wait_for_state,
)
from tests.support.http import bearer, login_sync, refresh_sync, token_pair

# What a browser without Web Locks (an insecure context, an old engine) and without
# BroadcastChannel offers the client: nothing to coordinate tabs with.
WITHOUT_COORDINATION = """
    Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined });
    delete globalThis.BroadcastChannel;
"""
# Rounds of simultaneous refreshes; the browser may still serialise some of them (see Gate).
RACES = 6
# Without coordination the rounds go on, up to this many, until both tabs have presented the
# same cookie once: the faster a refresh is answered, the more often the browser's second
# request leaves after the first answer's Set-Cookie has landed.
MAX_RACES = 30


def two_tabs(
    context: BrowserContext, deployment: Deployment, username: str, coordination: str = "web-locks"
) -> tuple[Page, Page]:
    """A tab signed in through the form, and a second one that restored the session."""
    if coordination == "none":
        context.add_init_script(WITHOUT_COORDINATION)
    first = signed_in_tab(context, deployment.demo_url, username)
    return first, restored_tab(context, deployment.demo_url)


@pytest.mark.parametrize("coordination", ["web-locks", "none"])
def test_tabs_refreshing_at_the_same_instant_stay_signed_in_on_one_cookie(
    deployment: Deployment, alice: str, context: BrowserContext, coordination: str
) -> None:
    traffic = Traffic(deployment.authsvc.base_url).watch(context)
    first, second = two_tabs(context, deployment, alice, coordination)

    graced = 0
    for race in range(MAX_RACES):
        if race >= RACES and (coordination != "none" or graced >= 1):
            break
        earlier = len(traffic.to("POST", "/auth/refresh"))
        gate = Gate(f"{deployment.authsvc.base_url}/auth/refresh", count=2)
        if coordination == "none":
            gate.install(context)
        tokens = start_together([first, second], "(auth) => auth.refresh()")
        if coordination == "none":
            gate.remove(context)

        assert all(tokens)
        refreshes = traffic.to("POST", "/auth/refresh")[earlier:]
        assert [e.status for e in refreshes] == [200] * len(refreshes)
        if coordination == "none":
            assert len(refreshes) == 2
        else:
            # One tab at a time, or the second tab took the first one's token.
            assert 1 <= len(refreshes) <= 2
        # A refresh answered from the grace window sets no cookie: the newer one stays.
        graced += sum(not e.sets_cookie for e in refreshes)
        for page in (first, second):
            assert auth_state(page)["status"] == "signed-in"
        only_refresh_cookie(context)

    if coordination == "none":
        # Both tabs presented the same cookie at least once: one rotated it, the other got a
        # token from the grace window and no Set-Cookie.
        assert graced >= 1
    else:
        assert graced == 0, "under the lock each refresh presents the newest cookie"
    for page in (first, second):
        assert alice in call_api(page)
    # The browser kept the newest cookie: it still buys tokens, and nothing looked like theft.
    with deployment.api() as api:
        assert refresh_sync(api, only_refresh_cookie(context)["value"]).status_code == 200
    events = [entry.get("event") for entry in deployment.authsvc.events()]
    assert "refresh_reuse_detected" not in events
    assert "session_revoked" not in events


@pytest.mark.parametrize("coordination", ["broadcast", "none"])
def test_signing_out_in_one_tab_signs_the_other_out_at_its_next_call(
    deployment: Deployment, alice: str, context: BrowserContext, coordination: str
) -> None:
    first, second = two_tabs(context, deployment, alice, coordination)
    token_of_second = access_token(second)

    first.click("#logout")
    wait_for_state(first, "signed-out")

    if coordination == "none":
        # Nothing told the second tab; its next call finds out from authsvc.
        assert call_api(second) == "Your session has ended; please sign in again."
    else:
        wait_for_state(second, "signed-out")  # told at once, before any call
        assert fetch_status(second, f"{deployment.authsvc.base_url}/auth/me") == "AuthError 401"
    assert auth_state(second)["status"] == "signed-out"
    assert second.is_visible("#login")
    assert refresh_cookies(context) == []
    # Not just forgotten by the page: authsvc refuses the token the second tab held.
    with deployment.api() as api:
        assert api.get("/auth/me", headers=bearer(token_of_second)).status_code == 401
    second.reload()
    wait_for_state(second, "signed-out")


def test_a_session_ended_elsewhere_signs_the_tab_out_at_its_next_call(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    traffic = Traffic(deployment.authsvc.base_url).watch(context)
    api_traffic = Traffic(deployment.demo.origin).watch(context)
    page = signed_in_tab(context, deployment.demo_url, alice)

    # Another device signs the user out everywhere; no tab of this browser hears about it.
    with deployment.api() as api:
        elsewhere = login_sync(api, alice)
        ended = api.post("/auth/logout-all", headers=elsewhere.bearer)
    assert ended.status_code == 204

    assert call_api(page) == "Your session has ended; please sign in again."
    wait_for_state(page, "signed-out")
    assert [e.status for e in api_traffic.to("GET", "/api/whoami")] == [401]
    assert [e.status for e in traffic.to("POST", "/auth/refresh")][-1] == 401


def test_signing_in_again_after_a_sign_out_elsewhere_uses_a_new_session(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    first, second = two_tabs(context, deployment, alice)
    old_session = auth_state(first)["sessionId"]

    second.click("#logout")
    wait_for_state(second, "signed-out")
    sign_in(second, alice)

    # The first tab follows the new sign-in and never resurrects the ended session.
    wait_for_state(first, "signed-in")
    assert auth_state(first)["sessionId"] == auth_state(second)["sessionId"] != old_session
    assert alice in call_api(first)
    with deployment.api() as api:
        response = refresh_sync(api, only_refresh_cookie(context)["value"])
    assert token_pair(response).access
