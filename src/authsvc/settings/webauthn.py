"""The passkey (WebAuthn) settings: the relying party's id and name, and the pages it trusts.

A section of `Settings` (composed.py). Passkeys are on when `WEBAUTHN_RP_ID` is set, and in
development, where the RP id defaults to the host of the SPA's page (`localhost` for the
default http://localhost:5173); in production without it they are off and their routes
answer 404. Whether the origins fit the rest of the settings (the SPA's
origins, `PUBLIC_URL`) is decided by `relying_party`, which `Settings` calls at startup.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from authsvc.settings.requests import checked_origin
from authsvc.settings.sources import CommaList

# The one single-label name that is a valid RP id: browsers treat it as a secure context.
DEV_RP_ID = "localhost"
# Browsers treat these as secure contexts over plain http (W3C Secure Contexts §3.1).
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """What a WebAuthn ceremony is checked against."""

    rp_id: str
    rp_name: str
    origins: tuple[str, ...]
    challenge_ttl_seconds: int


class WebAuthnSettings(BaseModel):
    """The passkey settings; `Settings` inherits them."""

    # The domain passkeys are bound to: the SPA's host or a registrable suffix of it. Changing
    # it later orphans every passkey registered under the old one.
    webauthn_rp_id: str | None = None
    # Shown by the browser and the authenticator when a passkey is created.
    webauthn_rp_name: str = Field(default="authsvc", min_length=1, max_length=64)
    # The pages (scheme://host[:port]) that run the ceremonies; by default PUBLIC_URL's origin.
    webauthn_origins: CommaList[str] = Field(default_factory=list)
    # How long a registration or login challenge can be answered, and the browser's timeout.
    webauthn_challenge_ttl_seconds: int = Field(default=300, ge=30, le=1_800)

    @field_validator("webauthn_rp_id")
    @classmethod
    def _check_rp_id(cls, value: str | None) -> str | None:
        if not value:
            return None  # `WEBAUTHN_RP_ID=` as in .env.example: not configured
        value = value.strip().lower()
        if not _is_domain(value):
            raise ValueError(f"not a domain name like example.com: {value!r}")
        return value

    @field_validator("webauthn_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        checked = [checked_origin(origin) for origin in value]
        for origin in checked:
            if origin.startswith("http://") and urlsplit(origin).hostname not in _LOOPBACK_HOSTS:
                # Browsers offer WebAuthn to secure contexts only.
                raise ValueError(f"a WebAuthn origin must be https:// (or loopback): {origin!r}")
        return checked

    def relying_party(
        self, *, production: bool, trusted_origins: Sequence[str], public_origin: str | None
    ) -> RelyingParty | None:
        """The relying party these settings describe; None when passkeys are off.

        `trusted_origins` are the pages the service already trusts with the refresh cookie
        (ALLOWED_ORIGINS and PUBLIC_URL's origin): a WebAuthn origin must be one of them.

        Raises: ValueError naming the setting that does not fit.
        """
        rp_id = self.webauthn_rp_id
        if rp_id is None:
            if production:
                if self.webauthn_origins:
                    raise ValueError("WEBAUTHN_ORIGINS needs WEBAUTHN_RP_ID")
                return None
            # Development: bound to the host of the SPA's page, so a default never stops a
            # start; passkeys need a domain, so on an address (127.0.0.1) they are off.
            page = self.webauthn_origins[0] if self.webauthn_origins else public_origin
            host = urlsplit(page).hostname if page else None
            if host is None or not _is_domain(host):
                return None
            rp_id = host
        origins = tuple(self.webauthn_origins) or ((public_origin,) if public_origin else ())
        if not origins:
            raise ValueError("WEBAUTHN_RP_ID needs WEBAUTHN_ORIGINS or PUBLIC_URL")
        for origin in origins:
            if origin not in trusted_origins:
                raise ValueError(
                    f"WEBAUTHN_ORIGINS: {origin} is neither in ALLOWED_ORIGINS nor PUBLIC_URL's"
                )
            host = urlsplit(origin).hostname or ""
            if not (host == rp_id or host.endswith("." + rp_id)):
                raise ValueError(
                    f"WEBAUTHN_RP_ID {rp_id} is neither {host} nor a suffix of it "
                    f"(WEBAUTHN_ORIGINS: {origin})"
                )
        return RelyingParty(
            rp_id=rp_id,
            rp_name=self.webauthn_rp_name,
            origins=origins,
            challenge_ttl_seconds=self.webauthn_challenge_ttl_seconds,
        )


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _is_domain(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return False  # WebAuthn binds credentials to domains, never to addresses
    labels = value.split(".")
    if value == DEV_RP_ID:
        return True
    # A single label would be a top-level domain: every site under it could use the passkeys.
    # Browsers also refuse public suffixes such as co.uk, from the Public Suffix List, which
    # this check does not carry: such an RP id makes every ceremony fail in the browser.
    return len(labels) >= 2 and all(
        0 < len(label) <= 63
        and label.replace("-", "").isalnum()
        and label.isascii()
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )
