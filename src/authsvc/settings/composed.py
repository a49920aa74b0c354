"""`Settings`: every section composed into one, and the checks that span sections.

A section is a pydantic model mixin in a module of its own (server.py, signing.py, ...): its
fields, their validators, and the whole-model checks only its own fields decide. `Settings`
inherits them all and reads them from the environment, `.env` and `SECRETS_DIR`.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from authsvc.secret_rules import check_secrets
from authsvc.settings.audit import AuditSettings
from authsvc.settings.cookie import CookieSettings
from authsvc.settings.mail import DEV_PUBLIC_URL, MailMode, MailSettings
from authsvc.settings.mfa import MfaSettings
from authsvc.settings.passwords import PasswordSettings
from authsvc.settings.requests import RequestSettings
from authsvc.settings.server import ServerSettings
from authsvc.settings.sessions import SessionSettings
from authsvc.settings.signing import EXAMPLE_SECRETS, TokenSettings, ephemeral_secret
from authsvc.settings.sources import ranked_sources
from authsvc.settings.store import StoreSettings
from authsvc.settings.throttle import ThrottleSettings
from authsvc.settings.webauthn import RelyingParty, WebAuthnSettings, origin_of


# pydantic orders fields from the last base up, and errors and the settings' listing follow
# that order: the sections are listed last first. A new section goes first in this list.
class Settings(
    WebAuthnSettings,
    MfaSettings,
    MailSettings,
    AuditSettings,
    PasswordSettings,
    RequestSettings,
    ThrottleSettings,
    CookieSettings,
    StoreSettings,
    SessionSettings,
    TokenSettings,
    ServerSettings,
    BaseSettings,
):
    """Everything authsvc reads from its environment (names are case-insensitive)."""

    # Refusal messages must never quote the offending input: it may be a secret.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return ranked_sources(settings_cls, init_settings, env_settings, dotenv_settings)

    @property
    def mail(self) -> MailMode:
        """Where mail goes: SMTP, the console (development) or nowhere (production)."""
        return self.mail_mode(production=self.is_production)

    @property
    def webauthn(self) -> RelyingParty | None:
        """The passkeys' relying party; None when passkeys are off (production without
        WEBAUTHN_RP_ID)."""
        public_url = self.public_url or (None if self.is_production else DEV_PUBLIC_URL)
        public_origin = origin_of(public_url) if public_url else None
        trusted = [*self.allowed_origins, *([public_origin] if public_origin else [])]
        return self.relying_party(
            production=self.is_production, trusted_origins=trusted, public_origin=public_origin
        )

    @model_validator(mode="after")
    def _check_model(self) -> Self:
        # One validator, so that the first fault found, the one reported, does not depend on
        # the order of the bases.
        self._check_secrets()
        self._check_signing_keys()
        self._resolve_mfa_keys(
            production=self.is_production,
            refresh_secret=(
                self.refresh_token_secret.get_secret_value()
                if self.refresh_token_secret is not None
                else None
            ),
        )
        self._resolve_cookie()
        self._check_consistency()
        _ = self.webauthn  # refuses origins and an RP id that do not fit together
        return self

    def _check_secrets(self) -> None:
        # `ACCESS_TOKEN_SECRET=` (as in .env.example) means "not set yet", not "the empty key".
        if self.access_token_secret is not None and not self.access_token_secret.get_secret_value():
            self.access_token_secret = None
        if (
            self.refresh_token_secret is not None
            and not self.refresh_token_secret.get_secret_value()
        ):
            self.refresh_token_secret = None
        if not self.signs_tokens:
            return
        # RS256/ES256 sign access tokens with a PEM key: ACCESS_TOKEN_SECRET is then unused.
        needs_access = not self.uses_asymmetric_keys
        missing = [
            name
            for name, value, needed in (
                ("ACCESS_TOKEN_SECRET", self.access_token_secret, needs_access),
                ("REFRESH_TOKEN_SECRET", self.refresh_token_secret, True),
            )
            if needed and value is None
        ]
        if missing:
            if self.is_production:
                raise ValueError(f"{' and '.join(missing)} must be set in production")
            if self.access_token_secret is None and needs_access:
                self.access_token_secret = ephemeral_secret()
            if self.refresh_token_secret is None:
                self.refresh_token_secret = ephemeral_secret()
            self._ephemeral_secrets = True

        access, refresh = self.secret_values()
        if self.is_production:
            for name, value in (("ACCESS_TOKEN_SECRET", access), ("REFRESH_TOKEN_SECRET", refresh)):
                if value in EXAMPLE_SECRETS:
                    raise ValueError(f"{name} is the example value from .env.example")
        check_secrets(access, refresh, self.previous_secret_values())

    def _check_consistency(self) -> None:
        if self.cookie_samesite == "none" and not self.cookie_secure:
            raise ValueError("COOKIE_SAMESITE=none requires COOKIE_SECURE=true")
        if self.password_min_length > self.password_max_length:
            raise ValueError("PASSWORD_MIN_LENGTH must not exceed PASSWORD_MAX_LENGTH")
        if self.refresh_token_ttl_seconds > self.session_max_lifetime_seconds:
            raise ValueError(
                "REFRESH_TOKEN_TTL_SECONDS must not exceed SESSION_MAX_LIFETIME_SECONDS"
            )
        if self.access_token_ttl_seconds > self.refresh_token_ttl_seconds:
            raise ValueError("ACCESS_TOKEN_TTL_SECONDS must not exceed REFRESH_TOKEN_TTL_SECONDS")
        if self.session_retention_seconds < self.access_token_ttl_seconds + self.jwt_leeway_seconds:
            # The revocation lists are rebuilt from revoked session rows at startup: a row
            # deleted while an access token of its session can still be valid would let that
            # token pass again after a restart.
            raise ValueError(
                "SESSION_RETENTION_SECONDS must be at least "
                "ACCESS_TOKEN_TTL_SECONDS + JWT_LEEWAY_SECONDS"
            )


class ManagementSettings(Settings):
    """Settings for commands that sign nothing: user management and migrations.

    They never issue or verify a token, so the signing secrets and keys are neither required
    nor checked; `serve` and the key commands use `Settings`, which keeps every check.
    """

    signs_tokens: ClassVar[bool] = False
