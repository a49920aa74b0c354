"""Administration through two real `authsvc serve` replicas sharing a store and Redis.

The first administrator comes from the CLI, as an operator makes one; everything after goes
over loopback HTTP, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.http import PASSWORD, Tokens, bearer, login_sync, refresh_sync, register_sync
from tests.support.processes import Server, ServerFactory, run_cli, server_env

REVOCATION_WAIT_SECONDS = 1.0


@pytest.fixture
def replica_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return server_env(
        tmp_path / "unused.db",
        DATABASE_URL=database_url,
        REDIS_URL="redis://127.0.0.1:6379/0",
        REDIS_PREFIX=f"authsvc-admin-{uuid.uuid4().hex[:12]}",
        THROTTLE_REGISTRATION_PER_IP="1000/minute",
        THROTTLE_PER_IP="1000/minute",
    )


@pytest.fixture
def pair(servers: ServerFactory, replica_env: dict[str, str]) -> tuple[Server, Server]:
    return servers.start(replica_env), servers.start(replica_env)


def make_admin(env: dict[str, str], cwd: Path, name: str) -> None:
    created = run_cli(
        ["users", "create", name, "--role", "admin", "--password-stdin"],
        env,
        cwd,
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr


def refused_soon(client: httpx.Client, tokens: Tokens) -> None:
    """The access token gets 401 from verify, within the time the revocation feed takes."""
    deadline = time.monotonic() + REVOCATION_WAIT_SECONDS
    while client.get("/auth/verify", headers=bearer(tokens.access)).status_code != 401:
        assert time.monotonic() < deadline, "the other replica still accepts the token"
        time.sleep(0.01)


def found_user(client: httpx.Client, admin: Tokens, name: str) -> dict[str, Any]:
    found = client.get("/admin/users", params={"q": name}, headers=bearer(admin.access))
    [match] = [u for u in found.json()["users"] if u["username"] == name]
    return dict(match)


def user_id(client: httpx.Client, admin: Tokens, name: str) -> str:
    return str(found_user(client, admin, name)["id"])


def roles_of(client: httpx.Client, admin: Tokens, name: str) -> list[str]:
    return list(found_user(client, admin, name)["roles"])


def test_disable_on_one_replica_ends_the_token_on_the_other_at_once(
    pair: tuple[Server, Server], replica_env: dict[str, str], tmp_path: Path
) -> None:
    a, b = pair
    make_admin(replica_env, tmp_path, "root")
    with a.client() as on_a, b.client() as on_b:
        root = login_sync(on_a, "root")
        register_sync(on_b, "alice")
        alice = login_sync(on_b, "alice")
        assert on_b.get("/auth/verify", headers=bearer(alice.access)).status_code == 200
        target = user_id(on_a, root, "alice")

        disabled = on_a.patch(
            f"/admin/users/{target}", json={"disabled": True}, headers=bearer(root.access)
        )
        assert disabled.status_code == 200, disabled.text
        refused_soon(on_b, alice)
        assert refresh_sync(on_b, alice.refresh).status_code == 401
        relogin = on_b.post("/auth/login", json={"username": "alice", "password": PASSWORD})
        assert relogin.status_code == 403


def test_cli_disable_and_delete_reach_running_replicas(
    pair: tuple[Server, Server], replica_env: dict[str, str], tmp_path: Path
) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        register_sync(on_a, "alice")
        register_sync(on_a, "bob")
        alice, bob = login_sync(on_a, "alice"), login_sync(on_b, "bob")

        result = run_cli(["users", "disable", "alice"], replica_env, tmp_path)
        assert result.returncode == 0, result.stderr
        refused_soon(on_a, alice)
        refused_soon(on_b, alice)

        result = run_cli(["users", "delete", "bob"], replica_env, tmp_path)
        assert result.returncode == 0, result.stderr
        refused_soon(on_a, bob)
        refused_soon(on_b, bob)


def test_a_replica_started_after_a_delete_still_refuses_its_tokens(
    servers: ServerFactory, pair: tuple[Server, Server], replica_env: dict[str, str], tmp_path: Path
) -> None:
    a, _ = pair
    make_admin(replica_env, tmp_path, "root")
    with a.client() as on_a:
        root = login_sync(on_a, "root")
        register_sync(on_a, "alice")
        alice = login_sync(on_a, "alice")
        target = user_id(on_a, root, "alice")
        deleted = on_a.delete(f"/admin/users/{target}", headers=bearer(root.access))
        assert deleted.status_code == 204
    # A new replica reloads revocations from the store: the deleted account's sessions are
    # still there, revoked, so its unexpired access token is refused from the start.
    late = servers.start(replica_env)
    with late.client() as on_late:
        assert on_late.get("/auth/verify", headers=bearer(alice.access)).status_code == 401
        assert on_late.get("/auth/me", headers=bearer(alice.access)).status_code == 401


def test_two_admins_demoting_each_other_at_once_leave_one(
    pair: tuple[Server, Server], replica_env: dict[str, str], tmp_path: Path
) -> None:
    a, b = pair
    # The first two administrators come from the CLI; in later rounds the survivor of the
    # last race promotes two new accounts over HTTP and the CLI takes the survivor's role, so
    # each race is between exactly two administrators.
    first, second = "a0x", "b0x"
    make_admin(replica_env, tmp_path, first)
    make_admin(replica_env, tmp_path, second)
    for round_ in range(4):
        with a.client() as on_a:
            one, two = login_sync(on_a, first), login_sync(on_a, second)
            one_id, two_id = user_id(on_a, one, first), user_id(on_a, one, second)

        async def demote_each_other(one: Tokens, two: Tokens, ids: tuple[str, str]) -> list[int]:
            async with (
                httpx.AsyncClient(base_url=a.base_url, timeout=30) as ca,
                httpx.AsyncClient(base_url=b.base_url, timeout=30) as cb,
            ):
                responses = await asyncio.gather(
                    ca.patch(
                        f"/admin/users/{ids[1]}", json={"roles": []}, headers=bearer(one.access)
                    ),
                    cb.patch(
                        f"/admin/users/{ids[0]}", json={"roles": []}, headers=bearer(two.access)
                    ),
                )
            return [r.status_code for r in responses]

        statuses = asyncio.run(demote_each_other(one, two, (one_id, two_id)))
        assert sorted(statuses) == [200, 409]
        survivor, other = (first, second) if statuses[0] == 200 else (second, first)
        shown = run_cli(["users", "show", other], replica_env, tmp_path).stdout
        assert "roles     -" in shown
        with b.client() as on_b:
            boss = login_sync(on_b, survivor)
            roles = {name: roles_of(on_b, boss, name) for name in (survivor, other)}
            assert roles == {survivor: ["admin"], other: []}
            if round_ == 3:
                break
            first, second = f"a{round_ + 1}x", f"b{round_ + 1}x"
            for name in (first, second):
                register_sync(on_b, name)
                promoted = on_b.patch(
                    f"/admin/users/{user_id(on_b, boss, name)}",
                    json={"roles": ["admin"]},
                    headers=bearer(boss.access),
                )
                assert promoted.status_code == 200, promoted.text
        result = run_cli(["users", "set-roles", survivor], replica_env, tmp_path)
        assert result.returncode == 0, result.stderr


def test_concurrent_admin_changes_stay_consistent(
    pair: tuple[Server, Server], replica_env: dict[str, str], tmp_path: Path
) -> None:
    a, b = pair
    make_admin(replica_env, tmp_path, "root")
    names = [f"user{n}" for n in range(6)]
    with a.client() as on_a:
        root = login_sync(on_a, "root")
        for name in names:
            register_sync(on_a, name)
        ids = [user_id(on_a, root, name) for name in names]
    headers = bearer(root.access)

    async def storm() -> list[httpx.Response]:
        async with (
            httpx.AsyncClient(base_url=a.base_url, timeout=60) as ca,
            httpx.AsyncClient(base_url=b.base_url, timeout=60) as cb,
        ):
            calls = []
            for n in range(60):
                client = ca if n % 2 else cb
                target = ids[n % len(ids)]
                match n % 4:
                    case 0:
                        call = client.patch(
                            f"/admin/users/{target}", json={"disabled": True}, headers=headers
                        )
                    case 1:
                        call = client.patch(
                            f"/admin/users/{target}",
                            json={"roles": ["ops"], "disabled": False},
                            headers=headers,
                        )
                    case 2:
                        call = client.delete(f"/admin/users/{target}/sessions", headers=headers)
                    case _:
                        call = client.delete(f"/admin/users/{target}", headers=headers)
                calls.append(call)
            return list(await asyncio.gather(*calls))

    responses = asyncio.run(storm())
    statuses = [r.status_code for r in responses]
    assert all(status in (200, 204, 404) for status in statuses), statuses
    # Each account was deleted exactly once; after that it is gone for every route.
    deletes = [r for n, r in enumerate(responses) if n % 4 == 3]
    deleted_ids = {ids[n % len(ids)] for n in range(60) if n % 4 == 3}
    assert sum(r.status_code == 204 for r in deletes) == len(deleted_ids)
    with b.client() as on_b:
        remaining = on_b.get("/admin/users", params={"limit": 100}, headers=headers).json()
        left = {u["id"] for u in remaining["users"]}
        assert left.isdisjoint(deleted_ids)
        assert left >= set(ids) - deleted_ids
