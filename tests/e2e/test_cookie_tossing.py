"""Cookie tossing: a refresh cookie planted beside the real one is refused, over the wire.

A page on a sibling subdomain can set a cookie of our name for the parent domain; the browser
then sends both, the planted one last. authsvc must use neither.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.http import (
    COOKIE,
    CSRF_HEADER,
    PASSWORD,
    login_sync,
    only_set_cookie,
    refresh_sync,
    register_sync,
)
from tests.support.processes import Server, ServerFactory, free_port, run_cli, server_env

CONCURRENT = 20


def tossed(victim: str, planted: str, name: str = COOKIE) -> dict[str, str]:
    return {"Cookie": f"{name}={victim}; theme=dark; {name}={planted}", **CSRF_HEADER}


def test_a_planted_duplicate_is_refused_at_once_and_ends_nothing(server: Server) -> None:
    with server.client() as client:
        register_sync(client, "victim")
        register_sync(client, "mallory")
        victim, mallory = login_sync(client, "victim"), login_sync(client, "mallory")

        def attempt(path: str) -> httpx.Response:
            with server.client() as own:
                return own.post(path, headers=tossed(victim.refresh, mallory.refresh))

        paths = ["/auth/refresh", "/auth/logout"] * (CONCURRENT // 2)
        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            responses = list(pool.map(attempt, paths))

        assert [r.status_code for r in responses] == [400] * CONCURRENT
        assert {r.json()["detail"] for r in responses} == {"More than one refresh cookie"}
        assert not any(r.headers.get_list("set-cookie") for r in responses)
        # Nobody was signed in as anybody; both sessions still refresh on their own cookie.
        for tokens, name in ((victim, "victim"), (mallory, "mallory")):
            assert client.get("/auth/me", headers=tokens.bearer).json()["username"] == name
            assert refresh_sync(client, tokens.refresh).status_code == 200
    events = [e for e in server.events() if e.get("event") == "refresh_cookie_duplicated"]
    assert len(events) == CONCURRENT
    assert all(e["level"] == "warning" for e in events)
    log = server.output()
    assert victim.refresh not in log and mallory.refresh not in log


def test_where_a_host_cookie_is_impossible_the_plain_name_is_guarded_the_same_way(
    servers: ServerFactory, env: dict[str, str]
) -> None:
    # A COOKIE_DOMAIN rules out __Host-: the cookie is `refresh_token`, Path=/auth.
    server = servers.start({**env, "COOKIE_DOMAIN": "127.0.0.1"})
    with server.client() as client:
        register_sync(client, "victim")
        response = client.post("/auth/login", json={"username": "victim", "password": PASSWORD})
        cookie = only_set_cookie(response)
        assert (cookie.name, cookie.attributes.get("path")) == ("refresh_token", "/auth")
        assert cookie.attributes.get("domain") == "127.0.0.1"
        refused = client.post(
            "/auth/refresh", headers=tossed(cookie.value, "planted", name="refresh_token")
        )
        assert refused.status_code == 400
        single = {"Cookie": f"refresh_token={cookie.value}", **CSRF_HEADER}
        assert client.post("/auth/refresh", headers=single).status_code == 200


def test_a_host_cookie_name_with_a_path_is_refused_at_startup(
    database: Path, tmp_path: Path
) -> None:
    env = server_env(database, COOKIE_NAME="__Host-refresh", COOKIE_PATH="/auth")
    result = run_cli(["serve", "--port", str(free_port())], env, tmp_path, timeout=10.0)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "authsvc: configuration error: a __Host- COOKIE_NAME needs COOKIE_SECURE=true, "
        "no COOKIE_DOMAIN and COOKIE_PATH=/"
    )
