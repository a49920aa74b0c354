"""The demo's sessions list: every device a page at a time, ending one, signing out everywhere."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Deployment
from tests.browser.spa import (
    auth_state,
    logged_events,
    refresh_cookies,
    restored_tab,
    signed_in_tab,
    wait_for_state,
)
from tests.support.http import Tokens, bearer, login_sync

# The demo lists five sessions a page.
PAGE = 5


def listed(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "#sessions li", "(items) => items.map((item) => item.dataset.sessionId)"
    )
    return ids


def still_valid(deployment: Deployment, tokens: list[Tokens]) -> list[bool]:
    with deployment.api() as api:
        return [api.get("/auth/me", headers=t.bearer).status_code == 200 for t in tokens]


def test_the_sessions_list_ends_one_session_and_then_every_session(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    with deployment.api() as api:
        elsewhere = [login_sync(api, alice) for _ in range(PAGE)]
    page = signed_in_tab(context, deployment.demo_url, alice)
    other_tab = restored_tab(context, deployment.demo_url)
    own = auth_state(page)["sessionId"]

    # The first page, most recently used first: this browser's own session, marked.
    page.wait_for_function(f"() => document.querySelectorAll('#sessions li').length === {PAGE}")
    assert listed(page)[0] == own
    assert page.get_attribute("#sessions li:first-child", "data-current") == "true"
    assert page.query_selector("#sessions li:first-child button") is None
    page.click("#more-sessions")
    page.wait_for_function(f"() => document.querySelectorAll('#sessions li').length > {PAGE}")
    assert page.is_hidden("#more-sessions")
    with deployment.api() as api:
        live = api.get("/auth/sessions", headers=bearer(elsewhere[0].access)).json()["sessions"]
    assert sorted(listed(page)) == sorted(s["id"] for s in live)

    ended = listed(page)[-1]
    page.click(f"#sessions li[data-session-id='{ended}'] button")
    page.wait_for_selector("#notice:has-text('That session has ended.')")
    page.wait_for_function(f"() => document.querySelectorAll('#sessions li').length === {PAGE}")
    assert ended not in listed(page)
    assert still_valid(deployment, elsewhere).count(False) == 1
    wait_for_state(page, "signed-in")

    page.click("#logout-everywhere")
    wait_for_state(page, "signed-out")
    assert still_valid(deployment, elsewhere) == [False] * PAGE
    assert refresh_cookies(context) == []
    assert listed(page) == []
    # This tab and the other tab of the app say why.
    for tab in (page, other_tab):
        wait_for_state(tab, "signed-out")
        assert logged_events(tab)[-1] == ("signed_out", "logout")
