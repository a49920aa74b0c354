"""Settings: the exact variable names, `.env`, and every weak setup refused at construction."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from authsvc.secret_rules import MIN_SECRET_BYTES
from authsvc.settings import (
    ARGON2_MIN_MEMORY_KIB,
    ARGON2_MIN_TIME_COST,
    EXAMPLE_SECRETS,
    HOST_COOKIE_NAME,
    PLAIN_COOKIE_NAME,
    ManagementSettings,
    Settings,
)
from tests.support.settings import ACCESS_SECRET, REFRESH_SECRET, make_settings


def set_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_TOKEN_SECRET", ACCESS_SECRET)
    monkeypatch.setenv("REFRESH_TOKEN_SECRET", REFRESH_SECRET)


# Where values come from


def test_reads_secrets_and_port_from_the_exact_variable_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("PORT", "9123")

    settings = Settings()

    assert settings.secret_values() == (ACCESS_SECRET, REFRESH_SECRET)
    assert settings.port == 9123
    assert settings.is_production
    assert not settings.has_ephemeral_secrets


def test_reads_dotenv_in_the_working_directory(tmp_path: Path) -> None:
    # The autouse fixture has chdir'd into tmp_path.
    (tmp_path / ".env").write_text(
        f"ACCESS_TOKEN_SECRET={ACCESS_SECRET}\nREFRESH_TOKEN_SECRET={REFRESH_SECRET}\nPORT=9124\n",
        encoding="utf-8",
    )

    settings = Settings()

    assert settings.secret_values() == (ACCESS_SECRET, REFRESH_SECRET)
    assert settings.port == 9124
    assert not settings.has_ephemeral_secrets


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("PORT", "9001")
    (tmp_path / ".env").write_text("PORT=9002\n", encoding="utf-8")

    assert Settings().port == 9001


def test_missing_secrets_in_dotenv_are_still_refused(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=9002\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="ACCESS_TOKEN_SECRET"):
        Settings()


def test_port_defaults_to_8000(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    assert Settings().port == 8000


@pytest.mark.parametrize("port", ["0", "65536", "-1", "http", "80.5"])
def test_bad_port_is_refused(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("PORT", port)
    with pytest.raises(ValidationError):
        Settings()


def test_defaults(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.environment == "production"
    assert settings.access_token_ttl_seconds == 600
    assert settings.refresh_token_ttl_seconds == 86_400
    assert settings.cookie_samesite == "strict"
    assert settings.cookie_secure is True
    assert settings.cookie_path == "/"
    assert settings.cookie_name == "__Host-refresh_token"
    assert settings.cookie_domain is None
    assert settings.jwt_algorithm == "HS256"
    assert settings.argon2_memory_kib >= 19_456
    assert settings.argon2_time_cost >= 2
    assert settings.argon2_parallelism >= 1


def test_production_is_the_default_environment() -> None:
    # Forgetting ENVIRONMENT must not silently give throwaway secrets.
    with pytest.raises(ValidationError, match="production"):
        Settings()


# Production refuses weak secrets


@pytest.mark.parametrize(
    ("access", "refresh", "named"),
    [
        (None, None, ["ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET"]),
        (None, REFRESH_SECRET, ["ACCESS_TOKEN_SECRET"]),
        (ACCESS_SECRET, None, ["REFRESH_TOKEN_SECRET"]),
    ],
)
def test_production_refuses_missing_secrets(
    monkeypatch: pytest.MonkeyPatch, access: str | None, refresh: str | None, named: list[str]
) -> None:
    if access is not None:
        monkeypatch.setenv("ACCESS_TOKEN_SECRET", access)
    if refresh is not None:
        monkeypatch.setenv("REFRESH_TOKEN_SECRET", refresh)
    with pytest.raises(ValidationError) as caught:
        Settings()
    for name in named:
        assert name in str(caught.value)


@pytest.mark.parametrize("which", ["access_token_secret", "refresh_token_secret"])
@pytest.mark.parametrize("short", ["x", "s" * (MIN_SECRET_BYTES - 1), "€" * 10])
def test_production_refuses_short_secrets(tmp_path: Path, which: str, short: str) -> None:
    with pytest.raises(ValidationError, match=f"{which.upper()} must be at least 32 bytes"):
        make_settings(tmp_path, **{which: short})


@pytest.mark.parametrize("which", ["access_token_secret", "refresh_token_secret"])
def test_an_empty_secret_counts_as_unset(tmp_path: Path, which: str) -> None:
    # `.env.example` ships `ACCESS_TOKEN_SECRET=`: refused as missing, never used as a key.
    with pytest.raises(ValidationError, match=f"{which.upper()} must be set in production"):
        make_settings(tmp_path, **{which: ""})
    development = make_settings(tmp_path, environment="development", **{which: ""})
    assert development.has_ephemeral_secrets
    assert all(
        value is not None and len(value) >= MIN_SECRET_BYTES
        for value in development.secret_values()
    )


def test_secret_of_exactly_32_bytes_is_accepted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, access_token_secret="a" * MIN_SECRET_BYTES)
    assert settings.secret_values()[0] == "a" * MIN_SECRET_BYTES


def test_production_refuses_equal_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must differ"):
        make_settings(tmp_path, refresh_token_secret=ACCESS_SECRET)


@pytest.mark.parametrize("example", sorted(EXAMPLE_SECRETS))
@pytest.mark.parametrize("which", ["access_token_secret", "refresh_token_secret"])
def test_production_refuses_the_example_secrets(tmp_path: Path, example: str, which: str) -> None:
    with pytest.raises(ValidationError, match="example"):
        make_settings(tmp_path, **{which: example})


def test_example_secrets_from_the_environment_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    access, refresh = sorted(EXAMPLE_SECRETS)
    monkeypatch.setenv("ACCESS_TOKEN_SECRET", access)
    monkeypatch.setenv("REFRESH_TOKEN_SECRET", refresh)
    with pytest.raises(ValidationError, match="example"):
        Settings()


@pytest.mark.parametrize(
    ("access", "refresh"),
    [
        (ACCESS_SECRET, ACCESS_SECRET),  # equal
        ("short-access-secret", REFRESH_SECRET),  # too short
        (ACCESS_SECRET, "short-refresh-secret"),
        (sorted(EXAMPLE_SECRETS)[0], REFRESH_SECRET),  # example value
    ],
    ids=["equal", "short-access", "short-refresh", "example"],
)
def test_refusal_does_not_echo_secret_material(
    monkeypatch: pytest.MonkeyPatch, access: str, refresh: str
) -> None:
    # Built the way a replica starts: from the environment. The error text lands in a startup
    # traceback and in logs, so no run of 8 characters from either secret may appear in it
    # (pydantic by default quotes the start and end of the whole input).
    monkeypatch.setenv("ACCESS_TOKEN_SECRET", access)
    monkeypatch.setenv("REFRESH_TOKEN_SECRET", refresh)
    with pytest.raises(ValidationError) as caught:
        Settings()
    text = str(caught.value)
    for secret in (access, refresh):
        fragments = {secret[i : i + 8] for i in range(len(secret) - 7)}
        leaked = sorted(f for f in fragments if f in text)
        assert not leaked, f"secret fragments in error message: {leaked}"


def test_secrets_are_masked_in_repr(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert ACCESS_SECRET not in text
        assert REFRESH_SECRET not in text


# Development mode


def test_development_without_secrets_generates_two_different_strong_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")

    settings = Settings()

    access, refresh = settings.secret_values()
    assert access is not None
    assert refresh is not None
    assert len(access.encode()) >= MIN_SECRET_BYTES
    assert len(refresh.encode()) >= MIN_SECRET_BYTES
    assert access != refresh
    assert settings.has_ephemeral_secrets
    assert not settings.is_production
    # Throwaway: each process (each Settings) gets its own.
    assert set(Settings().secret_values()).isdisjoint({access, refresh})


def test_development_fills_in_only_the_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("ACCESS_TOKEN_SECRET", ACCESS_SECRET)

    settings = Settings()

    access, refresh = settings.secret_values()
    assert access == ACCESS_SECRET
    assert len(refresh.encode()) >= MIN_SECRET_BYTES
    assert refresh != access
    assert settings.has_ephemeral_secrets


def test_development_keeps_provided_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    set_secrets(monkeypatch)

    settings = Settings()

    assert settings.secret_values() == (ACCESS_SECRET, REFRESH_SECRET)
    assert not settings.has_ephemeral_secrets


def test_development_still_refuses_short_or_equal_provided_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        make_settings(tmp_path, environment="development", access_token_secret="short")
    with pytest.raises(ValidationError, match="must differ"):
        make_settings(tmp_path, environment="development", refresh_token_secret=ACCESS_SECRET)


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, environment="staging")


# Cookies, hashing and lifetimes


def test_samesite_none_requires_secure_cookies(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="COOKIE_SECURE"):
        make_settings(tmp_path, cookie_samesite="none", cookie_secure=False)
    assert make_settings(tmp_path, cookie_samesite="none").cookie_secure is True


def test_samesite_none_without_secure_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("COOKIE_SAMESITE", "none")
    monkeypatch.setenv("COOKIE_SECURE", "false")
    with pytest.raises(ValidationError, match="COOKIE_SECURE"):
        Settings()


@pytest.mark.parametrize("samesite", ["Strict ", "always", ""])
def test_unknown_samesite_is_refused(tmp_path: Path, samesite: str) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, cookie_samesite=samesite)


@pytest.mark.parametrize(
    "overrides",
    [
        {"argon2_memory_kib": ARGON2_MIN_MEMORY_KIB - 1},
        {"argon2_memory_kib": 4096},
        {"argon2_time_cost": ARGON2_MIN_TIME_COST - 1},
        {"argon2_time_cost": 0},
        {"argon2_parallelism": 0},
    ],
)
def test_argon2_below_the_owasp_floor_is_refused(tmp_path: Path, overrides: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, **overrides)


def test_argon2_at_the_owasp_floor_is_accepted(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, argon2_memory_kib=19_456, argon2_time_cost=2, argon2_parallelism=1
    )
    assert (settings.argon2_memory_kib, settings.argon2_time_cost) == (19_456, 2)


def test_refresh_lifetime_beyond_session_cap_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SESSION_MAX_LIFETIME_SECONDS"):
        make_settings(tmp_path, refresh_token_ttl_seconds=7200, session_max_lifetime_seconds=3600)


def test_access_lifetime_beyond_refresh_lifetime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="REFRESH_TOKEN_TTL_SECONDS"):
        make_settings(tmp_path, access_token_ttl_seconds=3600, refresh_token_ttl_seconds=1800)


def test_equal_lifetimes_are_consistent(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        access_token_ttl_seconds=3600,
        refresh_token_ttl_seconds=3600,
        session_max_lifetime_seconds=3600,
    )
    assert settings.refresh_token_ttl_seconds == settings.session_max_lifetime_seconds


def test_password_bounds_must_be_ordered(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PASSWORD_MIN_LENGTH"):
        make_settings(tmp_path, password_min_length=200, password_max_length=128)


@pytest.mark.parametrize("path", ["auth", "/auth;", "/a b", "/auth\r\nSet-Cookie: x=y"])
def test_cookie_path_must_be_a_plain_path(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, cookie_path=path)


def test_env_example_names_real_settings_and_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    names = [
        line.split("=", 1)[0].lower()
        for line in example.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert names
    # docker-compose.yml reads these when it is interpolated; authsvc ignores them.
    assert set(names) - {"postgres_password"} <= set(Settings.model_fields)
    (tmp_path / ".env").write_text(example.read_text())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ValidationError, match="ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must be set"
    ):
        Settings()
    development = Settings(environment="development")
    assert development.cookie_name == HOST_COOKIE_NAME
    assert development.has_ephemeral_secrets


@pytest.mark.parametrize(
    "url",
    ["redis://:hunter2-secret@127.0.0.1:notaport/0", "redis://:hunter2-secret@127.0.0.1:99999/0"],
)
def test_malformed_redis_url_is_refused_without_echoing_it(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings(tmp_path, redis_url=url)
    assert "redis_url" in str(refused.value).lower()
    assert "hunter2" not in str(refused.value)


def test_session_retention_must_outlast_access_tokens(tmp_path: Path) -> None:
    # Revocations are reloaded from revoked rows: deleting one sooner would revive its tokens.
    with pytest.raises(ValidationError, match="SESSION_RETENTION_SECONDS"):
        make_settings(
            tmp_path,
            access_token_ttl_seconds=600,
            jwt_leeway_seconds=10,
            session_retention_seconds=609,
        )
    accepted = make_settings(
        tmp_path, access_token_ttl_seconds=600, jwt_leeway_seconds=10, session_retention_seconds=610
    )
    assert accepted.session_retention_seconds == 610


def test_housekeeping_defaults(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.max_sessions_per_user == 100
    assert settings.session_retention_seconds == 7 * 86_400
    assert settings.session_purge_interval_seconds == 3_600


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_sessions_per_user", 0),
        ("session_retention_seconds", -1),
        ("session_purge_interval_seconds", -1),
    ],
)
def test_housekeeping_settings_out_of_range_are_refused(
    tmp_path: Path, name: str, value: int
) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, **{name: value})


# Commands that sign nothing


def test_management_settings_need_no_signing_secrets_or_keys() -> None:
    with pytest.raises(ValidationError, match="must be set in production"):
        Settings(_env_file=None)
    settings = ManagementSettings(_env_file=None, jwt_algorithm="ES256")
    assert settings.is_production
    assert settings.access_token_secret is None
    assert settings.access_token_private_key is None


def test_management_settings_keep_every_other_check() -> None:
    with pytest.raises(ValidationError, match="PASSWORD_MIN_LENGTH must not exceed"):
        ManagementSettings(_env_file=None, password_min_length=200, password_max_length=100)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db", "'sqlite' is not a supported async driver; use sqlite+aiosqlite:///"),
        ("postgresql://u:hunter2@db/x", "use postgresql+asyncpg://USER@HOST:PORT/NAME"),
        ("mysql+aiomysql://u@db/x", "'mysql+aiomysql' is not a supported async driver"),
        ("./authsvc.db", "not a database URL"),
    ],
)
def test_database_url_needs_an_async_driver(url: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings(Path("."), database_url=url)
    assert message in str(refused.value)
    assert "hunter2" not in str(refused.value)


# The refresh cookie's name and path


@pytest.mark.parametrize(
    ("overrides", "name", "path"),
    [
        ({}, "__Host-refresh_token", "/"),
        ({"cookie_path": "/"}, "__Host-refresh_token", "/"),
        # Where a __Host- cookie is impossible, the plain name, kept to the auth routes.
        ({"cookie_secure": False}, "refresh_token", "/auth"),
        ({"cookie_domain": "example.com"}, "refresh_token", "/auth"),
        ({"cookie_path": "/auth"}, "refresh_token", "/auth"),
        # An explicit name wins; the path follows what the name allows.
        ({"cookie_name": "__Host-sid"}, "__Host-sid", "/"),
        ({"cookie_name": "rt"}, "rt", "/auth"),
        ({"cookie_name": "rt", "cookie_path": "/"}, "rt", "/"),
    ],
)
def test_cookie_name_is_host_prefixed_where_the_deployment_allows_it(
    tmp_path: Path, overrides: dict[str, object], name: str, path: str
) -> None:
    settings = make_settings(tmp_path, **overrides)
    assert (settings.cookie_name, settings.cookie_path) == (name, path)
    assert HOST_COOKIE_NAME == "__Host-" + PLAIN_COOKIE_NAME


def test_cookie_defaults_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("COOKIE_SECURE", "false")
    assert (Settings().cookie_name, Settings().cookie_path) == ("refresh_token", "/auth")
    monkeypatch.setenv("COOKIE_SECURE", "true")
    monkeypatch.setenv("COOKIE_NAME", "__Host-custom")
    assert (Settings().cookie_name, Settings().cookie_path) == ("__Host-custom", "/")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cookie_name": "__Host-rt", "cookie_path": "/auth"}, "COOKIE_PATH=/"),
        ({"cookie_name": "__Host-rt", "cookie_domain": "example.com"}, "no COOKIE_DOMAIN"),
        ({"cookie_name": "__host-rt", "cookie_secure": False}, "COOKIE_SECURE=true"),
        ({"cookie_name": "__Secure-rt", "cookie_secure": False}, "COOKIE_SECURE=true"),
    ],
)
def test_a_prefixed_cookie_name_browsers_would_drop_is_refused(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        make_settings(tmp_path, **overrides)
