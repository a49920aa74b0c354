"""/auth/me through the profile cache on real `authsvc serve` processes: a change answered on
one replica is shown by the other at once (Redis carries it), a command's too, and fifty
connections reading the profile while its roles change never see the old roles after the
change was answered."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_admin_replicas import make_admin, user_id
from tests.support.http import Tokens, bearer, login_sync, register_sync
from tests.support.processes import Server, ServerFactory, redis_env, run_cli

READERS = 50
# Reads each reader makes before the change, and at least after it.
BEFORE, AFTER = 2, 3


@pytest.fixture
def replica_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return redis_env(tmp_path / "unused.db", DATABASE_URL=database_url)


def roles_on(client: httpx.Client, tokens: Tokens) -> list[str]:
    me = client.get("/auth/me", headers=bearer(tokens.access))
    assert me.status_code == 200, me.text
    roles: list[str] = me.json()["roles"]
    return roles


def admin_and_alice(
    client: httpx.Client, env: dict[str, str], cwd: Path
) -> tuple[Tokens, Tokens, str]:
    """An administrator made by the CLI and alice, both logged in, and alice's id."""
    make_admin(env, cwd, "root")
    root = login_sync(client, "root")
    register_sync(client, "alice")
    return root, login_sync(client, "alice"), user_id(client, root, "alice")


def test_a_change_on_one_replica_is_shown_by_the_other_at_once(
    servers: ServerFactory, replica_env: dict[str, str], tmp_path: Path
) -> None:
    a, b = servers.start(replica_env), servers.start(replica_env)
    with a.client() as on_a, b.client() as on_b:
        root, alice, target = admin_and_alice(on_a, replica_env, tmp_path)
        for roles in (["ops"], ["audit", "ops"], []):
            assert roles_on(on_b, alice) != roles  # B holds the previous profile
            patched = on_a.patch(
                f"/admin/users/{target}", json={"roles": roles}, headers=bearer(root.access)
            )
            assert patched.status_code == 200, patched.text
            assert roles_on(on_b, alice) == roles
            assert roles_on(on_a, alice) == roles

        assert roles_on(on_a, alice) == roles_on(on_b, alice) == []
        result = run_cli(["users", "set-roles", "alice", "ops"], replica_env, tmp_path)
        assert result.returncode == 0, result.stderr
        assert roles_on(on_a, alice) == roles_on(on_b, alice) == ["ops"]


@dataclass(frozen=True)
class Read:
    sent_at: float
    answered_at: float
    status: int
    roles: tuple[str, ...]


async def race_a_role_change(
    server: Server, alice: Tokens, root: Tokens, target: str
) -> tuple[list[Read], float, float]:
    """READERS connections read alice's profile back to back, starting together; once each
    has been answered BEFORE times, an administrator gives her `ops`. Every read, and when
    the change was sent and answered."""
    reads: list[Read] = []
    go, halfway = asyncio.Event(), asyncio.Event()
    change_sent = change_done = float("inf")
    limits = httpx.Limits(max_connections=READERS + 1)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:

        async def reader() -> None:
            await go.wait()
            mine = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                sent = time.monotonic()
                me = await client.get("/auth/me", headers=bearer(alice.access))
                roles = tuple(me.json()["roles"]) if me.status_code == 200 else ()
                reads.append(Read(sent, time.monotonic(), me.status_code, roles))
                if len(reads) >= READERS * BEFORE:
                    halfway.set()
                mine += sent > change_done
                if mine >= AFTER:
                    return

        async def changer() -> None:
            nonlocal change_sent, change_done
            await halfway.wait()
            change_sent = time.monotonic()
            patched = await client.patch(
                f"/admin/users/{target}", json={"roles": ["ops"]}, headers=bearer(root.access)
            )
            assert patched.status_code == 200, patched.text
            change_done = time.monotonic()

        tasks = [asyncio.create_task(reader()) for _ in range(READERS)]
        tasks.append(asyncio.create_task(changer()))
        go.set()
        await asyncio.gather(*tasks)
    return reads, change_sent, change_done


def test_fifty_concurrent_reads_never_show_the_old_roles_after_the_change(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    with server.client() as client:
        root, alice, target = admin_and_alice(client, env, tmp_path)
        assert roles_on(client, alice) == []  # cached

    reads, change_sent, change_done = asyncio.run(race_a_role_change(server, alice, root, target))

    assert {read.status for read in reads} == {200}
    after = [read.roles for read in reads if read.sent_at > change_done]
    before = [read.roles for read in reads if read.answered_at < change_sent]
    assert len(after) >= READERS * AFTER
    assert set(after) == {("ops",)}, f"{after.count(())} reads showed the old roles"
    assert len(before) >= READERS * BEFORE
    assert set(before) == {()}
    # Reads in flight while the change ran may show either, but nothing else.
    assert {read.roles for read in reads} <= {(), ("ops",)}
