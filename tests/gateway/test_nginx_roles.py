"""The identity headers nginx hands the app, and the administrators-only location."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.conftest import Gateway
from tests.support.http import bearer, login_sync, register_sync
from tests.support.processes import run_cli, server_env


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as c:
        yield c


def new_login(client: httpx.Client, *roles: str, gateway: Gateway) -> str:
    """A new user holding `roles` (given by the CLI, as an operator would), logged in."""
    name = f"gw-{uuid.uuid4().hex[:12]}"
    register_sync(client, name)
    if roles:
        directory = gateway.authsvc.log_path.parent
        result = run_cli(
            ["users", "set-roles", name, *roles], server_env(directory / "authsvc.db"), directory
        )
        assert result.returncode == 0, result.stderr
    return login_sync(client, name).access


def test_a_token_without_the_role_gets_403_and_the_app_nothing(
    gateway: Gateway, client: httpx.Client
) -> None:
    token = new_login(client, "ops", gateway=gateway)
    response = client.get("/admin-app/users", headers=bearer(token))
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Not allowed"}
    assert response.headers.get("cache-control") == "no-store"
    assert client.get("/admin-app/users").status_code == 401
    assert gateway.app.received == []
    # The same token passes everywhere else, with its roles for the app.
    assert client.get("/api/orders", headers=bearer(token)).status_code == 200
    [seen] = gateway.app.received
    assert seen.header("X-Auth-Roles") == "ops"


def test_an_admin_token_reaches_the_admin_location_with_its_roles(
    gateway: Gateway, client: httpx.Client
) -> None:
    token = new_login(client, "admin", "ops", gateway=gateway)
    forged = {"X-Auth-Roles": "root", "x-auth-roles": "superuser"}
    response = client.get("/admin-app/users?page=2", headers={**forged, **bearer(token)})
    assert response.status_code == 200, response.text
    [seen] = gateway.app.received
    assert seen.path == "/admin-app/users?page=2"
    assert seen.header("X-Auth-Roles") == "admin,ops"


def test_a_user_without_roles_sends_the_app_no_roles_header(
    gateway: Gateway, client: httpx.Client
) -> None:
    token = new_login(client, gateway=gateway)
    forged = {"X-Auth-Roles": "admin"}
    assert client.get("/api/orders", headers={**forged, **bearer(token)}).status_code == 200
    [seen] = gateway.app.received
    assert seen.header_values("X-Auth-Roles") == []


def test_the_app_gets_the_login_methods_never_a_forged_copy(
    gateway: Gateway, client: httpx.Client
) -> None:
    token = new_login(client, gateway=gateway)
    forged = {"X-Auth-AMR": "pwd,otp,mfa", "x-auth-amr": "hwk,mfa"}
    assert client.get("/api/orders", headers={**forged, **bearer(token)}).status_code == 200
    [seen] = gateway.app.received
    assert seen.header_values("X-Auth-AMR") == ["pwd"]
