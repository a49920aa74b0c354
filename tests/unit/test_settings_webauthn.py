"""The passkey settings: on where configured (and in development), and refused at startup when
their origins and RP id do not fit the rest of the deployment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from authsvc.settings.webauthn import RelyingParty
from tests.support.settings import make_settings


def party(tmp_path: Path, **overrides: object) -> RelyingParty | None:
    return make_settings(tmp_path, **overrides).webauthn


def test_production_without_an_rp_id_has_passkeys_off(tmp_path: Path) -> None:
    assert party(tmp_path, public_url="https://app.example.com") is None


def test_development_defaults_to_localhost_and_the_local_spa(tmp_path: Path) -> None:
    assert party(tmp_path, environment="development") == RelyingParty(
        rp_id="localhost",
        rp_name="authsvc",
        origins=("http://localhost:5173",),
        challenge_ttl_seconds=300,
    )


def test_development_binds_to_the_spas_host_or_stays_off_on_an_address(tmp_path: Path) -> None:
    named = party(tmp_path, environment="development", public_url="https://app.example.test")
    assert named is not None
    assert (named.rp_id, named.origins) == ("app.example.test", ("https://app.example.test",))
    assert party(tmp_path, environment="development", public_url="http://127.0.0.1:3000") is None


def test_the_origin_defaults_to_public_urls(tmp_path: Path) -> None:
    found = party(tmp_path, webauthn_rp_id="example.com", public_url="https://app.example.com/")
    assert found is not None
    assert (found.rp_id, found.origins) == ("example.com", ("https://app.example.com",))


def test_origins_from_the_environment_are_comma_separated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBAUTHN_ORIGINS", "https://a.example.com, https://b.example.com:8443/")
    found = party(
        tmp_path,
        webauthn_rp_id="Example.COM",
        allowed_origins=["https://a.example.com", "https://b.example.com:8443"],
    )
    assert found is not None
    assert found.rp_id == "example.com"
    assert found.origins == ("https://a.example.com", "https://b.example.com:8443")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"webauthn_rp_id": "example.com", "webauthn_origins": ["https://app.example.com"]},
            "neither in ALLOWED_ORIGINS nor PUBLIC_URL",
        ),
        (
            {"webauthn_rp_id": "other.example", "public_url": "https://app.example.com"},
            "nor a suffix",
        ),
        (
            # A suffix of the host's text, not of its labels.
            {"webauthn_rp_id": "ample.com", "public_url": "https://app.example.com"},
            "nor a suffix",
        ),
        ({"webauthn_rp_id": "example.com"}, "WEBAUTHN_ORIGINS or PUBLIC_URL"),
        ({"webauthn_origins": ["https://app.example.com"]}, "needs WEBAUTHN_RP_ID"),
        ({"webauthn_rp_id": "com", "public_url": "https://app.com"}, "domain"),
        ({"webauthn_rp_id": "10.0.0.1", "public_url": "https://10.0.0.1"}, "domain"),
        (
            {"webauthn_rp_id": "example.com", "webauthn_origins": ["http://app.example.com"]},
            "https",
        ),
        ({"webauthn_origins": ["https://*.example.com"]}, "origin"),
    ],
    ids=[
        "untrusted-origin",
        "foreign-rp-id",
        "not-a-label-suffix",
        "no-origin",
        "origins-without-rp-id",
        "top-level-domain",
        "ip-address",
        "plain-http",
        "wildcard",
    ],
)
def test_a_relying_party_that_cannot_work_refuses_to_start(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        make_settings(tmp_path, **overrides)


def test_loopback_origins_may_be_plain_http(tmp_path: Path) -> None:
    found = party(
        tmp_path,
        webauthn_rp_id="localhost",
        allowed_origins=["http://localhost:3000"],
        webauthn_origins=["http://localhost:3000"],
    )
    assert found is not None
    assert found.origins == ("http://localhost:3000",)
