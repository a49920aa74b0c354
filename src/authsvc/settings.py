"""Runtime configuration: one `Settings`, read from the environment and `.env`.

Weak setups are refused when `Settings` is built, so a misconfigured replica never starts
serving. Development mode may run without secrets: it generates throwaway ones and says so.
Settings hold strings and paths only: PEM keys are read and checked by `keys.KeyRing`, when
the app (or a command that signs) starts.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Annotated, ClassVar, Literal, Self
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)
from redis.asyncio.connection import parse_url as parse_redis_url

from authsvc.mail.settings import MailMode, MailSettings
from authsvc.secret_rules import check_secrets, is_asymmetric

# Where Docker (and Compose) mount secrets; read when it exists and SECRETS_DIR is not set.
DEFAULT_SECRETS_DIR = Path("/run/secrets")

# The placeholders shipped in `.env.example`; production refuses them verbatim.
EXAMPLE_SECRETS = frozenset(
    {
        "replace-me-with-at-least-32-random-bytes-for-access-tokens",
        "replace-me-with-at-least-32-random-bytes-for-refresh-tokens",
    }
)

# OWASP Password Storage Cheat Sheet: argon2id with m=19 MiB, t=2, p=1 is the floor.
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2

# A password longer than this is refused by the request schema before any policy check.
PASSWORD_HARD_LIMIT = 1024

# The refresh cookie's name, with the __Host- prefix wherever the deployment allows it.
PLAIN_COOKIE_NAME = "refresh_token"
HOST_COOKIE_NAME = "__Host-" + PLAIN_COOKIE_NAME

# The drivers authsvc runs on (the store is async throughout), each with the URL's shape.
ASYNC_DATABASE_URLS = {
    "sqlite+aiosqlite": "sqlite+aiosqlite:///PATH",
    "postgresql+asyncpg": "postgresql+asyncpg://USER@HOST:PORT/NAME",
}


class Settings(MailSettings, BaseSettings):
    """Everything authsvc reads from its environment (names are case-insensitive)."""

    # Refusal messages must never quote the offending input: it may be a secret.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "production"] = "production"
    # A directory of files named after settings (`access_token_secret`, any letter case), each
    # holding that setting's value; the environment and `.env` win over it. See
    # settings_customise_sources.
    secrets_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # `authsvc serve` worker processes; more than one needs REDIS_URL (see serve.py).
    workers: int = Field(default=1, ge=1)
    # On SIGTERM, requests in flight get this long to finish before they are cancelled.
    shutdown_timeout_seconds: int = Field(default=10, ge=1, le=300)
    # GET /metrics for Prometheus; the gateway must not route it to the outside world.
    metrics_enabled: bool = True
    # /docs, /redoc and /openapi.json; off, all three answer 404.
    docs_enabled: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # One line per request: method, path (never the query string), status, client, duration.
    access_log: bool = True

    access_token_secret: SecretStr | None = None
    refresh_token_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512", "RS256", "ES256"] = "HS256"
    # RS256/ES256: access tokens are signed with this PEM private key (inline or from a file)
    # and verified with its public key and the previous public keys, published in the JWKS.
    # Read and checked by `KeyRing.from_settings` (keys.py); here only which ones are set.
    access_token_private_key: SecretStr | None = None
    access_token_private_key_file: Path | None = None
    access_token_key_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-.]{1,64}$")
    access_token_previous_public_keys_file: Path | None = None
    # HMAC rotation: old access-token secrets, accepted for verification only.
    access_token_previous_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list
    )
    jwt_issuer: str = Field(default="authsvc", min_length=1)
    jwt_audience: str = Field(default="authsvc", min_length=1)
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)

    access_token_ttl_seconds: int = Field(default=600, ge=10, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=86_400, ge=60)
    session_max_lifetime_seconds: int = Field(default=30 * 86_400, ge=60)
    refresh_grace_seconds: float = Field(default=5.0, ge=0, le=60)
    # Opening one more ends the user's least recently used live session.
    max_sessions_per_user: int = Field(default=100, ge=1, le=10_000)
    # Ended (revoked or expired) sessions are deleted this long after they ended; at least an
    # access-token lifetime plus leeway, so no deletion can forget a revocation still needed.
    session_retention_seconds: int = Field(default=7 * 86_400, ge=0)
    # How often each process purges ended sessions (one process at a time); 0 switches the
    # periodic purge off, for deployments that run `authsvc sessions purge` from cron instead.
    session_purge_interval_seconds: float = Field(default=3_600, ge=0, le=7 * 86_400)

    database_url: str = "sqlite+aiosqlite:///./authsvc.db"
    # Shared state for replicas: throttling counters and the revocation feed.
    redis_url: str | None = Field(default=None, pattern=r"^rediss?://")
    redis_prefix: str = Field(default="authsvc", pattern=r"^[A-Za-z0-9_\-:]{1,64}$")
    migrate_on_start: bool = True

    # Unset, the name and path follow from the rest (see `_resolve_cookie`).
    cookie_name: str = Field(default=PLAIN_COOKIE_NAME, pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    cookie_samesite: Literal["strict", "lax", "none"] = "strict"
    cookie_secure: bool = True
    cookie_path: str = Field(default="/auth", pattern=r"^/[A-Za-z0-9_\-/.]*$")
    cookie_domain: str | None = None
    # Strict-Transport-Security on answers to HTTPS requests (direct, or X-Forwarded-Proto from
    # a trusted proxy); 0 sends none.
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0, le=63_072_000)
    hsts_include_subdomains: bool = False

    # Failed-login throttling, in `limits` notation ("N/period;M/period"); see throttle.py.
    throttle_per_ip: str = "30/minute;300/hour"
    throttle_per_account_ip: str = "5/minute;20/hour"
    throttle_per_account: str = "10/minute"
    # Registrations per client address, whatever their outcome (a 409 says a name exists).
    throttle_registration_per_ip: str = "10/minute;50/hour"
    # IPv6 clients are counted per network of this many bits: a subscriber holds a whole /64.
    throttle_ipv6_prefix: int = Field(default=64, ge=32, le=128)
    # An address that logged into an account within this many days is not held back by the
    # per-account limit, so an attack from elsewhere does not lock the owner out.
    throttle_proven_address_days: int = Field(default=30, ge=1, le=365)

    # Cross-site defences for the cookie routes (see api/csrf.py) and CORS for SPA origins.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    csrf_header: str = Field(default="X-Requested-With", pattern=r"^[A-Za-z0-9\-]{1,64}$")
    require_csrf_header: bool = True
    # Addresses (or CIDR ranges) of proxies whose X-Forwarded-For is believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=16_384, ge=1_024, le=1_048_576)
    max_header_bytes: int = Field(default=16_384, ge=8_192, le=1_048_576)
    # The request line's URL (path and query); longer is a 414 before the app sees it.
    max_url_bytes: int = Field(default=8_192, ge=1_024, le=65_536)
    # A request's head, then its body, must arrive within these, or the connection gets 408.
    request_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    request_body_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    registration_enabled: bool = True
    password_min_length: int = Field(default=8, ge=8, le=PASSWORD_HARD_LIMIT)
    password_max_length: int = Field(default=128, ge=64, le=PASSWORD_HARD_LIMIT)
    argon2_memory_kib: int = Field(default=ARGON2_MIN_MEMORY_KIB, ge=ARGON2_MIN_MEMORY_KIB)
    argon2_time_cost: int = Field(default=ARGON2_MIN_TIME_COST, ge=ARGON2_MIN_TIME_COST)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    # Hashes computed at once; unset: the CPUs this process may use (affinity, cgroup quota).
    # Each one holds ARGON2_MEMORY_KIB of memory while it runs.
    hash_concurrency: int | None = Field(default=None, ge=1, le=64)
    # Password checks that may wait for a hashing thread; more are answered 503 at once.
    hash_queue_limit: int = Field(default=64, ge=1, le=10_000)

    # False for commands that neither issue nor verify tokens (see `ManagementSettings`).
    signs_tokens: ClassVar[bool] = True

    _ephemeral_secrets: bool = PrivateAttr(default=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # pydantic-settings takes its secrets directory from the class, fixed before any value
        # is read; SECRETS_DIR is itself a setting, so the directory is picked here, from the
        # sources that outrank the files.
        outranking = (init_settings, env_settings, dotenv_settings)
        files = SecretsSettingsSource(settings_cls, secrets_dir=_secrets_dir(outranking))
        return (*outranking, files)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def mail(self) -> MailMode:
        """Where mail goes: SMTP, the console (development) or nowhere (production)."""
        return self.mail_mode(production=self.is_production)

    @property
    def has_ephemeral_secrets(self) -> bool:
        """True when development mode made up the secrets; tokens die with the process."""
        return self._ephemeral_secrets

    @property
    def uses_asymmetric_keys(self) -> bool:
        return is_asymmetric(self.jwt_algorithm)

    def previous_secret_values(self) -> tuple[str, ...]:
        return tuple(s.get_secret_value() for s in self.access_token_previous_secrets)

    def secret_values(self) -> tuple[str | None, str]:
        """The access secret (None when RS256/ES256 sign without one) and the refresh secret."""
        if self.refresh_token_secret is None:
            raise RuntimeError("signing secrets are not configured")
        access = self.access_token_secret
        return (
            access.get_secret_value() if access is not None else None,
            self.refresh_token_secret.get_secret_value(),
        )

    @model_validator(mode="after")
    def _check_secrets(self) -> Self:
        # `ACCESS_TOKEN_SECRET=` (as in .env.example) means "not set yet", not "the empty key".
        if self.access_token_secret is not None and not self.access_token_secret.get_secret_value():
            self.access_token_secret = None
        if (
            self.refresh_token_secret is not None
            and not self.refresh_token_secret.get_secret_value()
        ):
            self.refresh_token_secret = None
        if not self.signs_tokens:
            return self
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
                self.access_token_secret = _ephemeral()
            if self.refresh_token_secret is None:
                self.refresh_token_secret = _ephemeral()
            self._ephemeral_secrets = True

        access, refresh = self.secret_values()
        if self.is_production:
            for name, value in (("ACCESS_TOKEN_SECRET", access), ("REFRESH_TOKEN_SECRET", refresh)):
                if value in EXAMPLE_SECRETS:
                    raise ValueError(f"{name} is the example value from .env.example")
        check_secrets(access, refresh, self.previous_secret_values())
        return self

    @model_validator(mode="after")
    def _check_signing_keys(self) -> Self:
        if not self.signs_tokens:
            return self
        has_pem = (
            self.access_token_private_key is not None
            or self.access_token_private_key_file is not None
            or self.access_token_previous_public_keys_file is not None
        )
        if not self.uses_asymmetric_keys:
            # RFC 8725 §3.1: one key type per deployment, so no algorithm switch can confuse them.
            if has_pem:
                raise ValueError(
                    f"JWT_ALGORITHM={self.jwt_algorithm} is HMAC: unset ACCESS_TOKEN_PRIVATE_KEY, "
                    "ACCESS_TOKEN_PRIVATE_KEY_FILE and ACCESS_TOKEN_PREVIOUS_PUBLIC_KEYS_FILE, "
                    "or choose RS256/ES256"
                )
            return self
        if self.access_token_previous_secrets:
            raise ValueError(
                f"JWT_ALGORITHM={self.jwt_algorithm} uses PEM keys: "
                "ACCESS_TOKEN_PREVIOUS_SECRETS must be empty"
            )
        if (self.access_token_private_key is None) == (self.access_token_private_key_file is None):
            raise ValueError(
                f"JWT_ALGORITHM={self.jwt_algorithm} needs exactly one of "
                "ACCESS_TOKEN_PRIVATE_KEY and ACCESS_TOKEN_PRIVATE_KEY_FILE"
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("secrets_dir")
    @classmethod
    def _check_secrets_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"not a directory: {value}")
        return value

    @field_validator(
        "throttle_per_ip",
        "throttle_per_account_ip",
        "throttle_per_account",
        "throttle_registration_per_ip",
        "throttle_email_resend",
    )
    @classmethod
    def _check_limits(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"not a rate limit like '10/minute;100/hour': {value!r}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        # Only the scheme is quoted back: the rest of the URL may hold a password.
        scheme = value.partition("://")[0] if "://" in value else ""
        if scheme in ASYNC_DATABASE_URLS:
            return value
        backend = scheme.partition("+")[0]
        shapes = [shape for name, shape in ASYNC_DATABASE_URLS.items() if name.startswith(backend)]
        hint = " or ".join(shapes if backend and shapes else ASYNC_DATABASE_URLS.values())
        if not scheme:
            raise ValueError(f"not a database URL; use {hint}")
        raise ValueError(f"{scheme!r} is not a supported async driver; use {hint}")

    @field_validator(
        "allowed_origins", "trusted_proxies", "access_token_previous_secrets", mode="before"
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        # Comma-separated in the environment; a list when passed in code.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        # Parsed the way the client will parse it, so a misspelt URL stops the start here
        # rather than in the middle of it. Never quoted: it may hold a password.
        if value is not None:
            try:
                parse_redis_url(value)
            except ValueError:
                raise ValueError("not a Redis URL like redis://[:password@]host:6379/0") from None
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parsed = urlsplit(origin)
            if (
                parsed.scheme not in ("http", "https")
                or not parsed.netloc
                or "*" in origin
                or parsed.path not in ("", "/")
                or parsed.query
                or parsed.fragment
            ):
                # A wildcard with credentials would hand every site the refresh cookie.
                raise ValueError(f"not an origin like https://app.example.com: {origin!r}")
        return [origin.rstrip("/") for origin in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or CIDR range: {proxy!r}") from None
        return value

    @model_validator(mode="after")
    def _resolve_cookie(self) -> Self:
        # RFC 6265bis §4.1.3.2: browsers accept a __Host- cookie only when it is Secure, has
        # Path=/ and no Domain, so no sibling subdomain and no plain-http page can plant one
        # under our name. Where the deployment rules that out, the plain name keeps Path=/auth.
        explicit = self.model_fields_set
        if "cookie_name" not in explicit:
            host_only = self.cookie_secure and self.cookie_domain is None
            path_allows = "cookie_path" not in explicit or self.cookie_path == "/"
            self.cookie_name = HOST_COOKIE_NAME if host_only and path_allows else PLAIN_COOKIE_NAME
        prefix = self.cookie_name.lower()
        if "cookie_path" not in explicit and prefix.startswith("__host-"):
            self.cookie_path = "/"
        # Browsers compare the prefixes case-insensitively and silently drop a cookie that
        # breaks their rules: refuse such a setup here instead.
        if prefix.startswith("__host-") and (
            not self.cookie_secure or self.cookie_domain is not None or self.cookie_path != "/"
        ):
            raise ValueError(
                "a __Host- COOKIE_NAME needs COOKIE_SECURE=true, no COOKIE_DOMAIN and COOKIE_PATH=/"
            )
        if prefix.startswith("__secure-") and not self.cookie_secure:
            raise ValueError("a __Secure- COOKIE_NAME needs COOKIE_SECURE=true")
        return self

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
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
        return self


def _secrets_dir(sources: tuple[PydanticBaseSettingsSource, ...]) -> Path | None:
    """SECRETS_DIR from the first source that sets it; else /run/secrets if it exists."""
    for source in sources:
        value = source().get("secrets_dir")
        if value:
            path = Path(value)
            # A missing directory is refused by the field's validator, in one line.
            return path if path.is_dir() else None
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


class ManagementSettings(Settings):
    """Settings for commands that sign nothing: user management and migrations.

    They never issue or verify a token, so the signing secrets and keys are neither required
    nor checked; `serve` and the key commands use `Settings`, which keeps every check.
    """

    signs_tokens: ClassVar[bool] = False


def _ephemeral() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(48))
