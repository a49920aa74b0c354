"""Passkeys in the demo, in real Chromium with its virtual authenticator (driven over the
DevTools protocol): registering one, signing in with it without a username or as the second
step after the password, renaming and deleting it, and a cloned credential whose sign count
went back refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Page

from tests.browser.conftest import Deployment
from tests.browser.spa import (
    auth_state,
    clear_error,
    open_demo,
    shown_amr,
    shown_error,
    sign_in,
    sign_out,
    submit_credentials,
    wait_for_state,
)
from tests.support.http import PASSWORD
from tests.support.processes import json_lines

# Browsers without the JSON helpers of WebAuthn Level 3: the client converts by hand.
WITHOUT_JSON_HELPERS = """
if (globalThis.PublicKeyCredential) {
    delete PublicKeyCredential.parseCreationOptionsFromJSON;
    delete PublicKeyCredential.parseRequestOptionsFromJSON;
    delete PublicKeyCredential.prototype.toJSON;
}
"""


@dataclass(frozen=True)
class Authenticator:
    """A platform authenticator of Chromium's, for one page: what a laptop's would do."""

    cdp: CDPSession
    id: str

    @classmethod
    def attach(cls, context: BrowserContext, page: Page) -> Authenticator:
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        answer = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        return cls(cdp, answer["authenticatorId"])

    def credentials(self) -> list[dict[str, Any]]:
        answer = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        credentials: list[dict[str, Any]] = answer["credentials"]
        return credentials

    def remove(self, credential_id: str) -> None:
        self.cdp.send(
            "WebAuthn.removeCredential",
            {"authenticatorId": self.id, "credentialId": credential_id},
        )

    def add(self, credential: dict[str, Any]) -> None:
        self.cdp.send(
            "WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential}
        )


@pytest.fixture
def passkey_deployment(deploy: Callable[..., Deployment]) -> Deployment:
    return deploy(passkeys=True)


def demo_with_authenticator(
    deployment: Deployment, context: BrowserContext, username: str
) -> tuple[Page, Authenticator]:
    """The demo on `localhost` (passkeys are bound to a host name), signed in with a password."""
    page = context.new_page()
    authenticator = Authenticator.attach(context, page)
    open_demo(page, deployment.demo_url_on("localhost"))
    sign_in(page, username)
    page.click("[data-page=passkeys-page]")
    page.wait_for_selector("#passkeys-page:not([hidden]) #passkeys[data-count]", state="attached")
    return page, authenticator


def add_passkey(page: Page, name: str, *, count: int = 1) -> None:
    page.fill("#passkey-add input[name=name]", name)
    page.click("#passkey-add button[type=submit]")
    page.wait_for_selector(f"#passkeys[data-count='{count}']", state="attached")


def passkey_names(page: Page) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "#passkeys li input", "(inputs) => inputs.map((input) => input.value)"
    )
    return names


def sign_in_with_passkey(page: Page) -> None:
    clear_error(page)
    page.click("#passkey-sign-in")


@pytest.mark.parametrize("json_helpers", ["browser's", "by hand"])
def test_a_passkey_registered_in_the_demo_signs_in_without_a_username(
    passkey_deployment: Deployment, alice: str, context: BrowserContext, json_helpers: str
) -> None:
    if json_helpers == "by hand":
        context.add_init_script(WITHOUT_JSON_HELPERS)
    page, authenticator = demo_with_authenticator(passkey_deployment, context, alice)
    assert page.is_visible("#no-passkeys")
    helpers = "typeof PublicKeyCredential.parseCreationOptionsFromJSON"
    assert page.evaluate(helpers) == ("function" if json_helpers == "browser's" else "undefined")

    add_passkey(page, "Laptop")
    assert passkey_names(page) == ["Laptop"]
    [credential] = authenticator.credentials()
    assert credential["isResidentCredential"] is True
    assert credential["rpId"] == "localhost"

    sign_out(page)
    assert page.input_value("#login input[name=username]") == ""
    sign_in_with_passkey(page)
    wait_for_state(page, "signed-in")
    assert page.text_content("#status") == f"Signed in as {alice}"
    assert shown_amr(page) == "hwk,mfa"
    assert page.text_content("#amr") == "Signed in with: hwk, mfa"


def test_a_passkey_is_the_second_step_after_the_password(
    passkey_deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    page, _ = demo_with_authenticator(passkey_deployment, context, alice)
    add_passkey(page, "Laptop")
    sign_out(page)

    # The password alone no longer signs in: the demo offers the passkey, and no code.
    submit_credentials(page, alice, PASSWORD)
    page.wait_for_selector("#mfa:not([hidden]) #mfa-passkey:not([hidden])")
    assert page.is_hidden("#mfa-code")
    assert auth_state(page)["status"] == "signed-out"
    page.click("#mfa-passkey")
    wait_for_state(page, "signed-in")
    assert shown_amr(page) == "pwd,hwk,mfa"


def test_passkeys_are_renamed_and_deleted_in_the_demo(
    passkey_deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    page, authenticator = demo_with_authenticator(passkey_deployment, context, alice)
    add_passkey(page, "Laptop")

    page.fill("#passkeys li input", "Work laptop")
    page.click("#passkeys li button[data-action=rename]")
    page.wait_for_selector("#notice:has-text('The passkey is renamed.')")
    assert passkey_names(page) == ["Work laptop"]

    # The account's only second factor goes only with the current password.
    page.click("#passkeys li button[data-action=delete]")
    assert shown_error(page) == "The current password is required"
    assert passkey_names(page) == ["Work laptop"]
    page.fill("#passkey-password", PASSWORD)
    page.click("#passkeys li button[data-action=delete]")
    page.wait_for_selector("#passkeys[data-count='0']", state="attached")
    assert page.is_visible("#no-passkeys")

    # The authenticator still holds the key, but authsvc no longer knows it.
    assert len(authenticator.credentials()) == 1
    sign_out(page)
    sign_in_with_passkey(page)
    assert shown_error(page) == "Passkey not accepted"
    assert auth_state(page)["status"] == "signed-out"


def test_a_cloned_passkey_whose_sign_count_went_back_is_refused(
    passkey_deployment: Deployment, alice: str, context: BrowserContext
) -> None:
    page, authenticator = demo_with_authenticator(passkey_deployment, context, alice)
    add_passkey(page, "Laptop")
    sign_out(page)
    sign_in_with_passkey(page)
    wait_for_state(page, "signed-in")
    sign_out(page)

    # A copy of the key, private key included, made before its latest use: its counter lags.
    [credential] = authenticator.credentials()
    assert credential["signCount"] >= 1
    assert credential["privateKey"]
    authenticator.remove(credential["credentialId"])
    assert authenticator.credentials() == []
    authenticator.add({**credential, "signCount": credential["signCount"] - 1})
    [clone] = authenticator.credentials()
    assert clone["signCount"] == credential["signCount"] - 1
    log_start = len(passkey_deployment.authsvc.output())

    sign_in_with_passkey(page)
    assert shown_error(page) == "Passkey not accepted"
    assert auth_state(page)["status"] == "signed-out"
    events = [
        line["event"]
        for line in json_lines(passkey_deployment.authsvc.output()[log_start:])
        if line["logger"] == "authsvc.security"
    ]
    assert "passkey_sign_count_regressed" in events
