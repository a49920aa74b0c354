"""Password changes racing each other through a real server: one wins, none is undone."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.support.http import PASSWORD, bearer, login_sync, register_sync
from tests.support.processes import Server

RACERS = 5  # within THROTTLE_PER_ACCOUNT_IP, so every change is checked


def test_of_concurrent_password_changes_exactly_one_wins(server: Server) -> None:
    with server.client() as client:
        register_sync(client, "alice")
        access = login_sync(client, "alice").access
        start = threading.Barrier(RACERS)

        def change(n: int) -> int:
            body = {"current_password": PASSWORD, "new_password": f"new passphrase number {n}"}
            start.wait(timeout=10)
            return client.post("/auth/password", headers=bearer(access), json=body).status_code

        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            statuses = list(pool.map(change, range(RACERS), timeout=60))

        assert Counter(statuses)[204] == 1, statuses
        assert set(statuses) <= {204, 401, 409}, statuses
        winner = statuses.index(204)
        assert login_sync(client, "alice", f"new passphrase number {winner}").access
