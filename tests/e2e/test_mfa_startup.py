"""What a real server says about its MFA key at startup, and what a development key lasts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.support.http import login_sync, register_sync, token_pair
from tests.support.mfa import enrol_totp_sync, first_step_sync, next_code, second_step_sync
from tests.support.processes import ServerFactory, server_env


def test_production_without_a_key_says_totp_is_off(servers: ServerFactory, database: Path) -> None:
    server = servers.start(server_env(database, MFA_ENCRYPTION_KEY=None))
    assert "MFA_ENCRYPTION_KEY is not set: TOTP enrolment is switched off" in server.output()
    with server.client() as client:
        register_sync(client, "alice")
        tokens = login_sync(client, "alice")
        response = client.post("/auth/mfa/totp/setup", headers=tokens.bearer)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "TOTP is not configured"},
        )


def test_a_development_key_survives_a_restart_with_the_same_secrets(
    servers: ServerFactory, database: Path
) -> None:
    env = server_env(database, ENVIRONMENT="development", MFA_ENCRYPTION_KEY=None)
    first = servers.start(env)
    assert "DEVELOPMENT MFA KEY" in first.output()
    with first.client() as client:
        register_sync(client, "alice")
        enrolled = enrol_totp_sync(client, login_sync(client, "alice"))
    first.stop()

    with servers.start(env).client() as client:
        code = next_code(enrolled.secret, datetime.now(UTC))
        assert token_pair(second_step_sync(client, first_step_sync(client, "alice"), code))
