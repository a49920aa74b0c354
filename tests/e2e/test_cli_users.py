"""`authsvc users show|disable|enable|delete|set-password|set-roles` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import assert_one_line_error
from tests.support.http import PASSWORD, bearer, login_sync, refresh_sync
from tests.support.processes import ServerFactory, run_cli

NEW_PASSWORD = "another long passphrase 42"


def cli(env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None) -> str:
    result = run_cli(list(args), env, cwd, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def create_root(env: dict[str, str], cwd: Path) -> str:
    """The first administrator, made as the README says."""
    args = ("users", "create", "root", "--role", "admin", "--password-stdin")
    return cli(env, cwd, *args, stdin=PASSWORD + "\n")


def test_the_first_admin_from_the_cli_can_use_the_api(
    servers: ServerFactory, env: dict[str, str], tmp_path: Path
) -> None:
    created = create_root(env, tmp_path)
    assert created.endswith("; roles: admin\n")
    assert "roles     admin" in cli(env, tmp_path, "users", "show", "ROOT")
    with servers.start(env).client() as client:
        tokens = login_sync(client, "root")
        listed = client.get("/admin/users", headers=bearer(tokens.access))
        assert listed.status_code == 200, listed.text
        assert [u["username"] for u in listed.json()["users"]] == ["root"]


def test_disable_enable_set_password_and_delete(
    servers: ServerFactory, env: dict[str, str], tmp_path: Path
) -> None:
    cli(env, tmp_path, "users", "create", "bob", "--password-stdin", stdin=PASSWORD + "\n")
    server = servers.start(env)
    with server.client() as client:
        login_sync(client, "bob")
        assert "disabled; its sessions ended" in cli(env, tmp_path, "users", "disable", "bob")
        assert "status    disabled since" in cli(env, tmp_path, "users", "show", "bob")
        refused = client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
        assert refused.status_code == 403
        cli(env, tmp_path, "users", "enable", "bob")
        login_sync(client, "bob")

        result = run_cli(
            ["users", "set-password", "bob", "--password-stdin"],
            env,
            tmp_path,
            stdin=NEW_PASSWORD + "\n",
        )
        assert result.returncode == 0, result.stderr
        assert NEW_PASSWORD not in result.stdout + result.stderr
        old = client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
        assert old.status_code == 401
        fresh = login_sync(client, "bob", NEW_PASSWORD)

        user_id = cli(env, tmp_path, "users", "show", "bob").split()[1]
        assert "deleted user bob" in cli(env, tmp_path, "users", "delete", user_id)
        gone = run_cli(["users", "show", "bob"], env, tmp_path)
        assert assert_one_line_error(gone, code=1) == "authsvc: User not found"
        # Its session ended in the database: the refresh_sync token is refused at once. (Its
        # access token dies at once only through Redis; see test_admin_replicas.py.)
        assert refresh_sync(client, fresh.refresh).status_code == 401


def test_refusals_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    create_root(env, tmp_path)
    for args, message in [
        (
            ["users", "set-roles", "root"],
            "The last administrator must stay an enabled administrator",
        ),
        (["users", "disable", "root"], "The last administrator must stay an enabled administrator"),
        (["users", "delete", "root"], "The last administrator must stay an enabled administrator"),
        (["users", "set-roles", "root", "admin", "Bad!"], "Role names must match"),
        (["users", "show", "nobody"], "User not found"),
        (["users", "show", "x" * 300], "User not found"),
    ]:
        line = assert_one_line_error(run_cli(args, env, tmp_path), code=1)
        assert line.startswith(f"authsvc: {message}"), line
    weak = run_cli(
        ["users", "set-password", "root", "--password-stdin"], env, tmp_path, stdin="short\n"
    )
    assert assert_one_line_error(weak, code=1).startswith("authsvc: ")


def test_passwords_are_never_taken_from_the_command_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli(["users", "set-password", "root", NEW_PASSWORD], env, tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
