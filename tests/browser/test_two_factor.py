"""TOTP in the demo, in real Chromium: enrolment with the QR code and the recovery codes shown
once, the second login step (a code, a recovery code that works once), and turning it off."""

from __future__ import annotations

import base64
import time
from typing import Any

import pyotp
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import ARTIFACTS, Deployment
from tests.browser.spa import (
    DEMO_MODULE,
    access_token,
    auth_state,
    logged_events,
    open_demo,
    reach_second_step,
    refresh_cookies,
    send_second_step,
    shown_amr,
    shown_error,
    sign_in,
    sign_out,
    signed_in_tab,
    wait_for_state,
)
from tests.support.http import PASSWORD, bearer, login_sync
from tests.support.mfa import Enrolled, enrol_totp_sync, wrong_code

SCREENSHOT = ARTIFACTS / "totp-enrolment.png"


def enrolled(deployment: Deployment, username: str) -> Enrolled:
    """TOTP on for `username`, through the API."""
    with deployment.api() as api:
        return enrol_totp_sync(api, login_sync(api, username))


def enrolled_on_a_new_page(
    deployment: Deployment, username: str, context: BrowserContext
) -> tuple[Enrolled, Page]:
    """TOTP on for `username`, and the demo opened signed out in a new tab."""
    enrolment = enrolled(deployment, username)
    page = context.new_page()
    open_demo(page, deployment.demo_url)
    return enrolment, page


def code_after_enrolment(secret: str) -> str:
    """The code of the next time step: the current one was spent confirming the enrolment,
    and one step of skew lets the next one in at once."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def open_two_factor_page(page: Page) -> None:
    page.click("[data-page=two-factor-page]")
    page.wait_for_selector("#two-factor-page:not([hidden]) #totp-status[data-enabled]")


def test_totp_enrolled_in_the_demo_is_asked_for_at_the_next_sign_in(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    page = signed_in_tab(context, deployment.demo_url, alice)
    open_two_factor_page(page)
    page.wait_for_selector("#totp-status[data-enabled=false]")
    assert shown_amr(page) == "pwd"

    page.click("#totp-start button[type=submit]")  # a fresh login: no password asked
    page.wait_for_selector("#totp-enrol:not([hidden])")
    secret = page.text_content("#totp-secret") or ""
    assert len(secret) >= 16
    # The QR code is authsvc's SVG as an image, which loads (the CSP allows data: images).
    page.wait_for_function("() => document.querySelector('#totp-qr').naturalWidth > 0")
    src = page.get_attribute("#totp-qr", "src") or ""
    prefix = "data:image/svg+xml;base64,"
    assert src.startswith(prefix)
    assert base64.b64decode(src.removeprefix(prefix)).startswith(b"<svg")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert page.is_hidden("#profile-page") and page.is_hidden("#totp-start")
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.fill("#totp-confirm input[name=code]", pyotp.TOTP(secret).now())
    page.click("#totp-confirm button[type=submit]")
    page.wait_for_selector("#recovery:not([hidden])")
    codes = page.eval_on_selector_all(
        "#recovery-codes li", "(items) => items.map(i => i.textContent)"
    )
    assert len(set(codes)) == 10
    page.wait_for_selector("#totp-status[data-enabled=true]")
    assert page.is_hidden("#totp-enrol") and page.text_content("#totp-secret") == ""
    page.click("#recovery-done")  # shown once: gone from the page
    assert (
        page.is_hidden("#recovery")
        and page.eval_on_selector_all("#recovery-codes li", "l => l.length") == 0
    )

    sign_out(page)
    events_before = len(logged_events(page))
    reach_second_step(page, alice)
    # The password alone opened nothing: no session, no cookie, no signed_in event.
    assert auth_state(page)["status"] == "signed-out"
    assert refresh_cookies(context) == []
    assert len(logged_events(page)) == events_before

    send_second_step(page, code_after_enrolment(secret))
    wait_for_state(page, "signed-in")
    assert shown_amr(page) == "pwd,otp,mfa"
    assert page.text_content("#amr") == "Signed in with: pwd, otp, mfa"
    assert logged_events(page)[events_before:] == [("signed_in", "")]
    assert len(refresh_cookies(context)) == 1


def test_a_recovery_code_signs_in_once(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    enrolment, page = enrolled_on_a_new_page(deployment, alice, context)
    recovery_code = enrolment.recovery_codes[0]

    reach_second_step(page, alice)
    send_second_step(page, recovery_code, method="recovery_code")
    wait_for_state(page, "signed-in")
    assert shown_amr(page) == "pwd,otp,mfa"
    sign_out(page)

    reach_second_step(page, alice)
    send_second_step(page, recovery_code, method="recovery_code")
    assert shown_error(page) == "Invalid code"
    assert auth_state(page)["status"] == "signed-out"
    assert page.is_visible("#mfa")  # the challenge stays open for another try


def test_the_challenge_cannot_pass_for_a_signed_in_state(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    _, page = enrolled_on_a_new_page(deployment, alice, context)
    outcome: dict[str, Any] = page.evaluate(
        f"""async ([clientUrl, username, password]) => {{
            const {{ auth }} = await {DEMO_MODULE};
            const client = await import(clientUrl);
            const challenge = await auth.login(username, password);
            return {{
                status: challenge.status,
                isChallenge: client.isMfaChallenge(challenge),
                methods: challenge.methods,
                frozen: Object.isFrozen(challenge),
                json: JSON.stringify(challenge),
                state: auth.state.status,
            }};
        }}""",
        [f"{deployment.authsvc.base_url}/auth/client.js", alice, PASSWORD],
    )
    assert outcome["status"] == "mfa-required"
    assert outcome["isChallenge"] is True
    assert outcome["methods"] == ["totp", "recovery_code"]
    assert outcome["frozen"] is True
    assert outcome["state"] == "signed-out"
    # The mfa_token is not among its properties, so logging the object does not leak it.
    assert "mfa_token" not in outcome["json"] and "mfaToken" not in outcome["json"]


def test_totp_turned_off_in_the_demo_leaves_the_password_alone(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    enrolment, page = enrolled_on_a_new_page(deployment, alice, context)
    secret = enrolment.secret
    reach_second_step(page, alice)
    send_second_step(page, wrong_code(code_after_enrolment(secret)))
    assert shown_error(page) == "Invalid code"
    send_second_step(page, code_after_enrolment(secret))
    wait_for_state(page, "signed-in")
    open_two_factor_page(page)
    page.wait_for_selector("#totp-status[data-enabled=true]")

    page.fill("#totp-disable input[name=current_password]", "not the password")
    page.click("#totp-disable button[type=submit]")
    assert shown_error(page) == "Current password is incorrect"
    assert auth_state(page)["status"] == "signed-in"  # a wrong password ends no session
    page.fill("#totp-disable input[name=current_password]", PASSWORD)
    page.click("#totp-disable button[type=submit]")
    page.wait_for_selector("#totp-status[data-enabled=false]")

    sign_out(page)
    sign_in(page, alice)
    assert shown_amr(page) == "pwd"


def test_one_challenge_completed_many_times_at_once_opens_one_session(
    deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    enrolment, page = enrolled_on_a_new_page(deployment, alice, context)
    secret = enrolment.secret
    events_before = len(logged_events(page))
    outcomes: list[str] = page.evaluate(
        f"""async ([username, password, code]) => {{
            const {{ auth }} = await {DEMO_MODULE};
            const challenge = await auth.login(username, password);
            const tries = Array.from({{ length: 8 }}, () => challenge.complete("totp", code));
            return (await Promise.allSettled(tries)).map((outcome) =>
                outcome.status === "fulfilled"
                    ? outcome.value.status : `${{outcome.reason.status}}`);
        }}""",
        [alice, PASSWORD, code_after_enrolment(secret)],
    )
    assert sorted(outcomes) == ["401"] * 7 + ["signed-in"]
    wait_for_state(page, "signed-in")
    assert logged_events(page)[events_before:] == [("signed_in", "")]
    assert len(refresh_cookies(context)) == 1
    with deployment.api() as api:
        sessions = api.get("/auth/sessions", headers=bearer(access_token(page)))
    # The enrolment's session (through the API) and one from the browser.
    assert sorted(s["current"] for s in sessions.json()["sessions"]) == [False, True]
