"""`authsvc serve --workers 2`: one service in two processes, and one set of metrics.

Every request is sent on a new connection, so the kernel hands them (and the scrapes) to
either worker; every scrape must still see the totals of both.
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.http import PASSWORD, login_sync, register_sync
from tests.support.polling import eventually_sync
from tests.support.processes import (
    READY_TIMEOUT_SECONDS,
    Server,
    ServerFactory,
    redis_env,
    run_cli,
    server_env,
)
from tests.support.scrape import Scrape

REQUESTS = 60
SCRAPES = 8
# Far above the time Redis pub/sub takes on loopback (tests/replicas_in_process measure it).
PROPAGATION_SECONDS = 0.5
# The parent stops its workers one after the other; a loaded host makes that slow.
GRACEFUL_STOP_SECONDS = 20.0


def fresh_get(base_url: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request on a connection of its own, so that any worker may take it."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        return client.get(path, headers=headers)


def scrape(base_url: str) -> Scrape:
    response = fresh_get(base_url, "/metrics")
    assert response.status_code == 200, response.text
    return Scrape.parse(response.text)


def start_workers(servers: ServerFactory, env: dict[str, str], *args: str) -> Server:
    """A ready `serve --workers 2`: the first worker answering is not enough, both must be up."""
    server = servers.start(env, args=args)

    def both_started() -> None:
        started = server.output().count("Application startup complete.")
        assert started >= 2, "the second worker never started:\n" + server.output()

    eventually_sync(both_started, timeout=READY_TIMEOUT_SECONDS)
    return server


def test_every_scrape_of_any_worker_sees_the_totals_of_all(
    servers: ServerFactory, database: Path, tmp_path: Path
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    server = start_workers(servers, redis_env(database, TMPDIR=str(temp)), "--workers", "2")
    (metrics_dir,) = temp.glob("authsvc-metrics-*")  # private to this run

    with server.client() as client:
        register_sync(client, "erin")
        tokens = login_sync(client, "erin")
        wrong = client.post("/auth/login", json={"username": "erin", "password": "not it"})
        assert wrong.status_code == 401
    with ThreadPoolExecutor(max_workers=6) as pool:
        verified = list(
            pool.map(
                lambda _: fresh_get(server.base_url, "/auth/verify", tokens.bearer),
                range(REQUESTS),
            )
        )
    assert [r.status_code for r in verified] == [200] * REQUESTS

    # Histogram files are written by a worker only once it has answered a request.
    answering = {path.stem.split("_")[1] for path in metrics_dir.glob("histogram_*.db")}
    assert len(answering) >= 2, "both workers should have served part of the traffic"

    verify = {"method": "GET", "route": "/auth/verify", "status": "2xx"}
    for _ in range(SCRAPES):
        seen = scrape(server.base_url)
        assert seen.value("authsvc_http_requests_total", **verify) == REQUESTS
        assert (
            seen.value(
                "authsvc_http_request_duration_seconds_count", route="/auth/verify", status="2xx"
            )
            == REQUESTS
        )
        assert seen.value("authsvc_logins_total", result="succeeded") == 1
        assert seen.value("authsvc_logins_total", result="failed") == 1
        assert seen.value("authsvc_sessions_active") == 1

    assert server.stop(timeout=GRACEFUL_STOP_SECONDS) == 0
    assert not metrics_dir.exists(), "the private metrics directory outlives the service"
    assert "Traceback" not in server.output()


def test_a_logout_on_one_worker_reaches_the_others(servers: ServerFactory, database: Path) -> None:
    server = start_workers(servers, redis_env(database), "--workers", "2")
    with server.client() as client:
        register_sync(client, "frank")
        tokens = login_sync(client, "frank")
        # One connection: one worker revokes; the other learns of it only through Redis.
        assert client.post("/auth/logout-all", headers=tokens.bearer).status_code == 204
    time.sleep(PROPAGATION_SECONDS)
    statuses = {
        fresh_get(server.base_url, "/auth/verify", tokens.bearer).status_code for _ in range(20)
    }
    assert statuses == {401}
    seen = scrape(server.base_url)
    assert seen.value("authsvc_sessions_revoked_total", reason="logout_all") == 1
    assert seen.value("authsvc_sessions_active") == 0


def test_an_operators_metrics_directory_is_used_and_emptied_of_old_runs(
    servers: ServerFactory, database: Path, tmp_path: Path
) -> None:
    given = tmp_path / "prometheus"
    given.mkdir()
    stale = given / "counter_999999.db"
    stale.write_bytes(b"left over by a previous run")
    env = redis_env(database, PROMETHEUS_MULTIPROC_DIR=str(given), WORKERS="2")
    server = start_workers(servers, env)  # the WORKERS setting, not the flag

    assert not stale.exists()
    assert fresh_get(server.base_url, "/healthz").status_code == 200
    seen = scrape(server.base_url)
    assert seen.value("authsvc_http_requests_total", method="GET", route="/healthz", status="2xx")
    assert server.stop(timeout=GRACEFUL_STOP_SECONDS) == 0
    assert given.is_dir()  # the operator's directory stays


def assert_refused(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("authsvc: --workers "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("how", ["flag", "setting"])
def test_several_workers_without_redis_are_refused(
    database: Path, tmp_path: Path, how: str
) -> None:
    env = server_env(database, WORKERS="2" if how == "setting" else None)
    args = ["serve", "--port", "1"] + (["--workers", "2"] if how == "flag" else [])
    result = run_cli(args, env, tmp_path)
    assert_refused(result, "REDIS_URL", "logout", "not be seen by the others")
    # Refused before the database was checked, so no file was made for a refused start.
    assert not database.exists()


def test_several_workers_with_generated_development_secrets_are_refused(
    database: Path, tmp_path: Path
) -> None:
    env = redis_env(
        database, ENVIRONMENT="development", ACCESS_TOKEN_SECRET=None, REFRESH_TOKEN_SECRET=None
    )
    result = run_cli(["serve", "--port", "1", "--workers", "2"], env, tmp_path)
    assert_refused(result, "ACCESS_TOKEN_SECRET", "differ")


def test_zero_workers_are_refused(database: Path, tmp_path: Path) -> None:
    result = run_cli(["serve", "--port", "1", "--workers", "0"], server_env(database), tmp_path)
    assert_refused(result, "at least 1")


def test_one_worker_needs_no_redis(servers: ServerFactory, database: Path) -> None:
    server = servers.start(server_env(database), args=("--workers", "1"))
    with server.client() as client:
        register_sync(client, "gina")
        assert (
            client.post("/auth/login", json={"username": "gina", "password": PASSWORD}).status_code
            == 200
        )
        seen = Scrape.parse(client.get("/metrics").text)
    assert seen.value("authsvc_logins_total", result="succeeded") == 1
