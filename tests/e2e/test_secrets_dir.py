"""A real `authsvc serve` in production with its secrets in files only, as Compose mounts them."""

from __future__ import annotations

from pathlib import Path

from jose import jwt

from tests.support.http import login_sync, register_sync
from tests.support.processes import ServerFactory, server_env
from tests.support.settings import ACCESS_SECRET, REFRESH_SECRET


def test_production_starts_on_secrets_read_from_secrets_dir(
    servers: ServerFactory, tmp_path: Path
) -> None:
    directory = tmp_path / "secrets"
    directory.mkdir(mode=0o700)
    (directory / "ACCESS_TOKEN_SECRET").write_text(ACCESS_SECRET + "\n")
    (directory / "REFRESH_TOKEN_SECRET").write_text(REFRESH_SECRET + "\n")
    env = server_env(
        tmp_path / "authsvc.db",
        ACCESS_TOKEN_SECRET=None,
        REFRESH_TOKEN_SECRET=None,
        SECRETS_DIR=str(directory),
    )

    server = servers.start(env)

    with server.client() as client:
        register_sync(client, "alice")
        access = login_sync(client, "alice").access
    # Signed with the file's secret: verification with it succeeds.
    claims = jwt.decode(access, ACCESS_SECRET, algorithms=["HS256"], audience="authsvc")
    assert claims["username"] == "alice"
    assert "DEVELOPMENT MODE" not in server.output()
    assert ACCESS_SECRET not in server.output()
