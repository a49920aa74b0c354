"""The client's event stream: one event for the current state on subscribing, then one per
change, with the reason authsvc gave when the session ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Deployment
from tests.browser.spa import (
    DEMO_MODULE,
    auth_state,
    logged_events,
    only_refresh_cookie,
    sign_in,
    signed_in_tab,
    wait_for_state,
)
from tests.support.http import login_sync, refresh_sync

# Subscribes a recorder named `name`; returns how many events it had got when subscribe
# returned, which is the "at once" of the rule.
SUBSCRIBE = f"""async (name) => {{
    const {{ auth }} = await {DEMO_MODULE};
    const events = [];
    window.__events = {{ ...window.__events, [name]: events }};
    window.__stops = {{ ...window.__stops, [name]: auth.subscribe((event) => events.push(
        [event.kind, event.reason ?? null, event.initial, event.state.status])) }};
    return events.length;
}}"""


def subscribe(page: Page, name: str) -> None:
    assert page.evaluate(SUBSCRIBE, name) == 1


def events(page: Page, name: str) -> list[list[Any]]:
    recorded: list[list[Any]] = page.evaluate("(name) => window.__events[name]", name)
    return recorded


def refresh(page: Page) -> str:
    """What the page's `auth.refresh()` comes to: "ok", or the status it rejects with."""
    outcome: str = page.evaluate(
        f"""async () => (await {DEMO_MODULE}).auth.refresh().then(
            () => "ok", (error) => String(error.status))"""
    )
    return outcome


def test_subscribers_hear_the_state_once_then_each_change(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    page = signed_in_tab(context, deployment.demo_url, alice)
    subscribe(page, "first")
    assert events(page, "first") == [["signed_in", None, True, "signed-in"]]

    assert refresh(page) == "ok"
    subscribe(page, "late")
    page.evaluate("() => window.__stops.late()")
    assert refresh(page) == "ok"
    assert events(page, "first") == [
        ["signed_in", None, True, "signed-in"],
        ["token_refreshed", None, False, "signed-in"],
        ["token_refreshed", None, False, "signed-in"],
    ]
    # Subscribed after a refresh: the state once, not the history; nothing after unsubscribing.
    assert events(page, "late") == [["signed_in", None, True, "signed-in"]]

    # Another device ends this session; the page learns it at its next refresh.
    with deployment.api() as api:
        elsewhere = login_sync(api, alice)
        own = auth_state(page)["sessionId"]
        assert api.delete(f"/auth/sessions/{own}", headers=elsewhere.bearer).status_code == 204
    assert refresh(page) == "401"
    wait_for_state(page, "signed-out")
    assert events(page, "first")[3:] == [["signed_out", "revoked", False, "signed-out"]]
    subscribe(page, "after")
    assert events(page, "after") == [["signed_out", "revoked", True, "signed-out"]]
    assert logged_events(page)[-2:] == [("token_refreshed", ""), ("signed_out", "revoked")]

    # A cookie that is gone (its Max-Age ran out) reads as expired.
    sign_in(page, alice)
    context.clear_cookies()
    assert refresh(page) == "401"
    assert events(page, "first")[4:] == [
        ["signed_in", None, False, "signed-in"],
        ["signed_out", "expired", False, "signed-out"],
    ]


def test_a_page_that_finds_no_session_says_signed_out_once(
    deployment: Deployment, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(deployment.demo_url)
    wait_for_state(page, "signed-out")
    # The demo subscribed before its restore answered; the restore changed nothing it was told.
    assert logged_events(page) == [("signed_out", "no_session")]
    subscribe(page, "now")
    assert events(page, "now") == [["signed_out", "no_session", True, "signed-out"]]


def test_a_copy_of_the_cookie_used_elsewhere_signs_the_page_out_as_reuse_detected(
    deploy: Callable[..., Deployment], context: BrowserContext
) -> None:
    deployment = deploy(REFRESH_GRACE_SECONDS="0")
    alice = deployment.user("alice")
    page = signed_in_tab(context, deployment.demo_url, alice)
    subscribe(page, "first")
    # A copy of the page's cookie is spent elsewhere first: the page's own is now superseded.
    with deployment.api() as api:
        stolen = only_refresh_cookie(context)["value"]
        assert refresh_sync(api, stolen).status_code == 200
    assert refresh(page) == "401"
    wait_for_state(page, "signed-out")
    assert events(page, "first") == [
        ["signed_in", None, True, "signed-in"],
        ["signed_out", "reuse_detected", False, "signed-out"],
    ]
