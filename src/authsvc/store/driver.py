"""Statements run on the database driver itself, past SQLAlchemy's execution layer.

SQLAlchemy's async connection costs each statement a pool checkout and a transaction's
round trips, and more event-loop CPU than the statement's own round trip. The hot paths
(driver_reads.py, a login's session opening, a rotation's swap, the audit row on PostgreSQL)
compile a prebuilt statement once (`Query`) and send it with the driver's own calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.expression import ReturnsRows
from sqlalchemy.util import greenlet_spawn

from authsvc.errors import StoreUnavailable
from authsvc.store.engine import UNAVAILABLE_ERRORS, Database

Row = tuple[Any, ...]


class Query:
    """A prebuilt statement as one dialect's driver takes it, with the conversions SQLAlchemy
    would apply to its parameters (the columns' types: aware datetimes checked and made UTC)
    and to its row."""

    def __init__(self, statement: ReturnsRows, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.statement = statement
        self.sql = str(compiled)
        # Both drivers are positional: each placeholder's parameter name, in order.
        self._order = tuple(compiled.positiontup or ())
        self._binds: list[Callable[[Any], Any] | None] = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self._order
        ]
        self._processors: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.exported_columns
        ]
        self._names = tuple(str(column.key) for column in statement.exported_columns)
        # Values the statement itself holds (a literal in `.values()`), for what is not given.
        self._fixed = {
            name: bind.value for name, bind in compiled.binds.items() if bind.value is not None
        }

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = (params[name] if name in params else self._fixed[name] for name in self._order)
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self._binds, values, strict=True)
        )

    def decode(self, raw: Any) -> Row:
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self._processors, raw, strict=True)
        )

    def named(self, row: Row) -> dict[str, Any]:
        """A decoded row by its columns' names."""
        return dict(zip(self._names, row, strict=True))


@asynccontextmanager
async def asyncpg_connection(db: Database) -> AsyncIterator[Any]:
    """asyncpg's own connection, checked out of the engine's pool and back; no transaction is
    begun for it. Raises: StoreUnavailable."""
    try:
        pooled: PoolProxiedConnection = await db.engine.raw_connection()
    except UNAVAILABLE_ERRORS as exc:
        raise StoreUnavailable("database unavailable") from exc
    try:
        yield pooled.driver_connection
    except BaseException as exc:
        # Interrupted mid-statement (an error or a cancelled request): the connection's state
        # is unknown, so the pool drops it instead of handing it out again.
        await greenlet_spawn(pooled.invalidate, exc)
        await greenlet_spawn(pooled.close)
        if isinstance(exc, _asyncpg_errors()):
            raise StoreUnavailable("database unavailable") from exc
        raise
    await greenlet_spawn(pooled.close)


def _asyncpg_errors() -> tuple[type[BaseException], ...]:
    # Imported where PostgreSQL is in use, never by a SQLite process (startup memory).
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

    return (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def on_asyncpg(db: Database) -> bool:
    dialect = db.engine.dialect
    return dialect.name == "postgresql" and dialect.driver == "asyncpg"
