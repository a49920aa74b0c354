"""Users and sessions written straight into a migrated database, fast enough for 100k.

Every user has one session and the same password, hashed once with the service's argon2
parameters, so the server checks it exactly as it would a real one. Every tenth session is
revoked, so the revocation list the servers load at startup grows with the store too. The
refresh-token ids stay in memory: the benchmark mints cookies for them when it needs them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Dialect, Table, event, insert, literal, literal_column, text
from sqlalchemy.sql import ColumnElement, Insert

from authsvc.passwords import PasswordService
from authsvc.settings import Settings
from authsvc.store import open_store
from authsvc.store.engine import create_engine
from authsvc.store.models import sessions, users
from authsvc.tokens import new_token_id, token_hash

PASSWORD = "bench-correct-horse-battery-staple"  # noqa: S105 (every seeded user's)
REVOKED_EVERY = 10
BATCH = 5_000
SQLITE_CACHE_KIB = 512 * 1024


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    username: str
    session_id: str
    jti: str  # of the session's current refresh token


@dataclass
class Population:
    """What was seeded: the accounts whose sessions are live, in a fixed order."""

    size: int
    live: list[Account]
    revoked: list[Account]
    _next_fresh: int = field(default=0)

    def take_fresh(self, count: int, *, keep: int) -> list[Account]:
        """Sessions no earlier call returned, never from the last `keep` (see `tail`).

        Refresh runs rotate the sessions they use; each run takes unused ones so it starts
        from the current token, never from one an earlier run superseded.
        """
        end = self._next_fresh + count
        if end > len(self.live) - keep:
            raise ValueError(
                f"{self.size} seeded sessions are not enough for this many refresh runs; "
                "use fewer --connections or --repeat, or larger --sizes"
            )
        taken = self.live[self._next_fresh : end]
        self._next_fresh = end
        return taken

    def tail(self, count: int) -> list[Account]:
        """The last `count` live sessions: never rotated, so their access tokens stay valid."""
        return self.live[-count:]


def make_population(size: int, rng: random.Random) -> Population:
    live: list[Account] = []
    revoked: list[Account] = []
    for index in range(size):
        account = Account(
            user_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            username=f"bench{index:06d}",
            session_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            jti=new_token_id(),
        )
        (revoked if index % REVOKED_EVERY == REVOKED_EVERY - 1 else live).append(account)
    return Population(size=size, live=live, revoked=revoked)


async def password_hash(settings: Settings) -> str:
    return await PasswordService(settings).hash(PASSWORD)


async def load(database_url: str, population: Population, *, hashed: str, now: datetime) -> None:
    """Migrate the database at `database_url` and write the population into it."""
    async with open_store(database_url, migrate=True):
        pass
    revoked_ids = {account.session_id for account in population.revoked}
    # In user-id order, the primary key of users and both user-id indexes of sessions grow at
    # their end instead of at random places, which a million rows feel.
    accounts = sorted(population.live + population.revoked, key=lambda a: a.user_id)
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _fast_sqlite)
    add_users, add_live, add_revoked = _inserts(engine.dialect, now, hashed)
    try:
        async with engine.begin() as conn:
            for start in range(0, len(accounts), BATCH):
                chunk = accounts[start : start + BATCH]
                await conn.execute(
                    add_users, [{"id": a.user_id, "username": a.username} for a in chunk]
                )
                for add, revoked in ((add_live, False), (add_revoked, True)):
                    rows = [_session_row(a) for a in chunk
                            if (a.session_id in revoked_ids) == revoked]  # fmt: skip
                    if rows:
                        await conn.execute(add, rows)
        if engine.dialect.name == "sqlite":
            # Fold the WAL into the main file, so copying that one file copies everything.
            async with engine.connect() as conn:
                await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            # Statistics for the planner, and every row frozen and marked visible now, so that
            # no autovacuum of a million fresh rows, and no first reader setting their hint
            # bits, runs beside the measured runs of the copies.
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM (FREEZE, ANALYZE)"))
    finally:
        await engine.dispose()


def _fast_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """A seeding connection: a template nobody reads until it is complete, and is consistent
    by construction, needs neither durability nor foreign-key checks; a big page cache keeps
    the indexes of a million rows in memory."""
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA foreign_keys=OFF",
        "PRAGMA synchronous=OFF",
        f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}",
    ):
        cursor.execute(pragma)
    cursor.close()


def _inline(dialect: Dialect, table: Table, **values: object) -> dict[str, ColumnElement[Any]]:
    """Each value as a SQL literal of its column's type, written into the statement once."""
    return {
        name: literal_column(
            str(
                literal(value, table.c[name].type).compile(
                    dialect=dialect, compile_kwargs={"literal_binds": True}
                )
            ),
            table.c[name].type,
        )
        for name, value in values.items()
    }


def _inserts(dialect: Dialect, now: datetime, hashed: str) -> tuple[Insert, Insert, Insert]:
    """The users, live sessions' and revoked sessions' INSERTs, with every value the rows
    share in the statement: converting the timestamps row by row (the store's UTC type, then
    the driver's) took about half the Python time of a million-row seed."""
    shared = {
        "previous_token_hash": None,
        "rotated_at": None,
        "generation": 0,
        "user_agent": "bench",
        "ip": "127.0.0.1",
        "created_at": now,
        "last_used_at": now,
        "idle_expires_at": now + timedelta(days=1),
        "absolute_expires_at": now + timedelta(days=30),
    }
    return (
        insert(users).values(
            _inline(dialect, users, password_hash=hashed, created_at=now, password_changed_at=now)
        ),
        insert(sessions).values(
            _inline(dialect, sessions, **shared, revoked_at=None, revoked_reason=None)
        ),
        insert(sessions).values(
            _inline(dialect, sessions, **shared, revoked_at=now, revoked_reason="logout")
        ),
    )


def _session_row(account: Account) -> dict[str, str]:
    return {
        "id": account.session_id,
        "user_id": account.user_id,
        "token_hash": token_hash(account.jti),
    }
