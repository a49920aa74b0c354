"""The demo's account pages that end in a mailed link: forgot password and reset, registration
and its verification link, change of address. Mails go to a real SMTP server on loopback and
their links are opened in the browser, as a user opens them from the mail."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Deployment
from tests.browser.spa import open_demo, sign_in, wait_for_state
from tests.support.http import PASSWORD, login_sync
from tests.support.smtp_sink import Sink, SinkFactory

NEW_PASSWORD = "a brand new passphrase for alice"
ALICE_EMAIL = "alice@example.com"
RESET_PATH = "/reset-password"
VERIFY_PATH = "/verify-email"


@pytest.fixture
def mailing(deploy: Callable[..., Deployment], smtp_sinks: SinkFactory) -> Deployment:
    return deploy(mail=smtp_sinks.start())


def sink_of(deployment: Deployment) -> Sink:
    assert deployment.mail is not None
    return deployment.mail


def open_link(page: Page, deployment: Deployment, link: str) -> None:
    """Open a mailed link; it leads to the demo, which takes the token out of the address."""
    assert link.startswith(f"{deployment.demo.origin}/"), link
    page.goto(link)
    page.wait_for_function("() => !location.hash")


def notice(page: Page, text: str) -> None:
    page.wait_for_selector(f"#notice:has-text({text!r})")


def submit(page: Page, form: str, **fields: str) -> None:
    for name, value in fields.items():
        page.fill(f"#{form} input[name={name}]", value)
    page.click(f"#{form} button[type=submit]")


def test_forgot_password_mails_a_link_that_sets_a_new_password(
    mailing: Deployment, context: BrowserContext
) -> None:
    alice = mailing.user("alice", email=ALICE_EMAIL)
    page = context.new_page()
    open_demo(page, mailing.demo_url)

    page.click("#login [data-show=forgot]")
    submit(page, "forgot", email=ALICE_EMAIL)
    notice(page, "a reset link is on its way")
    link = sink_of(mailing).wait_for_link(ALICE_EMAIL, RESET_PATH)

    reset_page = context.new_page()
    open_link(reset_page, mailing, link)
    # The token left the address bar and the history entry: only the page's memory has it.
    assert urlsplit(reset_page.url).path == RESET_PATH
    assert "token" not in reset_page.url
    assert reset_page.is_visible("#reset")
    submit(reset_page, "reset", new_password=NEW_PASSWORD)
    notice(reset_page, "Your password is changed")
    assert urlsplit(reset_page.url).path == "/"
    sign_in(reset_page, alice, NEW_PASSWORD)

    assert reset_page.is_visible("#account")
    with mailing.api() as api:
        old = api.post("/auth/login", json={"username": alice, "password": PASSWORD})
        assert old.status_code == 401
        # The link worked once.
        token = link.rpartition("#token=")[2]
        again = api.post("/auth/password/reset", json={"token": token, "new_password": PASSWORD})
        assert again.status_code == 400
    reset_page.reload()
    wait_for_state(reset_page, "signed-in")


def test_a_used_reset_link_shows_the_refusal(mailing: Deployment, context: BrowserContext) -> None:
    mailing.user("alice", email=ALICE_EMAIL)
    with mailing.api() as api:
        assert api.post("/auth/password/forgot", json={"email": ALICE_EMAIL}).status_code == 202
    link = sink_of(mailing).wait_for_link(ALICE_EMAIL, RESET_PATH)
    with mailing.api() as api:
        token = link.rpartition("#token=")[2]
        used = api.post("/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD})
        assert used.status_code == 204

    page = context.new_page()
    open_link(page, mailing, link)
    submit(page, "reset", new_password="yet another passphrase here")
    page.wait_for_selector("#error:has-text('Invalid or expired token')")
    assert page.is_visible("#reset")


def test_register_verify_and_change_the_address_through_mailed_links(
    mailing: Deployment, context: BrowserContext
) -> None:
    sink = sink_of(mailing)
    page = context.new_page()
    open_demo(page, mailing.demo_url)

    page.click("#login [data-show=register]")
    submit(page, "register", username="bob", email="bob@example.com", password=PASSWORD)
    wait_for_state(page, "signed-in")
    page.wait_for_selector("#profile[data-verified=false]")
    assert page.text_content("#profile") == "bob@example.com (not verified yet)"
    sink.wait_for_link("bob@example.com", VERIFY_PATH)
    page.click("#resend")
    notice(page, "A new verification link is on its way")
    sink.wait_for(2)

    # The newest link; the first one stopped working when it was mailed.
    open_link(page, mailing, sink.wait_for_link("bob@example.com", VERIFY_PATH))
    notice(page, "Your e-mail address is verified")
    assert urlsplit(page.url).path == "/"
    page.wait_for_selector("#profile[data-verified=true]")
    assert page.is_hidden("#resend")

    # A wrong password is refused without ending the session.
    submit(page, "change-email", email="robert@example.com", current_password="not my password")
    page.wait_for_selector("#error:has-text('Current password is incorrect')")
    wait_for_state(page, "signed-in")
    submit(page, "change-email", email="robert@example.com", current_password=PASSWORD)
    notice(page, "A link is on its way to robert@example.com")
    assert page.get_attribute("#profile", "data-email") == "bob@example.com"

    open_link(page, mailing, sink.wait_for_link("robert@example.com", VERIFY_PATH))
    notice(page, "Your e-mail address is verified")
    page.wait_for_selector("#profile[data-email='robert@example.com'][data-verified=true]")
    with mailing.api() as api:
        me = api.get("/auth/me", headers=login_sync(api, "bob").bearer).json()
    assert (me["email"], me["email_verified"]) == ("robert@example.com", True)
