"""`authsvc mfa reencrypt|generate-key` and `authsvc users reset-mfa`, as an operator runs them
against what a real server stored."""

from __future__ import annotations

import base64
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from authsvc.mfa.sealing import Sealer, key_id
from tests.e2e.test_cli_users import cli
from tests.support.http import login_sync, register_sync
from tests.support.mfa import (
    Enrolled,
    enrol_totp_sync,
    first_step_sync,
    next_code,
    second_step_sync,
)
from tests.support.passkeys import PASSKEY_ENV, register_passkey_sync
from tests.support.processes import ServerFactory, run_cli
from tests.support.settings import MFA_KEY

NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()


def raw(key: str) -> bytes:
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))


def stored(database: Path) -> tuple[str, str]:
    """The one TOTP row as it is on disk: (user id, sealed secret)."""
    with sqlite3.connect(database) as conn:
        row = conn.execute("SELECT user_id, sealed_secret FROM totp_credentials").fetchone()
    assert row is not None
    return row[0], row[1]


def enrol_alice(servers: ServerFactory, env: dict[str, str]) -> Enrolled:
    server = servers.start(env)
    with server.client() as client:
        register_sync(client, "alice")
        enrolled = enrol_totp_sync(client, login_sync(client, "alice"))
    server.stop()
    return enrolled


def test_a_key_rotation_keeps_every_secret_readable(
    servers: ServerFactory, env: dict[str, str], database: Path, tmp_path: Path
) -> None:
    enrolled = enrol_alice(servers, env)
    user_id, before = stored(database)
    assert before.startswith(f"v1.{key_id(raw(MFA_KEY))}.")

    new_only = {**env, "MFA_ENCRYPTION_KEY": NEW_KEY}
    refused = run_cli(["mfa", "reencrypt"], new_only, tmp_path)
    assert refused.returncode == 2
    assert "re-encrypted 0, already current 0, unreadable 1" in refused.stderr

    rotated = {**new_only, "MFA_ENCRYPTION_KEYS_PREVIOUS": MFA_KEY}
    server = servers.start(rotated)  # the old key still opens the secret it sealed
    with server.client() as client:
        code = next_code(enrolled.secret, datetime.now(UTC))
        response = second_step_sync(client, first_step_sync(client, "alice"), code)
        assert response.status_code == 200, response.text
    server.stop()

    assert cli(rotated, tmp_path, "mfa", "reencrypt") == (
        "re-encrypted 1, already current 0, unreadable 0\n"
    )
    assert cli(rotated, tmp_path, "mfa", "reencrypt") == (
        "re-encrypted 0, already current 1, unreadable 0\n"
    )
    _, after = stored(database)
    assert after.startswith(f"v1.{key_id(raw(NEW_KEY))}.")
    opened = Sealer(raw(NEW_KEY)).open(after, user_id=user_id)
    assert opened.decode() == enrolled.secret


def test_reencrypt_without_a_key_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(["mfa", "reencrypt"], {**env, "MFA_ENCRYPTION_KEY": ""}, tmp_path)
    assert (result.returncode, result.stderr) == (2, "authsvc: MFA_ENCRYPTION_KEY is not set\n")


def test_generate_key_prints_a_usable_key(env: dict[str, str], tmp_path: Path) -> None:
    printed = cli(env, tmp_path, "mfa", "generate-key").strip()
    assert len(raw(printed)) == 32
    assert printed != cli(env, tmp_path, "mfa", "generate-key").strip()
    assert cli({**env, "MFA_ENCRYPTION_KEY": printed}, tmp_path, "mfa", "reencrypt")


def test_reset_mfa_lets_the_password_alone_log_in_again(
    servers: ServerFactory, env: dict[str, str], database: Path, tmp_path: Path
) -> None:
    env = {**env, **PASSKEY_ENV}
    server = servers.start(env)
    with server.client() as client:
        register_sync(client, "alice")
        tokens = login_sync(client, "alice")
        enrol_totp_sync(client, tokens)
        register_passkey_sync(client, tokens)
    server.stop()
    assert cli(env, tmp_path, "users", "reset-mfa", "alice") == (
        "second factors of alice removed: 2\n"
    )
    assert cli(env, tmp_path, "users", "reset-mfa", "alice") == (
        "second factors of alice removed: 0\n"
    )
    with sqlite3.connect(database) as conn:
        actors = conn.execute(
            "SELECT actor_id, subject_id FROM audit_events WHERE kind = 'mfa_reset_by_admin'"
        ).fetchall()
        (user_id,) = conn.execute("SELECT id FROM users WHERE username = 'alice'").fetchone()
        assert conn.execute("SELECT count(*) FROM totp_credentials").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM passkeys").fetchone() == (0,)
    # The command line acts as nobody: the actor is the account itself, as for every CLI verb.
    assert actors == [(user_id, user_id)] * 2
    with servers.start(env).client() as client:
        assert login_sync(client, "alice").access


def test_reset_mfa_of_an_unknown_user_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    cli(env, tmp_path, "db", "upgrade")
    result = run_cli(["users", "reset-mfa", "nobody"], env, tmp_path)
    assert (result.returncode, result.stderr) == (1, "authsvc: User not found\n")
